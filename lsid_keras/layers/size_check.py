"""Input guard for fully convolutional models that pool a fixed number of times."""

import keras
import tensorflow as tf


def nearest_multiple(size, multiple):
    """The multiple of `multiple` nearest to `size` (ties round up; at least `multiple`)."""
    return max(multiple, int(size / multiple + 0.5) * multiple)


@keras.saving.register_keras_serializable(package="lsid_keras")
class SizeCheck(keras.layers.Layer):
    """Passes its input through unchanged after checking that H and W divide by `multiple`.

    The U-Net max-pools four times and concatenates each upsampled map with its skip, so the
    packed input's height and width must be multiples of 16. With static shapes (eager calls,
    the first trace of `predict`, fixed-shape exports) the check raises a `ValueError` naming
    the size and the nearest valid one; with dynamic shapes it adds a graph assertion.

    Args:
        multiple: int >= 1, the required divisor of H and W in packed pixels (16 for the U-Net).
        **kwargs: standard layer arguments.

    Call arguments:
        inputs: tensor `(batch, H, W, C)`.

    Example:
    >>> SizeCheck(16)(keras.ops.zeros((1, 32, 48, 4))).shape
    (1, 32, 48, 4)
    """

    def __init__(self, multiple=16, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(multiple, int) or multiple < 1:
            raise ValueError(f"multiple must be an int >= 1. Received: multiple={multiple}")
        self.multiple = multiple

    def _check_static(self, shape):
        for axis, size in (("height", shape[1]), ("width", shape[2])):
            if size is not None and size % self.multiple:
                raise ValueError(
                    f"packed input {axis} {size} is not a multiple of {self.multiple} (the "
                    f"network pools {self.multiple.bit_length() - 1} times); nearest valid "
                    f"{axis}: {nearest_multiple(size, self.multiple)}. "
                    f"Received: shape={tuple(shape)}"
                )

    def call(self, inputs):
        static = tuple(inputs.shape)
        self._check_static(static)
        if self.multiple == 1 or (static[1] is not None and static[2] is not None):
            return inputs
        hw = tf.shape(inputs)[1:3]
        check = tf.debugging.assert_equal(
            hw % self.multiple,
            tf.zeros_like(hw),
            message=f"packed input height and width must be multiples of {self.multiple}",
        )
        with tf.control_dependencies([check]):
            return tf.identity(inputs)

    def compute_output_shape(self, input_shape):
        self._check_static(input_shape)
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"multiple": self.multiple})
        return config
