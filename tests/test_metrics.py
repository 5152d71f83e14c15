import keras
import numpy as np
import pytest
import tensorflow as tf

from lsid_keras.metrics import PSNR, SSIM, psnr, ssim


def images(seed, shape=(2, 32, 32, 3), low=0.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype("float32")


def image_pair(seed, shape=(2, 32, 32, 3)):
    """A reference in [0, 1] and a noisy estimate that strays slightly outside [0, 1]."""
    x = images(seed, shape)
    return x, x + images(seed + 1000, shape, -0.15, 0.15)


def quantise_8bit(x):
    """SID's 8-bit PNG values, computed with the same float32 steps as the package."""
    return np.floor(np.clip(x, 0.0, 1.0) * np.float32(255.0) + np.float32(0.5)).astype("float64")


def numpy_ssim(x, y, max_val):
    """Per-image SSIM of NHWC arrays: Gaussian 11x11, sigma 1.5, valid windows, mean over RGB."""
    coords = np.arange(11) - 5.0
    g = np.exp(-(coords**2) / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()

    def blur(a):  # valid 2-D filtering of each image and channel
        patches = np.lib.stride_tricks.sliding_window_view(a, (11, 11), axis=(1, 2))
        return np.einsum("nhwcij,ij->nhwc", patches, window)

    x, y = x.astype("float64"), y.astype("float64")
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    ssim_map = (2 * mx * my + c1) * (2 * cov + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return ssim_map.mean(axis=(1, 2, 3))


def test_psnr_float_of_constant_offset_is_20_db():
    y_true = np.full((2, 16, 16, 3), 0.3, "float32")
    y_pred = y_true + np.float32(0.1)  # MSE 0.01 with peak 1: 20 dB (not 68 dB: no 255 peak)
    values = psnr(y_true, y_pred)
    assert values.shape == (2,)
    np.testing.assert_allclose(values.numpy(), [20.0, 20.0], atol=1e-3)


def test_psnr_reference_matches_numpy_on_8bit_values():
    y_true, y_pred = image_pair(0)
    a, b = quantise_8bit(y_true), quantise_8bit(y_pred)
    mse = ((a - b) ** 2).mean(axis=(1, 2, 3))
    expected = 10.0 * np.log10(255.0**2 / mse)
    np.testing.assert_allclose(psnr(y_true, y_pred, protocol="reference"), expected, rtol=1e-5)
    # The float protocol neither clips nor quantises.
    float_mse = ((y_true.astype("float64") - y_pred) ** 2).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(psnr(y_true, y_pred), 10.0 * np.log10(1.0 / float_mse), rtol=1e-5)
    assert not np.allclose(psnr(y_true, y_pred), expected, rtol=1e-3)


def test_reference_protocol_clips_and_rounds_half_up():
    y_true = np.full((1, 16, 16, 3), 1.0, "float32")
    assert np.isinf(psnr(y_true, y_true + 0.2, protocol="reference").numpy()).all()
    # 2.5 / 255 lies exactly halfway: SID's PNG writer makes it 3, not 2 (round half to even).
    two = np.full((1, 16, 16, 3), 2.0 / 255, "float32")
    halfway = np.full((1, 16, 16, 3), 2.5 / 255, "float32")
    assert halfway[0, 0, 0, 0] * np.float32(255.0) == np.float32(2.5)
    one_step = 20 * np.log10(255.0)  # MSE of exactly one 8-bit step: 48.13 dB
    np.testing.assert_allclose(psnr(two, halfway, protocol="reference"), [one_step], rtol=1e-5)


def test_single_image_gives_a_scalar():
    y_true, y_pred = image_pair(1, (24, 24, 3))
    assert psnr(y_true, y_pred).shape == ()
    assert ssim(y_true, y_pred, protocol="reference").shape == ()
    batch = psnr(y_true[None], y_pred[None])
    np.testing.assert_allclose(psnr(y_true, y_pred).numpy(), batch.numpy()[0], rtol=1e-6)


@pytest.mark.parametrize("protocol", ["float", "reference"])
def test_ssim_of_identical_images_is_one(protocol):
    x = images(2)
    np.testing.assert_allclose(ssim(x, x, protocol=protocol), [1.0, 1.0], atol=1e-6)


def test_ssim_float_matches_numpy_gaussian_ssim():
    y_true, y_pred = image_pair(3)
    y_pred = np.clip(y_pred, 0.0, 1.0)
    expected = numpy_ssim(y_true, y_pred, max_val=1.0)
    assert np.all((expected > 0.1) & (expected < 0.99))
    np.testing.assert_allclose(ssim(y_true, y_pred).numpy(), expected, rtol=1e-4)


def test_ssim_reference_matches_numpy_on_8bit_values():
    y_true, y_pred = image_pair(4)
    expected = numpy_ssim(quantise_8bit(y_true), quantise_8bit(y_pred), max_val=255.0)
    np.testing.assert_allclose(ssim(y_true, y_pred, protocol="reference"), expected, rtol=1e-4)


def test_metrics_compute_in_float32():
    y_true, y_pred = image_pair(5)
    for fn in (psnr, ssim):
        value = fn(tf.cast(y_true, "bfloat16"), tf.cast(y_pred, "bfloat16"))
        assert value.dtype == tf.float32


def test_bad_inputs_raise_clear_errors():
    x = images(6)
    with pytest.raises(ValueError, match="protocol"):
        psnr(x, x, protocol="matlab")
    with pytest.raises(ValueError, match="protocol"):
        SSIM(protocol="8bit")
    with pytest.raises(ValueError, match="HWC"):
        psnr(x[0, :, :, 0], x[0, :, :, 0])
    with pytest.raises(ValueError, match="11x11"):
        ssim(x[:, :8, :8], x[:, :8, :8])


@pytest.mark.parametrize("cls, fn", [(PSNR, psnr), (SSIM, ssim)])
@pytest.mark.parametrize("protocol", ["float", "reference"])
def test_metric_is_the_weighted_mean_over_images(cls, fn, protocol):
    y_true, y_pred = image_pair(7, (3, 32, 32, 3))
    per_image = fn(y_true, y_pred, protocol=protocol).numpy()
    metric = cls(protocol=protocol)
    metric.update_state(y_true[:2], y_pred[:2])
    metric.update_state(y_true[2:], y_pred[2:])
    np.testing.assert_allclose(float(metric.result()), per_image.mean(), rtol=1e-5)
    metric.reset_state()
    weights = np.array([1.0, 0.0, 3.0], "float32")
    metric.update_state(y_true, y_pred, sample_weight=weights)
    expected = (per_image * weights).sum() / weights.sum()
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)


@pytest.mark.parametrize("cls", [PSNR, SSIM])
def test_metric_config_round_trip_and_serialization(cls):
    metric = cls(protocol="reference")
    base = cls.__name__.lower()
    assert metric.name == f"{base}_reference"
    assert cls().name == base
    config = metric.get_config()
    assert set(config) == {"name", "dtype", "protocol"}
    assert cls.from_config(config).get_config() == config

    serialized = keras.saving.serialize_keras_object(metric)
    assert serialized["registered_name"] == f"lsid_keras>{cls.__name__}"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is cls
    assert restored.protocol == "reference"


def test_metrics_in_compiled_model_match_the_functions():
    y_true, x = image_pair(8, (4, 32, 32, 3))
    inputs = keras.Input(shape=(None, None, 3))
    model = keras.Model(inputs, keras.layers.Identity()(inputs))
    model.compile(loss="mae", metrics=[PSNR(), SSIM(), PSNR(protocol="reference")])
    results = model.evaluate(x, y_true, batch_size=4, verbose=0, return_dict=True)
    assert results["psnr"] == pytest.approx(float(np.mean(psnr(y_true, x))), rel=1e-5)
    assert results["ssim"] == pytest.approx(float(np.mean(ssim(y_true, x))), rel=1e-5)
    reference = float(np.mean(psnr(y_true, x, protocol="reference")))
    assert results["psnr_reference"] == pytest.approx(reference, rel=1e-5)
