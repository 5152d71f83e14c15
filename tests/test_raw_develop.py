import numpy as np
import pytest
import rawpy
from raw_fixtures import XT2, bayer_pattern, set_dng_size, set_dng_tag, shifted, write_test_dng

from lsid_keras.raw import (
    NotARawFileError,
    RawFileNotFoundError,
    RawTooLargeError,
    TruncatedRawFileError,
    pack,
    read_raw,
)
from lsid_keras.raw.develop import REFERENCE_POSTPROCESS, develop


def _smooth_mosaic(shape, black, white, scale, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    signal = 0.5 + 0.4 * np.sin(yy / 7.0) * np.cos(xx / 5.0) + 0.05 * rng.random(shape)
    return np.rint(black + signal * scale * (white - black)).astype(np.uint16)


def test_develop_is_the_reference_rawpy_call(tmp_path):
    mosaic = _smooth_mosaic((48, 64), 512, 16383, 0.8)
    path = write_test_dng(tmp_path, "a.dng", mosaic, "RGGB", 512, 16383, camera_wb=(2.0, 1, 1.5))
    with rawpy.imread(str(path)) as raw:
        expected = raw.postprocess(**REFERENCE_POSTPROCESS)
    out = develop(path)
    assert out.dtype == np.uint16 and out.shape == (48, 64, 3)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("cfa", ["RGGB", "GRBG", "GBRG", "BGGR"])
def test_developed_image_aligns_with_packed_input(tmp_path, cfa):
    mosaic = _smooth_mosaic((47, 65), 64, 4095, 0.5)
    path = write_test_dng(tmp_path, f"{cfa}.dng", mosaic, cfa, 64, 4095)
    packed = pack(read_raw(path))
    assert develop(path).shape == (packed.shape[0] * 2, packed.shape[1] * 2, 3)


def test_xtrans_developed_image_aligns_with_packed_input(tmp_path):
    mosaic = _smooth_mosaic((70, 100), 1024, 16383, 0.5)
    path = write_test_dng(tmp_path, "x.dng", mosaic, shifted(XT2, 1, 2), 1024, 16383)
    packed = pack(read_raw(path))
    assert develop(path).shape == (packed.shape[0] * 3, packed.shape[1] * 3, 3)


def test_traditional_pipeline_gain_matches_a_brighter_exposure(tmp_path):
    black, white, ratio = 512, 16383, 100
    bright = _smooth_mosaic((64, 64), black, white, 0.5)
    # The dark frame is the bright one with 1/ratio the signal (rounded like a sensor would).
    dark = np.rint(black + (bright.astype(float) - black) / ratio).astype(np.uint16)
    cfa = bayer_pattern("RGGB")
    long = write_test_dng(tmp_path, "long.dng", bright, cfa, black, white)
    short = write_test_dng(tmp_path, "short.dng", dark, cfa, black, white)
    reference = develop(long).astype(float)
    gained = develop(short, ratio=ratio).astype(float)
    plain = develop(short).astype(float)
    # Quantisation of the dark frame (+-0.5 DN x 100) is the only difference left.
    assert np.abs(gained - reference).mean() < 0.02 * 65535
    assert np.abs(plain - reference).mean() > 0.2 * 65535


def test_develop_errors_name_the_file(tmp_path):
    with pytest.raises(RawFileNotFoundError, match="missing.dng"):
        develop(tmp_path / "missing.dng")
    fake = tmp_path / "photo.ARW"
    fake.write_bytes(b"\xff\xd8\xff\xe0" + b"JFIF" * 100)
    with pytest.raises(NotARawFileError, match="photo.ARW"):
        develop(fake)
    with pytest.raises(ValueError, match="ratio"):
        develop(fake, ratio=0)


@pytest.mark.parametrize("side, error", [(14000, TruncatedRawFileError), (20000, RawTooLargeError)])
def test_develop_refuses_huge_headers_before_decoding(tmp_path, side, error):
    # A 12-kB lossless-JPEG DNG declaring 14000x14000 took 36 s to develop into noise, and at
    # 20000x20000 failed after 48 s with a bare OSError (ENOMEM); develop now applies
    # read_raw's size checks before LibRaw decodes anything.
    path = write_test_dng(tmp_path, "a.dng", _smooth_mosaic((64, 96), 64, 4095, 0.5), "RGGB",
                          64, 4095)
    set_dng_size(path, side, side)
    set_dng_tag(path, 259, 7)  # Compression: lossless JPEG
    with pytest.raises(error, match=f"^{path}: .*{side}x{side}"):
        develop(path)


def test_develop_pixel_limit_is_configurable(tmp_path):
    path = write_test_dng(tmp_path, "a.dng", _smooth_mosaic((48, 64), 64, 4095, 0.5), "RGGB",
                          64, 4095)
    with pytest.raises(RawTooLargeError):
        develop(path, max_pixels=48 * 64 - 1)
    assert develop(path, max_pixels=48 * 64).shape == (48, 64, 3)
