"""MS-SSIM loss: one minus multi-scale structural similarity."""

import functools

import keras
import tensorflow as tf


def _min_side(num_scales, filter_size):
    """Smallest image side (pixels) on which `tf.image.ssim_multiscale` runs `num_scales` scales.

    Every scale after the first halves the image, rounding up (odd sides are padded), and each
    scale needs a side of at least `filter_size` for its VALID Gaussian window, so scale
    `num_scales - 1` needs `ceil(side / 2**(num_scales - 1)) >= filter_size`.
    """
    return (filter_size - 1) * 2 ** (num_scales - 1) + 1


@keras.saving.register_keras_serializable(package="lsid_keras")
class MSSSIMLoss(keras.losses.Loss):
    """One minus the multi-scale structural similarity (MS-SSIM) of two image batches.

    Built on `tf.image.ssim_multiscale` with `max_val=1`, computed per RGB channel and averaged,
    in float32 whatever the input dtype (mixed-precision outputs are cast). Each image's loss is
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
        return tf.image.ssim_multiscale(
            y_true,
            y_pred,
            max_val=1.0,
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
