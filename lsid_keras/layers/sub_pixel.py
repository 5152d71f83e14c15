"""Sub-pixel (depth-to-space) output layer."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="lsid_keras")
class SubPixel(keras.layers.Layer):
    """Rearranges channels into space: `(H, W, C * b * b) -> (H * b, W * b, C)`.

    The last stage of the SID U-Net: its 1x1 convolution predicts `3 * b * b` channels at the
    packed resolution and this layer moves them to the full RAW resolution. It follows
    TensorFlow's `depth_to_space` channel order (DCR: the block offset varies slowest), the order
    the SID reference code and its released weights use, and converts to the TFLite builtin
    DEPTH_TO_SPACE.

    Args:
        block_size: int >= 2, the spatial upscale factor; 2 for Bayer (4 packed channels at
            half resolution), 3 for X-Trans (9 packed channels at a third of the resolution).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tensor `(batch, H, W, C)` with `C` a multiple of `block_size ** 2`.

    Example:
    >>> x = keras.random.normal((1, 8, 8, 12))
    >>> SubPixel(block_size=2)(x).shape
    (1, 16, 16, 3)

    Reference:
        Shi et al., "Real-Time Single Image and Video Super-Resolution Using an Efficient
        Sub-Pixel Convolutional Neural Network", CVPR 2016.
    """

    def __init__(self, block_size=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(block_size, int) or block_size < 2:
            raise ValueError(f"block_size must be an int >= 2. Received: block_size={block_size}")
        self.block_size = block_size

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is not None and channels % (self.block_size**2):
            raise ValueError(
                f"SubPixel needs channels divisible by block_size**2 = {self.block_size**2}. "
                f"Received: input_shape={tuple(input_shape)}"
            )

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.block_size)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        b = self.block_size
        return (
            batch,
            None if height is None else height * b,
            None if width is None else width * b,
            channels // (b * b),
        )

    def get_config(self):
        config = super().get_config()
        config.update({"block_size": self.block_size})
        return config
