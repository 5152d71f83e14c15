import numpy as np
import pytest

from lsid_keras.image_io import ImageWriteError, quantize, read_image, write_image


@pytest.mark.parametrize("name, bits", [("a.png", 16), ("a.tif", 16), ("a.jpg", 8)])
def test_images_round_trip_at_their_bit_depth(tmp_path, name, bits):
    yy, xx = np.mgrid[:17, :23]
    rgb = np.stack([yy / 16, xx / 22, (yy + xx) / 38], -1).astype(np.float32)
    path = write_image(tmp_path / name, rgb)
    back = read_image(path)
    assert back.shape == rgb.shape
    tolerance = 0.5 / 65535 + 1e-7 if bits == 16 else 0.06  # JPEG is lossy
    assert np.abs(back - rgb).max() <= tolerance


def test_eight_bit_png_matches_the_reference_quantisation(tmp_path):
    rgb = np.linspace(0, 1, 3 * 256).reshape(16, 16, 3)
    back = read_image(write_image(tmp_path / "a.png", rgb, bits=8))
    np.testing.assert_array_equal(np.rint(back * 255), quantize(rgb, 8))


@pytest.mark.parametrize("bits", [8, 16])
def test_quantize_in_bands_of_a_turned_view_is_the_whole_frame_formula(monkeypatch, bits):
    # Bands bound the float temporaries; a view turned by `orient_view` (strided, mirrored,
    # transposed) quantises as its contiguous copy would, band edges included.
    import lsid_keras.image_io as module
    from lsid_keras.image_io import orient, orient_view

    monkeypatch.setattr(module, "QUANTIZE_ROWS", 5)
    rgb = np.random.default_rng(0).uniform(-0.1, 1.1, (13, 17, 3)).astype(np.float32)
    rgb[0, 0] = [0.5 / 255, 1.5 / 255, 254.5 / 255]  # halves round up
    top = 255 if bits == 8 else 65535
    for code in range(8):
        turned = orient(rgb, code)
        want = np.floor(np.clip(turned, 0, 1) * np.float32(top) + np.float32(0.5))
        got = quantize(orient_view(rgb, code), bits)
        assert got.dtype == (np.uint8 if bits == 8 else np.uint16)
        np.testing.assert_array_equal(got, want.astype(got.dtype))


def test_bad_paths_are_refused_and_nothing_is_left(tmp_path):
    rgb = np.zeros((4, 4, 3))
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_image(tmp_path / "missing" / "a.png", rgb)
    with pytest.raises(ImageWriteError, match="unknown image format .bmp"):
        write_image(tmp_path / "a.bmp", rgb)
    with pytest.raises(ValueError, match="must be"):
        write_image(tmp_path / "a.png", np.zeros((4, 4)))
    assert list(tmp_path.iterdir()) == []


# --- EXIF, ICC profile, orientation -------------------------------------------------------------

import io  # noqa: E402

import rawpy  # noqa: E402
from PIL import Image, ImageCms  # noqa: E402
from raw_fixtures import write_test_dng  # noqa: E402

from lsid_keras import __version__  # noqa: E402
from lsid_keras.image_io import PhotoMetadata, orient  # noqa: E402
from lsid_keras.raw.cameras import CAMERA_SPECS  # noqa: E402

_EXIF_IFD, _ORIENTATION_TAG = 34665, 274
_META = PhotoMetadata(make="NIKON CORPORATION", model="NIKON D850", exposure_time=1 / 30,
                      iso=6400, description="lsid enhance: amplification ratio x250 (auto)")


def _profile_name(icc):
    return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))


def _pillow_tags(path):
    with Image.open(path) as image:
        exif, icc = image.getexif(), image.info.get("icc_profile")
    tags = dict(exif) | dict(exif.get_ifd(_EXIF_IFD))
    return tags, icc


@pytest.mark.parametrize("name, bits", [("a.jpg", 8), ("a.png", 16), ("a.png", 8)])
def test_jpeg_and_png_carry_exif_and_an_srgb_profile(tmp_path, name, bits):
    rgb = np.random.default_rng(0).uniform(size=(12, 20, 3))
    path = write_image(tmp_path / name, rgb, bits=bits, metadata=_META)
    tags, icc = _pillow_tags(path)
    assert tags[271] == "NIKON CORPORATION" and tags[272] == "NIKON D850"
    assert tags[270] == _META.description and tags[305] == f"lsid-keras {__version__}"
    assert tags[_ORIENTATION_TAG] == 1
    assert float(tags[33434]) == pytest.approx(1 / 30) and tags[34855] == 6400
    assert "sRGB" in _profile_name(icc)
    if name.endswith(".png"):  # the pixels are still read exactly
        tolerance = 0.5 / (255 if bits == 8 else 65535) + 1e-7
        assert np.abs(read_image(path) - rgb).max() <= tolerance


def test_tiff_carries_the_tags_and_an_srgb_profile(tmp_path):
    import tifffile

    path = write_image(tmp_path / "a.tif", np.full((4, 6, 3), 0.5), metadata=_META)
    with tifffile.TiffFile(path) as tiff:
        tags = {tag.code: tag.value for tag in tiff.pages[0].tags.values()}
    assert tags[271] == "NIKON CORPORATION" and tags[272] == "NIKON D850"
    assert tags[270] == _META.description and tags[305] == f"lsid-keras {__version__}"
    assert tags[33434] == (1, 30) and tags[34855] == 6400
    assert "sRGB" in _profile_name(tags[34675])


def test_without_metadata_only_the_profile_is_written(tmp_path):
    tags, icc = _pillow_tags(write_image(tmp_path / "a.jpg", np.zeros((4, 4, 3))))
    assert tags == {} and "sRGB" in _profile_name(icc)


def _portrait_dng(directory, name, orientation):
    """A landscape sensor frame the camera says to show turned or mirrored (EXIF Orientation)."""
    yy, xx = np.mgrid[:64, :96]
    mosaic = (400 + 30 * yy + 150 * (xx > 70)).astype(np.uint16)  # asymmetric: a bright band
    nikon = CAMERA_SPECS["nikon"]
    return write_test_dng(directory, name, mosaic, "RGGB", 400, 16383, camera_wb=(2.0, 1.0, 1.4),
                          color_matrix=nikon.xyz_to_camera, exposure_time=1 / 25,
                          orientation=orientation, **nikon.dng_identity)


#: EXIF Orientation -> LibRaw flip code, as LibRaw's parse_tiff_ifd reads the tag.
_LIBRAW_FLIP = {1: 0, 2: 1, 3: 3, 4: 2, 5: 4, 6: 6, 7: 7, 8: 5}
#: The eight ways to lay an image down: turns and mirrors, spelled with numpy alone.
_DIHEDRAL = {f"rot{k}" + ("_mirrored" if m else ""): (lambda a, k=k, m=m: np.rot90(
    a[:, ::-1] if m else a, k)) for k in range(4) for m in (False, True)}


def _as_libraw_lays_it(shown, sensor):
    """The one of the eight layouts that turns `sensor` into `shown` (asserted unique)."""
    names = [n for n, f in _DIHEDRAL.items()
             if f(sensor).shape == shown.shape and np.array_equal(f(sensor), shown)]
    assert len(names) == 1, names
    return _DIHEDRAL[names[0]]


@pytest.mark.parametrize("exif_orientation", range(1, 9))
def test_orient_turns_and_mirrors_as_libraw_displays(tmp_path, exif_orientation):
    from lsid_keras.raw import read_raw

    path = _portrait_dng(tmp_path, "p.dng", exif_orientation)
    flip = _LIBRAW_FLIP[exif_orientation]
    with rawpy.imread(str(path)) as raw:
        assert raw.sizes.flip == flip
        shown = raw.postprocess(half_size=True, no_auto_bright=True)  # LibRaw turns it
    with rawpy.imread(str(path)) as raw:
        sensor = raw.postprocess(half_size=True, no_auto_bright=True, user_flip=0)
    assert read_raw(path).orientation == flip
    np.testing.assert_array_equal(orient(sensor, flip), shown)


def test_every_orientation_comes_out_of_lsid_enhance_as_libraw_renders_it(tmp_path):
    # One sensor frame under the eight EXIF orientations: each enhanced picture must be laid
    # out as rawpy.postprocess lays out the same file (the layout found from LibRaw's own
    # renderings of orientation 1 and of the file, not from the code under test).
    from lsid_keras.cli import main
    from lsid_keras.models import get_model

    model = tmp_path / "model.keras"
    get_model("sid", width=2).save(model)
    paths = [_portrait_dng(tmp_path, f"o{k}.dng", k) for k in range(1, 9)]
    out = tmp_path / "out"
    out.mkdir()
    assert main(["enhance", *map(str, paths), "--model", str(model), "-o", str(out),
                 "--ratio", "100", "--quiet"]) == 0
    with rawpy.imread(str(paths[0])) as raw:
        libraw_plain = raw.postprocess(use_camera_wb=True)
    plain = read_image(out / "o1.png")
    for k, path in enumerate(paths, start=1):
        with rawpy.imread(str(path)) as raw:
            lay_out = _as_libraw_lays_it(raw.postprocess(use_camera_wb=True), libraw_plain)
        np.testing.assert_array_equal(read_image(out / f"o{k}.png"), lay_out(plain),
                                      err_msg=f"EXIF orientation {k}")


def test_a_portrait_raw_comes_out_upright_from_lsid_enhance(tmp_path, capsys):
    from lsid_keras.cli import main
    from lsid_keras.models import get_model

    model = tmp_path / "model.keras"
    get_model("sid", width=2).save(model)
    upright = _portrait_dng(tmp_path, "portrait.dng", 6)
    sideways = _portrait_dng(tmp_path, "landscape.dng", 1)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["enhance", str(upright), str(sideways), "--model", str(model), "-o", str(out),
                 "--ratio", "100", "--quiet"]) == 0
    turned, plain = read_image(out / "portrait.png"), read_image(out / "landscape.png")
    assert plain.shape == (64, 96, 3) and turned.shape == (96, 64, 3)
    np.testing.assert_array_equal(turned, np.rot90(plain, -1))  # 6: turn 90 degrees clockwise
    assert main(["enhance", str(upright), "--model", str(model), "-o",
                 str(tmp_path / "portrait.jpg"), "--ratio", "100", "--quiet"]) == 0
    tags, icc = _pillow_tags(tmp_path / "portrait.jpg")
    assert (tags[271], tags[272], tags[_ORIENTATION_TAG]) == ("NIKON CORPORATION", "NIKON D850", 1)
    assert float(tags[33434]) == pytest.approx(1 / 25)
    assert "ratio x100 (given)" in tags[270] and "colour mapped" in tags[270]
    assert "sRGB" in _profile_name(icc)
    with Image.open(tmp_path / "portrait.jpg") as image:
        assert image.size == (64, 96)  # width, height: portrait


def test_pixels_are_written_as_given_when_the_file_takes_their_depth(tmp_path):
    from lsid_keras.image_io import quantize

    rgb = np.random.default_rng(3).random((8, 12, 3)).astype(np.float32)
    for name, bits in (("a.png", 16), ("a.jpg", 8)):
        ours = write_image(tmp_path / f"float_{name}", rgb)
        theirs = write_image(tmp_path / f"pixels_{name}", quantize(rgb, bits))
        assert open(ours, "rb").read() == open(theirs, "rb").read()
    with pytest.raises(ValueError, match="8-bit pixels"):
        write_image(tmp_path / "b.jpg", quantize(rgb, 16))


def test_a_pillow_image_of_the_pixels_writes_the_same_file(tmp_path):
    """`CodePicture.image8` hands `write_image` a Pillow image (a JPEG encoded with no numpy
    copy): every format gets the bytes the numpy pixels give; turned by `orient_image`, the
    pixels `orient_view` gives."""
    from PIL import Image

    from lsid_keras.image_io import orient_image, orient_view

    pixels = quantize(np.random.default_rng(5).random((8, 12, 3)).astype(np.float32), 8)
    image = Image.fromarray(pixels)
    for name in ("a.jpg", "a.png", "a.tif"):
        ours = write_image(tmp_path / f"image_{name}", image, bits=8)
        theirs = write_image(tmp_path / f"pixels_{name}", pixels, bits=8)
        assert open(ours, "rb").read() == open(theirs, "rb").read()
    for code in range(8):
        assert np.array_equal(np.asarray(orient_image(image, code)),
                              orient_view(pixels, code))
    with pytest.raises(ValueError, match="8-bit RGB"):
        write_image(tmp_path / "b.png", image)  # a PNG is 16-bit unless bits=8
    with pytest.raises(ValueError, match="8-bit RGB"):
        write_image(tmp_path / "b.jpg", image.convert("L"))
    assert not list(tmp_path.glob("b.*"))


def test_the_same_picture_writes_the_same_bytes_every_time(tmp_path):
    """The embedded sRGB profile carries a fixed date (LittleCMS stamps the build time), with
    its MD5 profile ID still right: a rerun gives an identical file."""
    import hashlib

    from lsid_keras.image_io import ICC_DATE, srgb_icc_profile

    profile = bytearray(srgb_icc_profile())
    assert profile[24:36] == np.array(ICC_DATE, ">u2").tobytes()
    if any(profile[84:100]):
        stored = bytes(profile[84:100])
        profile[44:48] = profile[64:68] = bytes(4)
        profile[84:100] = bytes(16)
        assert hashlib.md5(profile).digest() == stored
    rgb = np.random.default_rng(4).random((8, 12, 3)).astype(np.float32)
    for name in ("a.jpg", "a.png", "a.tif"):
        first = open(write_image(tmp_path / f"1_{name}", rgb), "rb").read()
        second = open(write_image(tmp_path / f"2_{name}", rgb), "rb").read()
        assert first == second
