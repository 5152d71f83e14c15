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

Beyond one calibration (`NOISE_FAMILIES`, `sample_sensor_noise`): a scene can draw its sensor
from a family -- one of ELD's calibrated cameras with Gaussian or Tukey-lambda read noise, or a
heteroscedastic Gaussian sensor with random parameters -- and add what real sensors add on top:
column noise (one offset per column), fixed-pattern noise (one offset per pixel, the same in
every exposure of the scene), hot pixels, a black level a few DN off the one the file states,
and a 12-bit ADC (steps of 4 DN on the 14-bit scale). `NoiseParams` carries these extras; all
default to off, which is exactly the model above.

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

#: ELD's Canon EOS 70D calibration (Profile-1 fits, `G_shape` Tukey-lambda shapes).
ELD_CANON_EOS70D = NoiseCalibration(
    name="ELD CanonEOS70D",
    system_gain_range=(0.40750, 26.07981),
    read_fit=(0.56812, 1.99827, 0.24870),
    row_fit=(0.72922, -0.93706, 0.25022),
    tukey_scale_fit=(0.48681, 1.46427, 0.38201),
    tukey_shapes=(
        0.14286, 0.14286, 0.11429, 0.11429, 0.02857, 0.02857, -0.1, -0.08571, -0.17143,
        -0.17143, -0.15714, -0.15714, -0.08571, -0.08571, -0.02857, -0.02857,
    ),
)
#: ELD's Canon EOS 5D Mark IV calibration.
ELD_CANON_EOS5D4 = NoiseCalibration(
    name="ELD CanonEOS5D4",
    system_gain_range=(0.21819, 13.96413),
    read_fit=(0.67713, 1.51219, 0.24641),
    row_fit=(0.47128, -0.80790, 0.24362),
    tukey_scale_fit=(0.65588, 1.09269, 0.28605),
    tukey_shapes=(
        0.15714, 0.14286, 0.08571, 0.08571, 0.2, 0.2, 0.1, 0.08571, 0.05714, 0.07143, 0.02857,
        0.02857, 0.01429, 0.02857, 0.08571, 0.07143, 0.11429, 0.11429,
    ),
)
#: ELD's Canon EOS 700D calibration: held out of every training family (`NOISE_FAMILIES`),
#: so test pairs simulated with it measure noise the network never saw.
ELD_CANON_EOS700D = NoiseCalibration(
    name="ELD CanonEOS700D",
    system_gain_range=(0.44763, 28.64825),
    read_fit=(0.65246, 2.07986, 0.25782),
    row_fit=(0.62206, -0.77565, 0.24848),
    tukey_scale_fit=(0.59824, 1.53704, 0.38882),
    tukey_shapes=(
        0.12857, 0.12857, 0.1, 0.1, 0.01429, 0.01429, -0.08571, -0.1, -0.14286, -0.15714,
        -0.12857, -0.12857, -0.02857, -0.02857, 0.01429, 0.01429,
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
        column_sigma: standard deviation of the per-column offset (DN, >= 0; 0: none).
        fixed_pattern_sigma: standard deviation of the per-pixel offset that is the same in
            every exposure sharing `pattern_seed` (DN, >= 0; 0: none).
        hot_pixel_fraction: fraction of pixels, in [0, 0.01], stuck at a high value (drawn
            from `pattern_seed`, so the same pixels in every exposure of the sensor).
        black_offset: DN by which the sensor's real black level differs from the file's (a
            small calibration error, |offset| <= 64).
        adc_step: quantisation step in DN (1: a 14-bit ADC on the 14-bit scale; 4: 12-bit).
        pattern_seed: seed of the sensor's fixed pattern and hot pixels (needed when either is
            on).
    """

    system_gain: float
    read_sigma: float
    row_sigma: float
    read_shape: float | None = None
    column_sigma: float = 0.0
    fixed_pattern_sigma: float = 0.0
    hot_pixel_fraction: float = 0.0
    black_offset: float = 0.0
    adc_step: int = 1
    pattern_seed: int | None = None

    def __post_init__(self):
        for name in ("column_sigma", "fixed_pattern_sigma", "hot_pixel_fraction",
                     "black_offset"):
            value = float(getattr(self, name))
            bound = {"hot_pixel_fraction": (0.0, 0.01), "black_offset": (-64.0, 64.0)}.get(
                name, (0.0, math.inf))
            if not (math.isfinite(value) and bound[0] <= value <= bound[1]):
                raise ValueError(f"{name} must lie in [{bound[0]}, {bound[1]}]. "
                                 f"Received: {name}={getattr(self, name)!r}")
            object.__setattr__(self, name, value)
        if isinstance(self.adc_step, bool) or self.adc_step not in (1, 2, 4, 8, 16):
            raise ValueError(f"adc_step must be 1, 2, 4, 8 or 16 DN. Received: "
                             f"adc_step={self.adc_step!r}")
        object.__setattr__(self, "adc_step", int(self.adc_step))
        if (self.fixed_pattern_sigma or self.hot_pixel_fraction) and self.pattern_seed is None:
            raise ValueError("pattern_seed is needed with a fixed pattern or hot pixels")
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
        black is `signal` DN (away from clipping and hot pixels): `K s + read_variance +
        row_sigma^2 + column_sigma^2 + fixed_pattern_sigma^2 + adc_step^2 / 12` (the fixed
        pattern counted over pixels)."""
        signal = np.maximum(np.asarray(signal, dtype=np.float64), 0.0)
        return (self.system_gain * signal + self.read_variance + self.row_sigma**2
                + self.column_sigma**2 + self.fixed_pattern_sigma**2 + self.adc_step**2 / 12.0)

    def as_dict(self) -> dict:
        """JSON-ready values."""
        values = {
            "system_gain": self.system_gain,
            "read_sigma": self.read_sigma,
            "row_sigma": self.row_sigma,
        }
        if self.read_shape is not None:
            values["read_shape"] = self.read_shape
        defaults = NoiseParams(1.0, 0.0, 0.0)
        # Only what is on, so the records of one-calibration data stay as they were.
        for name in _EXTRAS:
            if getattr(self, name) != getattr(defaults, name):
                values[name] = getattr(self, name)
        return values


_EXTRAS = ("column_sigma", "fixed_pattern_sigma", "hot_pixel_fraction", "black_offset",
           "adc_step", "pattern_seed")


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
    if params.column_sigma:
        noisy += rng.normal(0.0, params.column_sigma, size=(1, clean.shape[1]))
    hot = None
    if params.fixed_pattern_sigma or params.hot_pixel_fraction:
        sensor = np.random.default_rng(params.pattern_seed)
        if params.fixed_pattern_sigma:
            noisy += sensor.normal(0.0, params.fixed_pattern_sigma, size=clean.shape)
        if params.hot_pixel_fraction:
            hot = sensor.random(clean.shape) < params.hot_pixel_fraction
            level = sensor.uniform(0.05, 1.0, size=clean.shape) * (white - np.max(black))
    noisy += black + params.black_offset
    if hot is not None:
        noisy[hot] = np.maximum(noisy[hot], (black + level)[hot])
    if params.adc_step > 1:
        noisy /= params.adc_step
        np.rint(noisy, out=noisy)
        noisy *= params.adc_step
    np.rint(noisy, out=noisy)
    np.clip(noisy, 0.0, white, out=noisy)
    return noisy.astype(np.uint16)


#: Noise families a synthetic scene's sensor is drawn from: (name, one-line description).
NOISE_FAMILIES = (
    ("camera", "the camera's own ELD calibration, one read-noise model (SID emulation)"),
    ("wide", "per scene: one of ELD's Sony A7S2, Nikon D850, Canon EOS 70D, Canon EOS 5D IV "
     "(Gaussian or Tukey-lambda read noise) or a random heteroscedastic Gaussian sensor, plus "
     "column noise, fixed pattern, hot pixels, black-level error and 12-bit steps at random"),
    ("held_out", "ELD's Canon EOS 700D with Tukey-lambda read noise: no training family draws "
     "it, for cross-noise test sets"),
)
#: The calibrated cameras of the "wide" family (the held-out EOS 700D is not among them).
WIDE_CALIBRATIONS = (ELD_SONY_A7S2, ELD_NIKON_D850, ELD_CANON_EOS70D, ELD_CANON_EOS5D4)


@dataclass(frozen=True)
class SensorDraw:
    """One scene's sensor, drawn from a noise family: every exposure of the scene samples its
    `NoiseParams` from `calibration` with `read_noise`, then takes these extras.

    Args:
        calibration: the `NoiseCalibration` (an ELD camera or a random one).
        read_noise: "gaussian" or "tukey".
        column_ratio, fixed_pattern_ratio: column and fixed-pattern sigma as fractions of
            each exposure's read sigma (0: off).
        hot_pixel_fraction, black_offset, adc_step, pattern_seed: as in `NoiseParams`.
    """

    calibration: NoiseCalibration
    read_noise: str = "gaussian"
    column_ratio: float = 0.0
    fixed_pattern_ratio: float = 0.0
    hot_pixel_fraction: float = 0.0
    black_offset: float = 0.0
    adc_step: int = 1
    pattern_seed: int | None = None

    def exposure_params(self, rng, base_iso: bool = False) -> NoiseParams:
        """`NoiseParams` of one exposure of this sensor.

        Args:
            rng: the exposure's `numpy.random.Generator` (or a seed).
            base_iso: draw the system gain below the calibrated range instead, from
                `base_iso_calibration` (K_min / 8 .. K_min): the sensor at base ISO, where a
                daylight frame is almost noise-free.
        """
        import dataclasses

        calibration = base_iso_calibration(self.calibration) if base_iso else self.calibration
        params = sample_noise_params(rng, calibration, self.read_noise)
        return dataclasses.replace(
            params,
            column_sigma=self.column_ratio * params.read_sigma,
            fixed_pattern_sigma=self.fixed_pattern_ratio * params.read_sigma,
            hot_pixel_fraction=self.hot_pixel_fraction,
            black_offset=self.black_offset,
            adc_step=self.adc_step,
            pattern_seed=self.pattern_seed,
        )

    def as_dict(self) -> dict:
        """JSON-ready values."""
        return {
            "calibration": self.calibration.as_dict(),
            "read_noise": self.read_noise,
            "column_ratio": self.column_ratio,
            "fixed_pattern_ratio": self.fixed_pattern_ratio,
            "hot_pixel_fraction": self.hot_pixel_fraction,
            "black_offset": self.black_offset,
            "adc_step": self.adc_step,
            "pattern_seed": self.pattern_seed,
        }


#: How far below a calibration's lowest system gain base ISO lies: ELD calibrated its cameras
#: from ISO 800 (and the random sensors start at 0.05-1 DN/e-), base ISO is ISO 100, 8x less gain.
BASE_ISO_SPAN = 8.0


def base_iso_calibration(calibration: NoiseCalibration) -> NoiseCalibration:
    """`calibration` moved to its camera's lowest ISOs: system gain K_min / `BASE_ISO_SPAN` to
    K_min (DN per photo-electron), read and row noise from the same log-linear fits extended
    down (smaller, as on real sensors at low gain). The rest of the calibration is kept."""
    import dataclasses

    low = calibration.system_gain_range[0]
    return dataclasses.replace(
        calibration,
        name=f"{calibration.name} at base ISO",
        system_gain_range=(low / BASE_ISO_SPAN, low),
    )


def _log_uniform(rng, low, high) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def random_calibration(rng) -> NoiseCalibration:
    """A heteroscedastic Gaussian sensor with random parameters, in the span of real ones: a
    system-gain range starting in [0.05, 1] DN/e- and 10-60x wide, read and row noise
    log-linear in log K with random slopes in [0.4, 0.75], read noise 1.3-9 DN at K = 1 and
    row noise 5-20x below it."""
    low = _log_uniform(rng, 0.05, 1.0)
    high = low * _log_uniform(rng, 10.0, 60.0)
    read_bias = rng.uniform(0.25, 2.2)
    row_bias = read_bias - rng.uniform(math.log(5.0), math.log(20.0))
    return NoiseCalibration(
        name="random heteroscedastic Gaussian",
        system_gain_range=(round(low, 5), round(high, 5)),
        read_fit=(round(rng.uniform(0.4, 0.75), 5), round(read_bias, 5), 0.25),
        row_fit=(round(rng.uniform(0.4, 0.75), 5), round(row_bias, 5), 0.25),
    )


def sample_sensor_noise(rng, family: str, calibration: NoiseCalibration = ELD_SONY_A7S2,
                        read_noise: str = "gaussian") -> SensorDraw:
    """A scene's sensor from a noise family (`NOISE_FAMILIES`).

    Args:
        rng: `numpy.random.Generator` (or a seed) of the scene.
        family: "camera" (`calibration` with `read_noise`, no extras: the one-calibration
            model), "wide" (see `NOISE_FAMILIES`: 1 in 5 scenes a random sensor, else an ELD
            camera, Tukey-lambda read noise for half of those; column noise, fixed pattern and
            hot pixels each on for a quarter of the scenes, a black level off by N(0, 2) DN
            (at most 6) for half, a 12-bit ADC for 3 in 10) or "held_out" (ELD's Canon EOS
            700D, Tukey-lambda, no extras).
        calibration, read_noise: the camera's own, for "camera".
    """
    names = [name for name, _ in NOISE_FAMILIES]
    if family not in names:
        raise ValueError(f"noise family must be one of {names}. Received: {family!r}")
    rng = np.random.default_rng(rng)
    if family == "camera":
        return SensorDraw(calibration, read_noise)
    if family == "held_out":
        return SensorDraw(ELD_CANON_EOS700D, "tukey")
    if rng.random() < 0.2:
        chosen, read = random_calibration(rng), "gaussian"
    else:
        chosen = WIDE_CALIBRATIONS[int(rng.integers(len(WIDE_CALIBRATIONS)))]
        read = "tukey" if rng.random() < 0.5 else "gaussian"
    column = _log_uniform(rng, 0.02, 0.2) if rng.random() < 0.25 else 0.0
    pattern = _log_uniform(rng, 0.05, 0.3) if rng.random() < 0.25 else 0.0
    hot = _log_uniform(rng, 1e-5, 1e-3) if rng.random() < 0.25 else 0.0
    offset = float(np.clip(rng.normal(0.0, 2.0), -6.0, 6.0)) if rng.random() < 0.5 else 0.0
    step = 4 if rng.random() < 0.3 else 1
    seed = int(rng.integers(2**31)) if pattern or hot else None
    return SensorDraw(chosen, read, round(column, 5), round(pattern, 5), round(hot, 7),
                      round(offset, 3), step, seed)
