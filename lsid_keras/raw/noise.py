"""Physics-based sensor noise for synthetic short exposures (ELD, CVPR 2020; LED, ICCV 2023).

References: K. Wei, Y. Fu, J. Yang, H. Huang, "A Physics-based Noise Formation Model for Extreme
Low-light Raw Denoising", CVPR 2020 (ELD); X. Jin et al., "Lighting Every Darkness in Two
Pairs: A Calibration-Free Pipeline for RAW Denoising", ICCV 2023 (LED). Calibration constants
below are ELD's Sony A7S2 fits (the SID Sony camera).

Everything is in sensor units (DN). For a clean long exposure with signal `clean_dn` above
black, a short exposure `ratio` times shorter collects `s = clean_dn / ratio` and reads

    K * Poisson(s / K)                shot noise, K = system gain (DN per electron)
    + N(0, read_sigma)                read noise, per pixel
    + N(0, row_sigma)                 row (banding) noise, one draw per row
    + U(-0.5, 0.5)                    quantisation
    + black level, clipped to [0, white], rounded to integers (uint16)

with the camera's parameters drawn per exposure:

    log K          ~ U(log 0.0939, log 6.011)
    log read_sigma = 0.54075 log K + 1.21824 + N(0, 0.26751)
    log row_sigma  = 0.52754 log K - 0.59170 + N(0, 0.29429)

(natural logarithms). Read noise is Gaussian here (ELD also fits a Tukey-lambda shape).

NumPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: System gain K (DN per photo-electron), sampled log-uniformly in this range.
SYSTEM_GAIN_RANGE = (0.0939, 6.011)
#: log read_sigma = slope * log K + intercept + N(0, std).
READ_NOISE_FIT = (0.54075, 1.21824, 0.26751)
#: log row_sigma = slope * log K + intercept + N(0, std).
ROW_NOISE_FIT = (0.52754, -0.59170, 0.29429)


@dataclass(frozen=True)
class NoiseParams:
    """Noise parameters of one simulated exposure, in DN.

    Args:
        system_gain: K, DN per photo-electron (> 0); shot-noise variance is K * signal.
        read_sigma: standard deviation of the per-pixel Gaussian read noise (DN, >= 0).
        row_sigma: standard deviation of the per-row offset (DN, >= 0).
    """

    system_gain: float
    read_sigma: float
    row_sigma: float

    def __post_init__(self):
        for name in ("system_gain", "read_sigma", "row_sigma"):
            value = float(getattr(self, name))
            positive = value > 0 if name == "system_gain" else value >= 0
            if not (math.isfinite(value) and positive):
                bound = "> 0" if name == "system_gain" else ">= 0"
                raise ValueError(f"{name} must be finite and {bound}. Received: {name}={value!r}")
            object.__setattr__(self, name, value)


def sample_noise_params(rng: np.random.Generator) -> NoiseParams:
    """Draw K, read and row noise levels from ELD's Sony A7S2 calibration (see module docstring).

    Args:
        rng: a `numpy.random.Generator` (or a seed for one).
    """
    rng = np.random.default_rng(rng)
    low, high = SYSTEM_GAIN_RANGE
    log_gain = rng.uniform(math.log(low), math.log(high))
    slope, intercept, std = READ_NOISE_FIT
    log_read = slope * log_gain + intercept + rng.normal(0.0, std)
    slope, intercept, std = ROW_NOISE_FIT
    log_row = slope * log_gain + intercept + rng.normal(0.0, std)
    return NoiseParams(
        system_gain=math.exp(log_gain), read_sigma=math.exp(log_read), row_sigma=math.exp(log_row)
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
        (H, W) uint16 raw values in [0, white_level] (DN, black level included).
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
    noisy += rng.normal(0.0, params.read_sigma, size=clean.shape)
    noisy += rng.normal(0.0, params.row_sigma, size=(clean.shape[0], 1))
    noisy += rng.uniform(-0.5, 0.5, size=clean.shape)
    noisy += black
    np.rint(noisy, out=noisy)
    np.clip(noisy, 0.0, white, out=noisy)
    return noisy.astype(np.uint16)
