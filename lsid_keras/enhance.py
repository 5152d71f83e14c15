"""Full-resolution enhancement of one RAW file: read, pack, amplify, tiled network, sRGB.

The same `Enhancer` serves `lsid enhance`, `lsid evaluate` and the quickstart, so every one of
them packs, amplifies and tiles in exactly one way.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from lsid_keras.tiling import DEFAULT_HALO, DEFAULT_TILE, SIZE_MULTIPLE, fit_tile, run_tiled

#: `--ratio auto` scales the packed frame so its mean linear value reaches this (a well-exposed
#: RAW frame averages about a tenth of the sensor's range), clamped to [1, MAX_AUTO_RATIO].
AUTO_TARGET_MEAN = 0.1
MAX_AUTO_RATIO = 300.0


class EnhanceError(ValueError):
    """A file, model or setting that cannot be enhanced; the message names what and why."""


@dataclass
class Enhancer:
    """A network ready for tiled full-resolution inference.

    Attributes:
        predict: maps float32 `(n, tile, tile, C)` packed, amplified batches to
            `(n, tile * b, tile * b, 3)` sRGB in about [0, 1].
        packed_channels: C, 4 (Bayer) or 9 (X-Trans).
        block_size: b, 2 or 3.
        source: the model file.
        fixed_tile: the only tile size the model takes (fixed-shape exports), or None.
        halo: the halo the model's card prescribes (exports), or None (`DEFAULT_HALO`).
        card: the model card of an exported model, or None.
    """

    predict: object
    packed_channels: int
    block_size: int
    source: str
    fixed_tile: int | None = None
    halo: int | None = None
    card: dict | None = None

    @property
    def cfa_kind(self):
        return "bayer" if self.packed_channels == 4 else "xtrans"


def model_geometry(model, path):
    """`(packed_channels, block_size)` of a Keras lsid model: (4, 2) Bayer or (9, 3) X-Trans.

    Raises:
        EnhanceError: the model does not map packed RAW to RGB at 2x / 3x the resolution.
    """
    try:
        channels = model.input_shape[-1]
        out_channels = model.output_shape[-1]
    except (AttributeError, ValueError):  # several inputs/outputs: not an lsid model
        raise EnhanceError(f"{path}: not an lsid low-light model (expected one input of "
                           "packed RAW and one RGB output)") from None
    block = None
    if model.input_shape[1] and model.output_shape[1]:
        block = model.output_shape[1] // model.input_shape[1]
    if block is None:
        block = getattr(model.layers[-1], "block_size", None)
    if (channels, block) not in ((4, 2), (9, 3)) or out_channels != 3:
        raise EnhanceError(
            f"{path}: not an lsid low-light model (takes {channels} channels, gives "
            f"{out_channels} at block {block}; expected 4 channels -> RGB at 2x or 9 -> RGB "
            "at 3x)"
        )
    return channels, block


def load_enhancer(path, num_threads=None):
    """An `Enhancer` for a `.keras` model or a `.tflite` export (`lsid export`).

    A `.tflite` runs through LiteRT (`lsid_keras.export.litert`) with `num_threads` threads
    (default: all cores); its tile and halo come from its model card.

    Raises:
        EnhanceError: missing or unreadable file, a `.tflite` without a valid card, or an
            unsupported format.
    """
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    if extension == ".tflite":
        return _load_tflite(path, num_threads)
    if extension != ".keras":
        raise EnhanceError(f"{path}: unsupported model format {extension or '(none)'}; "
                           "expected a .keras or .tflite file")
    from lsid_keras.models import ModelFileError, load_model
    from lsid_keras.tiling import keras_predictor

    try:
        model = load_model(path)
    except ModelFileError as error:
        raise EnhanceError(str(error)) from None
    channels, block = model_geometry(model, path)
    return Enhancer(keras_predictor(model), channels, block, path)


def _load_tflite(path, num_threads):
    from lsid_keras.export.card import read_card
    from lsid_keras.export.errors import ExportError
    from lsid_keras.export.litert import LiteRTPredictor

    try:
        card = read_card(path)
        predict = LiteRTPredictor(path, num_threads=num_threads)
    except ExportError as error:
        raise EnhanceError(str(error)) from None
    camera = card["camera"]
    return Enhancer(predict, camera["packed_channels"], camera["block_size"], path,
                    fixed_tile=card["tile"], halo=card["halo"], card=card)


def estimate_ratio(packed, target_mean=AUTO_TARGET_MEAN, max_ratio=MAX_AUTO_RATIO):
    """The amplification that brings a packed frame's mean linear value to `target_mean`.

    Args:
        packed: packed RAW in [0, 1] (not amplified).
        target_mean: wanted mean after amplification, linear [0, 1].

    Returns:
        float in [1, max_ratio].
    """
    mean = float(np.mean(packed, dtype=np.float64))
    if mean <= 0:
        return max_ratio
    return float(np.clip(target_mean / mean, 1.0, max_ratio))


def check_tiling(tile, halo):
    """Raises EnhanceError for a tile size or halo the tiler cannot use."""
    if not isinstance(tile, int) or tile < SIZE_MULTIPLE or tile % SIZE_MULTIPLE:
        raise EnhanceError(f"tile size {tile} is not a multiple of {SIZE_MULTIPLE} (>= 16)")
    if not isinstance(halo, int) or halo < 0 or tile - 2 * halo < SIZE_MULTIPLE:
        raise EnhanceError(
            f"halo {halo} does not fit tile {tile}: need 0 <= halo and tile - 2 * halo >= 16"
        )


@dataclass
class Enhanced:
    """Result of `enhance_file`: the image and how it was made."""

    rgb: np.ndarray  # (H, W, 3) float32 sRGB in [0, 1]
    ratio: float
    ratio_source: str  # "given" or "auto"
    seconds: float


def tiling_for(enhancer, packed_shape, tile=None, halo=None):
    """`(tile, halo)` for a packed frame of `packed_shape`: a fixed-shape export's tile and
    halo from its card (an explicit `halo` wins), else the halo given (default `DEFAULT_HALO`)
    and the tile `fit_tile` sizes for the frame, at most `tile` (default `DEFAULT_TILE`)."""
    if halo is None:
        halo = enhancer.halo if enhancer.halo is not None else DEFAULT_HALO
    if enhancer.fixed_tile:
        check_tiling(enhancer.fixed_tile, halo)
        return enhancer.fixed_tile, halo
    tile = DEFAULT_TILE if tile is None else tile
    check_tiling(tile, halo)
    return fit_tile(packed_shape[0], packed_shape[1], halo, tile), halo


def enhance_packed(enhancer, packed, tile=None, halo=None, progress=False):
    """Runs the network over an amplified packed frame; returns (H*b, W*b, 3) in [0, 1].

    `tile` is the largest tile for models that take any size (see `tiling_for`)."""
    tile, halo = tiling_for(enhancer, packed.shape, tile, halo)
    rgb = run_tiled(enhancer.predict, packed, tile=tile, halo=halo,
                    block=enhancer.block_size, progress=progress)
    return np.clip(rgb, 0.0, 1.0)


def enhance_file(enhancer, path, ratio="auto", contrast=False, tile=None, halo=None,
                 progress=False):
    """Enhances one RAW file (any LibRaw format) with `enhancer`.

    Args:
        enhancer: from `load_enhancer`.
        path: RAW file.
        ratio: amplification (> 0), or "auto" (`estimate_ratio`).
        contrast: apply Zamir et al.'s contrast improvement to the output.
        tile, halo: largest tile and halo in packed pixels (see `tiling_for`; None: the
            defaults, or the model card's).

    Raises:
        RawError subclasses for unreadable files; EnhanceError for a frame the model cannot
        take (e.g. an X-Trans frame into a Bayer model) or bad settings.
    """
    from lsid_keras.raw import amplify, pack, packed_channels, read_raw

    start = time.perf_counter()
    if ratio != "auto" and not (isinstance(ratio, (int, float)) and ratio > 0):
        raise EnhanceError(f"ratio must be > 0 or 'auto'. Received: ratio={ratio!r}")
    tiling_for(enhancer, (SIZE_MULTIPLE, SIZE_MULTIPLE), tile, halo)  # bad settings fail first
    frame = read_raw(path)
    kind = frame.cfa_kind
    if packed_channels(kind) != enhancer.packed_channels:
        raise EnhanceError(
            f"{path}: a {'Bayer' if kind == 'bayer' else 'X-Trans'} frame "
            f"({packed_channels(kind)} packed channels) cannot go into this "
            f"{'Bayer' if enhancer.cfa_kind == 'bayer' else 'X-Trans'} model "
            f"({enhancer.packed_channels} channels, {enhancer.source})"
        )
    packed = pack(frame)
    source = "auto" if ratio == "auto" else "given"
    gain = estimate_ratio(packed) if ratio == "auto" else float(ratio)
    rgb = enhance_packed(enhancer, amplify(packed, gain), tile, halo, progress)
    if contrast:
        from lsid_keras.contrast import improve_contrast

        rgb = improve_contrast(rgb)
    return Enhanced(rgb.astype(np.float32), gain, source, time.perf_counter() - start)
