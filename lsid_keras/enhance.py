"""Full-resolution enhancement of one RAW file: read, pack, amplify, tiled network, sRGB.

The same `Enhancer` serves `lsid enhance`, `lsid evaluate` and the quickstart, so every one of
them packs, amplifies and tiles in exactly one way.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from lsid_keras.tiling import DEFAULT_HALO, DEFAULT_TILE, SIZE_MULTIPLE, run_tiled

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
    """

    predict: object
    packed_channels: int
    block_size: int
    source: str
    fixed_tile: int | None = None

    @property
    def cfa_kind(self):
        return "bayer" if self.packed_channels == 4 else "xtrans"


def load_enhancer(path):
    """An `Enhancer` for a `.keras` model file.

    Raises:
        EnhanceError: missing or unreadable file, or an unsupported format.
    """
    from lsid_keras.models import ModelFileError, load_model
    from lsid_keras.tiling import keras_predictor

    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    if extension != ".keras":
        raise EnhanceError(f"{path}: unsupported model format {extension or '(none)'}; "
                           "expected a .keras file")
    try:
        model = load_model(path)
    except ModelFileError as error:
        raise EnhanceError(str(error)) from None
    channels = model.input_shape[-1]
    block = model.output_shape[1] // model.input_shape[1] if model.input_shape[1] else None
    if block is None:
        block = getattr(model.layers[-1], "block_size", None)
    if channels not in (4, 9) or block not in (2, 3):
        raise EnhanceError(f"{path}: not a low-light model (takes {channels} channels)")
    return Enhancer(keras_predictor(model), channels, block, path)


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


def enhance_packed(enhancer, packed, tile=DEFAULT_TILE, halo=DEFAULT_HALO, progress=False):
    """Runs the network over an amplified packed frame; returns (H*b, W*b, 3) in [0, 1]."""
    tile = enhancer.fixed_tile or tile
    check_tiling(tile, halo)
    rgb = run_tiled(enhancer.predict, packed, tile=tile, halo=halo,
                    block=enhancer.block_size, progress=progress)
    return np.clip(rgb, 0.0, 1.0)


def enhance_file(enhancer, path, ratio="auto", contrast=False, tile=DEFAULT_TILE,
                 halo=DEFAULT_HALO, progress=False):
    """Enhances one RAW file (any LibRaw format) with `enhancer`.

    Args:
        enhancer: from `load_enhancer`.
        path: RAW file.
        ratio: amplification (> 0), or "auto" (`estimate_ratio`).
        contrast: apply Zamir et al.'s contrast improvement to the output.
        tile, halo: tiling in packed pixels (multiples of 16; see `lsid_keras.tiling`).

    Raises:
        RawError subclasses for unreadable files; EnhanceError for a frame the model cannot
        take (e.g. an X-Trans frame into a Bayer model) or bad settings.
    """
    from lsid_keras.raw import amplify, pack, packed_channels, read_raw

    start = time.perf_counter()
    if ratio != "auto" and not (isinstance(ratio, (int, float)) and ratio > 0):
        raise EnhanceError(f"ratio must be > 0 or 'auto'. Received: ratio={ratio!r}")
    check_tiling(enhancer.fixed_tile or tile, halo)
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
