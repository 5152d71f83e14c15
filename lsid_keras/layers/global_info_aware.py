"""The global information aware (GIA) module of GIA-Net."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="lsid_keras")
class GlobalInfoAware(keras.layers.Layer):
    """Fuses a feature map with its own global average, as in GIA-Net's bottleneck.

    On a feature map `X` of shape `(H, W, C)`:
    f1 = global average pooling -> `(1, 1, C)`; a 1x1 convolution to `C1` channels;
    f2 = bilinear upsampling back to `(H, W, C1)`; f3 = concatenation `[X, f2]` ->
    `(H, W, C + C1)`; a final 1x1 convolution to `C3` channels. Both convolutions are linear
    (the paper's Fig. 3 shows no activation) and carry a bias.

    The C1 convolution and the bilinear upsampling of a 1x1 map commute (both are pointwise
    linear there), so by default the convolution runs on the pooled vector before the
    upsampling: identical outputs, and the cost the paper reports (1.008x SID-Net FLOPs rather
    than 1.011x). Upsampling a 1x1 map bilinearly is a broadcast; it is written as
    `tf.image.resize(..., "bilinear")` so that TFLite gets its RESIZE_BILINEAR builtin, which the
    GPU delegate accepts.

    Args:
        reduced_channels: int > 0 or None, `C1`, channels of the global branch. None means `C // 2`
            (256 at the 512-channel bottleneck, which reproduces the paper's 1.07x parameters).
        output_channels: int > 0 or None, `C3`, channels of the output. None means `C`.
        conv_before_upsample: bool, run the C1 convolution on the pooled vector (True, cheaper)
            or on the upsampled map (False, the literal order of Fig. 3). Outputs are equal.
        **kwargs: standard layer arguments.

    Call arguments:
        inputs: tensor `(batch, H, W, C)`.
        frame_mean: optional tensor `(batch, 1, 1, C)` used in place of the average of
            `inputs`: the average over a whole frame when `inputs` is one tile of it
            (`lsid_keras.models.global_branch`), so that a tiled run pools as an untiled one.

    Example:
    >>> x = keras.random.normal((1, 16, 16, 512))
    >>> GlobalInfoAware()(x).shape
    (1, 16, 16, 512)

    Reference:
        Meng et al., "GIA-Net: Global Information Aware Network for Low-light Imaging",
        ECCV Workshops 2020, Sec. 3.2 and Fig. 3.
    """

    def __init__(
        self, reduced_channels=None, output_channels=None, conv_before_upsample=True, **kwargs
    ):
        super().__init__(**kwargs)
        for arg, value in (
            ("reduced_channels", reduced_channels),
            ("output_channels", output_channels),
        ):
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise ValueError(f"{arg} must be a positive int or None. Received: {arg}={value}")
        self.reduced_channels = reduced_channels
        self.output_channels = output_channels
        self.conv_before_upsample = bool(conv_before_upsample)

    def _channels(self, input_channels):
        c1 = self.reduced_channels or input_channels // 2
        c3 = self.output_channels or input_channels
        return c1, c3

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"GlobalInfoAware needs a known channel count. Received: input_shape={input_shape}"
            )
        c1, c3 = self._channels(channels)
        self.global_conv = keras.layers.Conv2D(
            c1, 1, name="global_conv", dtype=self.dtype_policy
        )
        self.fuse_conv = keras.layers.Conv2D(c3, 1, name="fuse_conv", dtype=self.dtype_policy)
        batch, height, width = input_shape[:3]
        self.global_conv.build((batch, 1, 1, channels))
        self.fuse_conv.build((batch, height, width, channels + c1))

    def call(self, inputs, frame_mean=None):
        size = tf.shape(inputs)[1:3]
        if frame_mean is None:
            pooled = tf.reduce_mean(inputs, axis=(1, 2), keepdims=True)
        else:
            pooled = tf.cast(frame_mean, inputs.dtype)
        if self.conv_before_upsample:
            glob = self._upsample(self.global_conv(pooled), size)
        else:
            glob = self.global_conv(self._upsample(pooled, size))
        return self.fuse_conv(tf.concat([inputs, glob], axis=-1))

    @staticmethod
    def _upsample(pooled, size):
        resized = tf.image.resize(pooled, size, method="bilinear")
        return tf.cast(resized, pooled.dtype)

    def compute_output_shape(self, input_shape):
        _, c3 = self._channels(input_shape[-1])
        return (*input_shape[:3], c3)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "reduced_channels": self.reduced_channels,
                "output_channels": self.output_channels,
                "conv_before_upsample": self.conv_before_upsample,
            }
        )
        return config
