"""Writing sRGB images: 16-bit PNG / TIFF and 8-bit PNG / JPEG, always atomically.

Every file carries an embedded sRGB ICC profile (JPEG APP2, PNG iCCP, TIFF tag 34675), so
colour-managed tools show it as intended, and, when a `PhotoMetadata` is given, EXIF as a
photographer's tools expect it: Make, Model, Software, ImageDescription (how it was made, e.g.
the amplification ratio), Orientation 1 (pixels are written upright: `orient` rotates them),
ExposureTime and ISOSpeedRatings (JPEG APP1, PNG eXIf chunk, TIFF tags in the first IFD).
"""

from __future__ import annotations

import functools
import os
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from lsid_keras.atomic import atomic_output
from lsid_keras.errors import LsidError

#: File extension -> bit depth written.
FORMATS = {".png": 16, ".tif": 16, ".tiff": 16, ".jpg": 8, ".jpeg": 8}


class ImageWriteError(LsidError, ValueError):
    """An output path that cannot be written (unknown format, missing folder)."""


def check_output_path(path):
    """Raises ImageWriteError unless `path` has a known extension and an existing folder."""
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMATS:
        raise ImageWriteError(
            f"{path}: unknown image format {extension or '(none)'}; use one of "
            f"{', '.join(sorted(FORMATS))}"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ImageWriteError(f"{path}: output folder {folder} does not exist")
    return path


@dataclass(frozen=True)
class PhotoMetadata:
    """What an output photo says about itself in EXIF.

    Args:
        make, model: the camera's maker and model (None: not written).
        exposure_time: seconds (None: not written).
        iso: ISO speed (None: not written).
        description: free text for ImageDescription (e.g. "lsid enhance: ratio x250 (auto)").
        software: the Software tag; default "lsid-keras <version>".
    """

    make: str | None = None
    model: str | None = None
    exposure_time: float | None = None
    iso: float | None = None
    description: str | None = None
    software: str | None = None


_TAG_IMAGE_DESCRIPTION, _TAG_MAKE, _TAG_MODEL, _TAG_ORIENTATION = 270, 271, 272, 274
_TAG_SOFTWARE, _TAG_EXPOSURE_TIME, _TAG_ISO, _TAG_EXIF_IFD = 305, 33434, 34855, 34665


def orient(rgb, orientation):
    """An (H, W, C) image shown as LibRaw displays it for a LibRaw flip code (`sizes.flip`,
    `RawFrame.orientation`, 0-7), mirrors and transposes included.

    The code's bits, applied as LibRaw's `flip_index` reads its output from the sensor image
    (LibRaw src/write/file_write.cpp): 1 mirrors left-right, 2 mirrors top-bottom, 4 then
    transposes (rows become columns). EXIF / TIFF Orientation 1-8 read as 0, 1, 3, 2, 4, 6, 7,
    5 (LibRaw's parse_tiff_ifd: `"50132467"[orientation & 7]`): 3 is a half turn, 5 a quarter
    turn counter-clockwise, 6 clockwise; 1, 2, 4, 7 are mirrored. Other codes: as is.
    """
    return np.ascontiguousarray(orient_view(rgb, orientation))


def orient_view(rgb, orientation):
    """`orient` as a view of `rgb` (no copy: `write_image` quantises it band by band)."""
    code = int(orientation or 0)
    rgb = np.asarray(rgb)
    if not 0 < code < 8:
        return rgb
    if code & 1:
        rgb = rgb[:, ::-1]
    if code & 2:
        rgb = rgb[::-1]
    if code & 4:
        rgb = np.swapaxes(rgb, 0, 1)
    return rgb


def orient_image(image, orientation):
    """`orient_view` of a Pillow image: the same flips, then the same swap of rows and
    columns (`Image.transpose`)."""
    from PIL import Image

    code = int(orientation or 0)
    if not 0 < code < 8:
        return image
    if code & 1:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if code & 2:
        image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    if code & 4:
        image = image.transpose(Image.Transpose.TRANSPOSE)
    return image


#: The creation date written into the sRGB profile's header (year, month, day, hour, minute,
#: second): LittleCMS stamps the time it builds the profile, which made two runs on the same
#: file write different bytes.
ICC_DATE = (2026, 1, 1, 0, 0, 0)


@functools.lru_cache(maxsize=1)
def srgb_icc_profile():
    """The bytes of an sRGB ICC profile (LittleCMS's, through Pillow), dated `ICC_DATE` with
    its profile ID (the MD5 of the profile with flags, intent and ID zeroed, ICC.1 7.2.18)
    recomputed, so every file gets the same bytes."""
    import hashlib

    from PIL import ImageCms

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[24:36] = struct.pack(">6H", *ICC_DATE)
    if any(profile[84:100]):  # an ID was written: make it this profile's again
        hashed = bytearray(profile)
        hashed[44:48] = hashed[64:68] = bytes(4)
        hashed[84:100] = bytes(16)
        profile[84:100] = hashlib.md5(hashed).digest()
    return bytes(profile)


def _software(metadata):
    if metadata.software:
        return metadata.software
    from lsid_keras import __version__

    return f"lsid-keras {__version__}"


def _rational(value):
    from fractions import Fraction

    fraction = Fraction(float(value)).limit_denominator(1_000_000)
    return fraction.numerator, fraction.denominator


def exif_bytes(metadata):
    """The EXIF block (a little-endian TIFF structure, no "Exif\\0\\0" prefix) for `metadata`."""
    from PIL import Image, TiffImagePlugin

    exif = Image.Exif()
    exif[_TAG_ORIENTATION] = 1
    exif[_TAG_SOFTWARE] = _software(metadata)
    for tag, text in ((_TAG_MAKE, metadata.make), (_TAG_MODEL, metadata.model),
                      (_TAG_IMAGE_DESCRIPTION, metadata.description)):
        if text:
            exif[tag] = str(text)
    details = exif.get_ifd(_TAG_EXIF_IFD)
    if metadata.exposure_time:
        details[_TAG_EXPOSURE_TIME] = TiffImagePlugin.IFDRational(
            *_rational(metadata.exposure_time))
    if metadata.iso:
        details[_TAG_ISO] = int(round(metadata.iso))
    data = exif.tobytes()
    return data[6:] if data.startswith(b"Exif\x00\x00") else data


def _tiff_tags(metadata):
    """tifffile `extratags` for the first IFD (TIFF/EP places EXIF's fields there)."""
    tags = []
    for tag, text in ((_TAG_MAKE, metadata.make), (_TAG_MODEL, metadata.model)):
        if text:
            tags.append((tag, 2, 0, str(text), True))
    if metadata.exposure_time:
        tags.append((_TAG_EXPOSURE_TIME, 5, 1, _rational(metadata.exposure_time), True))
    if metadata.iso:
        tags.append((_TAG_ISO, 3, 1, min(int(round(metadata.iso)), 65535), True))
    return tags


#: Rows quantised at a time: bounds the float32 temporaries (a 12 MP frame whole: 145 MB each).
QUANTIZE_ROWS = 256


def quantize(rgb, bits):
    """[0, 1] float -> uint8 (bits 8) or uint16 (bits 16), clipped, rounded half up; in bands
    of `QUANTIZE_ROWS` rows (any strides: an `orient_view` works)."""
    top = 255 if bits == 8 else 65535
    rgb = np.asarray(rgb)
    pixels = np.empty(rgb.shape, np.uint8 if bits == 8 else np.uint16)
    for start in range(0, rgb.shape[0], QUANTIZE_ROWS):
        rows = slice(start, start + QUANTIZE_ROWS)
        band = np.clip(np.asarray(rgb[rows], np.float32), 0, 1)
        band *= top
        band += 0.5
        pixels[rows] = np.floor(band, out=band)
    return pixels


def _png_bytes(pixels, icc=None, exif=None):
    """A PNG file (colour type 2, RGB) of a uint8 or uint16 (H, W, 3) array, with an iCCP
    chunk for the ICC profile `icc` and an eXIf chunk for the EXIF block `exif` when given."""
    height, width, _ = pixels.shape
    depth = 8 if pixels.dtype == np.uint8 else 16
    rows = pixels.astype(">u2" if depth == 16 else np.uint8).reshape(height, -1).view(np.uint8)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, depth, 2, 0, 0, 0)
    extra = b""
    if icc:  # profile name, NUL, compression method 0 (zlib), compressed profile
        extra += chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(icc, 9))
    if exif:
        extra += chunk(b"eXIf", exif)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def output_bits(path, bits=None):
    """The bit depth `write_image` writes `path` with: `bits` (8 or 16) where the format
    takes it, else the format's (`FORMATS`; a JPEG is always 8)."""
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension in (".jpg", ".jpeg"):
        return 8
    return bits or FORMATS[extension]


def write_image(path, rgb, bits=None, metadata=None):
    """Writes an (H, W, 3) sRGB image in [0, 1] to `path`, format by extension.

    `.png` and `.tif` are 16-bit unless `bits=8`; `.jpg` is 8-bit (quality 95). `rgb` may
    also be the pixels themselves, uint8 or uint16 as `output_bits` says the file takes
    them (`quantize` of the picture: `lsid_keras.enhance.CodePicture.pixels`), or those
    8-bit pixels as a Pillow "RGB" image (`CodePicture.image8`: a JPEG is encoded from it
    with no copy). Every file embeds an sRGB ICC profile; `metadata` (a `PhotoMetadata`)
    adds EXIF (see the module docstring); the pixels are written as given (turn them upright
    first with `orient`). The file is written under a temporary name in the same folder and
    renamed, so a failure or a kill never leaves half an image.

    Returns:
        The path written.
    """
    path = check_output_path(path)
    extension = os.path.splitext(path)[1].lower()
    bits = output_bits(path, bits)
    image = rgb if hasattr(rgb, "getbands") else None  # a Pillow image of 8-bit pixels
    if image is not None:
        if image.mode != "RGB" or bits != 8:
            raise ValueError(f"{path} takes {bits}-bit pixels; a Pillow image must be 8-bit "
                             f"RGB for it. Received: mode {image.mode!r}")
        pixels = None if extension in (".jpg", ".jpeg") else np.asarray(image)
    else:
        pixels = _pixels(path, rgb, bits)
    icc = srgb_icc_profile()
    exif = exif_bytes(metadata) if metadata is not None else None
    with atomic_output(path) as temporary:
        if extension == ".png":
            with open(temporary, "wb") as file:
                file.write(_png_bytes(pixels, icc=icc, exif=exif))
        elif extension in (".tif", ".tiff"):
            import tifffile

            options = {"iccprofile": icc, "metadata": None}
            if metadata is not None:
                options.update(software=_software(metadata), extratags=_tiff_tags(metadata))
                if metadata.description:
                    options["description"] = metadata.description
            tifffile.imwrite(temporary, pixels, photometric="rgb", **options)
        else:
            import io

            from PIL import Image

            # Encoded in memory: Pillow's encoder writes straight to the file descriptor and
            # ignores a short write, so a full disk would leave a cut JPEG with no error.
            encoded = io.BytesIO()
            options = {"icc_profile": icc}
            if exif is not None:
                options["exif"] = b"Exif\x00\x00" + exif
            (Image.fromarray(pixels) if image is None else image).save(
                encoded, format="JPEG", quality=95, **options)
            with open(temporary, "wb") as file:
                file.write(encoded.getbuffer())
    return path


def _pixels(path, rgb, bits):
    """`write_image`'s `rgb` (floats in [0, 1], or pixels already) as `bits`-bit pixels."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3). Received: shape={rgb.shape}")
    if rgb.dtype.kind in "ui":
        wanted = np.uint8 if bits == 8 else np.uint16
        if rgb.dtype != wanted:
            raise ValueError(f"{path} takes {bits}-bit pixels ({np.dtype(wanted).name}) or "
                             f"floats in [0, 1]. Received: dtype={rgb.dtype}")
        pixels = rgb
    else:
        pixels = quantize(rgb, bits)
    return pixels


def _read_own_png(data):
    """Decodes an unfiltered RGB PNG as `_png_bytes` writes it; None for any other PNG."""
    position, idat, header = 8, [], None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        position += 12 + length
    if header is None or header[3] != 2 or header[6] != 0:
        return None
    width, height, depth = header[:3]
    rows = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(height, -1)
    if np.any(rows[:, 0]):
        return None  # filtered rows: not ours
    kind = ">u2" if depth == 16 else np.uint8
    return rows[:, 1:].copy().view(kind).reshape(height, width, 3).astype(
        np.uint16 if depth == 16 else np.uint8)


def read_image(path):
    """Reads an 8/16-bit RGB image back as float32 [0, 1] (H, W, 3).

    16-bit RGB PNGs written by `write_image` are decoded here (Pillow reads them as 8-bit);
    everything else goes through imageio.
    """
    import imageio.v3 as iio

    pixels = None
    if str(path).lower().endswith(".png"):
        with open(path, "rb") as file:
            pixels = _read_own_png(file.read())
    if pixels is None:
        pixels = iio.imread(path)
    top = 65535.0 if pixels.dtype == np.uint16 else 255.0
    return pixels[..., :3].astype(np.float32) / np.float32(top)
