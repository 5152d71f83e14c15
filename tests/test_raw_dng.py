"""write_dng, checked through rawpy directly (independently of read_raw)."""

import os

import numpy as np
import pytest
import rawpy
from raw_fixtures import BAYER_ORDERS, XT2, bayer_pattern, random_mosaic, shifted

from lsid_keras.raw import UnsupportedCFAError, dng_black_level_pattern, write_dng

# XYZ (D65) <-> linear sRGB.
SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)


def visible_pattern(raw, n):
    """Colour letters of the pattern at the visible origin, as rawpy reports them."""
    s = raw.sizes
    desc = raw.color_desc.decode()
    return np.array(
        [
            [
                "RGB".index(desc[raw.raw_color(s.top_margin + y, s.left_margin + x)])
                for x in range(n)
            ]
            for y in range(n)
        ]
    )


@pytest.mark.parametrize("order", BAYER_ORDERS)
def test_bayer_round_trip_bit_exact(tmp_path, order):
    mosaic = random_mosaic((37, 53), white=16383, seed=9)
    path = write_dng(tmp_path / "a.dng", mosaic, order, 512, 16383)
    assert path == str(tmp_path / "a.dng")
    with rawpy.imread(path) as raw:
        np.testing.assert_array_equal(raw.raw_image_visible, mosaic)
        np.testing.assert_array_equal(visible_pattern(raw, 2), bayer_pattern(order))
        assert raw.black_level_per_channel == [512] * 4
        assert raw.white_level == 16383


@pytest.mark.parametrize("dy, dx", [(0, 0), (4, 1)])
def test_xtrans_round_trip_bit_exact(tmp_path, dy, dx):
    mosaic = random_mosaic((41, 55), white=16383, seed=10)
    cfa = shifted(XT2, dy, dx)
    path = write_dng(tmp_path / "x.dng", mosaic, cfa, 1024, 16383)
    with rawpy.imread(path) as raw:
        np.testing.assert_array_equal(raw.raw_image_visible, mosaic)
        np.testing.assert_array_equal(visible_pattern(raw, 6), cfa)
        assert raw.black_level_per_channel == [1024] * 4


def test_pattern_letters_and_arrays_agree(tmp_path):
    mosaic = random_mosaic((24, 24), white=4095)
    a = write_dng(tmp_path / "a.dng", mosaic, "GB/RG", 0, 4095)
    b = write_dng(tmp_path / "b.dng", mosaic, [[1, 2], [0, 1]], 0, 4095)
    assert open(a, "rb").read() == open(b, "rb").read()


def test_metadata_round_trip(tmp_path):
    path = write_dng(
        tmp_path / "a.dng",
        random_mosaic((24, 30), 4095),
        "RGGB",
        64,
        4095,
        camera_wb=(2.25, 1.0, 1.625),
        exposure_time=1 / 30,
    )
    with rawpy.imread(path) as raw:
        assert raw.camera_whitebalance[:3] == pytest.approx([2.25, 1.0, 1.625], rel=1e-5)
        assert raw.other.shutter_speed == pytest.approx(1 / 30, rel=1e-6)


def test_black_pattern_tag_round_trip(tmp_path):
    black = 1000 + np.arange(36).reshape(6, 6)
    path = write_dng(tmp_path / "x.dng", random_mosaic((24, 24), 16383), XT2, black, 16383)
    np.testing.assert_array_equal(dng_black_level_pattern(path), black)
    path = write_dng(tmp_path / "b.dng", random_mosaic((24, 24), 4095), "RGGB", 64, 4095)
    np.testing.assert_array_equal(dng_black_level_pattern(path), [[64]])
    text = tmp_path / "t.dng"
    text.write_text("not a tiff")
    assert dng_black_level_pattern(text) is None


def test_color_matrix_gives_sensible_colour(tmp_path):
    # A camera whose RGB mixes the sRGB primaries; a flat sRGB-linear patch s is recorded as
    # cam = mix @ s (before white balance). With ColorMatrix1 = mix @ XYZ->sRGB and the as-shot
    # gains that neutralise white, LibRaw's linear output must return s up to scale.
    mix = np.array([[0.7, 0.25, 0.05], [0.1, 0.85, 0.05], [0.05, 0.3, 0.9]])
    xyz_to_cam = mix @ np.linalg.inv(SRGB_TO_XYZ)
    cam_white = mix @ np.ones(3)
    gains = cam_white[1] / cam_white
    colour = np.array([0.6, 0.3, 0.1])
    cam = mix @ colour
    cfa = bayer_pattern("RGGB")
    mosaic = (64 + 3000 * cam[np.tile(cfa, (12, 16))]).round().astype(np.uint16)
    path = write_dng(
        tmp_path / "c.dng", mosaic, cfa, 64, 4095, camera_wb=gains, color_matrix=xyz_to_cam
    )
    with rawpy.imread(path) as raw:
        rgb = raw.postprocess(use_camera_wb=True, no_auto_bright=True, output_bps=16, gamma=(1, 1))
    mean = rgb[6:18, 6:26].reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(mean / mean[1], colour / colour[1], rtol=0.03)


def test_replaces_atomically_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "a.dng"
    target.write_bytes(b"old")
    write_dng(target, random_mosaic((24, 24), 4095), "RGGB", 0, 4095)
    assert os.listdir(tmp_path) == ["a.dng"]
    with rawpy.imread(str(target)) as raw:
        assert raw.raw_image_visible.shape == (24, 24)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mosaic": np.zeros((24, 24), np.float32) + 0.5}, "whole numbers"),
        ({"mosaic": np.full((24, 24), 70000)}, "65535"),
        ({"mosaic": np.zeros((24,), np.uint16)}, "2-D"),
        ({"mosaic": np.zeros((21, 40), np.uint16)}, "22"),
        ({"cfa_pattern": "RGBX"}, "cfa_pattern"),
        ({"cfa_pattern": np.zeros((3, 3), int)}, "cfa_pattern"),
        ({"black_level": -1}, "black_level"),
        ({"black_level": 64.5}, "black_level"),
        ({"white_level": 64}, "white_level"),
        ({"camera_wb": (1, 0, 1)}, "camera_wb"),
        ({"color_matrix": np.eye(2)}, "color_matrix"),
        ({"exposure_time": 0}, "exposure_time"),
        ({"orientation": 0}, "orientation"),
        ({"orientation": 9}, "orientation"),
    ],
)
def test_bad_arguments_write_nothing(tmp_path, kwargs, match):
    args = {
        "mosaic": np.zeros((24, 24), np.uint16),
        "cfa_pattern": "RGGB",
        "black_level": 64,
        "white_level": 4095,
    } | kwargs
    with pytest.raises(ValueError, match=match):
        write_dng(tmp_path / "a.dng", **args)
    assert os.listdir(tmp_path) == []


def test_unsupported_pattern_writes_nothing(tmp_path):
    with pytest.raises(UnsupportedCFAError, match="GG/RB"):
        write_dng(tmp_path / "a.dng", np.zeros((24, 24), np.uint16), "GGRB", 0, 4095)
    assert os.listdir(tmp_path) == []


def test_a_dng_of_a_camera_libraw_does_not_know_keeps_its_own_colour_matrix(tmp_path):
    import rawpy

    from lsid_keras.raw import read_raw, write_dng
    from lsid_keras.raw.dng import dng_color_matrix

    matrix = np.array([[0.9, -0.3, -0.1], [-0.4, 1.2, 0.2], [-0.1, 0.2, 0.6]])
    path = write_dng(tmp_path / "phone.dng", np.full((64, 96), 2000, np.uint16), "RGGB", 512,
                     16383, color_matrix=matrix, make="NoSuchPhone", model="X1")
    with rawpy.imread(str(path)) as raw:  # LibRaw's table knows no such camera
        assert not np.any(raw.rgb_xyz_matrix)
    np.testing.assert_allclose(dng_color_matrix(path), matrix, atol=1e-4)
    np.testing.assert_allclose(read_raw(path).xyz_to_camera, matrix, atol=1e-4)
    plain = write_dng(tmp_path / "plain.dng", np.full((64, 96), 2000, np.uint16), "RGGB", 512,
                      16383)
    assert dng_color_matrix(plain) is None and read_raw(plain).xyz_to_camera is None
    (tmp_path / "junk.dng").write_bytes(b"II*\x00junk")
    assert dng_color_matrix(tmp_path / "junk.dng") is None
