"""Packing a CFA mosaic into the network input, and amplification.

The SID networks see the sensor mosaic as a multi-channel image at reduced resolution:

- Bayer (any 2x2 order) -> (H/2, W/2, 4), channels R, G, B, G taken from the RGGB cell at
  (0,0), (0,1), (1,1), (1,0). Every Bayer order is first brought to the RGGB phase by dropping
  the leading row and/or column, so one Sony-trained model serves every Bayer camera.
- X-Trans -> (H/3, W/3, 9) in the X-T2 phase of the SID reference code (`XTRANS_PATTERN`,
  `XTRANS_PACKING`); other phases of the same 6x6 pattern are first shifted into it by dropping
  leading rows/columns.

Alignment rule: pack crops the mosaic to `packing_window(shape, cfa)`. For a CFA whose reference
colour (R of RGGB, or the X-T2 tile origin) sits at (dy, dx) of the pattern, the window starts at
(dy, dx) and its size is rounded down to whole cells:

    Bayer:   packed shape = (floor((H - dy) / 2), floor((W - dx) / 2), 4)
    X-Trans: packed shape = (2 * floor((H - dy) / 6), 2 * floor((W - dx) / 6), 9)

(dy, dx) for Bayer: RGGB (0, 0), GRBG (0, 1), GBRG (1, 0), BGGR (1, 1). The window is also the
region a full-resolution reference image must be cropped to for pixel alignment with the network
output (depth-to-space by `block_size(kind)` restores exactly the window's size).

Values are linear and normalised per CFA position: `(x - black) / (white - black)`, clipped to
[0, 1], float32. NumPy only: this module must not import TensorFlow.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

# The CFA kinds and what they mean for the network (channels, block) live in the geometry
# module, which the Keras side reads too; re-exported here for the RAW side.
from lsid_keras.geometry import BAYER, XTRANS, block_size, packed_channels  # noqa: F401
from lsid_keras.raw.errors import UnsupportedCFAError

if TYPE_CHECKING:
    from lsid_keras.raw.read import RawFrame

RED, GREEN, BLUE = 0, 1, 2
_LETTERS = "RGB"

# Canonical SID Bayer order inside an RGGB cell: R(0,0), G(0,1), B(1,1), G(1,0).
_BAYER_ROWS = np.array([0, 0, 1, 1])
_BAYER_COLS = np.array([0, 1, 1, 0])


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


# The X-T2 phase of the X-Trans pattern used by the SID Fuji model (0 R, 1 G, 2 B).
XTRANS_PATTERN = _readonly(
    np.array(
        [
            ["RGB".index(c) for c in row]
            for row in ("RBGBRG", "GGRGGB", "GGBGGR", "BRGRBG", "GGBGGR", "GGRGGB")
        ],
        dtype=np.int64,
    )
)

# For each of the 9 packed channels, the (row, col) in the 6x6 X-T2 tile of the pixels placed at
# output positions (0,0), (0,1), (1,0), (1,1) of its 2x2 output cell (SID reference packing).
XTRANS_PACKING = (
    ((0, 0), (0, 4), (3, 1), (3, 3)),  # R
    ((0, 2), (0, 5), (3, 2), (3, 5)),  # G
    ((0, 1), (0, 3), (3, 0), (3, 4)),  # B
    ((1, 2), (2, 5), (5, 2), (4, 5)),  # R
    ((2, 2), (1, 5), (4, 2), (5, 5)),  # B
    ((1, 0), (1, 3), (4, 0), (4, 3)),  # G
    ((1, 1), (1, 4), (4, 1), (4, 4)),  # G
    ((2, 0), (2, 3), (5, 0), (5, 3)),  # G
    ((2, 1), (2, 4), (5, 1), (5, 4)),  # G
)
_XT_ROWS = _readonly(np.array([[p[0] for p in ch] for ch in XTRANS_PACKING]).reshape(9, 2, 2))
_XT_COLS = _readonly(np.array([[p[1] for p in ch] for ch in XTRANS_PACKING]).reshape(9, 2, 2))


def cfa_name(cfa) -> str:
    """The pattern as letters, rows joined by "/": "RG/GB"; unknown colour indices show as "?"."""
    cfa = np.asarray(cfa)
    if cfa.ndim != 2:
        return repr(cfa.tolist())
    return "/".join(
        "".join(_LETTERS[v] if v in (0, 1, 2) else "?" for v in row) for row in cfa.tolist()
    )


def _as_cfa(cfa, path) -> np.ndarray:
    array = np.asarray(cfa)
    if (
        array.ndim != 2
        or array.size == 0
        or not np.issubdtype(array.dtype, np.integer)
        or array.min() < 0
        or array.max() > 2
    ):
        raise UnsupportedCFAError(
            path,
            f"colour filter array {cfa_name(array)} must be a 2-D array of 0 (R), 1 (G), 2 (B)",
        )
    return array.astype(np.int64, copy=False)


def _unsupported(cfa: np.ndarray, path) -> UnsupportedCFAError:
    return UnsupportedCFAError(
        path,
        f"colour filter array {cfa_name(cfa)} is neither a 2x2 Bayer pattern "
        "(RGGB, GRBG, GBRG, BGGR) nor a shift of the 6x6 X-Trans pattern "
        f"{cfa_name(XTRANS_PATTERN)}",
    )


def _bayer_phase(cfa: np.ndarray) -> tuple[int, int] | None:
    if cfa.shape != (2, 2):
        return None
    red = np.argwhere(cfa == RED)
    if len(red) != 1:
        return None
    dy, dx = (int(v) for v in red[0])
    aligned = np.roll(cfa, (-dy, -dx), axis=(0, 1))
    if aligned.tolist() != [[RED, GREEN], [GREEN, BLUE]]:
        return None
    return dy, dx


def _xtrans_phase(cfa: np.ndarray) -> tuple[int, int] | None:
    if cfa.shape != (6, 6):
        return None
    for dy in range(6):
        for dx in range(6):
            if np.array_equal(np.roll(cfa, (-dy, -dx), axis=(0, 1)), XTRANS_PATTERN):
                return dy, dx
    return None


def cfa_kind_of(cfa, path=None) -> str:
    """Classify a CFA pattern (colour indices 0 R, 1 G, 2 B) as "bayer" or "xtrans".

    Args:
        cfa: 2-D integer array, the smallest repeating pattern, (0, 0) at the mosaic origin.
        path: file the pattern came from, used in the error message.

    Raises:
        UnsupportedCFAError: the pattern is neither a 2x2 Bayer order nor a shifted X-Trans.
    """
    cfa = _as_cfa(cfa, path)
    if _bayer_phase(cfa) is not None:
        return BAYER
    if _xtrans_phase(cfa) is not None:
        return XTRANS
    raise _unsupported(cfa, path)


def cfa_phase(cfa, path=None) -> tuple[int, int]:
    """(dy, dx): where the reference cell starts in the pattern (R of RGGB, or the X-T2 origin).

    Packing drops the first dy rows and dx columns of the mosaic. The X-Trans pattern maps onto
    itself when shifted by (3, 3), so two shifts align it; the first in row-major order (the
    smaller crop) is used.

    Raises:
        UnsupportedCFAError: the pattern is neither Bayer nor X-Trans.
    """
    cfa = _as_cfa(cfa, path)
    phase = _bayer_phase(cfa) or _xtrans_phase(cfa)
    if phase is None:
        raise _unsupported(cfa, path)
    return phase


def packing_window(mosaic_shape, cfa, path=None) -> tuple[slice, slice]:
    """The (rows, cols) slices of the mosaic that `pack_bayer` / `pack_xtrans` consume.

    The window starts at `cfa_phase(cfa)` and spans whole cells (2x2 Bayer, 6x6 X-Trans), so
    a full-resolution image cropped to it aligns pixel for pixel with the depth-to-space output.
    """
    cfa = _as_cfa(cfa, path)
    kind = cfa_kind_of(cfa, path)
    dy, dx = cfa_phase(cfa, path)
    height, width = (int(v) for v in mosaic_shape)
    cell = 2 if kind == BAYER else 6
    h = max(height - dy, 0) // cell * cell
    w = max(width - dx, 0) // cell * cell
    return slice(dy, dy + h), slice(dx, dx + w)


def _as_mosaic(mosaic) -> np.ndarray:
    mosaic = np.asarray(mosaic)
    if mosaic.ndim != 2:
        raise ValueError(f"mosaic must be a 2-D array. Received: shape={mosaic.shape}")
    if not (np.issubdtype(mosaic.dtype, np.integer) or np.issubdtype(mosaic.dtype, np.floating)):
        raise ValueError(f"mosaic must be numeric. Received: dtype={mosaic.dtype}")
    return mosaic


def _levels(black, white, cfa_shape) -> tuple[np.ndarray, float]:
    """Black per CFA position (float64, cfa_shape) and white, validated."""
    black = np.asarray(black, dtype=np.float64)
    try:
        black = np.broadcast_to(black, cfa_shape)
    except ValueError:
        raise ValueError(
            f"black must be a scalar or an array of the CFA's shape {cfa_shape}. "
            f"Received: shape={black.shape}"
        ) from None
    white = float(white)
    if not np.all(np.isfinite(black)) or not math.isfinite(white):
        raise ValueError(f"black and white levels must be finite. Received: white={white}")
    if white <= black.max():
        raise ValueError(
            f"white level must exceed every black level. Received: white={white}, "
            f"black max={black.max()}"
        )
    return black, white


def _normalise(values: np.ndarray, black: np.ndarray, white: float) -> np.ndarray:
    """(values - black) / (white - black) in float32, clipped to [0, 1]; black broadcasts."""
    black32 = black.astype(np.float32)
    scale = (white - black).astype(np.float32)
    out = values.astype(np.float32)
    out -= black32
    out /= scale
    np.clip(out, 0.0, 1.0, out=out)
    return out


def pack_bayer(mosaic, cfa, black, white, *, path=None) -> np.ndarray:
    """Pack a Bayer mosaic of any 2x2 order into (H/2, W/2, 4) float32, channels R, G, B, G.

    Args:
        mosaic: 2-D array of raw values (DN).
        cfa: 2x2 colour indices (0 R, 1 G, 2 B) of the mosaic's top-left cell.
        black: black level (DN), a scalar or a 2x2 array per CFA position of the mosaic.
        white: white (saturation) level (DN), above every black level.
        path: source file, for error messages only.

    Returns:
        float32 array of shape (floor((H - dy) / 2), floor((W - dx) / 2), 4) in [0, 1], where
        (dy, dx) = `cfa_phase(cfa)`. Channel order R(0,0), G(0,1), B(1,1), G(1,0) of the
        aligned RGGB cell.

    Raises:
        UnsupportedCFAError: `cfa` is not a 2x2 Bayer pattern.
        ValueError: bad mosaic or levels.
    """
    mosaic = _as_mosaic(mosaic)
    cfa = _as_cfa(cfa, path)
    phase = _bayer_phase(cfa)
    if phase is None:
        raise UnsupportedCFAError(
            path,
            f"pack_bayer needs a 2x2 Bayer pattern (RGGB, GRBG, GBRG, BGGR); "
            f"received {cfa_name(cfa)}",
        )
    black, white = _levels(black, white, cfa.shape)
    rows, cols = packing_window(mosaic.shape, cfa, path)
    h2 = (rows.stop - rows.start) // 2
    w2 = (cols.stop - cols.start) // 2
    cells = mosaic[rows, cols].reshape(h2, 2, w2, 2).transpose(0, 2, 1, 3)
    gathered = cells[:, :, _BAYER_ROWS, _BAYER_COLS]  # (h2, w2, 4)
    aligned_black = np.roll(black, (-phase[0], -phase[1]), axis=(0, 1))
    return _normalise(gathered, aligned_black[_BAYER_ROWS, _BAYER_COLS], white)


def pack_xtrans(mosaic, cfa, black, white, *, path=None) -> np.ndarray:
    """Pack an X-Trans mosaic into (H/3, W/3, 9) float32 per the SID X-T2 table.

    Args:
        mosaic: 2-D array of raw values (DN).
        cfa: 6x6 colour indices (0 R, 1 G, 2 B) at the mosaic origin, any shift of
            `XTRANS_PATTERN`.
        black: black level (DN), a scalar or a 6x6 array per CFA position of the mosaic.
        white: white (saturation) level (DN), above every black level.
        path: source file, for error messages only.

    Returns:
        float32 array of shape (2 * floor((H - dy) / 6), 2 * floor((W - dx) / 6), 9) in [0, 1],
        (dy, dx) = `cfa_phase(cfa)`; channel k of each 2x2 output cell holds the pixels
        `XTRANS_PACKING[k]` of the corresponding aligned 6x6 tile.

    Raises:
        UnsupportedCFAError: `cfa` is not a shift of the X-Trans pattern.
        ValueError: bad mosaic or levels.
    """
    mosaic = _as_mosaic(mosaic)
    cfa = _as_cfa(cfa, path)
    phase = _xtrans_phase(cfa)
    if phase is None:
        raise UnsupportedCFAError(
            path,
            f"pack_xtrans needs a 6x6 X-Trans pattern (a shift of {cfa_name(XTRANS_PATTERN)}); "
            f"received {cfa_name(cfa)}",
        )
    black, white = _levels(black, white, cfa.shape)
    rows, cols = packing_window(mosaic.shape, cfa, path)
    th = (rows.stop - rows.start) // 6
    tw = (cols.stop - cols.start) // 6
    tiles = mosaic[rows, cols].reshape(th, 6, tw, 6).transpose(0, 2, 1, 3)
    gathered = tiles[:, :, _XT_ROWS, _XT_COLS]  # (th, tw, 9, 2, 2)
    aligned_black = np.roll(black, (-phase[0], -phase[1]), axis=(0, 1))
    normalised = _normalise(gathered, aligned_black[_XT_ROWS, _XT_COLS], white)
    # (tile row, tile col, channel, a, b) -> (2 * tile row + a, 2 * tile col + b, channel)
    return normalised.transpose(0, 3, 1, 4, 2).reshape(2 * th, 2 * tw, 9)


def pack(frame: RawFrame) -> np.ndarray:
    """Pack a `RawFrame` for the network, dispatching on its CFA (see `pack_bayer`, `pack_xtrans`).

    Returns:
        float32 (H/2, W/2, 4) for Bayer or (H/3, W/3, 9) for X-Trans, linear, in [0, 1].
    """
    packer = pack_bayer if frame.cfa_kind == BAYER else pack_xtrans
    return packer(frame.mosaic, frame.cfa, frame.black_level, frame.white_level, path=frame.path)


def amplify(packed, ratio: float, out=None) -> np.ndarray:
    """Brighten a packed short exposure by the exposure ratio: `min(packed * ratio, 1)`.

    Args:
        packed: packed array in [0, 1].
        ratio: amplification ratio (long / short exposure), > 0.
        out: None (a new array) or a float array of `packed`'s shape to write into;
            `packed` itself amplifies in place (`lsid enhance`, whose packed frame is its
            own: no second 48 MB frame to allocate and fault in).

    Raises:
        ValueError: ratio is not a positive finite number.
    """
    ratio = float(ratio)
    if not (math.isfinite(ratio) and ratio > 0):
        raise ValueError(f"ratio must be a positive finite number. Received: ratio={ratio}")
    packed = np.asarray(packed)
    if out is None:
        amplified = packed * ratio
        return np.minimum(amplified, 1.0, out=amplified)  # one 48 MB frame, not two
    np.multiply(packed, ratio, out=out)
    return np.minimum(out, 1.0, out=out)
