import dataclasses
import struct

import numpy as np
import pytest
import rawpy
from PIL import Image
from raw_fixtures import (
    BAYER_ORDERS,
    XT2,
    bayer_pattern,
    random_mosaic,
    set_dng_size,
    set_dng_tag,
    shifted,
    write_pidng_dng,
    write_test_dng,
)

from lsid_keras.raw import (
    CorruptRawFileError,
    EmptyRawFileError,
    NotARawFileError,
    RawError,
    RawFileNotFoundError,
    RawFrame,
    RawTooLargeError,
    TruncatedRawFileError,
    UnsupportedCFAError,
    read_raw,
)


@pytest.mark.parametrize("order", BAYER_ORDERS)
def test_bayer_dng_reads_back_exactly(tmp_path, order):
    mosaic = random_mosaic((37, 53), white=4095, seed=1)
    path = write_test_dng(
        tmp_path,
        f"{order}.dng",
        mosaic,
        order,
        64,
        4095,
        camera_wb=(2.0, 1.0, 1.5),
        exposure_time=0.04,
    )
    frame = read_raw(path)
    assert frame.mosaic.dtype == np.uint16
    np.testing.assert_array_equal(frame.mosaic, mosaic)
    np.testing.assert_array_equal(frame.cfa, bayer_pattern(order))
    assert frame.cfa_kind == "bayer"
    assert frame.black_level.shape == (2, 2)
    np.testing.assert_array_equal(frame.black_level, np.full((2, 2), 64.0))
    assert frame.white_level == 4095.0
    assert frame.camera_wb[:3] == pytest.approx((2.0, 1.0, 1.5), rel=1e-5)
    assert frame.exposure_time == 0.04
    assert frame.path == str(path)


def test_accepts_str_and_pathlike(tmp_path):
    mosaic = random_mosaic((23, 25), white=1023)
    path = write_test_dng(tmp_path, "a.dng", mosaic, "RGGB", 0, 1023)
    np.testing.assert_array_equal(read_raw(str(path)).mosaic, read_raw(path).mosaic)


def test_bayer_black_per_position(tmp_path):
    # The black pattern is given per mosaic position; for GRBG that is G=60, R=61, B=62, G=63.
    black = np.array([[60, 61], [62, 63]])
    path = write_test_dng(tmp_path, "b.dng", random_mosaic((23, 27), 4095), "GRBG", black, 4095)
    frame = read_raw(path)
    np.testing.assert_array_equal(frame.black_level, black)


def test_xtrans_uniform_black(tmp_path):
    mosaic = random_mosaic((41, 55), white=16383, seed=2)
    path = write_test_dng(tmp_path, "x.dng", mosaic, XT2, 1024, 16383, exposure_time=0.1)
    frame = read_raw(path)
    np.testing.assert_array_equal(frame.mosaic, mosaic)
    np.testing.assert_array_equal(frame.cfa, XT2)
    assert frame.cfa_kind == "xtrans"
    np.testing.assert_array_equal(frame.black_level, np.full((6, 6), 1024.0))
    assert frame.white_level == 16383.0
    assert frame.exposure_time == 0.1


@pytest.mark.parametrize(
    "black",
    [
        1000 + np.arange(36).reshape(6, 6),  # every position different
        np.choose(XT2, [1000, 1010, 1020]),  # per colour: R 1000, G 1010, B 1020
        np.array([[500, 501, 502], [503, 504, 505], [506, 507, 508]]),  # 3x3, tiles twice
    ],
    ids=["per-position", "per-colour", "3x3"],
)
def test_xtrans_black_pattern_exact(tmp_path, black):
    # rawpy alone reports only the pattern's minimum for these; read_raw recovers the rest.
    path = write_test_dng(tmp_path, "x.dng", random_mosaic((25, 31), 16383), XT2, black, 16383)
    frame = read_raw(path)
    expected = np.tile(black, (6 // black.shape[0], 6 // black.shape[1]))
    np.testing.assert_array_equal(frame.black_level, expected)
    with rawpy.imread(str(path)) as raw:
        assert raw.black_level_per_channel == [int(black.min())] * 4  # what rawpy hides


def test_xtrans_shifted_phase_cfa(tmp_path):
    cfa = shifted(XT2, 2, 5)
    path = write_test_dng(tmp_path, "x.dng", random_mosaic((29, 25), 16383), cfa, 1024, 16383)
    frame = read_raw(path)
    np.testing.assert_array_equal(frame.cfa, cfa)
    assert frame.cfa_kind == "xtrans"


@pytest.mark.parametrize("top, left", [(0, 1), (2, 2), (3, 2)])
def test_bayer_active_area_margins(tmp_path, top, left):
    # LibRaw reads the CFA pattern relative to the ActiveArea and moves a Bayer visible area to
    # an even offset; read_raw must report the pattern of the visible area it returns.
    scene = random_mosaic((40, 50), white=4095, seed=11)
    path = write_pidng_dng(
        tmp_path / "a.dng", scene, bayer_pattern("RGGB"), 4095, ActiveArea=[top, left, 40, 50]
    )
    frame = read_raw(path)
    with rawpy.imread(str(path)) as raw:
        y0, x0 = raw.sizes.top_margin, raw.sizes.left_margin
        indices = raw.raw_colors_visible[:2, :2]
        expected = np.where(indices == 3, 1, indices)  # LibRaw's colour 3 is the second green
    np.testing.assert_array_equal(frame.mosaic, scene[y0 : y0 + frame.mosaic.shape[0], x0:])
    np.testing.assert_array_equal(frame.cfa, expected)
    np.testing.assert_array_equal(frame.cfa, shifted(bayer_pattern("RGGB"), y0 - top, x0 - left))


def test_xtrans_active_area_margins(tmp_path):
    # Margins of 6 or more: rawpy's own raw_pattern / raw_colors_visible go wrong here (negative
    # modulo inside LibRaw's COLOR()), read_raw does not use them.
    scene = random_mosaic((40, 50), white=16383, seed=12)
    black = 1000 + np.arange(36)
    path = write_pidng_dng(
        tmp_path / "x.dng",
        scene,
        XT2,
        16383,
        ActiveArea=[7, 8, 40, 50],
        BlackLevelRepeatDim=[6, 6],
        BlackLevel=black.tolist(),
    )
    frame = read_raw(path)
    np.testing.assert_array_equal(frame.mosaic, scene[7:, 8:])
    np.testing.assert_array_equal(frame.cfa, XT2)  # pattern origin = ActiveArea origin
    np.testing.assert_array_equal(frame.black_level, black.reshape(6, 6))


def test_exposure_time_missing_is_none(tmp_path):
    path = write_test_dng(tmp_path, "a.dng", random_mosaic((24, 24), 4095), "RGGB", 0, 4095)
    assert read_raw(path).exposure_time is None


def test_frame_is_immutable(tmp_path):
    path = write_test_dng(tmp_path, "a.dng", random_mosaic((24, 24), 4095), "RGGB", 64, 4095)
    frame = read_raw(path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.white_level = 1.0
    for array in (frame.mosaic, frame.cfa, frame.black_level):
        with pytest.raises(ValueError):
            array[0, 0] = 1


def test_frame_from_arrays_validates():
    frame = RawFrame(np.zeros((4, 4), np.uint16), bayer_pattern("RGGB"), 64, 1023)
    assert frame.black_level.shape == (2, 2)
    assert frame.cfa_kind == "bayer"
    with pytest.raises(ValueError):
        RawFrame(np.zeros((4, 4), np.uint16), bayer_pattern("RGGB"), np.zeros(3), 1023)


# --- bad input ---------------------------------------------------------------------------------


def _assert_names_path(error: RawError, path) -> None:
    assert isinstance(error, RawError)
    assert str(path) in str(error)
    assert error.path == str(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.ARW"
    with pytest.raises(RawFileNotFoundError) as info:
        read_raw(path)
    _assert_names_path(info.value, path)
    assert isinstance(info.value, FileNotFoundError)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.ARW"
    path.write_bytes(b"")
    with pytest.raises(EmptyRawFileError) as info:
        read_raw(path)
    _assert_names_path(info.value, path)
    assert "empty" in str(info.value)


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.99])
def test_truncated_file(tmp_path, keep):
    path = write_test_dng(tmp_path, "a.dng", random_mosaic((37, 53), 4095), "RGGB", 64, 4095)
    data = path.read_bytes()
    cut = tmp_path / "cut.dng"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(TruncatedRawFileError) as info:
        read_raw(cut)
    _assert_names_path(info.value, cut)
    assert isinstance(info.value.__cause__, rawpy.LibRawError)


def test_text_renamed_to_arw(tmp_path):
    path = tmp_path / "notes.ARW"
    path.write_text("this is not a raw file\n" * 20)
    with pytest.raises(NotARawFileError) as info:
        read_raw(path)
    _assert_names_path(info.value, path)
    assert isinstance(info.value.__cause__, rawpy.LibRawFileUnsupportedError)


def test_jpeg_renamed_to_arw(tmp_path):
    path = tmp_path / "photo.ARW"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(path, format="JPEG")
    with pytest.raises(NotARawFileError) as info:
        read_raw(path)
    _assert_names_path(info.value, path)


def test_directory(tmp_path):
    with pytest.raises(NotARawFileError) as info:
        read_raw(tmp_path)
    _assert_names_path(info.value, tmp_path)


def test_absurd_header_size_refused_before_decoding(tmp_path):
    path = write_test_dng(tmp_path, "a.dng", random_mosaic((37, 53), 4095), "RGGB", 64, 4095)
    set_dng_size(path, 20000, 20000)  # 400 MP claimed, a few kB present
    with pytest.raises(RawTooLargeError) as info:
        read_raw(path)
    _assert_names_path(info.value, path)
    assert "20000x20000" in str(info.value)


def test_pixel_limit_is_configurable(tmp_path):
    path = write_test_dng(tmp_path, "a.dng", random_mosaic((37, 53), 4095), "RGGB", 64, 4095)
    with pytest.raises(RawTooLargeError):
        read_raw(path, max_pixels=37 * 53 - 1)
    assert read_raw(path, max_pixels=37 * 53).mosaic.shape == (37, 53)


@pytest.mark.parametrize(
    "cfa, name",
    [
        (np.array([[1, 1], [0, 2]]), "GG/RB"),  # greens side by side: not Bayer
        (np.array([[0, 0], [1, 2]]), "RR/GB"),
        (
            np.array(
                [
                    [2, 0, 2, 1, 2, 2],
                    [0, 0, 0, 0, 2, 1],
                    [0, 2, 0, 0, 2, 2],
                    [2, 1, 1, 0, 1, 0],
                    [1, 2, 0, 0, 1, 1],
                    [2, 2, 0, 0, 1, 0],
                ]
            ),
            "BRBGBB",
        ),
    ],
)
def test_unsupported_cfa(tmp_path, cfa, name):
    # write_dng refuses these patterns, so the file is written with pidng directly.
    path = write_pidng_dng(tmp_path / "odd.dng", random_mosaic((24, 24), 4095), cfa, 4095)
    with pytest.raises(UnsupportedCFAError) as info:
        read_raw(path)
    _assert_names_path(info.value, path)
    assert name in str(info.value)


def test_white_not_above_black_is_corrupt(tmp_path):
    path = write_test_dng(tmp_path, "a.dng", random_mosaic((24, 24), 4095), "RGGB", 64, 4095)
    data = bytearray(path.read_bytes())
    # Patch WhiteLevel (tag 50717, SHORT, inline) down to 10, below the black level of 64.
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    for i in range(count):
        entry = ifd + 2 + 12 * i
        if struct.unpack_from("<H", data, entry)[0] == 50717:
            struct.pack_into("<H", data, entry + 8, 10)
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptRawFileError) as info:
        read_raw(path)
    _assert_names_path(info.value, path)


def test_every_error_is_a_raw_error():
    import lsid_keras.raw.errors as errors

    classes = [v for v in vars(errors).values() if isinstance(v, type) and v is not RawError]
    assert len(classes) >= 8 and all(issubclass(c, RawError) for c in classes)


# --- hostile headers found by scripts/fuzz_raw.py ------------------------------------------------

_COMPRESSION, _PHOTOMETRIC, _LOSSLESS_JPEG = 259, 262, 7


def test_header_claiming_more_pixels_than_the_file_holds(tmp_path):
    # A 12-kB file declaring 8000x8000 lossless-JPEG pixels: LibRaw used to decode 64 MP of
    # noise from it (seconds, gigabytes); it is refused from the header now.
    path = write_test_dng(tmp_path, "a.dng", random_mosaic((64, 96), 4095), "RGGB", 64, 4095)
    set_dng_size(path, 8000, 8000)
    set_dng_tag(path, _COMPRESSION, _LOSSLESS_JPEG)
    with pytest.raises(TruncatedRawFileError) as info:
        read_raw(path)
    _assert_names_path(info.value, path)
    assert "8000x8000 = 64000000 pixels" in str(info.value)
    assert f"{path.stat().st_size} bytes" in str(info.value)


def test_pixels_per_byte_bound_leaves_real_files_alone(tmp_path):
    # The smallest file write_dng makes (22x22, 16 bits) reads; and the bound leaves a margin
    # of 100x even for a format packing 10 pixels per byte, far beyond any RAW encoding.
    from lsid_keras.raw.read import MAX_PIXELS_PER_BYTE

    path = write_test_dng(tmp_path, "a.dng", random_mosaic((22, 22), 4095), "RGGB", 64, 4095)
    assert read_raw(path).mosaic.shape == (22, 22)
    assert MAX_PIXELS_PER_BYTE >= 100 * 10


def test_corrupt_photometric_entry_without_values(tmp_path):
    # A PhotometricInterpretation entry with 0 values made the DNG black-level reader raise
    # IndexError; the tag is unreadable, so LibRaw's levels are used as for any unparsable tag.
    path = write_test_dng(tmp_path, "a.dng", random_mosaic((24, 24), 4095), "GBRG", 64, 4095)
    set_dng_tag(path, _PHOTOMETRIC, count=0)
    frame = read_raw(path)
    np.testing.assert_array_equal(frame.black_level, np.full((2, 2), 64.0))


class _Renderings:
    """Stands in for a rawpy object: LibRaw's half-size linear renderings of a scene whose
    camera RGB goes to sRGB through `matrix` (what `_libraw_rendering_matrix` measures)."""

    def __init__(self, matrix, fail=False):
        rng = np.random.default_rng(4)
        self.camera = rng.uniform(0.01, 0.6, (40, 50, 3))
        self.matrix, self.fail = np.asarray(matrix), fail

    def postprocess(self, output_color, **options):
        assert options["gamma"] == (1, 1) and options["no_auto_bright"] and options["half_size"]
        if self.fail:
            raise rawpy.LibRawUnsupportedThumbnailError("no")
        image = self.camera if output_color == rawpy.ColorSpace.raw else \
            self.camera @ self.matrix.T
        return np.round(np.clip(image, 0, 1) * 65535).astype(np.uint16)


def test_a_matrix_libraw_keeps_to_itself_is_measured_from_its_renderings():
    # A Kodak KDC: rawpy shows no XYZ matrix, yet LibRaw develops it with the file's own
    # camera -> sRGB matrix. The matrix is measured from LibRaw's two renderings (pixels that
    # clip left out); the identity (camera RGB as sRGB) and a file LibRaw cannot develop
    # give None, so the colour code keeps its rule for files without a matrix.
    from lsid_keras.raw.read import _libraw_rendering_matrix

    kodak = [[1.81, -0.34, -0.48], [-0.44, 1.85, -0.41], [-0.68, -1.39, 3.07]]
    np.testing.assert_allclose(_libraw_rendering_matrix(_Renderings(kodak)), kodak, atol=2e-3)
    assert _libraw_rendering_matrix(_Renderings(np.eye(3) * 1.005)) is None
    assert _libraw_rendering_matrix(_Renderings(kodak, fail=True)) is None


def test_a_matrix_less_dng_is_developed_as_camera_rgb_taken_as_srgb(tmp_path):
    # LibRaw renders a DNG without ColorMatrix with the identity: read_raw measures that and
    # reports no matrix, as before.
    path = write_pidng_dng(tmp_path / "plain.dng", random_mosaic((64, 96), 4095, seed=3),
                           bayer_pattern("RGGB"), 4095, AsShotNeutral=[[1, 1], [1, 1], [1, 1]])
    assert read_raw(path).xyz_to_camera is None
