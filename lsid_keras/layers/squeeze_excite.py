"""Squeeze-and-excitation channel attention (the SE-UNet baseline of GIA-Net)."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="lsid_keras")
class SqueezeExcite(keras.layers.Layer):
    """Rescales each channel by a gate computed from the global average of all channels.

    `s = sigmoid(W2 relu(W1 mean_hw(X)))`, output `X * s`; `W1` maps `C -> C / reduction`,
    `W2` maps back to `C`, both with bias. GIA-Net's SE-UNet inserts one at the U-Net
    bottleneck, where GIA-Net has its GIA module. The two projections are 1x1 convolutions on
    the pooled `(1, 1, C)` map (equal to dense layers, and TFLite-builtin friendly).

    Args:
        reduction: int >= 1, channel reduction ratio of the squeeze (16 as in Hu et al.).
        **kwargs: standard layer arguments.

    Call arguments:
        inputs: tensor `(batch, H, W, C)`; `C` must be >= `reduction`.
        frame_mean: optional tensor `(batch, 1, 1, C)` used in place of the average of
            `inputs` (the whole frame's, when `inputs` is one tile of it; see
            `lsid_keras.models.global_branch`).

    Example:
    >>> x = keras.random.normal((1, 8, 8, 64))
    >>> SqueezeExcite(reduction=16)(x).shape
    (1, 8, 8, 64)

    Reference:
        Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018; Meng et al., GIA-Net, Sec. 4.3.
    """

    def __init__(self, reduction=16, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(reduction, int) or reduction < 1:
            raise ValueError(f"reduction must be an int >= 1. Received: reduction={reduction}")
        self.reduction = reduction

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None or channels < self.reduction:
            raise ValueError(
                f"SqueezeExcite needs at least reduction={self.reduction} known channels. "
                f"Received: input_shape={input_shape}"
            )
        batch = input_shape[0]
        self.squeeze = keras.layers.Conv2D(
            channels // self.reduction, 1, activation="relu", name="squeeze",
            dtype=self.dtype_policy,
        )
        self.excite = keras.layers.Conv2D(
            channels, 1, activation="sigmoid", name="excite", dtype=self.dtype_policy
        )
        self.squeeze.build((batch, 1, 1, channels))
        self.excite.build((batch, 1, 1, channels // self.reduction))

    def call(self, inputs, frame_mean=None):
        if frame_mean is None:
            pooled = tf.reduce_mean(inputs, axis=(1, 2), keepdims=True)
        else:
            pooled = tf.cast(frame_mean, inputs.dtype)
        return inputs * self.excite(self.squeeze(pooled))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"reduction": self.reduction})
        return config
