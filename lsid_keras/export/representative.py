"""Real packed RAW tiles for int8 calibration, QAT fine-tuning and verification.

Two sources, both giving packed, amplified RAW in [0, 1] exactly as inference sees it:
- a `lsid prepare` cache folder (it has `manifest.json`): each pair's packed short exposure,
  amplified by its own ratio (x100 / x250 / x300 in SID);
- a folder of RAW files (DNG, ARW, RAF, ... anything `lsid_keras.raw.read_raw` reads): each
  frame packed and amplified at four ratios, 0.5x, 1x, 2x and 5x the one `--ratio auto` would
  pick (amplified means of about 0.05 to 0.5), so calibration spans the brightness range the
  model meets whether the ratio is estimated or given (SID's x100-x300 on its short
  exposures give means up to ~0.5).
Frames are split by file: the last of them (by name) are held out for verification, so the
PSNR figures are on data the int8 calibration never saw.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from lsid_keras.export.errors import ExportError

#: Amplification multipliers around the auto ratio for RAW folders without known ratios.
AUTO_RATIO_FACTORS = (0.5, 1.0, 2.0, 5.0)
#: At most this many RAW files of a folder are decoded (evenly spaced by name): calibration
#: needs a few hundred tiles, not a whole data set in memory.
MAX_RAW_FILES = 24
RAW_EXTENSIONS = (".dng", ".arw", ".raf", ".nef", ".cr2", ".cr3", ".orf", ".rw2", ".pef",
                  ".srw", ".raw")


@dataclass
class RepresentativeSet:
    """Packed frames with their amplification ratios, and their origin.

    Frames are `(packed, ratio)`: packed RAW `(H, W, C)` in [0, 1] (memory maps for a cache),
    amplified only when cropped (`min(packed * ratio, 1)`), so a large cache is never loaded.

    Attributes:
        calibration: frames for int8 calibration / QAT fine-tuning.
        held_out: frames kept for verification (at least one).
        cfa_kind: "bayer" or "xtrans".
        source: the folder they came from.
        description: one line for the model card.
    """

    calibration: list
    held_out: list
    cfa_kind: str
    source: str
    description: str

    def tiles(self, tile, count, held_out=False, seed=0):
        """`count` random `(1, tile, tile, C)` float32 crops (frames smaller than the tile are
        reflect-padded, as the tiler pads them), cycling over the frames."""
        from lsid_keras.tiling import reflect_indices

        frames = self.held_out if held_out else self.calibration
        rng = np.random.default_rng(seed)
        out = []
        for i in range(count):
            frame, ratio = frames[i % len(frames)]
            height, width, _ = frame.shape
            top = int(rng.integers(0, max(1, height - tile + 1)))
            left = int(rng.integers(0, max(1, width - tile + 1)))
            rows = reflect_indices(height, tile, -top)
            cols = reflect_indices(width, tile, -left)
            crop = np.asarray(frame[np.ix_(rows, cols)], np.float32)
            out.append(np.minimum(crop * np.float32(ratio), 1.0)[None])
        return out

    def frame(self, index=0):
        """Held-out frame `index`, amplified: `(H, W, C)` float32 in [0, 1]."""
        packed, ratio = self.held_out[index % len(self.held_out)]
        return np.minimum(np.asarray(packed, np.float32) * np.float32(ratio), 1.0)


def _from_cache(folder):
    from lsid_keras.data.cache import load_manifest
    from lsid_keras.errors import LsidError

    try:
        pairs = load_manifest(folder, check_sources=False)
    except LsidError as error:
        raise ExportError(str(error)) from None
    pairs = sorted(pairs, key=lambda p: p.input_file)
    if not pairs:
        raise ExportError(f"{folder}: the cache holds no pairs; representative data needs at "
                          "least one")
    kinds = {p.cfa_kind for p in pairs}
    if len(kinds) > 1:
        raise ExportError(f"{folder}: the cache mixes {sorted(kinds)} frames")
    frames = [[(np.load(p.input_file, mmap_mode="r"), p.ratio)] for p in pairs]
    ratios = sorted({p.ratio for p in pairs})
    return frames, kinds.pop(), f"{len(pairs)} cached pairs of {folder} at ratios {ratios}"


def _from_raw_folder(folder):
    from lsid_keras.enhance import estimate_ratio
    from lsid_keras.errors import LsidError
    from lsid_keras.raw import pack, read_raw

    names = sorted(n for n in os.listdir(folder)
                   if n.lower().endswith(RAW_EXTENSIONS) and not n.startswith("."))
    if not names:
        raise ExportError(f"{folder}: no RAW files ({', '.join(RAW_EXTENSIONS)}) and no "
                          "manifest.json of a `lsid prepare` cache; representative data "
                          "needs real frames")
    if len(names) > MAX_RAW_FILES:
        names = [names[i] for i in np.linspace(0, len(names) - 1, MAX_RAW_FILES).astype(int)]
    frames, kinds = [], set()
    for name in names:
        try:
            frame = read_raw(os.path.join(folder, name))
        except LsidError as error:
            raise ExportError(str(error)) from None
        kinds.add(frame.cfa_kind)
        packed = pack(frame)
        auto = estimate_ratio(packed)
        frames.append([(packed, max(1.0, auto * factor)) for factor in AUTO_RATIO_FACTORS])
    if len(kinds) > 1:
        raise ExportError(f"{folder}: the folder mixes {sorted(kinds)} RAW files")
    return frames, kinds.pop(), (f"{len(names)} RAW files of {folder}, each at "
                                 f"{list(AUTO_RATIO_FACTORS)} x its auto ratio")


def load_representative(path, cfa_kind=None):
    """Reads a representative set from a cache folder or a folder of RAW files.

    Args:
        path: `lsid prepare` cache folder, or folder of RAW files.
        cfa_kind: "bayer" / "xtrans" the model takes, checked against the frames (None: any).

    Raises:
        ExportError: missing or empty folder, unreadable files, or frames of another CFA.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise ExportError(f"{path}: representative data folder not found (expected a "
                          "`lsid prepare` cache or a folder of RAW files)")
    if os.path.exists(os.path.join(path, "manifest.json")):
        frames, kind, description = _from_cache(path)
    else:
        frames, kind, description = _from_raw_folder(path)
    if cfa_kind is not None and kind != cfa_kind:
        raise ExportError(f"{path}: representative frames are {kind} but the model takes "
                          f"{cfa_kind} input")
    # `frames` holds one list per file. Hold out the last fifth of the files (at least one);
    # with one file, calibrate and verify on different crops of it.
    held = max(1, len(frames) // 5)
    calibration = [f for group in (frames[:-held] or frames) for f in group]
    held_out = [f for group in frames[-held:] for f in group]
    return RepresentativeSet(calibration, held_out, kind, path, description)


def synthetic_tiles(tile, channels, count, seed=0):
    """Smooth random `(1, tile, tile, channels)` float32 tiles in [0, 1], for verification
    when no representative data is given (stated as such in the card)."""
    rng = np.random.default_rng(seed)
    tiles = []
    for _ in range(count):
        coarse = rng.uniform(0.0, 1.0, (tile // 16 + 1, tile // 16 + 1, channels))
        image = np.kron(coarse, np.ones((16, 16, 1)))[:tile, :tile]
        noise = rng.normal(0, 0.02, image.shape)
        tiles.append(np.clip(image + noise, 0, 1).astype(np.float32)[None])
    return tiles
