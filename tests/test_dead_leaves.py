"""Dead-leaves images: seeded, in range, covering, with a natural-image power spectrum."""

import numpy as np
import pytest

from lsid_keras.data.dead_leaves import dead_leaves


def spectrum_slope(image):
    """Slope of the radially averaged power spectrum of the luminance, log-log, mid frequencies."""
    grey = image @ np.array([0.2126, 0.7152, 0.0722])
    grey = grey - grey.mean()
    power = np.abs(np.fft.fftshift(np.fft.fft2(grey))) ** 2
    n = grey.shape[0]
    y, x = np.indices(power.shape) - n // 2
    radius = np.hypot(y, x).astype(int)
    counts = np.bincount(radius.ravel())
    radial = np.bincount(radius.ravel(), power.ravel()) / np.maximum(counts, 1)
    frequencies = np.arange(4, n // 4)
    return np.polyfit(np.log(frequencies), np.log(radial[frequencies]), 1)[0]


def test_seeded_range_and_shape():
    a = dead_leaves(96, 128, 5)
    assert a.shape == (96, 128, 3) and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, dead_leaves(96, 128, np.random.default_rng(5)))
    assert not np.array_equal(a, dead_leaves(96, 128, 6))
    # Colourful, not grey: the channels differ.
    assert np.abs(a[..., 0] - a[..., 2]).mean() > 0.05


def test_power_spectrum_falls_like_natural_images():
    # Natural images: power ~ 1 / f^2 (slope about -2); white noise would be 0. Measured before
    # the lens blur, which steepens the high frequencies.
    slopes = [spectrum_slope(dead_leaves(256, 256, seed, blur_sigma=(0, 0))) for seed in range(3)]
    assert all(-2.4 < s < -1.7 for s in slopes), slopes
    blurred = spectrum_slope(dead_leaves(256, 256, 0))
    assert blurred < slopes[0]


def test_coverage_and_bad_arguments():
    image = dead_leaves(64, 64, 1, blur_sigma=(0, 0), coverage=1.0)
    # Unblurred, every pixel belongs to a shape: a handful of distinct colours per region.
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20
    with pytest.raises(ValueError, match="coverage"):
        dead_leaves(8, 8, 0, coverage=0)
    with pytest.raises(ValueError, match="radius"):
        dead_leaves(8, 8, 0, min_radius=5, max_radius=2)
    with pytest.raises(ValueError, match="height"):
        dead_leaves(0, 8, 0)
