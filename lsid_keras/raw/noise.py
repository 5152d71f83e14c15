"""Physics-based sensor noise for synthetic short exposures (ELD, CVPR 2020; LED, ICCV 2023).

References: K. Wei, Y. Fu, J. Yang, H. Huang, "A Physics-based Noise Formation Model for Extreme
Low-light Raw Denoising", CVPR 2020 (ELD); X. Jin et al., "Lighting Every Darkness in Two
Pairs: A Calibration-Free Pipeline for RAW Denoising", ICCV 2023 (LED).

Everything is in sensor units (DN). For a clean long exposure with signal `clean_dn` above
black, a short exposure `ratio` times shorter collects `s = clean_dn / ratio` and reads

    K * Poisson(s / K)                shot noise, K = system gain (DN per electron)
    + read noise, per pixel           N(0, read_sigma), or Tukey-lambda(shape) * read_sigma
    + N(0, row_sigma)                 row (banding) noise, one draw per row
    + black level, rounded to whole DN (the ADC: quantisation, variance 1/12 DN^2),
      clipped to [0, white] (uint16)

so that, away from clipping, the variance is `K * s + read_variance + row_sigma^2 + 1/12`
(`NoiseParams.variance`). ELD adds U(-q/2, q/2) quantisation noise to float data instead; the
integer output here carries the same 1/12 DN^2 through the rounding itself.

Each exposure draws its parameters from a camera's calibration (`NoiseCalibration`):

    log K          ~ U(log K_min, log K_max)
    log read_sigma = slope * log K + bias + N(0, sigma)      (Gaussian fit)
    log row_sigma  = slope * log K + bias + N(0, sigma)

(natural logarithms). With `read_noise="tukey"` the read noise is ELD's Tukey-lambda model: the
shape lambda is drawn uniformly from the camera's fitted shapes (one per ISO setting) and the
scale from its own log-linear fit. The calibrations are ELD's published fits
(github.com/Vandermode/ELD, `camera_params/release/<camera>_params.npy`, keys Kmin, Kmax,
Profile-1 g_scale (Gaussian), G_scale + G_shape (Tukey-lambda), R_scale (row)).

NumPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_READ_NOISE_MODELS = ("gaussian", "tukey")


@dataclass(frozen=True)
class NoiseCalibration:
    """One camera's noise calibration: where each exposure's `NoiseParams` are drawn from.

    Args:
        name: where the fit comes from, e.g. "ELD SonyA7S2".
        system_gain_range: (K_min, K_max), DN per photo-electron; log K is drawn uniformly.
        read_fit: (slope, bias, sigma) of the Gaussian read noise:
            log read_sigma = slope * log K + bias + N(0, sigma).
        row_fit: (slope, bias, sigma) of the row noise, same form.
        tukey_scale_fit: (slope, bias, sigma) of the Tukey-lambda read-noise scale, or None.
        tukey_shapes: the fitted Tukey-lambda shapes (one per ISO setting), or None.
    """

    name: str
    system_gain_range: tuple
    read_fit: tuple
    row_fit: tuple
    tukey_scale_fit: tuple | None = None
    tukey_shapes: tuple | None = None

    @property
    def has_tukey(self) -> bool:
        return self.tukey_scale_fit is not None and bool(self.tukey_shapes)

    def as_dict(self) -> dict:
        """JSON-ready values."""
        return {
            "name": self.name,
            "system_gain_range": list(self.system_gain_range),
            "read_fit": list(self.read_fit),
            "row_fit": list(self.row_fit),
            "tukey_scale_fit": None if self.tukey_scale_fit is None else list(self.tukey_scale_fit),
            "tukey_shapes": None if self.tukey_shapes is None else list(self.tukey_shapes),
        }


#: ELD's Sony A7S2 calibration (the SID Sony camera), rounded to 5 decimals.
ELD_SONY_A7S2 = NoiseCalibration(
    name="ELD SonyA7S2",
    system_gain_range=(0.0939, 6.011),
    read_fit=(0.54075, 1.21824, 0.26751),
    row_fit=(0.52754, -0.59170, 0.29429),
    tukey_scale_fit=(0.46210, 0.56571, 0.26337),
    tukey_shapes=(
        0.11429, 0.12857, 0.05714, 0.04286, 0.0, 0.0, -0.04286, -0.05714, -0.08571,
        -0.08571, -0.08571, -0.08571, -0.11429, -0.11429, -0.14286, -0.12857, -0.14286,
        -0.14286,
    ),
)
#: ELD's Nikon D850 calibration (Profile-1, the one ELD's sampler uses).
ELD_NIKON_D850 = NoiseCalibration(
    name="ELD NikonD850",
    system_gain_range=(0.41504, 26.56252),
    read_fit=(0.56346, 0.79941, 0.21408),
    row_fit=(0.44829, -1.79771, 0.23218),
    tukey_scale_fit=(0.47739, -0.09044, 0.23920),
    tukey_shapes=(
        -0.11429, -0.11429, -0.2, -0.2, -0.21429, -0.21429, -0.22857, -0.22857, -0.24286,
        -0.24286, -0.17143, -0.17143, -0.14286, -0.14286, -0.1, -0.1,
    ),
)

#: The Sony A7S2 fit's system gain range, kept as named constants for existing callers.
SYSTEM_GAIN_RANGE = ELD_SONY_A7S2.system_gain_range
#: log read_sigma = slope * log K + intercept + N(0, std) (Sony A7S2, Gaussian).
READ_NOISE_FIT = ELD_SONY_A7S2.read_fit
#: log row_sigma = slope * log K + intercept + N(0, std) (Sony A7S2).
ROW_NOISE_FIT = ELD_SONY_A7S2.row_fit


def tukey_lambda_variance(shape: float) -> float:
    """Variance of the standard Tukey-lambda distribution (scale 1); finite for shape > -1/2.

    `2 / shape^2 * (1 / (1 + 2 shape) - Gamma(shape + 1)^2 / Gamma(2 shape + 2))`, and
    pi^2 / 3 (the logistic distribution) at shape 0.
    """
    shape = float(shape)
    if not shape > -0.5:
        raise ValueError(f"Tukey-lambda variance is infinite for shape <= -0.5. Received: {shape}")
    if abs(shape) < 1e-6:
        return math.pi**2 / 3
    beta = math.exp(2 * math.lgamma(shape + 1) - math.lgamma(2 * shape + 2))
    return 2.0 / shape**2 * (1.0 / (1.0 + 2.0 * shape) - beta)


def tukey_lambda_noise(rng: np.random.Generator, shape: float, scale: float, size) -> np.ndarray:
    """Samples `scale * Q(U)` with Tukey-lambda's quantile `Q(u) = (u^l - (1 - u)^l) / l`
    (`log(u / (1 - u))` at l = 0), U uniform: the distribution `scipy.stats.tukeylambda(l,
    scale=scale)` describes."""
    u = rng.random(size)
    np.clip(u, 1e-12, 1.0 - 1e-12, out=u)
    if abs(shape) < 1e-6:
        values = np.log(u / (1.0 - u))
    else:
        values = (u**shape - (1.0 - u) ** shape) / shape
    values *= scale
    return values


@dataclass(frozen=True)
class NoiseParams:
    """Noise parameters of one simulated exposure, in DN.

    Args:
        system_gain: K, DN per photo-electron (> 0); shot-noise variance is K * signal.
        read_sigma: Gaussian read noise: its standard deviation; Tukey-lambda read noise: its
            scale (DN, >= 0).
        row_sigma: standard deviation of the per-row offset (DN, >= 0).
        read_shape: None for Gaussian read noise, else the Tukey-lambda shape (> -0.5, so the
            variance is finite).
    """

    system_gain: float
    read_sigma: float
    row_sigma: float
    read_shape: float | None = None

    def __post_init__(self):
        for name in ("system_gain", "read_sigma", "row_sigma"):
            value = float(getattr(self, name))
            positive = value > 0 if name == "system_gain" else value >= 0
            if not (math.isfinite(value) and positive):
                bound = "> 0" if name == "system_gain" else ">= 0"
                raise ValueError(f"{name} must be finite and {bound}. Received: {name}={value!r}")
            object.__setattr__(self, name, value)
        if self.read_shape is not None:
            shape = float(self.read_shape)
            if not (math.isfinite(shape) and shape > -0.5):
                raise ValueError(
                    f"read_shape must be None (Gaussian) or a Tukey-lambda shape > -0.5. "
                    f"Received: read_shape={self.read_shape!r}"
                )
            object.__setattr__(self, "read_shape", shape)

    @property
    def read_variance(self) -> float:
        """Variance of the per-pixel read noise, DN^2."""
        if self.read_shape is None:
            return self.read_sigma**2
        return self.read_sigma**2 * tukey_lambda_variance(self.read_shape)

    def variance(self, signal) -> np.ndarray:
        """Predicted variance (DN^2) of a simulated short exposure whose mean signal above
        black is `signal` DN (away from clipping): `K s + read_variance + row_sigma^2 + 1/12`."""
        signal = np.maximum(np.asarray(signal, dtype=np.float64), 0.0)
        return self.system_gain * signal + self.read_variance + self.row_sigma**2 + 1.0 / 12.0

    def as_dict(self) -> dict:
        """JSON-ready values."""
        values = {
            "system_gain": self.system_gain,
            "read_sigma": self.read_sigma,
            "row_sigma": self.row_sigma,
        }
        if self.read_shape is not None:
            values["read_shape"] = self.read_shape
        return values


def sample_noise_params(
    rng: np.random.Generator,
    calibration: NoiseCalibration = ELD_SONY_A7S2,
    read_noise: str = "gaussian",
) -> NoiseParams:
    """Draw K, read and row noise levels from a camera's calibration (see module docstring).

    Args:
        rng: a `numpy.random.Generator` (or a seed for one).
        calibration: a `NoiseCalibration`; default ELD's Sony A7S2 fit.
        read_noise: "gaussian" or "tukey" (ELD's Tukey-lambda read noise; the calibration must
            have a Tukey-lambda fit).
    """
    if read_noise not in _READ_NOISE_MODELS:
        raise ValueError(
            f"read_noise must be one of {_READ_NOISE_MODELS}. Received: read_noise={read_noise!r}"
        )
    if read_noise == "tukey" and not calibration.has_tukey:
        raise ValueError(f"{calibration.name} has no Tukey-lambda read-noise fit")
    rng = np.random.default_rng(rng)
    low, high = calibration.system_gain_range
    log_gain = rng.uniform(math.log(low), math.log(high))
    slope, intercept, std = calibration.read_fit
    log_read = slope * log_gain + intercept + rng.normal(0.0, std)
    slope, intercept, std = calibration.row_fit
    log_row = slope * log_gain + intercept + rng.normal(0.0, std)
    shape = None
    if read_noise == "tukey":
        shape = float(calibration.tukey_shapes[rng.integers(len(calibration.tukey_shapes))])
        slope, intercept, std = calibration.tukey_scale_fit
        log_read = slope * log_gain + intercept + rng.normal(0.0, std)
    return NoiseParams(
        system_gain=math.exp(log_gain),
        read_sigma=math.exp(log_read),
        row_sigma=math.exp(log_row),
        read_shape=shape,
    )


def simulate_short_exposure(
    clean_dn,
    ratio: float,
    black_level,
    white_level,
    rng,
    params: NoiseParams | None = None,
) -> np.ndarray:
    """Simulate a noisy short exposure of a clean long exposure, as the sensor would record it.

    Args:
        clean_dn: (H, W) clean long-exposure signal above black, in DN (a linear [0, 1] mosaic
            times white - black); negative values are treated as 0.
        ratio: exposure ratio long / short (> 0); the short exposure collects clean_dn / ratio.
        black_level: black level in DN, a scalar or an array broadcastable to (H, W).
        white_level: saturation level in DN (<= 65535).
        rng: `numpy.random.Generator` (or a seed) for the noise, and for the parameters when
            `params` is None.
        params: fixed `NoiseParams`; sampled with `sample_noise_params(rng)` when None.

    Returns:
        (H, W) uint16 raw values in [0, white_level] (DN, black level included), rounded to
        whole DN.
    """
    clean = np.asarray(clean_dn, dtype=np.float64)
    if clean.ndim != 2 or clean.size == 0:
        raise ValueError(f"clean_dn must be a non-empty 2-D mosaic. Received: shape={clean.shape}")
    if not np.all(np.isfinite(clean)):
        raise ValueError("clean_dn must be finite")
    ratio = float(ratio)
    if not (math.isfinite(ratio) and ratio > 0):
        raise ValueError(f"ratio must be a positive finite number. Received: ratio={ratio}")
    black = np.asarray(black_level, dtype=np.float64)
    white = float(white_level)
    if not (np.all(np.isfinite(black)) and math.isfinite(white)) or not 0 < white <= 65535:
        raise ValueError(
            f"white_level must lie in (0, 65535]. Received: white_level={white_level!r}"
        )
    if np.any(black < 0) or np.any(black >= white):
        raise ValueError(
            "black_level must lie in [0, white_level). "
            f"Received: black_level={black_level!r}, white_level={white_level!r}"
        )
    try:
        np.broadcast_shapes(black.shape, clean.shape)
    except ValueError:
        raise ValueError(
            f"black_level must be a scalar or broadcast to the mosaic {clean.shape}. "
            f"Received: shape={black.shape}"
        ) from None
    rng = np.random.default_rng(rng)
    if params is None:
        params = sample_noise_params(rng)

    gain = params.system_gain
    signal = np.maximum(clean, 0.0) / ratio
    noisy = rng.poisson(signal / gain).astype(np.float64)
    noisy *= gain
    if params.read_shape is None:
        noisy += rng.normal(0.0, params.read_sigma, size=clean.shape)
    else:
        noisy += tukey_lambda_noise(rng, params.read_shape, params.read_sigma, clean.shape)
    noisy += rng.normal(0.0, params.row_sigma, size=(clean.shape[0], 1))
    noisy += black
    np.rint(noisy, out=noisy)
    np.clip(noisy, 0.0, white, out=noisy)
    return noisy.astype(np.uint16)
