import numpy as np
import pytest
from scipy import ndimage

from lsid_keras.contrast import (
    dark_channel,
    dehaze,
    estimate_atmospheric_light,
    guided_filter,
    improve_contrast,
    improve_contrast_uint16,
)

ATMOSPHERIC_LIGHT = np.array([0.85, 0.9, 0.95], dtype=np.float32)


def _clean_scene(shape=(192, 256), seed=0):
    """Smooth colour texture in [0.1, 0.9] with a black column every 6 pixels, so every
    15-pixel patch holds a black pixel and the dark channel prior holds exactly (dark = 0)."""
    rng = np.random.default_rng(seed)
    texture = ndimage.gaussian_filter(rng.random((*shape, 3)), (3, 3, 0))
    texture = (texture - texture.min()) / (texture.max() - texture.min())
    scene = 0.1 + 0.8 * texture
    scene[:, ::6] = 0.0
    return scene.astype(np.float32)


def _smooth_transmission(shape):
    """Transmission from 0.3 (left/top) to 0.85 (bottom right), slopes ~0.0013 per pixel."""
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    return (0.3 + 0.3 * cols / shape[1] + 0.25 * rows / shape[0]).astype(np.float32)


def _haze(scene, transmission, light=ATMOSPHERIC_LIGHT):
    t = transmission[..., None]
    return (scene * t + light * (1.0 - t)).astype(np.float32)


def _sky_scene(seed=0):
    """Clean scene, transmission and hazy image with a 24-row sky (J ~ A, t = 0.05) on top."""
    scene = _clean_scene(seed=seed)
    rng = np.random.default_rng(seed + 1)
    scene[:24] = np.clip(ATMOSPHERIC_LIGHT + 0.02 * rng.standard_normal((24, 256, 3)), 0, 1)
    transmission = _smooth_transmission(scene.shape[:2])
    transmission[:24] = 0.05
    return scene, transmission, _haze(scene, transmission)


# dark_channel


def test_dark_channel_hand_computed():
    channel_min = np.array([[5, 9, 8, 7], [6, 4, 9, 9], [9, 9, 9, 1]], dtype=np.float32) / 10
    image = np.stack([channel_min + 0.05, channel_min, channel_min + 0.1], axis=-1)
    image[0, 0] = [0.5, 0.7, 0.6]  # the minimum in another channel
    image[2, 3] = [0.3, 0.2, 0.1]
    expected = np.array([[4, 4, 4, 7], [4, 4, 1, 1], [4, 4, 1, 1]], dtype=np.float32) / 10
    np.testing.assert_allclose(dark_channel(image, patch=3), expected, atol=1e-7)
    np.testing.assert_allclose(dark_channel(image, patch=1), channel_min, atol=1e-7)
    assert dark_channel(image, patch=3).dtype == np.float32


def test_dark_channel_of_prior_scene_is_zero():
    assert dark_channel(_clean_scene()).max() == 0.0


# estimate_atmospheric_light


def test_atmospheric_light_hand_computed():
    image = np.array(
        [
            [[0.9, 0.9, 0.9], [0.7, 0.7, 0.5], [0.6, 0.7, 0.8], [1.0, 1.0, 1.0]],
            [[0.1, 0.2, 0.3], [0.2, 0.2, 0.2], [0.3, 0.3, 0.3], [0.0, 0.0, 0.0]],
        ],
        dtype=np.float32,
    )
    dark = np.array([[0.5, 0.7, 0.6, 0.1], [0.0, 0.0, 0.2, 0.0]], dtype=np.float32)
    # Candidates (top 25% = 2 pixels of the dark channel): (0, 1) and (0, 2). The brightest of
    # them (R + G + B) is (0, 2): not the image's white (0, 3), not the largest dark channel
    # (0, 1), not the first candidate.
    light = estimate_atmospheric_light(image, dark, top_fraction=0.25)
    assert light.dtype == np.float32 and light.shape == (3,)
    np.testing.assert_allclose(light, [0.6, 0.7, 0.8], atol=1e-7)
    np.testing.assert_allclose(estimate_atmospheric_light(image, dark, 1e-9), [0.7, 0.7, 0.5])


def test_atmospheric_light_recovered_from_sky_and_ignores_small_white_object():
    _, _, hazy = _sky_scene()
    hazy[100:103, 100:103] = 1.0  # white object, smaller than a patch: not haze
    light = estimate_atmospheric_light(hazy, dark_channel(hazy))
    np.testing.assert_allclose(light, ATMOSPHERIC_LIGHT, atol=0.01)


# guided_filter


def test_guided_filter_keeps_edge_and_smooths_noise():
    guide = np.zeros((64, 64), dtype=np.float32)
    guide[:, 32:] = 1.0
    noise = 0.05 * np.random.default_rng(0).standard_normal(guide.shape).astype(np.float32)
    out = guided_filter(guide, guide + noise, radius=8, eps=1e-3)
    box = ndimage.uniform_filter(guide + noise, 17, mode="reflect")
    assert out[:, 32].mean() - out[:, 31].mean() > 0.9  # sharp step survives
    assert box[:, 32].mean() - box[:, 31].mean() < 0.1  # (a box filter blurs it)
    flat = np.s_[:, 4:24]
    assert out[flat].std() < 0.3 * noise[flat].std()


def _reference_box_mean(x, radius):
    padded = np.pad(x.astype(np.float64), radius, mode="symmetric")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (2 * radius + 1,) * 2)
    return windows.mean(axis=(-2, -1))


def test_guided_filter_with_huge_eps_is_box_mean_of_box_mean():
    rng = np.random.default_rng(1)
    guide, src = rng.random((2, 20, 24), dtype=np.float32)
    # a -> 0, b -> box mean of src; the output averages b over the windows once more.
    expected = _reference_box_mean(_reference_box_mean(src, 3), 3)
    np.testing.assert_allclose(guided_filter(guide, src, 3, 1e8), expected, atol=1e-5)


def test_guided_filter_identities():
    rng = np.random.default_rng(2)
    guide, src = rng.random((2, 40, 50), dtype=np.float32)
    np.testing.assert_allclose(guided_filter(guide, src, radius=0), src, atol=1e-6)
    np.testing.assert_allclose(guided_filter(src, src, radius=5, eps=1e-9), src, atol=1e-3)


def test_guided_filter_filters_channels_with_one_guide():
    rng = np.random.default_rng(3)
    guide, src = rng.random((30, 40), dtype=np.float32), rng.random((30, 40, 2), np.float32)
    out = guided_filter(guide, src, radius=4)
    assert out.shape == src.shape and out.dtype == np.float32
    np.testing.assert_allclose(out[..., 1], guided_filter(guide, src[..., 1], radius=4))


# dehaze


def test_dehaze_constant_transmission_known_light():
    scene = _clean_scene()
    hazy = _haze(scene, np.full(scene.shape[:2], 0.6, np.float32))
    assert np.abs(hazy - scene).mean() > 0.15
    full = dehaze(hazy, omega=1.0, atmospheric_light=ATMOSPHERIC_LIGHT)
    np.testing.assert_allclose(full, scene, atol=1e-4)
    # omega = 0.95 keeps 5% of the haze: t_est = 1 - 0.95 (1 - t), exactly.
    kept = dehaze(hazy, atmospheric_light=ATMOSPHERIC_LIGHT)
    expected = (hazy - ATMOSPHERIC_LIGHT) / (1 - 0.95 * 0.4) + ATMOSPHERIC_LIGHT
    np.testing.assert_allclose(kept, np.clip(expected, 0, 1), atol=1e-4)
    assert np.abs(kept - scene).mean() < 0.03


def test_dehaze_smooth_transmission_estimated_light():
    scene, _, hazy = _sky_scene()
    assert np.abs(hazy - scene).mean() > 0.15
    # He et al.'s windows are for ~600x400 images; scaled to this 192x256 one: patch 7,
    # radius 27. (The unscaled 60-pixel radius spreads the sky's transmission over the
    # ground below the horizon: error 0.031.)
    restored = dehaze(hazy, omega=1.0, scale_with_size=True)
    assert np.abs(restored - scene).mean() < 0.025
    assert np.abs(dehaze(hazy, scale_with_size=True) - scene).mean() < 0.03


def test_dehaze_gain_is_bounded_by_t0():
    scene = _clean_scene((48, 64))
    hazy = _haze(scene, np.full(scene.shape[:2], 0.05, np.float32))
    out = dehaze(hazy, omega=1.0, t0=0.2, atmospheric_light=ATMOSPHERIC_LIGHT)
    expected = ATMOSPHERIC_LIGHT + (hazy - ATMOSPHERIC_LIGHT) / 0.2
    np.testing.assert_allclose(out, np.clip(expected, 0, 1), atol=1e-5)


def test_dehaze_without_haze_is_identity():
    image = _clean_scene((32, 40))
    np.testing.assert_allclose(dehaze(image, omega=0.0), image, atol=1e-6)


def test_scale_with_size_scales_patch_and_radius():
    image = _haze(_clean_scene((120, 200)), _smooth_transmission((120, 200)))
    # sqrt(120 * 200 / (600 * 400)) = 0.316: patch 15 -> 5 (odd), radius 60 -> 19.
    np.testing.assert_array_equal(
        dehaze(image, scale_with_size=True), dehaze(image, patch=5, radius=19)
    )
    assert not np.array_equal(dehaze(image, scale_with_size=True), dehaze(image))


# improve_contrast


def test_improve_contrast_undoes_inverted_haze():
    scene, _, hazy = _sky_scene()
    dark_flat = 1.0 - hazy  # what the papers see: a dark, low-contrast network output
    improved = improve_contrast(dark_flat, strength=1.0, scale_with_size=True)
    assert np.abs(improved - (1.0 - scene)).mean() < 0.025
    default = improve_contrast(dark_flat)
    assert default.std() > 1.2 * dark_flat.std()
    assert default.mean() > dark_flat.mean()  # brighter, as in Zamir et al.'s figure 7


def test_improve_contrast_strength_zero_is_identity():
    image = 0.3 * _clean_scene((32, 40))
    np.testing.assert_allclose(improve_contrast(image, strength=0.0), image, atol=1e-6)


def test_improve_contrast_batch_is_per_image():
    rng = np.random.default_rng(4)
    batch = ndimage.uniform_filter(rng.random((2, 48, 64, 3), dtype=np.float32), (1, 5, 5, 1))
    batch[1] *= 0.3
    out = improve_contrast(batch)
    assert out.shape == batch.shape and out.dtype == np.float32
    for one, expected in zip(out, batch, strict=True):
        np.testing.assert_array_equal(one, improve_contrast(expected))


@pytest.mark.parametrize("value", [0.0, 1.0, 0.5])
@pytest.mark.parametrize("shape", [(1, 1, 3), (17, 23, 3), (2, 9, 7, 3)])
@pytest.mark.parametrize("function", [dehaze, improve_contrast])
def test_flat_images_stay_finite_and_in_range(function, shape, value):
    image = np.full(shape, value, dtype=np.float64)
    out = function(image)
    assert out.shape == shape and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and out.min() >= 0.0 and out.max() <= 1.0
    if value in (0.0, 1.0):
        np.testing.assert_allclose(out, value, atol=1e-6)


def test_out_of_range_input_is_clipped():
    image = np.random.default_rng(5).uniform(-0.5, 1.5, (20, 30, 3)).astype(np.float32)
    for out in (dehaze(image), improve_contrast(image)):
        assert out.min() >= 0.0 and out.max() <= 1.0


def test_improve_contrast_uint16():
    image = (0.3 * _clean_scene((32, 40)) * 65535).astype(np.uint16)
    out = improve_contrast_uint16(image, strength=0.8)
    assert out.dtype == np.uint16 and out.shape == image.shape
    expected = improve_contrast(image / 65535.0, strength=0.8) * 65535
    np.testing.assert_allclose(out, expected, atol=1.0)


# bad input


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: dark_channel(np.zeros((4, 4))), r"Received: shape=\(4, 4\)"),
        (lambda: dark_channel(np.zeros((4, 4, 4))), r"Received: shape=\(4, 4, 4\)"),
        (lambda: dark_channel(np.zeros((4, 4, 3)), patch=0), "Received: patch=0"),
        (lambda: dark_channel(np.zeros((4, 4, 3)), patch=2.5), "Received: patch=2.5"),
        (lambda: dehaze(np.zeros((1, 1, 4, 4, 3))), r"Received: shape=\(1, 1, 4, 4, 3\)"),
        (lambda: dehaze(np.zeros((4, 4, 3)), omega=1.5), "Received: omega=1.5"),
        (lambda: dehaze(np.zeros((4, 4, 3)), t0=0), "Received: t0=0"),
        (lambda: dehaze(np.zeros((4, 4, 3)), eps=0), "Received: eps=0"),
        (lambda: dehaze(np.zeros((4, 4, 3)), radius=-1), "Received: radius=-1"),
        (lambda: dehaze(np.zeros((4, 4, 3)), atmospheric_light=[1, 1]), "Received: atmosph"),
        (lambda: dehaze(np.full((4, 4, 3), np.nan)), "Received: an image with NaN"),
        (lambda: improve_contrast(np.zeros((4, 4, 3), np.uint8)), "Received: dtype=uint8"),
        (lambda: improve_contrast(np.zeros((4, 4, 2))), r"Received: shape=\(4, 4, 2\)"),
        (lambda: improve_contrast(np.zeros((4, 4, 3)), strength=-0.1), "Received: strength"),
        (lambda: improve_contrast(np.zeros((0, 4, 3))), r"Received: shape=\(0, 4, 3\)"),
        (lambda: improve_contrast_uint16(np.zeros((4, 4, 3))), "Received: dtype=float64"),
        (lambda: guided_filter(np.zeros((4, 4)), np.zeros((4, 5))), "Received: guide.shape"),
        (lambda: guided_filter(np.zeros((4, 4, 3)), np.zeros((4, 4))), "Received: guide.shape"),
        (
            lambda: estimate_atmospheric_light(np.zeros((4, 4, 3)), np.zeros((4, 5))),
            r"Received: dark.shape=\(4, 5\)",
        ),
        (
            lambda: estimate_atmospheric_light(np.zeros((4, 4, 3)), np.zeros((4, 4)), 0),
            "Received: top_fraction=0",
        ),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
