"""Full-resolution inference in overlapping fixed-size tiles, with bounded memory.

A full SID frame packs to 1424 x 2128 pixels (Sony) and the U-Net's activations at that size
take several GB; phones and fixed-shape TFLite models cannot take a whole frame at all. This
module is the one tiler every consumer uses (evaluation, `lsid enhance`, TFLite export and its
verification): it works with any callable `predict(batch) -> output` on fixed-size tiles, and
needs only numpy (`keras_predictor` imports TensorFlow when called).

Units: the plan and every `tile`, `halo` and window argument are in *packed* pixels (the
model's input grid); output images are in *output* pixels, `block` times larger per side
(2 Bayer, 3 X-Trans). Input values are packed, amplified RAW (nominally [0, 1]); outputs are
whatever `predict` returns, sRGB in about [0, 1] for the lsid_keras models.

How a frame is tiled:

- Padding. Every run, tiled with any tile size or untiled, reads the same padded frame: the
  packed frame reflect-padded by `halo` on all four sides (numpy's "reflect": the edge row is
  not repeated), then on the bottom and right up to a multiple of 16 and, if needed, to the
  tile size, by continuing the same reflection. A pixel near the frame edge therefore sees
  the same `halo` pixels of content beyond the edge whatever the tile size; what lies further
  out differs between tile sizes, as the content beyond a tile's halo does inside the frame,
  and costs the same (small) error. (Padding only the bottom/right, and only when the tile
  was larger than the frame, changed edge pixels by 45-60 8-bit levels between `--tile 256`
  and a tile larger than the frame.) The output is cropped back to exactly
  `(H * block, W * block)`. Tiles read the padded frame through index arithmetic; it is never
  materialised.
- Windows. Every tile is a full `tile x tile` window whose top-left corner is on the 16-pixel
  grid of the padded frame (windows shifted by a non-multiple of 16 would see a different
  max-pooling partition than the untiled run and never agree with it, whatever the halo).
  The tile count per axis is the fewest windows that keep `halo` of context at every core
  edge (consecutive windows at most `tile - 2 * halo` apart, rounded down to 16); the windows
  are then spread evenly between the padded frame's two ends, so no tile overlaps its
  neighbour much more than the others. `fit_tile` picks the tile size for a frame: the
  tile count first, then the smallest tile on the 16-grid that covers the frame with it,
  e.g. 912 for a Sony frame (1424 x 2128 packed, halo 96): 2 x 3 tiles covering 1.65x the
  frame's pixels, where 12 tiles of 736 (at most 864) cover 2.15x.
- Cores. Each tile owns a core: the cores partition the image exactly, and each interior core
  edge is the middle of the overlap of two neighbouring windows, so at least `halo` packed
  pixels of context (the effective halo, rounded up by the grid) separate it from the
  window's edge, where zero padding inside the network corrupts the output.
- Blending. "crop" writes each tile's core only: every output pixel comes from exactly one
  tile. "feather" blends neighbouring tiles with linear ramps across the middle half of their
  overlap (ramps reaching the windows' edges would mix in pixels with almost no context); the
  ramps of two neighbours sum to one at every pixel (a partition of unity, so no
  weight-normalisation buffer is needed) and are clipped so that ramps never meet. Measured,
  both modes have about the same max error at a given halo; "crop" is the default because it
  is cheaper and each pixel is one tile's output (reproducible); "feather" hides the step
  between tiles that disagree more (models with a global branch, see below).

Seams: a tile output equals the untiled output at a pixel only if the whole receptive field of
that pixel lies inside the window: for the SID U-Net it is 204 packed pixels wide, reaching up
to 107 on each side (`scripts/measure_seams.py`), so tiling is exact with halo >= 107 and
leaves a small error below that. `DEFAULT_HALO` is the halo measured to keep it below one 8-bit
level. Models with a global branch (GIA, squeeze-excite) pool over the whole tile, so their
tiled output differs from the untiled one by more, whatever the halo, unless every tile gets
the whole frame's average (`lsid_keras.models.global_branch`): `run_tiled_split` runs each
tile's encoder once, keeps its outputs and averages the bottleneck map before the decoders
run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Packed input sides must be multiples of SIZE_MULTIPLE (2**4 for the 4-pooling U-Net).
from lsid_keras.geometry import SIZE_MULTIPLE

#: Blend modes of `run_tiled`.
BLENDS = ("crop", "feather")
#: Default largest tile side in packed pixels for models that take any size (Keras): `fit_tile`
#: sizes the tiles of each frame up to this, 912 for a Sony frame at `DEFAULT_HALO` (2 x 3
#: tiles, 1.65x its pixels; at most 864 would take 12 tiles of 736, 2.15x). A fixed-shape
#: export takes the tile its model card names.
DEFAULT_TILE = 912
#: Default halo in packed pixels: the smallest that keeps tiled = untiled within one 8-bit
#: level for the trained shipped GIA-Net (epoch 40; scripts/measure_seams.py --weights, one
#: encoder pass, crop blend, tiles of 256, the worst case: many seams). Max error over the
#: benchmark's 12 MP frame (x123) and two daylight files (Blackmagic DNG, Canon G2 CRW):
#: 18.2 levels at halo 48, 8.0 at 64 (the frame; the files 1.5 and 2.2), 1.15 at 80 (the
#: files 0.22 and 0.26), 0.13 at 96. The network's context reached less far at epoch 15
#: (0.98 at 64, 12 cross-noise frames) and in random-init nets (below 0.25 at 32). The
#: price: a Sony frame in 2 x 3 tiles of 912 covers 1.65x its pixels (halo 64: tiles of
#: 848, 1.42x, and 2.1 levels of error on that frame even with its effective halo of 72).
DEFAULT_HALO = 96
#: Default blend mode: "crop" measured as accurate as "feather" (max error within 30% either
#: way at every halo >= 16), cheaper, and each output pixel is one tile's.
DEFAULT_BLEND = "crop"


@dataclass(frozen=True)
class Tile:
    """One tile of a plan, in packed pixels.

    Attributes:
        top, left: top-left corner of the input window in the padded frame, whose origin is
            `pad` pixels above and left of the image's (multiples of the size multiple).
        height, width: window size, always the full tile size.
        core_top, core_left, core_height, core_width: the region of the *image* this tile
            is responsible for; the cores of a plan partition the image exactly. The core lies
            inside the window.
        ramps: `(top, bottom, left, right)` half-widths of the feather ramps centred on the
            core's edges, in packed pixels; 0 on the image border. "crop" ignores them.
        pad: the reflect padding added on every side of the image (the plan's halo).
    """

    top: int
    left: int
    height: int
    width: int
    core_top: int
    core_left: int
    core_height: int
    core_width: int
    ramps: tuple = (0, 0, 0, 0)
    pad: int = 0

    def window(self, block=1):
        """`(rows, cols)` slices of the window in the padded frame, in packed pixels times
        `block`."""
        return (
            slice(self.top * block, (self.top + self.height) * block),
            slice(self.left * block, (self.left + self.width) * block),
        )

    def core(self, block=1):
        """`(rows, cols)` slices of the core in the image, in packed pixels times `block`."""
        return (
            slice(self.core_top * block, (self.core_top + self.core_height) * block),
            slice(self.core_left * block, (self.core_left + self.core_width) * block),
        )

    def blend_region(self, block=1):
        """`(rows, cols)` slices of the image the tile contributes to: its core widened by the
        feather ramps (the core itself when every ramp is 0), times `block`."""
        top, bottom, left, right = self.ramps
        return (
            slice((self.core_top - top) * block,
                  (self.core_top + self.core_height + bottom) * block),
            slice((self.core_left - left) * block,
                  (self.core_left + self.core_width + right) * block),
        )


@dataclass(frozen=True)
class _Span:
    """One tile along one axis: window origin, core [start, stop) and ramp half-widths."""

    origin: int
    start: int
    stop: int
    ramp_before: int
    ramp_after: int


def padded_size(height, width, tile, halo, multiple=SIZE_MULTIPLE):
    """`(height, width)` of the padded frame `run_tiled` reads: the image plus `halo` on every
    side, each side rounded up to a multiple of `multiple` and to at least `tile` (packed
    pixels). `run_untiled` reads the same frame with `tile = multiple`."""
    return (max(tile, -(-(height + 2 * halo) // multiple) * multiple),
            max(tile, -(-(width + 2 * halo) // multiple) * multiple))


def _check_plan_args(height, width, tile, halo, multiple):
    for name, value in (("height", height), ("width", width), ("tile", tile),
                        ("multiple", multiple)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int. Received: {name}={value!r}")
    if isinstance(halo, bool) or not isinstance(halo, (int, np.integer)) or halo < 0:
        raise ValueError(f"halo must be an int >= 0. Received: halo={halo!r}")
    if tile % multiple:
        raise ValueError(
            f"tile size {tile} is not a multiple of {multiple} (the network pools "
            f"{multiple.bit_length() - 1} times). Received: tile={tile}"
        )
    if tile - 2 * halo < multiple:
        raise ValueError(
            f"tile - 2 * halo must be at least {multiple} packed pixels so that tiles advance "
            f"on the {multiple}-pixel grid; use halo <= {(tile - multiple) // 2} for tile "
            f"{tile}. Received: tile={tile}, halo={halo}"
        )


def _axis_count(padded, tile, halo, multiple):
    """Fewest windows of `tile` that span `padded` pixels with steps of at most
    `tile - 2 * halo` rounded down to `multiple`."""
    step = (tile - 2 * halo) // multiple * multiple
    return 1 + max(0, -(-(padded - tile) // step))


def _axis_spans(length, padded, tile, halo, multiple):
    """Tiles along one axis of an image `length` long, padded by `halo` before it and to
    `padded` in all (packed pixels); spans are in padded coordinates except the cores."""
    count = _axis_count(padded, tile, halo, multiple)
    # Windows spread evenly over the padded frame, origins on the grid: the gaps are
    # `multiple * floor(...)` differences of an even spacing no larger than the step, so
    # none exceeds the step.
    room = (padded - tile) // multiple
    origins = [multiple * (i * room // (count - 1)) if count > 1 else 0 for i in range(count)]
    pairs = list(zip(origins[:-1], origins[1:], strict=True))
    # Core edges sit in the middle of each overlap; overlaps are multiples of 16, so even.
    # `margins` is the context between an interior core edge and either window's edge (at
    # least `halo`). Image coordinates are padded ones minus `halo`; the first core starts
    # and the last ends on the image edge, where the reflect padding gives `halo` of context.
    edges = [0] + [(a + tile + b) // 2 - halo for a, b in pairs] + [length]
    margins = [0] + [(a + tile - b) // 2 for a, b in pairs] + [0]
    sizes = [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
    # Feather ramps span the middle half of each overlap, so every pixel a tile contributes
    # keeps at least half the margin of context (ramps reaching the window edge let pixels
    # with almost no context through: measured >2 8-bit levels of seam error even at halo
    # 64); clipped so that the two ramps of one core never meet (a partition of unity).
    ramps = [0] + [
        min(margins[i] // 2, sizes[i - 1] // 2, sizes[i] // 2) for i in range(1, len(origins))
    ] + [0]
    return [
        _Span(origin, edges[i], edges[i + 1], ramps[i], ramps[i + 1])
        for i, origin in enumerate(origins)
    ]


def tile_plan(height, width, tile, halo, multiple=SIZE_MULTIPLE):
    """Plans overlapping full-size tiles over a packed image.

    Args:
        height, width: int, the packed image size in packed pixels (any positive size; the
            image is padded by `halo` on every side and more as the module docstring
            describes, see `padded_size`).
        tile: int, the side of every square window in packed pixels, a multiple of `multiple`.
        halo: int >= 0, the minimum context in packed pixels between a core's interior edge
            and its window's edge; `tile - 2 * halo >= multiple`. The effective halo is rounded
            up where the 16-pixel grid requires (e.g. halo 4 acts as 8) and is larger next to
            the last, inward-shifted tile.
        multiple: int, the model's size multiple (16 for the U-Net).

    Returns:
        list of `Tile`, row-major. Windows are `tile x tile` and inside the padded frame;
        cores partition `[0, height) x [0, width)`.

    Example:
    >>> plan = tile_plan(100, 150, tile=64, halo=8)  # padded to 128 x 176
    >>> len(plan), [t.left for t in plan[:4]], plan[-1].top  # windows spread evenly
    (12, [0, 32, 64, 112], 64)
    """
    _check_plan_args(height, width, tile, halo, multiple)
    padded_h, padded_w = padded_size(height, width, tile, halo, multiple)
    rows = _axis_spans(height, padded_h, tile, halo, multiple)
    cols = _axis_spans(width, padded_w, tile, halo, multiple)
    return [
        Tile(
            top=r.origin, left=c.origin, height=tile, width=tile,
            core_top=r.start, core_left=c.start,
            core_height=r.stop - r.start, core_width=c.stop - c.start,
            ramps=(r.ramp_before, r.ramp_after, c.ramp_before, c.ramp_after),
            pad=halo,
        )
        for r in rows
        for c in cols
    ]


def fit_tile(height, width, halo=None, max_tile=None, multiple=SIZE_MULTIPLE):
    """The tile side that covers a frame with the fewest tiles and the least overlap.

    Chooses the tile count first, the fewest square windows no larger than `max_tile` per
    axis, then the smallest tile on the `multiple` grid that covers the padded frame with that
    count: each axis needs `tile >= length / count + 2 * halo`. A Sony frame (1424 x 2128
    packed) at the default halo of 96 gets 912 (2 x 3 tiles, 1.65x the frame's pixels; at
    halo 64, 848 and 1.42x).

    Args:
        height, width: int, the packed frame size in packed pixels.
        halo: int >= 0 (default `DEFAULT_HALO`).
        max_tile: int, the largest tile allowed, a multiple of `multiple` (default
            `DEFAULT_TILE`); the answer is never larger.
        multiple: int, the model's size multiple.

    Returns:
        int, the tile side in packed pixels, a multiple of `multiple`, at most `max_tile`.

    Example:
    >>> fit_tile(1424, 2128, halo=32, max_tile=800), fit_tile(1424, 2128, 32, 512)
    (784, 496)
    """
    halo = DEFAULT_HALO if halo is None else halo
    max_tile = DEFAULT_TILE if max_tile is None else max_tile
    _check_plan_args(height, width, max_tile, halo, multiple)
    best = multiple
    for length in (height, width):
        count = _axis_count(-(-(length + 2 * halo) // multiple) * multiple, max_tile, halo,
                            multiple)
        need = -(-length // count) + 2 * halo
        best = max(best, -(-need // multiple) * multiple)
    best = min(best, max_tile)
    # Rounding may leave one axis a window short at the smaller tile; the plan then adds a
    # window, so keep the smaller tile only if it does not raise the tile count.
    counts = [
        _axis_count(padded, best, halo, multiple)
        for padded in padded_size(height, width, best, halo, multiple)
    ]
    maximal = [
        _axis_count(padded, max_tile, halo, multiple)
        for padded in padded_size(height, width, max_tile, halo, multiple)
    ]
    return best if counts == maximal else max_tile


def _axis_weights(origin, size, start, stop, ramp_before, ramp_after, block):
    """1-D feather weights over a window, in output pixels: a linear rise centred on `start`
    and a linear fall centred on `stop` (packed pixels), each `2 * ramp` wide; a step when
    the ramp is 0. The fall is `1 - rise` of the neighbour, so neighbours sum to one."""
    centres = (origin * block + np.arange(size * block)) + 0.5

    def rise(edge, ramp):
        if ramp == 0:
            return (centres >= edge * block).astype(np.float64)
        return np.clip((centres - (edge - ramp) * block) / (2 * ramp * block), 0.0, 1.0)

    return rise(start, ramp_before) * (1.0 - rise(stop, ramp_after))


def feather_weights(tile, block=1):
    """Feather weights of one tile over its window, `(height * block, width * block)` float32
    in [0, 1], in output pixels: 1 inside the core away from the ramps, 0 outside the core
    widened by the ramps. Summed over the tiles of a plan they are 1 at every image pixel."""
    top, bottom, left, right = tile.ramps
    core_top, core_left = tile.core_top + tile.pad, tile.core_left + tile.pad
    rows = _axis_weights(tile.top, tile.height, core_top,
                         core_top + tile.core_height, top, bottom, block)
    cols = _axis_weights(tile.left, tile.width, core_left,
                         core_left + tile.core_width, left, right, block)
    return np.outer(rows, cols).astype(np.float32)


def reflect_indices(length, padded, before=0):
    """Source indices `[0, length)` of the `padded` positions of a reflect-padded axis whose
    first `before` positions precede the image, as `np.pad(mode="reflect")` pads (repeatedly
    when the padding is longer than the image)."""
    positions = np.arange(padded) - before
    if length == 1:
        return np.zeros(padded, dtype=np.intp)
    period = 2 * (length - 1)
    positions = positions % period
    return np.where(positions < length, positions, period - positions).astype(np.intp)


def _check_packed(packed):
    packed = np.asarray(packed)
    if packed.ndim != 3 or min(packed.shape) < 1:
        raise ValueError(
            f"packed must be one packed RAW image (H, W, C) with H, W, C >= 1. "
            f"Received: shape={packed.shape}"
        )
    return packed


def _check_block(block):
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"block must be a positive int (2 Bayer, 3 X-Trans). Received: "
                         f"block={block!r}")


def _check_run(packed, block, blend, batch_size):
    """The packed image as an array, after checking the arguments every tiled run takes."""
    packed = _check_packed(packed)
    _check_block(block)
    if blend not in BLENDS:
        raise ValueError(f"blend must be one of {BLENDS}. Received: blend={blend!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")
    return packed


def _checked_output(result, batch_shape, block):
    result = np.asarray(result)
    n, height, width = batch_shape[:3]
    expected = (n, height * block, width * block)
    if result.ndim != 4 or result.shape[:3] != expected:
        raise ValueError(
            f"predict returned shape {result.shape} for a batch of shape {batch_shape}; "
            f"expected {expected + ('channels',)} with block={block} (2 Bayer, 3 X-Trans)"
        )
    return result


def run_tiled(
    predict,
    packed,
    tile=DEFAULT_TILE,
    halo=DEFAULT_HALO,
    block=2,
    blend=DEFAULT_BLEND,
    batch_size=1,
    progress=False,
    multiple=SIZE_MULTIPLE,
):
    """Runs `predict` over a packed image in overlapping tiles and assembles the output.

    Memory: the output, one float32 batch of input tiles and `predict`'s output for it (plus
    one feather weight map); the padded frame is never built.

    Args:
        predict: callable mapping a float32 numpy batch `(batch_size, tile, tile, C)` to
            `(batch_size, tile * block, tile * block, K)` (numpy or tensor); e.g.
            `keras_predictor(model)` or a TFLite interpreter wrapper. Every call gets exactly
            that shape (the last batch is filled up with repeats of its last tile), so
            fixed-shape models work and a `tf.function` traces once.
        packed: numpy array `(H, W, C)`, packed and amplified RAW (nominally [0, 1]), any H, W;
            any float dtype (converted to float32 tile by tile; memory maps work).
        tile: int, window side in packed pixels, a multiple of `multiple`.
        halo: int, minimum context around each core in packed pixels (see `tile_plan`), and
            the reflect padding around the frame.
        block: int, output pixels per packed pixel per side (2 Bayer, 3 X-Trans).
        blend: "crop" or "feather" (see the module docstring).
        batch_size: int >= 1, tiles per `predict` call.
        progress: show a tqdm progress bar over tiles.
        multiple: int, the model's size multiple.

    Returns:
        float32 numpy array `(H * block, W * block, K)` in `predict`'s value range (sRGB in
        about [0, 1] for the lsid_keras models), in output pixels.
    """
    packed = _check_run(packed, block, blend, batch_size)
    height, width, _ = packed.shape
    output = None
    for group, batch in _tile_batches(packed, tile, halo, batch_size, progress, multiple):
        result = _checked_output(predict(batch), batch.shape, block)
        del batch
        if output is None:
            output = np.zeros((height * block, width * block, result.shape[3]), np.float32)
        for t, tile_out in zip(group, result[: len(group)], strict=True):
            _blend_tile(output, t, tile_out, block, blend)
    return output


def _bottleneck_span(core_start, core_size, length, pad, padded_untiled, multiple):
    """`[start, stop)` of a tile's share of the bottleneck map along one axis, in bottleneck
    pixels of the padded frame: its core's edges (a neighbour's share starts where this one
    stops), the first share from 0 and the last to the end of the frame an untiled run pads."""
    start = 0 if core_start == 0 else (core_start + pad) // multiple
    end = core_start + core_size
    stop = padded_untiled // multiple if end == length else (end + pad) // multiple
    return start, min(stop, padded_untiled // multiple)


def frame_mean(features, packed, tile=DEFAULT_TILE, halo=DEFAULT_HALO, batch_size=1,
               progress=False, multiple=SIZE_MULTIPLE):
    """The average of a global model's bottleneck map over a whole frame, computed in tiles.

    Each tile's encoder output (`features`) contributes its share of the bottleneck map (see
    the module docstring); the shares partition the bottleneck map of the frame padded as
    `run_untiled` pads it, so the result is the average an untiled pass computes, up to the
    tiles' seam error.

    Args:
        features: callable mapping a float32 batch `(batch_size, tile, tile, C)` to the
            bottleneck map `(batch_size, tile / multiple, tile / multiple, K)`.
        packed, tile, halo, batch_size, progress, multiple: as `run_tiled`.

    Returns:
        float32 numpy array `(1, 1, 1, K)`.
    """
    packed = _check_packed(packed)
    average = _FrameAverage(packed.shape, tile, multiple)
    for group, batch in _tile_batches(packed, tile, halo, batch_size, progress, multiple,
                                      desc="global pass"):
        average.add(group, features(batch), batch.shape[0])
    return average.mean()


class _FrameAverage:
    """Sums each tile's share of the bottleneck map (its core, in stride-`multiple` cells)
    into the average over the frame padded as `run_untiled` pads it."""

    def __init__(self, packed_shape, tile, multiple):
        self.height, self.width = packed_shape[:2]
        self.tile, self.multiple = tile, multiple
        self.untiled = None
        self.total = None

    def add(self, group, bottleneck, batch):
        """Adds the shares of `group`'s tiles; `bottleneck` is their `(batch, tile / multiple,
        tile / multiple, K)` map (the batch's filled-up rows are ignored)."""
        multiple, side = self.multiple, self.tile // self.multiple
        bottleneck = np.asarray(bottleneck)
        if bottleneck.ndim != 4 or bottleneck.shape[:3] != (batch, side, side):
            raise ValueError(f"features returned shape {bottleneck.shape} for a batch of "
                             f"{batch} tiles of {self.tile}; expected {(batch, side, side)} "
                             "+ (channels,)")
        if self.total is None:
            self.total = np.zeros(bottleneck.shape[3], np.float64)
        for t, tile_map in zip(group, bottleneck[: len(group)], strict=True):
            if self.untiled is None:
                self.untiled = padded_size(self.height, self.width, multiple, t.pad, multiple)
            untiled_h, untiled_w = self.untiled
            top, bottom = _bottleneck_span(t.core_top, t.core_height, self.height, t.pad,
                                           untiled_h, multiple)
            left, right = _bottleneck_span(t.core_left, t.core_width, self.width, t.pad,
                                           untiled_w, multiple)
            rows = slice(top - t.top // multiple, bottom - t.top // multiple)
            cols = slice(left - t.left // multiple, right - t.left // multiple)
            self.total += tile_map[rows, cols].astype(np.float64).sum(axis=(0, 1))

    def mean(self):
        """float32 `(1, 1, 1, K)`: the frame's average."""
        untiled_h, untiled_w = self.untiled
        count = (untiled_h // self.multiple) * (untiled_w // self.multiple)
        return (self.total / count).astype(np.float32).reshape(1, 1, 1, -1)


#: dtype `run_tiled_split` keeps each tile's encoder outputs in between its two passes:
#: half the memory of float32, 11 significant bits (relative error under 5e-4, far below one
#: 8-bit level of output).
KEPT_DTYPE = np.float16


def run_tiled_split(encode, decode, packed, tile=DEFAULT_TILE, halo=DEFAULT_HALO, block=2,
                    blend=DEFAULT_BLEND, batch_size=1, progress=False, multiple=SIZE_MULTIPLE,
                    kept_dtype=KEPT_DTYPE, bottleneck_values=None, output_dtype=np.float32):
    """A global model over a packed image in tiles, with one encoder pass per tile.

    Pass 1 runs every tile through `encode` and keeps its outputs (float ones in
    `kept_dtype`, others, such as an int8 export's quantised maps, as they are) while the
    frame's average of the bottleneck map is summed from the tiles' shares (as `frame_mean`);
    pass 2 runs every kept tile through `decode` with that average and assembles the output
    as `run_tiled` does. The result equals `run_tiled` of the whole network given the average
    from `frame_mean` (two encoder passes) up to `kept_dtype`'s rounding
    (`lsid_keras.models.global_branch`).

    Memory: `run_tiled`'s, plus every tile's encoder outputs in `kept_dtype` (for the
    lsid U-Net `31 * width / 16` values per packed pixel of tile). The decoder pass does not
    need the input frame: hand it over in a one-item list (`packed`) and it is freed first.

    Args:
        encode: callable mapping a float32 batch `(batch_size, tile, tile, C)` to a list of
            arrays whose last is the bottleneck map `(batch_size, tile / multiple,
            tile / multiple, K)` (e.g. `keras_predictor(encoder, output_dtype=KEPT_DTYPE)`,
            which casts in the graph, faster than numpy).
        decode: callable mapping `(kept, frame_mean)`, `kept` the list `encode` returned
            as `kept_dtype` arrays and `frame_mean` `(batch_size, 1, 1, K)` float32, to the
            output batch `(batch_size, tile * block, tile * block, channels)`.
        packed: as `run_tiled`, or a one-item list holding it, which the run empties once the
            encoder pass has read every tile: a caller that hands its only reference over
            frees the frame before the decoder pass (48 MB for a 12 MP Bayer frame).
        tile, halo, block, blend, batch_size, progress, multiple: as `run_tiled`.
        kept_dtype: numpy dtype float encoder outputs are kept in between the passes.
        bottleneck_values: callable turning the last array `encode` returns into the float
            values the average is taken of (e.g. dequantising an int8 map), or None (the
            array as it is).
        output_dtype: dtype of the assembled output: float32, float16 for a decoder whose
            output carries no more than 8 bits (an int8 export's), half the memory, or int8
            for such a decoder's codes as they are (`decode` must give them; crop blending
            only, as codes cannot be weighted).

    Returns:
        numpy array `(H * block, W * block, K)` of `output_dtype`, as `run_tiled`.
    """
    from lsid_keras.progress import progress_bar

    handed_over = packed if isinstance(packed, list) else None
    if handed_over is not None:
        if len(handed_over) != 1:
            raise ValueError(f"packed handed over as a list must hold one array. Received "
                             f"{len(handed_over)} items")
        packed = handed_over[0]
    packed = _check_run(packed, block, blend, batch_size)
    if np.dtype(output_dtype) == np.int8 and blend != "crop":
        raise ValueError(f"int8 output (codes) needs blend='crop'. Received: blend={blend!r}")
    height, width, _ = packed.shape
    average = _FrameAverage(packed.shape, tile, multiple)
    kept = []  # per group of tiles: (tiles, [encoder outputs in kept_dtype])
    for group, batch in _tile_batches(packed, tile, halo, batch_size, progress, multiple,
                                      desc="encoder"):
        outputs = [np.asarray(output) for output in encode(batch)]
        bottleneck = outputs[-1] if bottleneck_values is None else bottleneck_values(outputs[-1])
        average.add(group, bottleneck, batch.shape[0])
        kept.append((group, [output.astype(kept_dtype, copy=False) if output.dtype.kind == "f"
                             else output for output in outputs]))
        del batch, outputs, bottleneck
    if handed_over is not None:
        handed_over.clear()
    del packed
    mean = np.repeat(average.mean(), batch_size, axis=0)
    output = None
    with progress_bar(total=sum(len(g) for g, _ in kept), desc="decoder", unit="tile",
                      disable=not progress) as bar:
        while kept:
            group, outputs = kept.pop(0)  # freed as it is used: the peak falls pass by pass
            shape = (batch_size, tile, tile)
            result = _checked_output(
                decode(outputs, mean), shape, block)
            del outputs
            if output is None:
                output = np.zeros((height * block, width * block, result.shape[3]),
                                  output_dtype)
            for t, tile_out in zip(group, result[: len(group)], strict=True):
                _blend_tile(output, t, tile_out, block, blend)
            del result
            bar.update(len(group))
    return output


def _tile_batches(packed, tile, halo, batch_size, progress, multiple, desc="tiles"):
    """Yields `(tiles, batch)`: the plan's tiles in groups of `batch_size` and their windows
    of the padded frame as one float32 batch (int8 for an int8 frame: a quantised model's
    codes, a quarter of the bytes to cut), filled up with repeats of the last tile."""
    from lsid_keras.progress import progress_bar

    height, width, _ = packed.shape
    plan = tile_plan(height, width, tile, halo, multiple)
    padded_h, padded_w = padded_size(height, width, tile, halo, multiple)
    source_rows = reflect_indices(height, padded_h, halo)
    source_cols = reflect_indices(width, padded_w, halo)
    codes = packed.dtype == np.int8
    if codes:  # the padded frame once (a quarter of float32's bytes), tiles cut as slices
        packed = np.pad(packed, ((halo, padded_h - height - halo),
                                 (halo, padded_w - width - halo), (0, 0)), mode="reflect")
    with progress_bar(total=len(plan), desc=desc, unit="tile", disable=not progress) as bar:
        for first in range(0, len(plan), batch_size):
            group = plan[first:first + batch_size]
            batch = np.empty((batch_size, tile, tile, packed.shape[2]),
                             dtype=np.int8 if codes else np.float32)
            for k in range(batch_size):
                rows, cols = group[min(k, len(group) - 1)].window()
                batch[k] = packed[rows, cols] if codes else packed[
                    np.ix_(source_rows[rows], source_cols[cols])]
            yield group, batch
            bar.update(len(group))


def _blend_tile(output, t, tile_out, block, blend):
    """Writes (crop) or adds (feather) one tile's output into the image."""
    rows, cols = t.blend_region(block) if blend == "feather" else t.core(block)
    top, left = (t.top - t.pad) * block, (t.left - t.pad) * block
    local = (slice(rows.start - top, rows.stop - top), slice(cols.start - left, cols.stop - left))
    if blend == "crop":
        output[rows, cols] = tile_out[local]
    else:
        weights = feather_weights(t, block)[local]
        output[rows, cols] += weights[..., None] * tile_out[local]


def run_untiled(predict, packed, block=2, halo=DEFAULT_HALO, multiple=SIZE_MULTIPLE):
    """Runs `predict` once on the whole image: reflect-pad by `halo` on every side and up to a
    multiple of `multiple` (the padded frame `run_tiled` reads, see the module docstring), one
    call with a batch of one, crop to `(H * block, W * block, K)` float32. The reference that
    `run_tiled` with the same `halo` approximates, edges included; needs the memory of a
    whole-frame forward pass. `halo` >= the receptive field's reach (107 for the U-Net) gives
    the network's answer on the endlessly reflected frame."""
    packed = _check_packed(packed)
    _check_block(block)
    if isinstance(halo, bool) or not isinstance(halo, (int, np.integer)) or halo < 0:
        raise ValueError(f"halo must be an int >= 0. Received: halo={halo!r}")
    height, width, _ = packed.shape
    padded_h, padded_w = padded_size(height, width, multiple, halo, multiple)
    frame = packed[np.ix_(reflect_indices(height, padded_h, halo),
                          reflect_indices(width, padded_w, halo))]
    batch = frame[None].astype(np.float32)
    result = _checked_output(predict(batch), batch.shape, block)
    rows = slice(halo * block, (halo + height) * block)
    cols = slice(halo * block, (halo + width) * block)
    return np.ascontiguousarray(result[0, rows, cols], dtype=np.float32)


class _KerasPredictor:
    """`predict` callable over a Keras model, compiled once per input shape."""

    def __init__(self, model, output_dtype=None):
        import tensorflow as tf

        self.model = model
        self._tf = tf

        def forward(inputs):
            # Inputs of any float dtype (float16 kept maps) are cast here, in the graph,
            # where the cast is several times faster than numpy's.
            inputs = [tf.cast(x, tf.float32) for x in inputs]
            result = model(inputs if len(inputs) > 1 else inputs[0], training=False)
            if output_dtype is None:
                return result
            return tf.nest.map_structure(lambda r: tf.cast(r, output_dtype), result)

        self._forward = tf.function(forward)

    def __call__(self, batch, frame_mean=None):
        inputs = list(batch) if isinstance(batch, (list, tuple)) else [batch]
        if frame_mean is not None:
            inputs.append(frame_mean)
        inputs = [self._tf.convert_to_tensor(
            x if getattr(x, "dtype", None) in (np.float16, np.float32)
            else np.asarray(x, dtype=np.float32)) for x in inputs]
        result = self._forward(inputs)
        if isinstance(result, (list, tuple)):
            return [r.numpy() for r in result]
        return result.numpy()

    @property
    def traces(self):
        """How many graphs have been traced (one per distinct batch shape)."""
        return self._forward.experimental_get_tracing_count()


@dataclass(frozen=True)
class EncoderDecoder:
    """A global model's halves as `run_tiled_split` takes them (its `encode`, `decode` and
    `bottleneck_values` arguments); `lsid_keras.export.litert.LiteRTEncoderDecoder` offers
    the same three attributes for an export."""

    encode: object
    decode: object
    bottleneck_values: object = None


def keras_encoder_decoder(encoder, decoder):
    """`EncoderDecoder` over the Keras halves of `split_encoder_decoder`; the encoder's
    outputs are cast to `KEPT_DTYPE` in its graph."""
    return EncoderDecoder(keras_predictor(encoder, KEPT_DTYPE), keras_predictor(decoder))


def keras_predictor(model, output_dtype=None):
    """A `predict` callable for `run_tiled` / `run_untiled` over a Keras model.

    The forward pass runs in one `tf.function`, traced once per batch shape: `run_tiled` calls
    it with one shape only, so a whole frame costs one trace (`model.predict` would build its
    data adapter on every tile; eager calls would skip graph optimisation).

    Args:
        model: a `keras.Model` mapping `(n, h, w, C)` to `(n, h * b, w * b, K)`, e.g.
            `lsid_keras.models.get_model(...)`; or any other model, e.g. the halves of
            `lsid_keras.models.global_branch.split_encoder_decoder`, whose inputs and
            outputs are lists.
        output_dtype: None (the model's output dtype, float32 for the lsid models) or a
            dtype the outputs are cast to inside the graph (`KEPT_DTYPE` for an encoder whose
            outputs `run_tiled_split` keeps).

    Returns:
        callable `predict(batch, frame_mean=None) -> numpy float32`: `batch` one array or a
        list of arrays, `frame_mean` appended to the inputs when given; a list of float32
        arrays for a model with several outputs. It has a `traces` property counting
        traces.
    """
    return _KerasPredictor(model, output_dtype)
