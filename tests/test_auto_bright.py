"""LibRaw's auto-bright on the network's output (`lsid_keras.auto_bright`)."""

import subprocess
import sys

import numpy as np
import pytest
import rawpy

from lsid_keras.as_shot_colour import (
    CODES,
    LUMA,
    apply_linear_gains,
    code_histograms,
    libraw_to_linear,
)
from lsid_keras.auto_bright import (
    MAX_GAIN,
    auto_bright_gain,
    white_levels,
)
from lsid_keras.data.sid_list import read_pair_list
from lsid_keras.data.synth import synthesize_dataset
from lsid_keras.image_io import read_image


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """One emulated alpha 7S II scene of a held-out photo: a dark x100 exposure and its long
    exposure, whose highlights sit below white (LibRaw brightens it)."""
    root = tmp_path_factory.mktemp("bright")
    synthesize_dataset(root, camera="sony", scenes=1, seed=5, size=(192, 288), progress=False,
                       splits=(0.0, 1.0, 0.0), content="photos")
    return next(p for p in read_pair_list(root / "Sony_test_list.txt", root=root)
                if p.ratio == 100)


def _libraw(path, **options):
    with rawpy.imread(str(path)) as raw:
        return raw.postprocess(use_camera_wb=True, output_bps=16, **options) / 65535.0


def test_the_rule_on_libraws_plain_rendering_gives_its_auto_bright_rendering(pair):
    # Applied to LibRaw's rendering without auto-bright, the rule must give LibRaw's default
    # rendering: the same brightening, pixel for pixel within a 16-bit histogram bin's
    # worth (LibRaw bins its linear values in 8192 bins, this module the encoded ones).
    plain = _libraw(pair.long_path, no_auto_bright=True)
    shown = _libraw(pair.long_path)
    gain = auto_bright_gain(white_levels(code_histograms(plain)))
    assert gain > 1.2  # the scene's highlights are below white: LibRaw brightens it
    ours = apply_linear_gains(plain, [gain] * 3)
    assert np.abs(ours - shown).mean() < 2e-3
    lum = [LUMA @ libraw_to_linear(image).reshape(-1, 3).mean(axis=0) for image in (ours, shown)]
    assert lum[0] == pytest.approx(lum[1], rel=0.01)


def test_white_is_where_one_percent_of_the_brightest_channel_lies_above():
    # 1,000 pixels, so 1 % is 10: in green one at code 60000 and 10 at 40000, the rest at
    # 1000. Counting from the top, 1 pixel at 60000 (not more than 10), then 11 down to
    # 40000: green's white is code 40000. Red and blue lie all at 1000.
    rgb = np.full((1000, 1, 3), 1000 / 65535, np.float32)
    rgb[:10, 0, 1] = 40000 / 65535
    rgb[10, 0, 1] = 60000 / 65535
    levels = white_levels(code_histograms(rgb))
    np.testing.assert_allclose(levels, libraw_to_linear(np.array([1000, 40000, 1000]) / 65535))
    assert auto_bright_gain(levels) == pytest.approx(1 / levels[1])
    # colour gains count: a blue gain of 200 makes blue the brightest channel
    gains = np.array([1.0, 1.0, 200.0])
    assert auto_bright_gain(levels, gains) == pytest.approx(1 / (200 * levels[2]))
    # never darker, never more than MAX_GAIN (a black frame)
    assert auto_bright_gain([1.0, 0.5, 0.2], [2.0, 1.0, 1.0]) == 1.0
    assert auto_bright_gain(white_levels(np.zeros((3, CODES)))) == MAX_GAIN


def test_histograms_in_bands_count_every_pixel_once(monkeypatch):
    import lsid_keras.as_shot_colour as module

    monkeypatch.setattr(module, "ROWS_PER_BAND", 3)
    rgb = np.random.default_rng(1).uniform(-0.2, 1.2, (10, 7, 3)).astype(np.float32)
    counts = code_histograms(rgb)
    codes = np.floor(np.clip(rgb, 0, 1) * 65535 + 0.5).astype(int)
    for channel in range(3):
        np.testing.assert_array_equal(
            counts[channel], np.bincount(codes[..., channel].ravel(), minlength=65536))
    with pytest.raises(ValueError, match="H, W, 3"):
        code_histograms(rgb[..., :2])


def _enhance(*args):
    return subprocess.run([sys.executable, "-m", "lsid_keras", "enhance", *args, "--quiet"],
                          capture_output=True, text=True, timeout=600)


def test_lsid_enhance_brightens_as_libraw_unless_told_not_to(pair, tmp_path):
    # By default the shipped model's output is brightened by LibRaw's rule, which the output
    # file's EXIF and the command's line report; --no-auto-bright keeps the network's
    # exposure. Both outputs have the same colour, one is the other times the gain in linear
    # light (up to the clipping at white and 16-bit steps).
    from PIL import Image

    bright, plain = tmp_path / "bright.tif", tmp_path / "plain.tif"
    result = _enhance(pair.short_path, "-o", str(bright), "--ratio", "100")
    assert result.returncode == 0, result.stderr
    assert "auto-bright x" in result.stdout
    gain = float(result.stdout.split("auto-bright x")[1].split(",")[0])
    assert _enhance(pair.short_path, "-o", str(plain), "--ratio", "100",
                    "--no-auto-bright").returncode == 0
    with Image.open(bright) as image:
        assert "auto-bright x" in image.tag_v2[270]  # ImageDescription
    ours, theirs = (libraw_to_linear(read_image(p)) for p in (bright, plain))
    assert gain > 1.05
    expected = np.minimum(theirs * gain, 1.0)
    assert np.abs(ours - expected).mean() < 1e-3
    assert white_levels(code_histograms(read_image(bright))).max() == pytest.approx(1.0,
                                                                                      abs=0.02)
