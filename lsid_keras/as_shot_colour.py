"""Giving the network's output the colour the camera's as-shot white balance gives the scene.

Why: the network sees the raw frame but not the white balance the camera chose for it, while
its ground truth is developed with that white balance. Under an unknown illuminant the raw
colours are ambiguous (a blue sky under tungsten light and a violet one under daylight give the
same raw), so the network guesses the colour from content it has seen. The shipped model
(epoch 7) guessed warm: on the alpha 7S II emulation's unseen test photos its outputs needed
red x0.6-0.8 and blue x0.9-2.1 to match the ground truth, a mean CIELAB a*b* error of about 12
against about 5 for the traditional pipeline.

The fix uses what the file says: the frame's mean colour, measured on the black-subtracted
mosaic without clipping (noise averages out; `pack` clips below black, which biases dark
pixels), white-balanced with the as-shot multipliers and taken to linear sRGB with the file's
colour matrix exactly as LibRaw renders the ground truth (`lsid_keras.raw.develop`). The output
is then given per-channel gains, in linear light, that bring its mean colour to that colour
while keeping its mean luminance: a global white-balance correction, so the network's
denoising, detail and tone stay as they are. A file without a colour matrix gets the colour
LibRaw renders it with: camera RGB times the as-shot white balance, taken as linear sRGB
(`lsid_keras.raw.colour.rendering_xyz_to_camera`).

Tiled and untiled runs give one picture: the gains are computed once on the stitched frame.
"""

from __future__ import annotations

import numpy as np

#: Rec. 709 luminance weights of linear sRGB (the mean luminance is kept).
LUMA = np.array([0.2126, 0.7152, 0.0722])
#: Gains are clamped to this range: a white-balance correction, not a recolouring.
GAIN_LIMITS = (0.25, 4.0)
#: Rows of the output converted at a time (bounds the temporaries).
ROWS_PER_BAND = 256
#: 16-bit codes of the encoded output: histograms and gain tables are indexed by them.
CODES = 65536
# LibRaw's default output curve (rawpy `gamma=(2.222, 4.5)`): Rec. 709, power 0.45, toe
# slope 4.5, joined continuously.
_BT709_ALPHA = 1.0992968268094429
_BT709_BETA = 0.018053968510807


def libraw_to_linear(rgb) -> np.ndarray:
    """Decodes LibRaw's output curve (Rec. 709: power 0.45, slope 4.5 near black), the curve
    `develop` and the network's ground truth use; (..., 3) in [0, 1] -> linear, float64."""
    rgb = np.clip(np.asarray(rgb, dtype=np.float64), 0.0, 1.0)
    toe = _BT709_BETA * 4.5
    return np.where(rgb < toe, rgb / 4.5,
                    ((rgb + (_BT709_ALPHA - 1)) / _BT709_ALPHA) ** (1 / 0.45))


def linear_to_libraw(linear) -> np.ndarray:
    """Encodes linear light with LibRaw's output curve; clips to [0, 1]; float32."""
    linear = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    encoded = np.where(linear < _BT709_BETA, 4.5 * linear,
                       _BT709_ALPHA * linear ** 0.45 - (_BT709_ALPHA - 1))
    return encoded.astype(np.float32)


def scene_colour(frame) -> np.ndarray | None:
    """The frame's mean colour in linear sRGB as LibRaw's as-shot rendering gives it, up to
    scale; None when the frame has no signal or its matrix maps no colour back.

    Per CFA colour, the mean of mosaic - black over the whole frame (not clipped at 0, so read
    noise averages out), times the as-shot white-balance gains
    (`lsid_keras.raw.colour.as_shot_gains`), times LibRaw's camera -> sRGB matrix (the
    inverse of the row-normalised sRGB -> camera matrix of the file's XYZ -> camera matrix;
    the identity for a file without one, as LibRaw renders it:
    `lsid_keras.raw.colour.rendering_xyz_to_camera`).

    Args:
        frame: a `lsid_keras.raw.RawFrame` (its mosaic, cfa, black_level, camera_wb and
            xyz_to_camera).

    Returns:
        (3,) float64 linear sRGB, or None.
    """
    from lsid_keras.raw.colour import as_shot_gains, rendering_xyz_to_camera
    from lsid_keras.raw.unprocess import srgb_to_camera_matrix

    matrix = rendering_xyz_to_camera(frame)
    mosaic = frame.mosaic
    n = frame.cfa.shape[0]
    sums, counts = np.zeros(3), np.zeros(3)
    for i in range(n):
        for j in range(n):
            plane = mosaic[i::n, j::n]
            colour = int(frame.cfa[i, j])
            sums[colour] += plane.sum(dtype=np.float64) - plane.size * float(
                frame.black_level[i, j])
            counts[colour] += plane.size
    camera = sums / np.maximum(counts, 1) / max(float(frame.white_level) - float(
        np.max(frame.black_level)), 1.0)
    try:
        gains = as_shot_gains(frame, matrix)
        colour = np.linalg.inv(srgb_to_camera_matrix(matrix)) @ (camera * gains)
    except (ValueError, np.linalg.LinAlgError):
        return None  # a matrix that maps no colour back (singular, a zero row sum)
    if not LUMA @ colour > 0:
        return None
    return colour


def match_mean_colour(rgb, target, out=None):
    """`(rgb, gains)`: `rgb` with per-channel gains in linear light that bring its mean colour
    to `target`'s chromaticity, keeping its mean luminance (`mean_colour_gains` of its
    `code_histograms`, then `apply_linear_gains`).

    Args:
        rgb: (H, W, 3) in [0, 1], encoded with LibRaw's output curve (the network's output).
        target: (3,) linear sRGB colour, any positive scale.
        out: float32 array of `rgb`'s shape to write the result into, or None for a new one.
            It may be `rgb` itself (each band of rows is read before it is written): a 12 MP
            frame then needs no second 145 MB.

    Returns:
        (H, W, 3) float32 in [0, 1], and the (3,) gains applied: clamped to `GAIN_LIMITS`,
        then scaled together to keep the mean luminance, so no two channels' gains differ by
        more than GAIN_LIMITS[1] / GAIN_LIMITS[0] (16x) though one may leave the limits (all
        1 and `rgb` unchanged when the image or the target has no luminance).
    """
    gains = mean_colour_gains(code_histograms(rgb), target)
    if gains is None:
        rgb = np.asarray(rgb)
        if out is None:
            return rgb.astype(np.float32, copy=False), np.ones(3)
        out[...] = rgb
        return out, np.ones(3)
    return apply_linear_gains(rgb, gains, out=out), gains


def _bands(rgb):
    # Row bands keep the temporaries small (a 12 MP frame whole would take ~1.5 GB of float64).
    return [slice(start, start + ROWS_PER_BAND) for start in range(0, rgb.shape[0],
                                                                     ROWS_PER_BAND)]


def _codes(band):
    """A band's values clipped to [0, 1] as 16-bit codes, rounded half up in float32 (the
    Java core computes `(int) (v * 65535f + 0.5f)` alike)."""
    band = np.clip(np.asarray(band, np.float32), 0, 1)
    band *= np.float32(CODES - 1)
    band += np.float32(0.5)
    return band.astype(np.uint16)


def _float16_values():
    """(65536,) float32: every float16 bit pattern's value (NaN as 0, as nothing measures it)."""
    return np.nan_to_num(np.arange(CODES, dtype=np.uint16).view(np.float16).astype(np.float32),
                         nan=0.0)


def _float16_codes():
    """(65536,) uint16: the 16-bit code (`_codes`) of every float16 bit pattern."""
    return _codes(_float16_values())


def code_histograms(rgb):
    """(3, `CODES`) int64: per channel, how many of `rgb`'s values (encoded, clipped to
    [0, 1]) round to each 16-bit code. One pass over the picture gives the mean colour
    (`mean_colour_gains`) and LibRaw's auto-bright levels (`lsid_keras.auto_bright`).

    Args:
        rgb: (H, W, 3) float, encoded with LibRaw's output curve (the network's output).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3). Received: shape={rgb.shape}")
    counts = np.zeros((3, CODES), np.int64)
    if rgb.dtype == np.float16:
        # 65536 bit patterns: count each, then give its count to its code (`_float16_codes`):
        # the same counts as the float32 path, without converting 36 M values.
        codes = _float16_codes()
        for channel in range(3):
            patterns = np.bincount(rgb[..., channel].view(np.uint16).ravel(), minlength=CODES)
            counts[channel] = np.bincount(codes, weights=patterns, minlength=CODES)
        return counts
    for band in _bands(rgb):
        codes = _codes(rgb[band])
        for channel in range(3):
            counts[channel] += np.bincount(codes[..., channel].ravel(), minlength=CODES)
    return counts


def int8_values(scale, zero):
    """(256,) float32: the value of each int8 code of a tensor quantised with `scale` and
    `zero` point, indexed by the code's bits read as uint8 (so `table[codes.view(np.uint8)]`
    dequantises), clipped to [0, 1]."""
    codes = np.arange(256, dtype=np.uint8).view(np.int8).astype(np.float32)
    return np.clip((codes - np.float32(zero)) * np.float32(scale), 0.0, 1.0)


def code_image(codes):
    """The (H, W, 3) int8 `codes` of an int8 export's output as a Pillow "RGB" image of their
    bits read as uint8 (one copy, in C). Pillow's per-channel histogram and table lookup
    (`Image.histogram`, `Image.point`) take 0.01 s each on it for a 12 MP frame, where
    numpy's per-channel `bincount` and fancy indexing take 0.05-0.07 s."""
    from PIL import Image

    codes = np.asarray(codes)
    if codes.ndim != 3 or codes.shape[2] != 3 or codes.dtype != np.int8:
        raise ValueError(f"codes must be (H, W, 3) int8. Received: {codes.dtype} {codes.shape}")
    codes = np.ascontiguousarray(codes)
    height, width, _ = codes.shape
    return Image.frombuffer("RGB", (width, height), codes.view(np.uint8), "raw", "RGB", 0, 1)


def int8_histograms(codes, values):
    """`code_histograms` of the picture whose values are `values[codes.view(np.uint8)]`:
    (H, W, 3) int8 `codes` (an int8 export's output, as it is; or their `code_image`) and
    their `int8_values`. Each channel's 256 codes are counted, then each count given to its
    value's 16-bit code: the float path's counts without making the float picture."""
    image = codes if _is_image(codes) else code_image(codes)
    patterns = np.asarray(image.histogram(), np.int64).reshape(3, 256)
    sixteen = _codes(values)
    counts = np.zeros((3, CODES), np.int64)
    for channel in range(3):
        counts[channel] = np.bincount(sixteen, weights=patterns[channel], minlength=CODES)
    return counts


def _is_image(value):
    return hasattr(value, "histogram") and hasattr(value, "point")


def lookup_image(image, tables):
    """`lookup_codes` for uint8 `tables`, on a `code_image`: a Pillow "RGB" image of the
    looked-up 8-bit pixels (`Image.point`, 0.01 s for 12 MP where numpy takes 0.07 s)."""
    tables = np.asarray(tables)
    if tables.shape != (3, 256) or tables.dtype != np.uint8:
        raise ValueError(f"tables must be (3, 256) uint8. Received: {tables.dtype} "
                         f"{tables.shape}")
    return image.point(tables.ravel().tolist())


def int8_gain_tables(values, gains):
    """(3, 256) float32: for each channel, `apply_linear_gains` of each code's value
    (`int8_values`) by that channel's gain: the picture `values[codes]` with the gains
    applied is `lookup_codes(codes, int8_gain_tables(values, gains))`."""
    tables = np.empty((3, 256), np.float32)
    for channel, gain in enumerate(np.asarray(gains, dtype=np.float64)):
        table = gain_table(gain).astype(np.float32)
        tables[channel] = _interpolated(values.copy(), table,
                                        np.append(np.diff(table), np.float32(0)))
    return tables


def lookup_codes(codes, tables, out=None):
    """(H, W, 3) of `tables`' dtype: each value of the (H, W, 3) int8 `codes` looked up in its
    channel's 256-entry table (indexed by the code's bits read as uint8), in row bands,
    written into `out` when given."""
    codes = np.asarray(codes)
    if out is None:
        out = np.empty(codes.shape, tables.dtype)
    for band in _bands(codes):
        for channel in range(3):
            out[band, :, channel] = tables[channel][codes[band, :, channel].view(np.uint8)]
    return out


def code_levels():
    """(`CODES`,) float64: the linear level of each 16-bit code (LibRaw's curve decoded)."""
    return libraw_to_linear(np.arange(CODES) / (CODES - 1))


def mean_colour_gains(counts, target):
    """The (3,) linear gains of `match_mean_colour` for a picture of `code_histograms`
    `counts` and `target`, or None when the picture or the target has no luminance (nothing
    to match). The mean colour is the mean linear level of the codes (a value's level within
    half a code: about 1e-5)."""
    counts = np.asarray(counts)
    target = np.maximum(np.asarray(target, dtype=np.float64), 1e-9)
    mean = counts @ code_levels() / max(int(counts[0].sum()), 1)
    if not LUMA @ mean > 1e-6:
        return None
    gains = target * (LUMA @ mean) / (LUMA @ target) / np.maximum(mean, 1e-9)
    gains = np.clip(gains, *GAIN_LIMITS)
    gains *= (LUMA @ mean) / (LUMA @ (mean * gains))
    return gains


def gain_table(gain):
    """(`CODES`,) float64: each 16-bit code times `gain` in linear light, re-encoded and
    clipped (`linear_to_libraw`, as float32 values)."""
    return linear_to_libraw(code_levels() * float(gain)).astype(np.float64)


def apply_linear_gains(rgb, gains, out=None):
    """`rgb` (encoded with LibRaw's curve) times (3,) `gains` in linear light, re-encoded and
    clipped to [0, 1]: float32, written into `out` when given (`rgb` itself works, band by
    band).

    Each channel's curve is tabulated at the 16-bit codes (`gain_table`) and interpolated
    linearly between them, at a sixth of its time. Largest difference from the formula
    (`tests/test_as_shot_colour.py`, 400 gains, every code): 6e-6 for gains up to 4 (the as-shot
    colour's range), 1.7e-5 up to 30, 1.1e-4 up to 256 (auto-bright of a near-black frame),
    where the curve has a kink as it reaches white: 0.03 of an 8-bit level.
    """
    rgb = np.asarray(rgb)
    if out is None:
        out = np.empty(rgb.shape, np.float32)
    elif out.shape != rgb.shape or out.dtype != np.float32:
        raise ValueError(f"out must be float32 of shape {rgb.shape}. Received: {out.dtype} "
                         f"{out.shape}")
    tables = []
    for gain in np.asarray(gains, dtype=np.float64):
        table = gain_table(gain).astype(np.float32)
        tables.append((table, np.append(np.diff(table), np.float32(0))))
    if rgb.dtype == np.float16:
        # One lookup per value in a table of every float16 bit pattern's result (the same
        # interpolation, so the same numbers as float32 input of those values).
        values = _float16_values()
        looked_up = [_interpolated(values.copy(), table, step) for table, step in tables]
        for band in _bands(rgb):
            for channel, lookup in enumerate(looked_up):
                out[band, :, channel] = lookup[rgb[band, :, channel].view(np.uint16)]
        return out
    for band in _bands(rgb):
        for channel, (table, step) in enumerate(tables):
            out[band, :, channel] = _interpolated(
                np.asarray(rgb[band, :, channel], np.float32), table, step)
    return out


def _interpolated(values, table, step):
    """`table` (at the 16-bit codes) interpolated linearly at float32 `values` in [0, 1]
    (clipped; `step` is the table's differences), computed in place of a copy of `values`."""
    position = np.clip(values, 0, 1)
    position *= np.float32(CODES - 1)
    code = position.astype(np.int32)
    position -= code
    position *= step[code]
    position += table[code]
    return position


def as_shot_colour(rgb, frame, out=None):
    """`(rgb, gains)`: the network's output for `frame` given the as-shot colour
    (`scene_colour`, `match_mean_colour`, written into `out` when given); `(rgb, None)`
    unchanged (as float32) when the frame has no colour to measure (no signal)."""
    target = scene_colour(frame)
    if target is None:
        return np.asarray(rgb, dtype=np.float32), None
    return match_mean_colour(rgb, target, out=out)
