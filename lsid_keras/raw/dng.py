"""Writing CFA DNG files (over pidng), and the one DNG tag rawpy does not expose.

`write_dng` writes an uncompressed 16-bit CFA DNG for any 2x2 Bayer order or a 6x6 X-Trans
pattern; rawpy reads the mosaic back bit-exact. It is used by the tests and by the synthetic
low-light generator, whose labels must go through the same rawpy development as real SID labels.

`dng_black_level_pattern` reads the BlackLevel / BlackLevelRepeatDim tags of a DNG's raw image.
rawpy only reports LibRaw's four per-colour black levels: when the repeating black pattern is
not folded into those (any X-Trans pattern larger than 1x1, Bayer patterns larger than 2x2),
LibRaw keeps the per-position remainder internally and rawpy never shows it. `read_raw` adds it
back for DNG files.

pidng notes (4.0.x), all handled here:
- `convert(image, filename=...)` appends ".dng" unless the name ends in lower-case ".dng" and
  writes non-atomically; we call `convert(image)` without a filename, which returns the bytes.
- pidng itself adds NewSubfileType, Compression, DNGVersion, DNGBackwardVersion, Software and
  the tile offsets; setting those tags again writes duplicate TIFF entries.
- The image is always written as one tile: TileWidth/TileLength must be set to the image size
  (pidng types them SHORT, so at most 65535 pixels per side).
- BitsPerSample 10/12/14 go through pidng's bit packers, which need widths divisible by the
  packing group; 16 bits is written as-is, so we always use 16.
- BlackLevel and WhiteLevel are typed SHORT (integers up to 65535); rationals are written as
  [numerator, denominator] pairs; ASCII tags must be pure ASCII.
- pidng prints (does not raise) on some tag-encoding errors, so values are validated here first.
- Not pidng's fault but bites the same way: LibRaw refuses images under 22 pixels a side as
  "unsupported file format", so `write_dng` refuses to write them.
"""

from __future__ import annotations

import os
import struct
from fractions import Fraction

import numpy as np

from lsid_keras.atomic import write_bytes_atomic
from lsid_keras.raw.pack import cfa_kind_of

_MAKE = "lsid_keras"
_MODEL = "synthetic"
_CFA_PHOTOMETRIC = 32803
_D65 = 21
_RATIONAL_DENOMINATOR_LIMIT = 1_000_000
_MIN_SIDE = 22  # LibRaw's identify() rejects images narrower or shorter than this


def _cfa_array(cfa_pattern) -> np.ndarray:
    """Accept "RGGB"-style letters (4 or 36, "/" and spaces ignored) or an integer array."""
    if isinstance(cfa_pattern, str):
        letters = "".join(cfa_pattern.split()).replace("/", "").upper()
        if len(letters) not in (4, 36) or set(letters) - set("RGB"):
            raise ValueError(
                "cfa_pattern letters must be 4 (2x2) or 36 (6x6) of R, G, B. "
                f"Received: cfa_pattern={cfa_pattern!r}"
            )
        side = 2 if len(letters) == 4 else 6
        return np.array(["RGB".index(c) for c in letters]).reshape(side, side)
    array = np.asarray(cfa_pattern)
    if array.shape not in ((2, 2), (6, 6)) or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            "cfa_pattern must be a 2x2 or 6x6 integer array of 0 (R), 1 (G), 2 (B). "
            f"Received: shape={array.shape}, dtype={array.dtype}"
        )
    return array.astype(np.int64)


def _rational(value: float, name: str, signed: bool = False) -> list[int]:
    value = float(value)
    if not np.isfinite(value) or (not signed and value < 0):
        raise ValueError(
            f"{name} must be a finite{'' if signed else ' non-negative'} number. "
            f"Received: {name}={value}"
        )
    fraction = Fraction(value).limit_denominator(_RATIONAL_DENOMINATOR_LIMIT)
    limit = 2**31 - 1 if signed else 2**32 - 1
    if abs(fraction.numerator) > limit:
        raise ValueError(f"{name} is too large for a TIFF rational. Received: {name}={value}")
    return [fraction.numerator, fraction.denominator]


def _uint16_levels(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
        raise ValueError(f"{name} must be whole numbers (DN). Received: {name}={values!r}")
    if array.min() < 0 or array.max() > 65535:
        raise ValueError(f"{name} must lie in [0, 65535]. Received: {name}={values!r}")
    return array.astype(np.int64)


def write_dng(
    path,
    mosaic,
    cfa_pattern,
    black_level,
    white_level,
    *,
    camera_wb=None,
    color_matrix=None,
    exposure_time: float | None = None,
    make: str = _MAKE,
    model: str = _MODEL,
    orientation: int = 1,
) -> str:
    """Write a 16-bit uncompressed CFA DNG, atomically.

    Args:
        path: destination file; written under a temporary name in the same directory, then
            renamed over `path` (an existing file is replaced, a failure leaves no file).
        mosaic: 2-D array of whole numbers in [0, 65535] (DN), at least 22x22 pixels (LibRaw
            does not open smaller images).
        cfa_pattern: colour of each pattern position at the mosaic origin: letters such as
            "GRBG" or the 36 letters of a 6x6 X-Trans pattern, or a 2x2 / 6x6 integer array
            (0 R, 1 G, 2 B). Must be a Bayer order or a shift of the X-Trans pattern.
        black_level: black level (DN): a scalar, or a 2-D repeating pattern (e.g. 2x2 per
            position, 6x6 for X-Trans) whose origin is the mosaic origin. Whole numbers.
        white_level: saturation level (DN), whole number in (max black, 65535].
        camera_wb: optional white-balance multipliers (R, G, B) as `RawFrame.camera_wb` reports
            them; stored as AsShotNeutral = 1 / camera_wb.
        color_matrix: optional 3x3 XYZ -> camera matrix (DNG ColorMatrix1, D65 illuminant), so
            `rawpy.postprocess` renders sensible colour. Without it LibRaw treats the camera
            space as sRGB.
        exposure_time: optional exposure time in seconds (EXIF ExposureTime).
        make, model: the Make and Model tags (ASCII). LibRaw identifies the camera by them:
            for a camera in its table, `rawpy.RawPy.rgb_xyz_matrix` then reports the table's
            XYZ -> camera matrix, while development still uses `color_matrix` (ColorMatrix1).
            UniqueCameraModel reads "<make> <model> (lsid_keras)".
        orientation: the TIFF / EXIF Orientation, 1-8, how the mosaic is to be shown (1 as
            stored; 2, 4, 5, 7 mirrored; LibRaw reports it as `sizes.flip`).

    Returns:
        The path written, as a string.

    Raises:
        ValueError: invalid mosaic, pattern, levels or metadata (nothing is written).
        UnsupportedCFAError: the pattern is neither Bayer nor X-Trans.
    """
    from pidng.core import RAW2DNG, DNGTags, Tag

    path = os.fspath(path)
    mosaic = np.asarray(mosaic)
    if mosaic.ndim != 2 or mosaic.size == 0:
        raise ValueError(f"mosaic must be a non-empty 2-D array. Received: shape={mosaic.shape}")
    if mosaic.dtype != np.uint16:
        mosaic = _uint16_levels(mosaic, "mosaic").astype(np.uint16)
    height, width = mosaic.shape
    if not (_MIN_SIDE <= height <= 65535 and _MIN_SIDE <= width <= 65535):
        raise ValueError(
            f"mosaic sides must lie in [{_MIN_SIDE}, 65535] (LibRaw refuses smaller images). "
            f"Received: shape={mosaic.shape}"
        )

    for name, text in (("make", make), ("model", model)):
        if not isinstance(text, str) or not text or not text.isascii() or "\0" in text:
            raise ValueError(f"{name} must be a non-empty ASCII string. Received: {name}={text!r}")
    cfa = _cfa_array(cfa_pattern)
    cfa_kind_of(cfa)  # refuse anything LibRaw would misread or pack could not handle
    black = _uint16_levels(black_level, "black_level")
    black = black.reshape(1, 1) if black.ndim == 0 else black
    if black.ndim != 2:
        raise ValueError(f"black_level must be a scalar or 2-D. Received: shape={black.shape}")
    white = _uint16_levels(white_level, "white_level")
    if white.ndim != 0 or int(white) <= black.max():
        raise ValueError(
            "white_level must be one number above every black level. "
            f"Received: white_level={white_level!r}, black max={black.max()}"
        )

    if isinstance(orientation, bool) or orientation not in range(1, 9):
        raise ValueError(f"orientation must be an EXIF Orientation 1-8. "
                         f"Received: orientation={orientation!r}")

    tags = DNGTags()
    tags.set(Tag.ImageWidth, width)
    tags.set(Tag.ImageLength, height)
    tags.set(Tag.TileWidth, width)
    tags.set(Tag.TileLength, height)
    tags.set(Tag.Orientation, int(orientation))
    tags.set(Tag.PhotometricInterpretation, _CFA_PHOTOMETRIC)
    tags.set(Tag.SamplesPerPixel, 1)
    tags.set(Tag.BitsPerSample, 16)
    tags.set(Tag.CFARepeatPatternDim, list(cfa.shape))
    tags.set(Tag.CFAPattern, [int(v) for v in cfa.ravel()])
    tags.set(Tag.BlackLevelRepeatDim, list(black.shape))
    tags.set(Tag.BlackLevel, [int(v) for v in black.ravel()])
    tags.set(Tag.WhiteLevel, int(white))
    tags.set(Tag.Make, make)
    tags.set(Tag.Model, model)
    unique = f"{make} {model}" if make == _MAKE else f"{make} {model} ({_MAKE})"
    tags.set(Tag.UniqueCameraModel, unique)
    if camera_wb is not None:
        gains = np.asarray(camera_wb, dtype=np.float64).ravel()
        if gains.shape != (3,) or not np.all(np.isfinite(gains)) or np.any(gains <= 0):
            raise ValueError(
                f"camera_wb must be 3 positive multipliers (R, G, B). Received: {camera_wb!r}"
            )
        tags.set(Tag.AsShotNeutral, [_rational(1.0 / g, "camera_wb") for g in gains])
    if color_matrix is not None:
        matrix = np.asarray(color_matrix, dtype=np.float64)
        if matrix.shape != (3, 3) or not np.all(np.isfinite(matrix)):
            raise ValueError(f"color_matrix must be a finite 3x3 array. Received: {color_matrix!r}")
        entries = [_rational(v, "color_matrix", signed=True) for v in matrix.ravel()]
        tags.set(Tag.ColorMatrix1, entries)
        tags.set(Tag.CalibrationIlluminant1, _D65)
    if exposure_time is not None:
        if not (np.isfinite(exposure_time) and exposure_time > 0):
            raise ValueError(f"exposure_time must be positive seconds. Received: {exposure_time!r}")
        tags.set(Tag.ExposureTime, [_rational(exposure_time, "exposure_time")])

    writer = RAW2DNG()
    writer.options(tags, path="", compress=False)
    data = writer.convert(np.ascontiguousarray(mosaic))

    write_bytes_atomic(path, data)
    return path


# --- reading ------------------------------------------------------------------------------------

_TAG_NEW_SUBFILE_TYPE = 254
_TAG_PHOTOMETRIC = 262
_TAG_SUB_IFDS = 330
_TAG_DNG_VERSION = 50706
_TAG_BLACK_LEVEL_REPEAT_DIM = 50713
_TAG_BLACK_LEVEL = 50714
_TAG_COLOR_MATRIX = (50721, 50722)  # ColorMatrix1, ColorMatrix2
_TAG_CALIBRATION_ILLUMINANT = (50778, 50779)  # CalibrationIlluminant1, 2
#: EXIF LightSource codes of daylight near D65: D65, daylight, fine weather, D55, D75.
_DAYLIGHT_ILLUMINANTS = (21, 1, 9, 20, 22)
# TIFF type -> (struct code, size); rationals are two 32-bit values.
_TIFF_TYPES = {
    1: ("B", 1),
    3: ("H", 2),
    4: ("I", 4),
    5: ("I", 8),
    9: ("i", 4),
    10: ("i", 8),
    13: ("I", 4),
}
_MAX_IFDS = 64
_MAX_VALUES = 4096


class _Tiff:
    """Just enough TIFF to read a few integer/rational tags; raises ValueError if malformed."""

    def __init__(self, file):
        self.file = file
        order = file.read(2)
        if order not in (b"II", b"MM"):
            raise ValueError("not a TIFF file")
        self.endian = "<" if order == b"II" else ">"
        magic, self.first_ifd = self._unpack("HI", file.read(6))
        if magic != 42:
            raise ValueError("not a classic TIFF file")

    def _unpack(self, codes: str, data: bytes):
        return struct.unpack(self.endian + codes, data)

    def ifd(self, offset: int) -> tuple[dict[int, tuple[int, int, bytes]], int]:
        """Entries {tag: (type, count, value-or-offset bytes)} and the next IFD offset."""
        self.file.seek(offset)
        (count,) = self._unpack("H", self.file.read(2))
        raw = self.file.read(12 * count + 4)
        if len(raw) != 12 * count + 4:
            raise ValueError("truncated IFD")
        entries = {}
        for i in range(count):
            tag, kind, n = self._unpack("HHI", raw[12 * i : 12 * i + 8])
            entries[tag] = (kind, n, raw[12 * i + 8 : 12 * i + 12])
        (next_offset,) = self._unpack("I", raw[-4:])
        return entries, next_offset

    def values(self, entry: tuple[int, int, bytes]) -> list[float]:
        kind, count, field = entry
        if kind not in _TIFF_TYPES or count > _MAX_VALUES:
            raise ValueError(f"unsupported TIFF value type {kind} or count {count}")
        code, size = _TIFF_TYPES[kind]
        length = size * count
        if length <= 4:
            data = field[:length]
        else:
            self.file.seek(self._unpack("I", field)[0])
            data = self.file.read(length)
            if len(data) != length:
                raise ValueError("truncated tag data")
        if kind in (5, 10):
            pairs = self._unpack(code * (2 * count), data)
            return [
                pairs[2 * i] / pairs[2 * i + 1] if pairs[2 * i + 1] else 0.0 for i in range(count)
            ]
        return list(self._unpack(code * count, data))


def _raw_ifd(tiff: _Tiff) -> dict | None:
    """The first full-resolution CFA IFD (IFD chain and SubIFDs), or None."""
    pending, seen = [tiff.first_ifd], set()
    first = True
    while pending and len(seen) < _MAX_IFDS:
        offset = pending.pop(0)
        if offset == 0 or offset in seen:
            continue
        seen.add(offset)
        entries, next_offset = tiff.ifd(offset)
        if first and _TAG_DNG_VERSION not in entries:
            return None
        first = False
        subfile = (
            tiff.values(entries[_TAG_NEW_SUBFILE_TYPE])[0]
            if (_TAG_NEW_SUBFILE_TYPE in entries)
            else 0
        )
        photometric = (
            tiff.values(entries[_TAG_PHOTOMETRIC])[0] if (_TAG_PHOTOMETRIC in entries) else None
        )
        if subfile == 0 and photometric == _CFA_PHOTOMETRIC:
            return entries
        if _TAG_SUB_IFDS in entries:
            pending.extend(int(v) for v in tiff.values(entries[_TAG_SUB_IFDS]))
        pending.append(next_offset)
    return None


def dng_black_level_pattern(path) -> np.ndarray | None:
    """The BlackLevel repeating pattern of a DNG's raw CFA image, shape BlackLevelRepeatDim.

    The pattern's origin is the top-left of the DNG ActiveArea, which is where LibRaw's visible
    area (`raw_image_visible`) starts. BlackLevelDeltaH/V are not read.

    Returns:
        float64 array (rows, cols) in DN, or None when the file is not a DNG, has no CFA raw
        image or no BlackLevel tag, or its tags cannot be parsed (the caller then relies on
        LibRaw's per-colour levels alone).
    """
    try:
        with open(os.fspath(path), "rb") as file:
            tiff = _Tiff(file)
            entries = _raw_ifd(tiff)
            if entries is None or _TAG_BLACK_LEVEL not in entries:
                return None
            rows, cols = 1, 1
            if _TAG_BLACK_LEVEL_REPEAT_DIM in entries:
                rows, cols = (int(v) for v in tiff.values(entries[_TAG_BLACK_LEVEL_REPEAT_DIM]))
            levels = tiff.values(entries[_TAG_BLACK_LEVEL])
    except (OSError, ValueError, struct.error):
        return None
    if rows < 1 or cols < 1 or len(levels) != rows * cols:
        return None
    return np.asarray(levels, dtype=np.float64).reshape(rows, cols)


def dng_color_matrix(path) -> np.ndarray | None:
    """The XYZ -> camera matrix a DNG carries (ColorMatrix1/2 in its first IFD), for D65.

    LibRaw reports its own table's matrix (`rgb_xyz_matrix`), which is all zeros for cameras it
    does not know (many phones, and files written by `write_dng` with another Make); the DNG's
    own matrix is what a raw converter uses then. Of the two matrices, the one calibrated under
    a daylight illuminant (D65, D55, D75, daylight) is taken, else ColorMatrix2 (by convention
    the daylight one), else ColorMatrix1.

    Returns:
        float64 (3, 3) array, or None when the file is not a DNG, has no (3x3) colour matrix or
        its tags cannot be parsed.
    """
    try:
        with open(os.fspath(path), "rb") as file:
            tiff = _Tiff(file)
            entries, _ = tiff.ifd(tiff.first_ifd)
            if _TAG_DNG_VERSION not in entries:
                return None
            matrices = []
            for matrix_tag, illuminant_tag in zip(_TAG_COLOR_MATRIX, _TAG_CALIBRATION_ILLUMINANT,
                                                  strict=True):
                if matrix_tag not in entries:
                    continue
                values = tiff.values(entries[matrix_tag])
                illuminant = (tiff.values(entries[illuminant_tag])[0]
                              if illuminant_tag in entries else None)
                if len(values) == 9:
                    matrices.append((illuminant, np.asarray(values, np.float64).reshape(3, 3)))
    except (OSError, ValueError, IndexError, struct.error):
        return None
    matrices = [(i, m) for i, m in matrices if np.all(np.isfinite(m)) and np.any(m)]
    if not matrices:
        return None
    daylight = [m for i, m in matrices if i in _DAYLIGHT_ILLUMINANTS]
    return daylight[0] if daylight else matrices[-1][1]
