"""A tf_keras (Keras 2) layer namespace for `build_unet`: the twin that tfmot can quantise.

tensorflow-model-optimization 0.8.1 applies quantisation-aware training to `tf_keras` models
only; Keras 3 models are refused. `TwinLayers` offers every name `build_unet` builds with
(`lsid_keras.models.unet.KERAS_LAYERS`), so the twin comes from the same architecture
definition. The package's custom layers become compositions of tf_keras builtins that tfmot
knows (GIA: global average pooling, 1x1 conv, bilinear upsampling, concatenation, 1x1 conv;
squeeze-excite: pooling, two 1x1 convs, multiply; see-wider: two convs, LReLU,
concatenation) plus one small `DepthToSpace` layer; `parts` maps each Keras 3 layer name to
the twin layers that hold its weights, in the order of its `get_weights()`.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras


@tf_keras.utils.register_keras_serializable(package="lsid_keras_twin")
class DepthToSpace(tf_keras.layers.Layer):
    """`tf.nn.depth_to_space` as a tf_keras layer (the twin of `SubPixel`).

    Args:
        block_size: int >= 2.
        **kwargs: standard layer arguments.
    """

    def __init__(self, block_size=2, **kwargs):
        super().__init__(**kwargs)
        self.block_size = block_size

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.block_size)

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


class TwinLayers:
    """The `build_unet` namespace over tf_keras. Build a model with it, then read `parts`.

    Attributes:
        parts: dict, Keras 3 layer name -> list of twin layers holding its weights.
    """

    Input = staticmethod(tf_keras.Input)
    Model = tf_keras.Model

    def __init__(self):
        self.parts = {}

    def _builtin(self, cls, *args, name, **kwargs):
        layer = cls(*args, name=name, **kwargs)
        self.parts[name] = [layer]
        return layer

    def Conv2D(self, *args, **kwargs):  # noqa: N802 - mirrors keras.layers
        return self._builtin(tf_keras.layers.Conv2D, *args, **kwargs)

    def LeakyReLU(self, negative_slope, name):  # noqa: N802
        return self._builtin(tf_keras.layers.LeakyReLU, negative_slope, name=name)

    def MaxPooling2D(self, *args, **kwargs):  # noqa: N802
        return self._builtin(tf_keras.layers.MaxPooling2D, *args, **kwargs)

    def Conv2DTranspose(self, *args, **kwargs):  # noqa: N802
        return self._builtin(tf_keras.layers.Conv2DTranspose, *args, **kwargs)

    def Concatenate(self, *args, **kwargs):  # noqa: N802
        return self._builtin(tf_keras.layers.Concatenate, *args, **kwargs)

    def SizeCheck(self, multiple, name):  # noqa: N802
        # The twin has a fixed input side, checked when it is built.
        return lambda x: x

    def SubPixel(self, block_size, name, dtype=None):  # noqa: N802
        return self._builtin(DepthToSpace, block_size, name=name)

    def GlobalInfoAware(self, reduced_channels=None, name="gia"):  # noqa: N802
        layers = tf_keras.layers

        def apply(x, frame_mean=None):
            height, width, channels = x.shape[1:]
            pooled = frame_mean if frame_mean is not None else layers.GlobalAveragePooling2D(
                keepdims=True, name=f"{name}_pool")(x)
            global_conv = layers.Conv2D(reduced_channels or channels // 2, 1,
                                        name=f"{name}_global_conv")
            # Bilinear upsampling of a 1x1 map is a broadcast, as in GlobalInfoAware.
            glob = layers.UpSampling2D((height, width), interpolation="bilinear",
                                       name=f"{name}_upsample")(global_conv(pooled))
            fused = layers.Concatenate(name=f"{name}_concat")([x, glob])
            fuse_conv = layers.Conv2D(channels, 1, name=f"{name}_fuse_conv")
            self.parts[name] = [global_conv, fuse_conv]
            return fuse_conv(fused)

        return apply

    def SqueezeExcite(self, reduction=16, name="squeeze_excite"):  # noqa: N802
        layers = tf_keras.layers

        def apply(x, frame_mean=None):
            channels = x.shape[-1]
            pooled = frame_mean if frame_mean is not None else layers.GlobalAveragePooling2D(
                keepdims=True, name=f"{name}_pool")(x)
            squeeze = layers.Conv2D(channels // reduction, 1, activation="relu",
                                    name=f"{name}_squeeze")
            excite = layers.Conv2D(channels, 1, activation="sigmoid", name=f"{name}_excite")
            self.parts[name] = [squeeze, excite]
            return layers.Multiply(name=f"{name}_scale")([x, excite(squeeze(pooled))])

        return apply

    def SeeWider(self, filters, dilation_rate=2, negative_slope=0.2, name="see_wider"):  # noqa: N802
        layers = tf_keras.layers

        def apply(x):
            local = layers.Conv2D(filters // 2, 3, padding="same", name=f"{name}_local_conv")
            context = layers.Conv2D(filters - filters // 2, 3, padding="same",
                                    dilation_rate=dilation_rate, name=f"{name}_context_conv")
            self.parts[name] = [local, context]
            return layers.Concatenate(name=f"{name}_concat")([
                layers.LeakyReLU(negative_slope, name=f"{name}_local_lrelu")(local(x)),
                layers.LeakyReLU(negative_slope, name=f"{name}_context_lrelu")(context(x)),
            ])

        return apply


def build_twin(model, tile, part="whole"):
    """A tf_keras twin of a `build_unet` model, or of one of its halves (`part`, as
    `build_unet` takes it: "decoder" for a global model's decoder,
    `lsid_keras.models.global_branch`), for input tiles `(tile, tile, C)`, with its weights.

    Raises:
        ValueError: `model` was not built by `build_unet`, or the weights do not line up.
    """
    from lsid_keras.models.unet import SIZE_MULTIPLE, build_unet, unet_args_of

    if tile % SIZE_MULTIPLE:
        raise ValueError(f"tile {tile} is not a multiple of {SIZE_MULTIPLE}")
    namespace = TwinLayers()
    twin = build_unet(**unet_args_of(model), name=f"{model.name}_twin", layers=namespace,
                      input_size=tile, part=part)
    for layer in model.layers:
        values = layer.get_weights()
        if not values:
            continue
        offset = 0
        for piece in namespace.parts.get(layer.name, []):
            count = len(piece.weights)
            piece.set_weights(values[offset:offset + count])
            offset += count
        if offset != len(values):
            raise ValueError(f"twin of layer {layer.name!r} holds {offset} of its "
                             f"{len(values)} weight arrays")
    expected = model.count_params()
    if part != "whole":
        expected = build_unet(**unet_args_of(model), part=part).count_params()
    if twin.count_params() != expected:
        raise ValueError(f"twin has {twin.count_params()} parameters, the model's {part} "
                         f"{expected}")
    return twin
