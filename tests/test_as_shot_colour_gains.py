"""The as-shot colour's gain clamp at the bounds docs/raw.md promises, [0.25, 4].

(Beside tests/test_as_shot_colour.py, whose clamp test checks the gains against
`GAIN_LIMITS` itself with a factor of 2 of slack, so it passes whatever the limits are.)
"""

import numpy as np
import pytest

from lsid_keras.as_shot_colour import LUMA, match_mean_colour

GREY = np.full((4, 6, 3), 0.5, np.float32)  # equal channels: the gains are target / luma


def _target(red, blue):
    """The linear colour (luminance 1) that asks a grey image for gains (red, green, blue)."""
    green = (1.0 - LUMA[0] * red - LUMA[2] * blue) / LUMA[1]
    return np.array([red, green, blue])


def test_rec709_luma_weights():
    np.testing.assert_allclose(LUMA, [0.2126, 0.7152, 0.0722])


def test_gains_just_inside_the_limits_are_applied_as_asked():
    # blue 3.96 and red 0.2525 are 1 % inside [0.25, 4]: no clamp, the gains are the target
    target = _target(0.2525, 3.96)
    _, gains = match_mean_colour(GREY, target)
    np.testing.assert_allclose(gains, target, rtol=1e-6)
    assert gains[2] / gains[0] == pytest.approx(3.96 / 0.2525, rel=1e-6)


def test_gains_just_outside_the_limits_are_clamped_to_a_quarter_and_four():
    # blue 4.04 and red 0.2475 are 1 % outside: clamped to 4 and 0.25 (a ratio of 16), green
    # kept, then all three scaled by one factor so the mean luminance stays
    # (1 / (0.2126 * 0.25 + 0.7152 * g + 0.0722 * 4)).
    target = _target(0.2475, 4.04)
    green = target[1]
    _, gains = match_mean_colour(GREY, target)
    keep_luminance = 1.0 / (0.2126 * 0.25 + 0.7152 * green + 0.0722 * 4.0)
    np.testing.assert_allclose(gains, np.array([0.25, green, 4.0]) * keep_luminance, rtol=1e-6)
    assert gains[2] / gains[0] == pytest.approx(16.0, rel=1e-9)


def test_an_extreme_target_is_clamped_to_the_same_ratio_of_sixteen():
    # red 100x blue: red at the upper limit, green and blue at the lower one
    _, gains = match_mean_colour(GREY, [100.0, 1.0, 1e-6])
    assert gains[0] / gains[1] == pytest.approx(16.0, rel=1e-9)
    assert gains[2] == pytest.approx(gains[1], rel=1e-9)
    assert LUMA @ gains == pytest.approx(1.0, rel=1e-9)  # grey in, same luminance out
