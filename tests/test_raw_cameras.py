"""Camera specs: LibRaw matrices land in the DNG, white-balance ranges, Brooks' random camera."""

import numpy as np
import pytest
import rawpy

from lsid_keras.raw import write_dng
from lsid_keras.raw.cameras import (
    CAMERA_CHOICES,
    CAMERA_SPECS,
    TEMPERATURE_RANGE,
    camera_spec,
    illuminant_white_xyz,
)
from lsid_keras.raw.dng import _Tiff
from lsid_keras.raw.unprocess import SRGB_TO_XYZ, srgb_to_camera_matrix

REAL = ("sony", "fuji", "nikon")
COLOR_MATRIX_1 = 50721


def color_matrix_tag(path):
    """The ColorMatrix1 tag of a DNG's first IFD, read from the file's bytes."""
    with open(path, "rb") as file:
        tiff = _Tiff(file)
        entries, _ = tiff.ifd(tiff.first_ifd)
        return np.array(tiff.values(entries[COLOR_MATRIX_1])).reshape(3, 3)
#: The ranges the module docstring documents: (red low, red high), (blue low, blue high).
DOCUMENTED_RANGES = {
    "sony": ((1.70, 2.83), (1.37, 2.77)),
    "fuji": ((1.18, 2.37), (1.55, 3.37)),
    "nikon": ((1.15, 2.30), (1.20, 2.62)),
    "brooks": ((1.90, 2.40), (1.50, 1.90)),
}


def test_choices_name_every_camera_once():
    assert [name for name, _ in CAMERA_CHOICES] == list(CAMERA_SPECS)
    assert all(description for _, description in CAMERA_CHOICES)
    assert camera_spec("SONY") is CAMERA_SPECS["sony"]
    with pytest.raises(ValueError, match="sony, fuji, nikon, brooks. Received: camera='canon'"):
        camera_spec("canon")


def test_sid_cameras_levels_and_matrices():
    sony, fuji = CAMERA_SPECS["sony"], CAMERA_SPECS["fuji"]
    assert (sony.cfa_kind, sony.black_level, sony.white_level) == ("bayer", 512, 16383)
    assert (fuji.cfa_kind, fuji.black_level, fuji.white_level) == ("xtrans", 1024, 16383)
    assert CAMERA_SPECS["brooks"].xyz_to_camera is None
    # The extra Bayer camera must see colour clearly differently from the alpha 7S II.
    difference = np.abs(
        srgb_to_camera_matrix(CAMERA_SPECS["nikon"].xyz_to_camera)
        - srgb_to_camera_matrix(sony.xyz_to_camera)
    ).max()
    assert difference > 0.15


#: LibRaw's adobe_coeff entries (src/tables/colordata.cpp at LibRaw commit e419de0, 2026-07-18),
#: XYZ -> camera times 10000, row by row, copied from the source and not from the package.
LIBRAW_ADOBE_COEFF = {
    "sony": ("ILCE-7S", (5838, -1430, -246, -3497, 11477, 2297, -748, 1885, 5778)),
    "fuji": ("X-T2", (11434, -4948, -1210, -3746, 12042, 1903, -666, 1479, 5235)),
    "nikon": ("D850", (10405, -3755, -1270, -5461, 13787, 1793, -1040, 2015, 6785)),
}


@pytest.mark.parametrize("name", sorted(LIBRAW_ADOBE_COEFF))
def test_matrix_is_libraws_entry_in_full(name):
    model, coefficients = LIBRAW_ADOBE_COEFF[name]
    spec = CAMERA_SPECS[name]
    expected = np.array(coefficients, dtype=np.float64).reshape(3, 3) / 10000
    np.testing.assert_allclose(spec.xyz_to_camera, expected, rtol=0, atol=1e-12)
    assert f'"{model}"' in spec.matrix_source


def test_every_real_camera_has_its_libraw_entry_pinned():
    real = {name for name, spec in CAMERA_SPECS.items() if spec.xyz_to_camera is not None}
    assert real == set(LIBRAW_ADOBE_COEFF)


def test_d65_white_is_the_srgb_white_point():
    np.testing.assert_allclose(illuminant_white_xyz(6504), SRGB_TO_XYZ.sum(axis=1), atol=2e-3)


@pytest.mark.parametrize("name", list(DOCUMENTED_RANGES))
def test_white_balance_ranges_are_the_documented_ones(name):
    spec = CAMERA_SPECS[name]
    (red_low, red_high), (blue_low, blue_high) = DOCUMENTED_RANGES[name]
    np.testing.assert_allclose(spec.red_gain_range, (red_low, red_high), atol=0.006)
    np.testing.assert_allclose(spec.blue_gain_range, (blue_low, blue_high), atol=0.006)


@pytest.mark.parametrize("name", REAL)
def test_warmer_light_needs_less_red_and_more_blue_gain(name):
    spec = CAMERA_SPECS[name]
    low, high = TEMPERATURE_RANGE
    tungsten, daylight = spec.white_balance(low), spec.white_balance(6500)
    assert tungsten[0] < daylight[0] and tungsten[1] > daylight[1]
    # The gains make the illuminant's white neutral in the camera's space.
    for temperature in (low, 5000, high):
        red, blue = spec.white_balance(temperature)
        response = spec.xyz_to_camera @ illuminant_white_xyz(temperature)
        np.testing.assert_allclose(response * [red, 1, blue], response[1], rtol=1e-12)


@pytest.mark.parametrize("name", REAL)
def test_sampled_scenes_are_one_camera_under_many_illuminants(name):
    spec = CAMERA_SPECS[name]
    rng = np.random.default_rng(0)
    draws = [spec.sample_unprocess_params(rng) for _ in range(300)]
    red_low, red_high = spec.red_gain_range
    blue_low, blue_high = spec.blue_gain_range
    reds = np.array([d.red_gain for d in draws])
    blues = np.array([d.blue_gain for d in draws])
    assert reds.min() >= red_low and reds.max() <= red_high
    assert blues.min() >= blue_low and blues.max() <= blue_high
    # Uniform in mired: both ends of the range are reached.
    assert reds.min() < red_low + 0.1 and reds.max() > red_high - 0.1
    temperatures = [d.temperature for d in draws]
    assert min(temperatures) >= TEMPERATURE_RANGE[0] and max(temperatures) <= TEMPERATURE_RANGE[1]
    for d in draws[:5]:
        np.testing.assert_array_equal(d.xyz_to_camera, spec.xyz_to_camera)
        assert (d.red_gain, d.blue_gain) == spec.white_balance(d.temperature)
    assert len({d.srgb_to_camera.tobytes() for d in draws}) == 1


def test_brooks_camera_changes_matrix_every_scene():
    spec = CAMERA_SPECS["brooks"]
    draws = [spec.sample_unprocess_params(seed) for seed in range(20)]
    assert len({d.srgb_to_camera.tobytes() for d in draws}) == 20
    assert all(1.9 <= d.red_gain <= 2.4 and 1.5 <= d.blue_gain <= 1.9 for d in draws)


@pytest.mark.parametrize("name", REAL)
def test_matrix_lands_in_the_dng_and_rawpy_develops_with_it(tmp_path, name):
    spec = CAMERA_SPECS[name]
    pattern = "RGGB" if spec.cfa_kind == "bayer" else spec.default_cfa
    mosaic = np.full((48, 48), spec.black_level + 1000, dtype=np.uint16)
    path = write_dng(
        tmp_path / "a.dng",
        mosaic,
        pattern,
        spec.black_level,
        spec.white_level,
        camera_wb=(2.0, 1.0, 1.5),
        color_matrix=spec.xyz_to_camera,
        **spec.dng_identity,
    )
    np.testing.assert_allclose(color_matrix_tag(path), spec.xyz_to_camera, atol=1e-6)
    with rawpy.imread(path) as raw:
        # LibRaw identifies the camera by Make/Model and reports its XYZ -> camera matrix ...
        np.testing.assert_allclose(raw.rgb_xyz_matrix[:3], spec.xyz_to_camera, atol=1e-6)
        # ... and develops with the DNG's ColorMatrix1: camera -> sRGB is its inverse.
        np.testing.assert_allclose(
            raw.color_matrix[:, :3], np.linalg.inv(srgb_to_camera_matrix(spec.xyz_to_camera)),
            atol=1e-5,
        )
