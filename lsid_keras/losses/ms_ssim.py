"""MS-SSIM loss: one minus multi-scale structural similarity."""

import functools

import keras
import numpy as np
import tensorflow as tf

#: SSIM's stabilising constants as fractions of the dynamic range (Wang et al.; the values
#: `tf.image.ssim_multiscale` uses).
_K1, _K2 = 0.01, 0.03


def _min_side(num_scales, filter_size):
    """Smallest image side (pixels) on which `tf.image.ssim_multiscale` runs `num_scales` scales.

    Every scale after the first halves the image, rounding up (odd sides are padded), and each
    scale needs a side of at least `filter_size` for its VALID Gaussian window, so scale
    `num_scales - 1` needs `ceil(side / 2**(num_scales - 1)) >= filter_size`.
    """
    return (filter_size - 1) * 2 ** (num_scales - 1) + 1


def gaussian_taps(filter_size, filter_sigma):
    """The 1-D Gaussian window (sums to 1) whose outer product is SSIM's 2-D window.

    `tf.image.ssim_multiscale` builds its 2-D window as a softmax over `-(i^2 + j^2) / (2 s^2)`,
    which is exactly the outer product of this normalised 1-D window with itself.
    """
    coords = np.arange(filter_size, dtype=np.float64) - (filter_size - 1) / 2.0
    taps = np.exp(-0.5 * np.square(coords / filter_sigma))
    return taps / taps.sum()


def _gaussian_filter(images, taps):
    """Separable VALID Gaussian filter of every channel: a 1 x n then an n x 1 depthwise pass.

    2n taps per pixel instead of the n^2 of the full window that `tf.image.ssim_multiscale`
    applies (22 instead of 121 for n = 11); the result is the same up to float rounding.
    """
    channels = tf.shape(images)[-1]
    size = len(taps)
    taps = tf.constant(taps, images.dtype)
    across = tf.tile(tf.reshape(taps, [1, size, 1, 1]), [1, 1, channels, 1])
    down = tf.tile(tf.reshape(taps, [size, 1, 1, 1]), [1, 1, channels, 1])
    images = tf.nn.depthwise_conv2d(images, across, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(images, down, [1, 1, 1, 1], "VALID")


def _halve(images):
    """2x2 average pooling; odd sides first get their last row / column repeated (as TF does)."""
    shape = tf.shape(images)
    pad = tf.stack([[0, 0], [0, shape[1] % 2], [0, shape[2] % 2], [0, 0]])
    images = tf.pad(images, pad, mode="SYMMETRIC")
    return tf.nn.avg_pool2d(images, 2, 2, "VALID")


def ms_ssim(y_true, y_pred, power_factors=(1.0,) * 5, filter_size=11, filter_sigma=1.5):
    """Per-image MS-SSIM of two float [0, 1] NHWC batches, with a separable Gaussian window.

    The same quantity as `tf.image.ssim_multiscale(y_true, y_pred, max_val=1, ...)` (same
    window, constants, odd-side padding, ReLU of each scale and mean over channels; equal to
    within 1e-5 in the tests), computed faster: the four local statistics (means of x, y,
    x^2 + y^2 and x y) of all channels are filtered together in one separable pass per scale.
    `len(power_factors)` scales are used; the caller checks that the images are large enough.

    Returns:
        tensor of shape (N,) and the images' dtype (float32 or float64), in [0, 1] (1 for
        identical images).
    """
    taps = gaussian_taps(filter_size, filter_sigma)
    c1, c2 = _K1**2, _K2**2
    x, y = y_true, y_pred
    per_scale = []
    for scale in range(len(power_factors)):
        if scale:
            x, y = tf.split(_halve(tf.concat([x, y], -1)), 2, axis=-1)
        stats = _gaussian_filter(tf.concat([x, y, x * x + y * y, x * y], -1), taps)
        mean_x, mean_y, mean_sq, mean_xy = tf.split(stats, 4, axis=-1)
        num0 = 2.0 * mean_x * mean_y
        den0 = tf.square(mean_x) + tf.square(mean_y)
        cs_map = (2.0 * mean_xy - num0 + c2) / (mean_sq - den0 + c2)
        if scale < len(power_factors) - 1:
            per_scale.append(tf.nn.relu(tf.reduce_mean(cs_map, axis=[1, 2])))
        else:
            luminance = (num0 + c1) / (den0 + c1)
            per_scale.append(tf.nn.relu(tf.reduce_mean(luminance * cs_map, axis=[1, 2])))
    per_channel = tf.reduce_prod(tf.pow(tf.stack(per_scale, -1), power_factors), -1)
    return tf.reduce_mean(per_channel, -1)


@keras.saving.register_keras_serializable(package="lsid_keras")
class MSSSIMLoss(keras.losses.Loss):
    """One minus the multi-scale structural similarity (MS-SSIM) of two image batches.

    The MS-SSIM of `tf.image.ssim_multiscale` with `max_val=1` (per RGB channel, averaged),
    computed by `ms_ssim` with a separable Gaussian window (22 taps per pixel instead of 121;
    the same values to float rounding), in float32 whatever the input dtype (mixed-precision
    outputs are cast: SSIM's variances are differences of close local means, which bfloat16's
    8-bit mantissa cannot resolve). Each image's loss is
    in [0, 1]: 0 for identical images.

    Both Zamir et al. and GIA-Net set every MS-SSIM exponent to 1 (alpha = beta_j = 1), so the
    default `power_factors` is five ones, not the (0.0448, 0.2856, ...) of Wang et al. that
    `tf.image.ssim_multiscale` defaults to.

    Small crops: scale `k` (counting from 1) needs the smaller image side to be at least
    `(filter_size - 1) * 2**(k - 1) + 1` pixels, i.e. 11, 21, 41, 81 and 161 for the default
    11-pixel window. A crop too small for all scales uses the largest number of scales `k` it
    supports with the first `k` power factors (not renormalised), keeping the Gaussian window
    unchanged: a 32x32 crop uses 2 scales, 64x64 uses 3, and the training outputs of SID,
    Zamir et al. and GIA-Net (crops of 512 packed pixels and more, so at least 1024x1024 RGB)
    use all 5. Images smaller than `filter_size` in height or width raise a `ValueError`.

    When height or width is unknown while the graph is traced (e.g. a tf.data pipeline with a
    different crop size every step), the same rule is applied at run time by `tf.switch_case`
    over every possible number of scales, and too small images raise
    `tf.errors.InvalidArgumentError`. That graph holds one MS-SSIM per number of scales, so the
    first training step compiles more slowly (about 15 s on 2 CPU cores for 5 scales).

    Args:
        power_factors: exponent of each scale, finest first; its length is the maximum number
            of scales. Defaults to `(1.0,) * 5`.
        filter_size: side of the Gaussian window, in pixels. Defaults to 11.
        filter_sigma: standard deviation of the Gaussian window, in pixels. Defaults to 1.5.
        **kwargs: passed to `keras.losses.Loss` (`name`, `reduction`, `dtype`).

    Call arguments:
        y_true: reference images, float [0, 1], NHWC (3 channels, RGB).
        y_pred: predicted images, same shape, any float dtype.

    Example:

    ```python
    loss = MSSSIMLoss()
    y_true = tf.random.uniform((2, 64, 64, 3))
    loss(y_true, y_true)  # 0.0
    ```

    Reference:
        Wang, Simoncelli and Bovik, "Multiscale structural similarity for image quality
        assessment", Asilomar 2003; Zamir et al., "Learning Digital Camera Pipeline for Extreme
        Low-Light Imaging", eq. (4)-(7); Meng et al., "GIA-Net: Global Information Aware
        Network for Low-light Imaging", eq. (3)-(6).
    """

    def __init__(self, power_factors=(1.0,) * 5, filter_size=11, filter_sigma=1.5, **kwargs):
        kwargs.setdefault("name", "ms_ssim_loss")
        super().__init__(**kwargs)
        power_factors = tuple(float(p) for p in power_factors)
        if not power_factors:
            raise ValueError(
                f"`power_factors` needs at least one scale. Received: power_factors={power_factors}"
            )
        if int(filter_size) != filter_size or filter_size < 1:
            raise ValueError(
                f"`filter_size` must be a positive integer. Received: filter_size={filter_size}"
            )
        if filter_sigma <= 0:
            raise ValueError(
                f"`filter_sigma` must be positive. Received: filter_sigma={filter_sigma}"
            )
        self.power_factors = power_factors
        self.filter_size = int(filter_size)
        self.filter_sigma = float(filter_sigma)

    def num_scales(self, height, width):
        """Number of MS-SSIM scales used on `height` x `width` images (the small-crop rule).

        Raises:
            ValueError: if `height` or `width` is smaller than `filter_size`.
        """
        side = min(height, width)
        if side < self.filter_size:
            raise ValueError(
                f"MSSSIMLoss needs images of at least {self.filter_size}x{self.filter_size} "
                f"pixels (filter_size={self.filter_size}). Received: height={height}, "
                f"width={width}"
            )
        scales = range(1, len(self.power_factors) + 1)
        return max(k for k in scales if side >= _min_side(k, self.filter_size))

    def call(self, y_true, y_pred):
        y_true = tf.cast(y_true, tf.float32)
        y_pred = tf.cast(y_pred, tf.float32)
        height, width = y_pred.shape[-3], y_pred.shape[-2]
        if height is not None and width is not None:
            return 1.0 - self._ms_ssim(y_true, y_pred, self.num_scales(height, width))

        # Crop size known only at run time (e.g. GIA-Net's per-step crop sizes): choose the
        # number of scales in the graph.
        shape = tf.shape(y_pred)
        side = tf.minimum(shape[-3], shape[-2])
        check = tf.debugging.assert_greater_equal(
            side,
            self.filter_size,
            message=(
                f"MSSSIMLoss needs images of at least {self.filter_size}x{self.filter_size} "
                f"pixels (filter_size={self.filter_size})"
            ),
        )
        with tf.control_dependencies([check]):
            scales = tf.add_n(
                [
                    tf.cast(side >= _min_side(k, self.filter_size), tf.int32)
                    for k in range(1, len(self.power_factors) + 1)
                ]
            )
        branches = [
            functools.partial(self._ms_ssim, y_true, y_pred, k)
            for k in range(1, len(self.power_factors) + 1)
        ]
        return 1.0 - tf.switch_case(scales - 1, branches)

    def _ms_ssim(self, y_true, y_pred, num_scales):
        return ms_ssim(
            y_true,
            y_pred,
            power_factors=self.power_factors[:num_scales],
            filter_size=self.filter_size,
            filter_sigma=self.filter_sigma,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "power_factors": self.power_factors,
                "filter_size": self.filter_size,
                "filter_sigma": self.filter_sigma,
            }
        )
        return config
