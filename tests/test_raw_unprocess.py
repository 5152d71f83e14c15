"""Unprocessing (Brooks et al.), checked against the forward pipeline written out here."""

import numpy as np
import pytest
from raw_fixtures import BAYER_ORDERS, XT2, bayer_pattern, shifted

from lsid_keras.raw import UnsupportedCFAError
from lsid_keras.raw.unprocess import (
    BROOKS_XYZ_TO_CAMERA,
    SRGB_TO_XYZ,
    UnprocessParams,
    mosaic,
    sample_unprocess_params,
    unprocess,
    unprocess_rgb,
)


def process(camera_rgb, params):
    """The camera pipeline unprocessing inverts: gains, colour matrix, gamma 2.2, smoothstep."""
    gains = np.array([params.red_gain, 1.0, params.blue_gain]) * params.rgb_gain
    linear = (camera_rgb * gains) @ np.linalg.inv(params.srgb_to_camera).T
    encoded = np.clip(linear, 0, 1) ** (1 / 2.2)
    return 3 * encoded**2 - 2 * encoded**3


def photo(seed, shape=(24, 36)):
    """sRGB values in [0.03, 0.8], half grey so no colour leaves the camera's [0, 1] range."""
    rng = np.random.default_rng(seed)
    grey = rng.uniform(0.05, 0.8, shape + (1,))
    return 0.6 * grey + 0.4 * rng.uniform(0.0, 0.8, shape + (3,))


@pytest.mark.parametrize("seed", range(8))
def test_processing_the_result_returns_the_photo(seed):
    srgb = photo(seed)
    params = sample_unprocess_params(np.random.default_rng(100 + seed))
    camera = unprocess_rgb(srgb, params)
    assert camera.shape == srgb.shape
    assert 0 < camera.min() and camera.max() < 1  # nothing clipped, so exactly invertible
    np.testing.assert_allclose(process(camera, params), srgb, atol=1e-6)


def test_mosaic_of_unprocess_samples_the_camera_image():
    srgb = photo(1, (30, 42))
    params = sample_unprocess_params(np.random.default_rng(3))
    camera = unprocess_rgb(srgb, params)
    for cfa in [bayer_pattern(order) for order in BAYER_ORDERS] + [XT2, shifted(XT2, 2, 5)]:
        raw, returned = unprocess(srgb, cfa, params=params)
        assert returned is params
        assert raw.dtype == np.float32 and raw.shape == (30, 42)
        n = cfa.shape[0]
        for y, x in [(0, 0), (1, 0), (0, 1), (5, 4), (29, 41), (17, 23)]:
            assert raw[y, x] == pytest.approx(camera[y, x, cfa[y % n, x % n]], abs=1e-7)


@pytest.mark.parametrize(
    "cfa", [bayer_pattern(o) for o in BAYER_ORDERS] + [XT2, shifted(XT2, 3, 1)]
)
def test_mosaic_layout(cfa):
    image = np.broadcast_to(np.array([10, 20, 30]), (13, 19, 3))
    expected = (np.tile(cfa, (10, 10))[:13, :19] + 1) * 10
    np.testing.assert_array_equal(mosaic(image, cfa), expected)


def test_highlights_stay_saturated():
    # Safe gain inversion: white must stay at sensor saturation, not turn into grey.
    white = np.ones((4, 6, 3))
    for seed in range(5):
        raw, _ = unprocess(white, bayer_pattern("RGGB"), rng=seed)
        np.testing.assert_allclose(raw, 1.0, atol=1e-6)
    # ... while mid-tones are divided by the gains.
    params = UnprocessParams(np.eye(3), rgb_gain=1.25, red_gain=2.0, blue_gain=1.6)
    grey = np.full((2, 2, 3), 0.5)
    linear = 0.5 - np.sin(np.arcsin(0.0) / 3)  # inverse smoothstep of 0.5 is 0.5
    camera = unprocess_rgb(grey, params)
    np.testing.assert_allclose(camera[0, 0], linear**2.2 / 1.25 / np.array([2.0, 1.0, 1.6]))


def test_sampled_cameras_follow_brooks():
    rng = np.random.default_rng(0)
    samples = [sample_unprocess_params(rng) for _ in range(400)]
    for p in samples[:20]:
        np.testing.assert_allclose(p.srgb_to_camera.sum(axis=1), 1.0)
        np.testing.assert_allclose(p.xyz_to_camera @ SRGB_TO_XYZ, p.srgb_to_camera, atol=1e-12)
        np.testing.assert_allclose(p.camera_to_srgb @ p.srgb_to_camera, np.eye(3), atol=1e-12)
        assert p.camera_wb == (p.red_gain, 1.0, p.blue_gain)
    red = np.array([p.red_gain for p in samples])
    blue = np.array([p.blue_gain for p in samples])
    inverse_rgb = np.array([1 / p.rgb_gain for p in samples])
    assert 1.9 <= red.min() and red.max() <= 2.4
    assert 1.5 <= blue.min() and blue.max() <= 1.9
    assert inverse_rgb.mean() == pytest.approx(0.8, abs=0.02)
    assert inverse_rgb.std() == pytest.approx(0.1, abs=0.015)
    a, b = sample_unprocess_params(7), sample_unprocess_params(7)
    np.testing.assert_array_equal(a.srgb_to_camera, b.srgb_to_camera)
    assert a.rgb_gain == b.rgb_gain


def convex_weights(xyz_to_camera):
    """Weights w (and row scales) with xyz_to_camera[r] = scale_r * sum_i w_i * BROOKS[i][r],
    sum w = 1, solved by least squares; returns (w, residual)."""
    equations = np.zeros((10, 7))
    target = np.zeros(10)
    for r in range(3):
        equations[3 * r : 3 * r + 3, :4] = BROOKS_XYZ_TO_CAMERA[:, r, :].T
        equations[3 * r : 3 * r + 3, 4 + r] = -xyz_to_camera[r]
    equations[9, :4] = 1.0
    target[9] = 1.0
    solution, *_ = np.linalg.lstsq(equations, target, rcond=None)
    return solution[:4], np.abs(equations @ solution - target).max()


def test_camera_is_a_convex_mix_of_the_published_matrices():
    for seed in range(5):
        weights, residual = convex_weights(sample_unprocess_params(seed).xyz_to_camera)
        assert residual < 1e-9
        assert weights.min() > -1e-9
    # A matrix outside the family is detected.
    other = np.array([[0.9, 0.1, -0.1], [-0.3, 1.2, 0.1], [0.0, 0.1, 0.8]])
    assert convex_weights(other)[1] > 1e-3


@pytest.mark.parametrize(
    "srgb, cfa, error",
    [
        (np.zeros((4, 4, 3), np.uint8), bayer_pattern("RGGB"), ValueError),
        (np.zeros((4, 4)), bayer_pattern("RGGB"), ValueError),
        (np.zeros((4, 4, 3)), np.zeros((3, 3), int), UnsupportedCFAError),
        (np.zeros((4, 4, 3)), np.full((2, 2), 0.5), ValueError),
    ],
)
def test_bad_inputs(srgb, cfa, error):
    with pytest.raises(error):
        unprocess(srgb, cfa, rng=0)


def test_bad_params():
    with pytest.raises(ValueError, match="red_gain"):
        UnprocessParams(np.eye(3), rgb_gain=1.0, red_gain=0.0, blue_gain=1.5)
    with pytest.raises(ValueError, match="invertible"):
        UnprocessParams(np.zeros((3, 3)), rgb_gain=1.0, red_gain=2.0, blue_gain=1.5)
