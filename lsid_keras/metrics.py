"""Image quality metrics: PSNR and SSIM on [0, 1] RGB images, float or SID reference protocol.

Two protocols:

- `"float"`: the images as they are, with a dynamic range of 1 (`max_val=1`). Use it for
  validation during training.
- `"reference"`: the evaluation of Chen et al. (SID), also used by Zamir et al. and GIA-Net:
  both images are clipped to [0, 1] and quantised to 8 bit (`floor(x * 255 + 0.5)`, round half
  up, as SID's PNG writer and MATLAB's `im2uint8`), then PSNR uses a peak of 255 and SSIM runs
  on the 8-bit RGB values with MATLAB's defaults (Gaussian window 11, sigma 1.5, k1 = 0.01,
  k2 = 0.03, dynamic range 255). Use it to compare with published numbers.

SSIM is computed per channel with `tf.image.ssim` (valid windows only, no border padding) and
averaged over R, G and B. MATLAB's `ssim` filters with replicated borders instead, so values can
differ slightly from MATLAB's.
"""

import keras
import tensorflow as tf

PROTOCOLS = ("float", "reference")


def _check_protocol(protocol):
    if protocol not in PROTOCOLS:
        raise ValueError(f"`protocol` must be one of {PROTOCOLS}. Received: protocol={protocol!r}")


def _prepare(y_true, y_pred, protocol):
    """Cast (and, for the reference protocol, quantise) both images; return them and max_val."""
    _check_protocol(protocol)
    y_true = tf.cast(y_true, tf.float32)
    y_pred = tf.cast(y_pred, tf.float32)
    if y_pred.shape.rank not in (3, 4):
        raise ValueError(f"Expected one HWC image or an NHWC batch. Received: shape={y_pred.shape}")
    if protocol == "float":
        return y_true, y_pred, 1.0
    return _quantise_8bit(y_true), _quantise_8bit(y_pred), 255.0


def _quantise_8bit(image):
    """[0, 1] image to its 8-bit values 0..255 (kept as float32)."""
    return tf.floor(tf.clip_by_value(image, 0.0, 1.0) * 255.0 + 0.5)


def psnr(y_true, y_pred, protocol="float"):
    """Peak signal-to-noise ratio, in dB, of [0, 1] images.

    `10 * log10(peak**2 / MSE)` with the MSE over each image's pixels and channels, peak 1
    (`"float"`) or 255 on the 8-bit values (`"reference"`); see the module docstring. Higher is
    better: about 20-40 dB for restored low-light images, `inf` for identical images.

    Args:
        y_true: reference image(s), float [0, 1], HWC or NHWC (3 channels RGB).
        y_pred: predicted image(s), same shape, any float dtype.
        protocol: `"float"` (default) or `"reference"` (SID's 8-bit evaluation).

    Returns:
        float32 PSNR in dB: a scalar for one HWC image, shape `(N,)` for an NHWC batch.
    """
    y_true, y_pred, max_val = _prepare(y_true, y_pred, protocol)
    return tf.image.psnr(y_true, y_pred, max_val=max_val)


def ssim(y_true, y_pred, protocol="float"):
    """Structural similarity of [0, 1] images (Gaussian window 11, sigma 1.5, k1 0.01, k2 0.03).

    Mean SSIM over each image's valid 11x11 windows and its R, G, B channels, with a dynamic
    range of 1 (`"float"`) or on the 8-bit values with range 255 (`"reference"`); see the
    module docstring. Unitless, at most 1 (identical images), typically 0.6-0.9 for restored
    low-light images. Images must be at least 11x11 pixels.

    Args:
        y_true: reference image(s), float [0, 1], HWC or NHWC (3 channels RGB).
        y_pred: predicted image(s), same shape, any float dtype.
        protocol: `"float"` (default) or `"reference"` (SID's 8-bit evaluation).

    Returns:
        float32 SSIM: a scalar for one HWC image, shape `(N,)` for an NHWC batch.
    """
    y_true, y_pred, max_val = _prepare(y_true, y_pred, protocol)
    height, width = y_pred.shape[-3], y_pred.shape[-2]
    if (height is not None and height < 11) or (width is not None and width < 11):
        raise ValueError(
            f"SSIM needs images of at least 11x11 pixels. Received: shape={y_pred.shape}"
        )
    return tf.image.ssim(
        y_true, y_pred, max_val=max_val, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03
    )


class _ImageQualityMean(keras.metrics.Mean):
    """Mean over images of a per-image quality function, for `model.compile(metrics=...)`."""

    # Per-image function (y_true, y_pred, protocol) -> values; set by subclasses.
    _score = None

    def __init__(self, protocol="float", **kwargs):
        _check_protocol(protocol)
        suffix = "" if protocol == "float" else f"_{protocol}"
        kwargs.setdefault("name", f"{type(self).__name__.lower()}{suffix}")
        super().__init__(**kwargs)
        self.protocol = protocol

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = type(self)._score(y_true, y_pred, protocol=self.protocol)
        return super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update({"protocol": self.protocol})
        return config


@keras.saving.register_keras_serializable(package="lsid_keras")
class PSNR(_ImageQualityMean):
    """Mean PSNR over images, in dB (see `psnr`), as a Keras metric.

    Args:
        protocol: `"float"` (default: peak 1 on the unquantised [0, 1] values) or
            `"reference"` (SID's protocol: clip, quantise to 8 bit, peak 255).
        **kwargs: passed to `keras.metrics.Mean` (`name`, `dtype`). The name defaults to
            `"psnr"`, or `"psnr_reference"` for the reference protocol.

    Example:

    ```python
    model.compile(optimizer="adam", loss=JointLoss(), metrics=[PSNR(), SSIM()])
    ```

    Reference:
        Chen et al., "Learning to See in the Dark", CVPR 2018 (evaluation protocol).
    """

    _score = staticmethod(psnr)


@keras.saving.register_keras_serializable(package="lsid_keras")
class SSIM(_ImageQualityMean):
    """Mean SSIM over images, unitless and at most 1 (see `ssim`), as a Keras metric.

    Args:
        protocol: `"float"` (default: dynamic range 1 on the unquantised [0, 1] values) or
            `"reference"` (SID's protocol: clip, quantise to 8 bit, dynamic range 255).
        **kwargs: passed to `keras.metrics.Mean` (`name`, `dtype`). The name defaults to
            `"ssim"`, or `"ssim_reference"` for the reference protocol.

    Example:

    ```python
    model.compile(optimizer="adam", loss=JointLoss(), metrics=[PSNR(), SSIM()])
    ```

    Reference:
        Wang et al., "Image Quality Assessment: From Error Visibility to Structural
        Similarity", IEEE TIP 2004; Chen et al., "Learning to See in the Dark", CVPR 2018.
    """

    _score = staticmethod(ssim)


def mean_ab_error(output, target) -> float:
    """Colour cast between two images: the CIELAB a*b* distance (D65) between their mean sRGB
    colours.

    Args:
        output, target: (H, W, 3) sRGB in [0, 1] (any size; each is averaged first).

    Returns:
        float >= 0, in CIELAB units (about 2: just visible side by side; above 10: a plain
        cast).
    """
    import numpy as np
    from skimage.color import rgb2lab

    def ab(image):
        mean = np.asarray(image, np.float64).reshape(-1, 3).mean(axis=0)
        return rgb2lab(mean.reshape(1, 1, 3))[0, 0, 1:]

    return float(np.linalg.norm(ab(output) - ab(target)))
