"""Reading camera RAW files (any LibRaw format, via rawpy) into a `RawFrame`.

What is taken from LibRaw, and how:
- mosaic: `raw_image_visible`, copied, so the LibRaw handle is closed on return.
- cfa: LibRaw's colour index of each position of the smallest repeating pattern, relative to
  the visible area's origin, mapped through `color_desc` to 0 R, 1 G, 2 B (LibRaw's fourth
  colour "G" of "RGBG" is the second green). Colours other than R, G, B are refused.
- black_level: `black_level_per_channel` per CFA position. For Bayer files LibRaw folds scalar,
  per-channel and 2x2 black patterns into these four values, so they are exact. For X-Trans
  (Fuji RAF keeps its levels in LibRaw's 6x6 `cblack` pattern while the plain black reads 0)
  rawpy returns the pattern's minimum plus the per-colour part; any per-position remainder is
  not exposed by rawpy. For DNG files the remainder is recovered from the BlackLevel tags
  (`dng_black_level_pattern`), so a 6x6 per-position black is exact; for other formats it is
  exact when the 36 levels are equal (e.g. SID's Fuji files, 1024 everywhere).
- white_level: `white_level` (LibRaw's maximum).
- camera_wb: `camera_whitebalance`, the 4 as-shot multipliers exactly as rawpy gives them.
- exposure_time: `other.shutter_speed` (EXIF ExposureTime) in seconds, None when LibRaw reports
  none (0). LibRaw stores it as float32; it is returned as the shortest decimal of that float32
  (1/25 s reads 0.04, not 0.03999999910593033).
- xyz_to_camera: the first three rows of `rgb_xyz_matrix` (LibRaw's XYZ -> camera matrix for
  D65, from its table or the DNG's ColorMatrix). Without one (all zeros), the matrix LibRaw
  develops the file with is measured from two half-size renderings: some decoders (Kodak's
  KDC) set it from the file where rawpy does not show it; when it is the identity, or the
  file's matrix cannot be used (not invertible), None: the colour code then renders the file
  as LibRaw does one without a matrix, camera RGB times the white balance taken as linear
  sRGB (`lsid_keras.raw.colour.rendering_xyz_to_camera`).
- orientation: `sizes.flip`, LibRaw's flip code for display, 0-7 (bit 1 mirror left-right,
  2 mirror top-bottom, 4 transpose; `lsid_keras.image_io.orient` applies it): 0 none, 3 180
  degrees, 5 90 degrees counter-clockwise, 6 90 degrees clockwise, and the mirrored 1, 2, 4, 7
  (EXIF Orientation 2, 4, 5, 7). The mosaic itself is never turned.
- iso: `other.iso_speed`, None when LibRaw reports 0.
- make, model: the TIFF Make / Model tags of TIFF-based files (DNG, ARW, NEF, CR2, ...), read
  from the first IFD; None for other containers (rawpy does not expose LibRaw's names).

Bad input raises a `RawError` subclass naming the file (see `lsid_keras.raw.errors`); rawpy's
exceptions are chained as `__cause__`, never shown bare, and LibRaw's own stderr lines are folded
into the message (`lsid_keras.raw.libraw`). `scripts/fuzz_raw.py` checks this on mutated files.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
import rawpy

from lsid_keras.raw.dng import dng_black_level_pattern, dng_color_matrix
from lsid_keras.raw.errors import (
    CorruptRawFileError,
    EmptyRawFileError,
    NotARawFileError,
    RawFileNotFoundError,
    RawReadError,
    RawTooLargeError,
    TruncatedRawFileError,
    UnsupportedBlackLevelError,
    UnsupportedCFAError,
)
from lsid_keras.raw.libraw import libraw_errors
from lsid_keras.raw.pack import BAYER, cfa_kind_of

MAX_PIXELS = 200_000_000
"""Largest sensor (raw_width x raw_height, margins included) `read_raw` accepts by default.

The biggest single-shot sensors LibRaw reads are about 150 MP; a header claiming more is more
likely corrupt or hostile than real, and LibRaw would allocate it before noticing.
"""

MAX_PIXELS_PER_BYTE = 1024
"""Most sensor pixels a file may declare per byte it holds (1/128 bit per pixel).

No RAW encoding comes near this (lossless JPEG needs at least 1 bit per pixel; lossy 8x8 DCT
blocks about 1/32); a header that claims more is corrupt or the file truncated. Without the
check, LibRaw's decoders fill a 196-MP frame from a 12-kB file (seconds of work and gigabytes of
memory, for noise).
"""

_PATTERN_WINDOW = 12  # a multiple of every period tried below (Bayer 2, X-Trans 6)
_PERIODS = (1, 2, 3, 4, 6, 12)


def _read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view: the frame cannot change through it; the caller's array keeps its flags."""
    view = array.view()
    view.setflags(write=False)
    return view


@dataclass(frozen=True, eq=False)
class RawFrame:
    """One RAW exposure: the visible CFA mosaic and what is needed to normalise and pack it.

    Args:
        mosaic: (H, W) uint16 raw values (DN), the visible area.
        cfa: (n, n) int colour indices 0 R, 1 G, 2 B of the repeating pattern at the mosaic
            origin; n = 2 (Bayer) or 6 (X-Trans).
        black_level: (n, n) float black level (DN) of each CFA position.
        white_level: saturation level (DN).
        camera_wb: as-shot white-balance multipliers, 4 values as rawpy gives them (R, G, B, G2;
            G2 is 0 when LibRaw has 3 colours).
        exposure_time: seconds, or None when the file does not say.
        path: source file, or None for in-memory frames.
        xyz_to_camera: (3, 3) XYZ -> camera matrix (D65) of the camera, or None if unknown.
        orientation: LibRaw flip code for display, 0-7: 0, 3 (180), 5 (90 CCW), 6 (90 CW) and
            the mirrored 1, 2, 4, 7 (`lsid_keras.image_io.orient`).
        iso: ISO speed, or None when the file does not say.
        make, model: camera maker and model as the file names them, or None.

    Arrays are stored read-only; copy before modifying.
    """

    mosaic: np.ndarray
    cfa: np.ndarray
    black_level: np.ndarray
    white_level: float
    camera_wb: tuple[float, ...] = ()
    exposure_time: float | None = None
    path: str | None = None
    xyz_to_camera: np.ndarray | None = None
    orientation: int = 0
    iso: float | None = None
    make: str | None = None
    model: str | None = None

    def __post_init__(self):
        mosaic = np.asarray(self.mosaic)
        cfa = np.asarray(self.cfa)
        if mosaic.ndim != 2:
            raise ValueError(f"mosaic must be 2-D. Received: shape={mosaic.shape}")
        if cfa.ndim != 2 or not np.issubdtype(cfa.dtype, np.integer):
            raise ValueError(f"cfa must be a 2-D integer array. Received: cfa={cfa!r}")
        try:
            black = np.broadcast_to(
                np.asarray(self.black_level, dtype=np.float64), cfa.shape
            ).copy()
        except ValueError:
            raise ValueError(
                f"black_level must be a scalar or match the cfa shape {cfa.shape}. "
                f"Received: black_level={self.black_level!r}"
            ) from None
        object.__setattr__(self, "mosaic", _read_only(mosaic))
        object.__setattr__(self, "cfa", _read_only(cfa.astype(np.int64, copy=False)))
        object.__setattr__(self, "black_level", _read_only(black))
        object.__setattr__(self, "white_level", float(self.white_level))
        object.__setattr__(self, "camera_wb", tuple(float(v) for v in self.camera_wb))
        if self.exposure_time is not None:
            object.__setattr__(self, "exposure_time", float(self.exposure_time))
        if self.path is not None:
            object.__setattr__(self, "path", os.fspath(self.path))
        if self.xyz_to_camera is not None:
            matrix = np.array(self.xyz_to_camera, dtype=np.float64)
            if matrix.shape != (3, 3):
                raise ValueError(f"xyz_to_camera must be 3x3. Received: shape={matrix.shape}")
            object.__setattr__(self, "xyz_to_camera", _read_only(matrix))
        object.__setattr__(self, "orientation", int(self.orientation))

    @property
    def cfa_kind(self) -> str:
        """The CFA family, "bayer" or "xtrans"; raises UnsupportedCFAError for anything else."""
        return cfa_kind_of(self.cfa, self.path)


def check_raw_file(path) -> str:
    """The path as str if it names a non-empty readable file; else the matching RawError."""
    path = os.fsdecode(os.fspath(path))
    if not os.path.exists(path):
        raise RawFileNotFoundError(path)
    if os.path.isdir(path):
        raise NotARawFileError(path, "is a directory, not a RAW file")
    try:
        with open(path, "rb") as file:
            first = file.read(1)
    except OSError as error:
        raise RawReadError(path, f"cannot be read ({error.strerror or error})") from error
    if not first:
        raise EmptyRawFileError(path, "file is empty (0 bytes)")
    return path


def _color_indices(raw: rawpy.RawPy) -> np.ndarray:
    """LibRaw colour indices of the smallest repeating pattern at the visible origin."""
    sizes = raw.sizes
    window = np.array(
        [
            [
                raw.raw_color(sizes.top_margin + y, sizes.left_margin + x)
                for x in range(_PATTERN_WINDOW)
            ]
            for y in range(_PATTERN_WINDOW)
        ]
    )
    for period in _PERIODS:
        repeats = _PATTERN_WINDOW // period
        if np.array_equal(window, np.tile(window[:period, :period], (repeats, repeats))):
            return window[:period, :period]
    return window


def _cfa_from_indices(indices: np.ndarray, color_desc: bytes, path: str) -> np.ndarray:
    description = color_desc.decode("ascii", "replace")
    letters = np.array(
        [[description[i] if i < len(description) else "?" for i in row] for row in indices]
    )
    if not np.all(np.isin(letters, list("RGB"))):
        pattern = "/".join("".join(row) for row in letters)
        raise UnsupportedCFAError(
            path,
            f"colour filter array {pattern} (LibRaw colours {description!r}) uses colours "
            "other than R, G, B",
        )
    return np.vectorize("RGB".index, otypes=[np.int64])(letters)


def _libraw_folds(pattern_shape: tuple[int, int], kind: str) -> bool:
    """Whether LibRaw folds a black pattern of this shape into its 4 per-colour levels.

    Mirrors LibRaw's adjust_bl() (rawpy/data_helper.h): Bayer patterns up to 2x2 are folded,
    other CFAs only 1x1; otherwise only the pattern's minimum reaches black_level_per_channel.
    """
    rows, cols = pattern_shape
    if kind == BAYER:
        return rows in (1, 2) and cols in (1, 2)
    return rows == 1 and cols == 1


def _black_levels(raw: rawpy.RawPy, indices: np.ndarray, kind: str, path: str) -> np.ndarray:
    per_channel = np.asarray(raw.black_level_per_channel, dtype=np.float64)
    black = per_channel[indices]
    try:
        pattern = dng_black_level_pattern(path)
    except IndexError:
        # dng.py's tag reader indexes the first value of NewSubfileType / Photometric even when
        # a corrupt entry has none; no readable pattern means LibRaw's levels alone, as for any
        # other unparsable tag.
        pattern = None
    if pattern is None or _libraw_folds(pattern.shape, kind):
        return black
    rows, cols = pattern.shape
    side = indices.shape[0]
    if side % rows or side % cols:
        raise UnsupportedBlackLevelError(
            path,
            f"black level repeats every {rows}x{cols} pixels, which does not fit the "
            f"{side}x{side} colour filter pattern",
        )
    remainder = pattern - pattern.min()
    return black + np.tile(remainder, (side // rows, side // cols))


def cfa_and_black_level(raw: rawpy.RawPy, path: str) -> tuple[np.ndarray, np.ndarray]:
    """The CFA (0 R, 1 G, 2 B) and black level (DN) per position of an opened, unpacked file.

    Both are (n, n) arrays for the repeating pattern at the visible origin (n = 2 Bayer,
    6 X-Trans). Raises UnsupportedCFAError / UnsupportedBlackLevelError.
    """
    indices = _color_indices(raw)
    cfa = _cfa_from_indices(indices, raw.color_desc, path)
    kind = cfa_kind_of(cfa, path)
    return cfa, _black_levels(raw, indices, kind, path)


def _exposure_time(raw: rawpy.RawPy) -> float | None:
    try:
        shutter = raw.other.shutter_speed
    except (OverflowError, OSError, ValueError):
        # rawpy builds a datetime from the file's timestamp in the same call; a corrupt
        # timestamp must not lose the frame.
        return None
    if not shutter or not np.isfinite(shutter) or shutter <= 0:
        return None
    return float(str(np.float32(shutter)))


def _usable_matrix(matrix) -> np.ndarray | None:
    """`matrix` as a (3, 3) float64 XYZ -> camera matrix if the colour code can use it:
    finite, invertible, and mapping sRGB white to a non-zero response in every channel
    (`lsid_keras.raw.unprocess.srgb_to_camera_matrix` normalises by that); else None, so a
    file with a broken ColorMatrix is handled like one without (colour left as it is)."""
    from lsid_keras.raw.unprocess import SRGB_TO_XYZ

    if matrix is None:
        return None
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (3, 3) or not np.all(np.isfinite(matrix)):
        return None
    if abs(np.linalg.det(matrix)) < 1e-9 or np.any(np.abs((matrix @ SRGB_TO_XYZ).sum(axis=1))
                                                   < 1e-9):
        return None
    return matrix


def _xyz_to_camera(raw: rawpy.RawPy, path: str) -> np.ndarray | None:
    """LibRaw's XYZ -> camera matrix for the camera, else the DNG's own (`dng_color_matrix`):
    LibRaw's table has none for cameras it does not know, such as many phones. None when
    neither is usable (`_usable_matrix`)."""
    matrix = np.asarray(raw.rgb_xyz_matrix, dtype=np.float64)[:3]
    if matrix.shape != (3, 3) or not np.all(np.isfinite(matrix)) or not np.any(matrix):
        return _usable_matrix(dng_color_matrix(path))
    return _usable_matrix(matrix)


#: Largest difference from the identity, per entry, of a rendering matrix still taken as none.
_IDENTITY_ATOL = 0.02


def _libraw_rendering_matrix(raw: rawpy.RawPy) -> np.ndarray | None:
    """The camera -> linear sRGB matrix LibRaw develops a file without an XYZ matrix with,
    measured, or None when it is the identity (or cannot be measured).

    Some decoders set LibRaw's camera -> sRGB matrix from the file itself (Kodak's KDC keeps
    its own matrix), which rawpy does not show: LibRaw reports no XYZ matrix and a zero
    `color_matrix`, yet renders such a file far more saturated than camera RGB taken as sRGB
    (chroma 11.5 against 3.7 for a Kodak DC50 KDC). The matrix is measured from LibRaw's own
    two half-size linear renderings, in the camera's space and in sRGB (white balance as shot,
    no auto-bright), by least squares over the pixels neither clips."""
    options = dict(half_size=True, use_camera_wb=True, no_auto_bright=True, gamma=(1, 1),
                   output_bps=16, user_flip=0)
    try:
        camera = raw.postprocess(output_color=rawpy.ColorSpace.raw, **options)
        srgb = raw.postprocess(output_color=rawpy.ColorSpace.sRGB, **options)
    except (rawpy.LibRawError, ValueError, MemoryError):
        return None  # LibRaw cannot develop it: no rendering to measure
    camera = camera.reshape(-1, 3).astype(np.float64) / 65535
    srgb = srgb.reshape(-1, 3).astype(np.float64) / 65535
    inside = np.all((camera > 0.002) & (camera < 0.9) & (srgb > 0.002) & (srgb < 0.9), axis=1)
    if inside.sum() < 64:
        return None
    solution, *_ = np.linalg.lstsq(camera[inside], srgb[inside], rcond=None)
    matrix = solution.T
    if np.all(np.abs(matrix - np.eye(3)) < _IDENTITY_ATOL):
        return None
    return matrix


def _rendering_xyz_to_camera(raw: rawpy.RawPy, path: str) -> np.ndarray | None:
    """`_xyz_to_camera`, else for a file without one the XYZ -> camera matrix that gives
    LibRaw's measured rendering matrix M (`_libraw_rendering_matrix`): `inv(M) @ XYZ -> sRGB`,
    so the colour code develops the file as LibRaw does; None when LibRaw renders camera RGB
    as sRGB (then `lsid_keras.raw.colour.rendering_xyz_to_camera` assumes exactly that)."""
    from lsid_keras.raw.unprocess import SRGB_TO_XYZ

    matrix = _xyz_to_camera(raw, path)
    if matrix is not None:
        return matrix
    rendering = _libraw_rendering_matrix(raw)
    if rendering is None or abs(np.linalg.det(rendering)) < 1e-9:
        return None
    return _usable_matrix(np.linalg.inv(rendering) @ np.linalg.inv(SRGB_TO_XYZ))


def _iso(raw: rawpy.RawPy) -> float | None:
    try:
        iso = float(raw.other.iso_speed)
    except (OverflowError, OSError, ValueError):  # see _exposure_time
        return None
    return iso if np.isfinite(iso) and iso > 0 else None


def _make_and_model(path: str) -> tuple[str | None, str | None]:
    """TIFF Make (271) and Model (272) of the first IFD; (None, None) for other files."""
    from PIL import TiffImagePlugin

    try:
        with open(path, "rb") as file, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns on odd tags; stderr stays clean
            header = file.read(8)
            if header[:4] not in (b"II*\x00", b"MM\x00*"):
                return None, None
            directory = TiffImagePlugin.ImageFileDirectory_v2(header)
            file.seek(directory.next)
            directory.load(file)
            names = [directory.get(tag) for tag in (271, 272)]
    except Exception:  # noqa: BLE001 - a tag we cannot parse is a tag we do not have
        return None, None
    return tuple(
        name.strip("\0 ") or None if isinstance(name, str) else None for name in names
    )


def unpack_mosaic(raw: rawpy.RawPy, path: str, max_pixels: int = MAX_PIXELS) -> None:
    """Checks an opened file's declared size, then decodes its mosaic (`raw.unpack()`).

    Everything that could make LibRaw allocate or work for a frame the file cannot hold is
    refused from the header first. Call inside `libraw_errors(path)`.

    Raises:
        RawTooLargeError: more than `max_pixels` (raw width x height, margins included).
        TruncatedRawFileError: more than `MAX_PIXELS_PER_BYTE` pixels per byte of the file.
        CorruptRawFileError: an empty image area.
        UnsupportedCFAError: no single-plane CFA mosaic (Foveon, sRAW, linear DNG).
    """
    sizes = raw.sizes
    pixels = int(sizes.raw_height) * int(sizes.raw_width)
    if pixels > max_pixels:
        raise RawTooLargeError(
            path,
            f"header declares {sizes.raw_width}x{sizes.raw_height} = {pixels} pixels, "
            f"above the limit of {max_pixels}",
        )
    if sizes.height == 0 or sizes.width == 0:
        raise CorruptRawFileError(path, "header declares an empty image")
    file_bytes = os.path.getsize(path)
    if pixels > MAX_PIXELS_PER_BYTE * file_bytes:
        raise TruncatedRawFileError(
            path,
            f"unexpected end of data: header declares {sizes.raw_width}x{sizes.raw_height} = "
            f"{pixels} pixels, more than a file of {file_bytes} bytes can hold "
            f"(at most {MAX_PIXELS_PER_BYTE} pixels per byte)",
        )
    raw.unpack()
    if raw.raw_type != rawpy.RawType.Flat:
        raise UnsupportedCFAError(
            path, "the file holds no single-plane CFA mosaic (Foveon, sRAW or linear DNG)"
        )


def read_raw(path, *, max_pixels: int = MAX_PIXELS) -> RawFrame:
    """Read a camera RAW file (ARW, RAF, DNG, NEF, CR2, ... anything LibRaw decodes).

    Args:
        path: file path (str or os.PathLike).
        max_pixels: refuse sensors with more pixels than this (raw width x height, margins
            included), checked from the header before the image is decoded.

    Returns:
        A `RawFrame` (see the module docstring for where each field comes from).

    Raises:
        RawFileNotFoundError: no such file (also a FileNotFoundError).
        EmptyRawFileError: zero-byte file.
        RawReadError: the OS refused to read it.
        NotARawFileError: not a format LibRaw decodes (JPEG, text, ...), or a directory.
        TruncatedRawFileError: the data ends early, or the header declares far more pixels
            than the file's size can hold (`MAX_PIXELS_PER_BYTE`).
        RawTooLargeError: more than `max_pixels`, LibRaw refused the size, or memory ran out.
        CorruptRawFileError: LibRaw found bad data, no mosaic, or white <= black.
        UnsupportedCFAError: not an R/G/B Bayer or X-Trans mosaic (e.g. Foveon, linear DNG).
        UnsupportedBlackLevelError: a DNG black pattern that does not repeat within the CFA.
    """
    path = check_raw_file(path)
    with libraw_errors(path):
        raw = rawpy.imread(path)
    with raw, libraw_errors(path):
        unpack_mosaic(raw, path, max_pixels)
        make, model = _make_and_model(path)
        cfa, black = cfa_and_black_level(raw, path)
        white = float(raw.white_level)
        if white <= black.max():
            raise CorruptRawFileError(
                path, f"white level {white:g} is not above the black level {black.max():g}"
            )
        mosaic = np.array(raw.raw_image_visible, dtype=np.uint16, copy=True)
        if mosaic.ndim != 2 or mosaic.size == 0:
            raise CorruptRawFileError(path, f"unexpected mosaic shape {mosaic.shape}")
        xyz_to_camera = _rendering_xyz_to_camera(raw, path)
        return RawFrame(
            mosaic=mosaic,
            cfa=cfa,
            black_level=black,
            white_level=white,
            camera_wb=tuple(float(v) for v in raw.camera_whitebalance),
            exposure_time=_exposure_time(raw),
            path=path,
            xyz_to_camera=xyz_to_camera,
            orientation=int(raw.sizes.flip) if 0 <= int(raw.sizes.flip) < 8 else 0,
            iso=_iso(raw),
            make=make,
            model=model,
        )
