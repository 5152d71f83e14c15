"""The physics noise model: moments of simulated exposures and the parameter distribution."""

import math

import numpy as np
import pytest
from scipy import stats

from lsid_keras.raw.noise import (
    ELD_NIKON_D850,
    ELD_SONY_A7S2,
    NoiseParams,
    sample_noise_params,
    simulate_short_exposure,
    tukey_lambda_noise,
    tukey_lambda_variance,
)

# Rounding to whole DN (the ADC) adds 1/12 DN^2.
QUANTISATION_VARIANCE = 1 / 12


@pytest.mark.parametrize(
    "gain, read, signal, ratio",
    [(2.0, 3.0, 200.0, 100.0), (0.5, 1.5, 50.0, 300.0), (5.0, 12.0, 30.0, 250.0)],
)
def test_mean_is_signal_over_ratio_and_variance_is_shot_plus_read(gain, read, signal, ratio):
    params = NoiseParams(system_gain=gain, read_sigma=read, row_sigma=0.0)
    clean = np.full((1000, 1000), signal * ratio)
    out = simulate_short_exposure(clean, ratio, 512, 16383, np.random.default_rng(0), params)
    assert out.dtype == np.uint16 and out.shape == clean.shape
    values = out.astype(np.float64) - 512
    assert values.mean() == pytest.approx(signal, abs=0.1)
    expected = gain * signal + read**2 + QUANTISATION_VARIANCE
    assert values.var() == pytest.approx(expected, rel=0.02)


def test_row_noise_is_one_offset_per_row():
    params = NoiseParams(system_gain=1.0, read_sigma=0.0, row_sigma=5.0)
    clean = np.full((2000, 400), 20.0 * 100)
    out = simulate_short_exposure(clean, 100, 512, 16383, np.random.default_rng(1), params)
    values = out.astype(np.float64) - 512
    within_row = values.var(axis=1).mean()
    assert within_row == pytest.approx(1.0 * 20 + QUANTISATION_VARIANCE, rel=0.05)
    row_means = values.mean(axis=1)
    assert row_means.var() == pytest.approx(25 + within_row / 400, rel=0.1)
    assert values.mean() == pytest.approx(20, abs=0.4)


def test_black_level_clipping_and_rounding():
    params = NoiseParams(system_gain=1.0, read_sigma=4.0, row_sigma=1.0)
    clean = np.zeros((64, 64))
    clean[:, 32:] = 1e9  # far above saturation
    out = simulate_short_exposure(clean, 1.0, 0, 4095, np.random.default_rng(2), params)
    assert out[:, :32].min() == 0 and out[:, 32:].min() == 4095 and out.max() == 4095
    # Below-black noise is kept when the black level leaves room for it (as real sensors do).
    out = simulate_short_exposure(clean[:, :32], 1.0, 512, 4095, 3, params)
    assert out.min() < 512 < out.max()
    assert abs(out.astype(float).mean() - 512) < 0.5


def test_same_seed_same_exposure():
    clean = np.linspace(0, 16000, 48 * 64).reshape(48, 64)
    a = simulate_short_exposure(clean, 100, 512, 16383, np.random.default_rng(5))
    b = simulate_short_exposure(clean, 100, 512, 16383, np.random.default_rng(5))
    c = simulate_short_exposure(clean, 100, 512, 16383, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_parameter_distribution_follows_the_calibration():
    rng = np.random.default_rng(0)
    samples = [sample_noise_params(rng) for _ in range(20000)]
    log_k = np.log([s.system_gain for s in samples])
    log_read = np.log([s.read_sigma for s in samples])
    log_row = np.log([s.row_sigma for s in samples])
    low, high = math.log(0.0939), math.log(6.011)
    assert low <= log_k.min() and log_k.max() <= high
    assert log_k.mean() == pytest.approx((low + high) / 2, abs=0.03)
    assert log_k.std() == pytest.approx((high - low) / math.sqrt(12), rel=0.02)
    for values, (slope, intercept, std) in [
        (log_read, (0.54075, 1.21824, 0.26751)),
        (log_row, (0.52754, -0.59170, 0.29429)),
    ]:
        fit_slope, fit_intercept = np.polyfit(log_k, values, 1)
        residual = values - (fit_slope * log_k + fit_intercept)
        assert fit_slope == pytest.approx(slope, abs=0.01)
        assert fit_intercept == pytest.approx(intercept, abs=0.01)
        assert residual.std() == pytest.approx(std, rel=0.03)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"clean_dn": np.zeros((4, 4, 1))}, "2-D"),
        ({"ratio": 0}, "ratio"),
        ({"black_level": 5000, "white_level": 4095}, "black_level"),
        ({"white_level": 70000}, "white_level"),
        ({"black_level": np.zeros((3, 3))}, "broadcast"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {
        "clean_dn": np.zeros((32, 32)),
        "ratio": 100,
        "black_level": 512,
        "white_level": 16383,
        "rng": 0,
    } | kwargs
    with pytest.raises(ValueError, match=match):
        simulate_short_exposure(**args)


def test_bad_params():
    with pytest.raises(ValueError, match="system_gain"):
        NoiseParams(system_gain=0.0, read_sigma=1.0, row_sigma=1.0)
    with pytest.raises(ValueError, match="row_sigma"):
        NoiseParams(system_gain=1.0, read_sigma=1.0, row_sigma=-1.0)
    with pytest.raises(ValueError, match="read_shape"):
        NoiseParams(system_gain=1.0, read_sigma=1.0, row_sigma=1.0, read_shape=-0.5)
    with pytest.raises(ValueError, match="read_noise"):
        sample_noise_params(0, read_noise="poisson")


def measured_variance_and_error(values, rows_axis_sigma=0.0):
    """Sample variance of `values` (rows x cols) and its standard error.

    Pixels: sqrt((m4 - var^2) / N) from the sample's own fourth moment (holds for heavy tails).
    Row offsets are shared by a row, so they contribute sigma_r^2 * sqrt(2 / rows) on top.
    """
    centred = values - values.mean()
    variance = centred.var()
    pixel_error = math.sqrt((np.mean(centred**4) - variance**2) / values.size)
    row_error = rows_axis_sigma**2 * math.sqrt(2 / values.shape[0])
    return variance, math.hypot(pixel_error, row_error)


@pytest.mark.parametrize(
    "read_shape, row_sigma", [(None, 0.0), (None, 1.2), (-0.14286, 1.2), (0.11429, 0.0)]
)
@pytest.mark.parametrize("signal", [0.5, 4.0, 40.0, 400.0])
def test_variance_matches_the_model_at_several_signal_levels(signal, read_shape, row_sigma):
    # K s + read variance + row^2 + 1/12, within 4 standard errors of the sample variance.
    # Without row noise, at low signal, the error is small enough to see the 1/12 term.
    params = NoiseParams(
        system_gain=1.7, read_sigma=1.5, row_sigma=row_sigma, read_shape=read_shape
    )
    ratio = 250.0
    clean = np.full((1500, 400), signal * ratio)
    out = simulate_short_exposure(clean, ratio, 512, 16383, np.random.default_rng(7), params)
    values = out.astype(np.float64) - 512
    variance, error = measured_variance_and_error(values, params.row_sigma)
    predicted = float(params.variance(signal))
    assert abs(variance - predicted) < 4 * error, (variance, predicted, error)
    assert values.mean() == pytest.approx(signal, abs=4 * math.sqrt(predicted / values.size) + 0.3)


@pytest.mark.parametrize("shape", [-0.24286, -0.14286, 0.0, 0.11429])
def test_tukey_lambda_read_noise_is_scipys_distribution(shape):
    assert tukey_lambda_variance(shape) == pytest.approx(stats.tukeylambda.var(shape), rel=1e-9)
    samples = tukey_lambda_noise(np.random.default_rng(3), shape, 2.0, 20000)
    result = stats.kstest(samples, stats.tukeylambda(shape, scale=2.0).cdf)
    assert result.pvalue > 1e-3
    assert NoiseParams(1.0, 2.0, 0.0, read_shape=shape).read_variance == pytest.approx(
        4.0 * stats.tukeylambda.var(shape)
    )


@pytest.mark.parametrize("calibration", [ELD_SONY_A7S2, ELD_NIKON_D850])
def test_tukey_parameters_follow_the_calibration(calibration):
    rng = np.random.default_rng(1)
    samples = [sample_noise_params(rng, calibration, "tukey") for _ in range(5000)]
    assert {s.read_shape for s in samples} == set(calibration.tukey_shapes)
    log_k = np.log([s.system_gain for s in samples])
    low, high = calibration.system_gain_range
    assert math.log(low) <= log_k.min() and log_k.max() <= math.log(high)
    slope, intercept, std = calibration.tukey_scale_fit
    residual = np.log([s.read_sigma for s in samples]) - (slope * log_k + intercept)
    assert abs(residual.mean()) < 4 * std / math.sqrt(len(samples))
    assert residual.std() == pytest.approx(std, rel=0.05)
    gaussian = sample_noise_params(0, calibration)
    assert gaussian.read_shape is None


def test_noise_extras_add_their_variance_and_keep_the_sensor_pattern():
    """Column noise and the fixed pattern add their variances (`NoiseParams.variance`); the
    fixed pattern and hot pixels are the same in two exposures of one sensor; a 12-bit ADC
    leaves steps of 4 DN; a black-level error shifts the mean."""
    from lsid_keras.raw.noise import NoiseParams

    clean = np.full((400, 400), 4000.0)
    params = NoiseParams(system_gain=1.0, read_sigma=2.0, row_sigma=0.0, column_sigma=3.0,
                         fixed_pattern_sigma=4.0, pattern_seed=11)
    out = simulate_short_exposure(clean, 10, 512, 16383, np.random.default_rng(0), params)
    centred = out.astype(np.float64) - 512 - 400
    assert centred.var() == pytest.approx(params.variance(400.0), rel=0.08)
    assert centred.mean(axis=0).std() == pytest.approx(3.0, rel=0.2)  # columns
    again = simulate_short_exposure(clean, 10, 512, 16383, np.random.default_rng(1), params)
    pattern = np.corrcoef(centred.ravel(), again.astype(np.float64).ravel())[0, 1]
    assert pattern == pytest.approx(16 / params.variance(400.0), abs=0.05)  # shared fixed part

    hot = NoiseParams(1.0, 1.0, 0.0, hot_pixel_fraction=0.005, pattern_seed=3)
    dark = np.zeros((200, 200))
    a = simulate_short_exposure(dark, 100, 512, 16383, 0, hot) > 700
    b = simulate_short_exposure(dark, 100, 512, 16383, 1, hot) > 700
    assert 100 < a.sum() < 300 and np.array_equal(a, b)

    step = NoiseParams(1.0, 3.0, 0.0, adc_step=4, black_offset=-2.0)
    coarse = simulate_short_exposure(clean, 10, 512, 16383, 2, step).astype(np.int64)
    assert np.all(coarse % 4 == 0)
    assert coarse.mean() - 512 == pytest.approx(398.0, abs=0.5)


def test_wide_family_spans_cameras_and_never_draws_the_held_out_one():
    from lsid_keras.raw.noise import (
        ELD_CANON_EOS700D,
        WIDE_CALIBRATIONS,
        sample_sensor_noise,
    )

    draws = [sample_sensor_noise(np.random.default_rng(i), "wide") for i in range(600)]
    names = {d.calibration.name for d in draws}
    assert {c.name for c in WIDE_CALIBRATIONS} | {"random heteroscedastic Gaussian"} == names
    assert ELD_CANON_EOS700D.name not in names
    assert {d.read_noise for d in draws} == {"gaussian", "tukey"}
    for field, share in (("column_ratio", 0.25), ("fixed_pattern_ratio", 0.25),
                         ("hot_pixel_fraction", 0.25), ("black_offset", 0.5)):
        on = np.mean([getattr(d, field) != 0 for d in draws])
        assert on == pytest.approx(share, abs=0.07), field
    assert np.mean([d.adc_step == 4 for d in draws]) == pytest.approx(0.3, abs=0.07)
    held = sample_sensor_noise(0, "held_out")
    assert held.calibration is ELD_CANON_EOS700D and held.read_noise == "tukey"
    camera = sample_sensor_noise(0, "camera")
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    assert camera.exposure_params(rng_a) == sample_noise_params(rng_b)  # the one-camera model
    with pytest.raises(ValueError, match="noise family"):
        sample_sensor_noise(0, "everything")


def test_base_iso_calibration_lies_below_the_calibrated_gains():
    from lsid_keras.raw.noise import BASE_ISO_SPAN, ELD_SONY_A7S2, base_iso_calibration

    base = base_iso_calibration(ELD_SONY_A7S2)
    low = ELD_SONY_A7S2.system_gain_range[0]
    assert base.system_gain_range == (low / BASE_ISO_SPAN, low)
    assert base.read_fit == ELD_SONY_A7S2.read_fit and "base ISO" in base.name
    rng = np.random.default_rng(0)
    gains = [sample_noise_params(rng, base).system_gain for _ in range(200)]
    assert low / BASE_ISO_SPAN <= min(gains) and max(gains) <= low
    # log-uniform: about half below the geometric middle of the range
    middle = low / math.sqrt(BASE_ISO_SPAN)
    assert 70 < sum(g < middle for g in gains) < 130
