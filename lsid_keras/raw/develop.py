"""Developing RAW files with LibRaw: SID's ground truth and the traditional-pipeline baseline."""

from __future__ import annotations

import numpy as np
import rawpy

from lsid_keras.raw.errors import CorruptRawFileError
from lsid_keras.raw.libraw import libraw_errors
from lsid_keras.raw.pack import packing_window
from lsid_keras.raw.read import MAX_PIXELS, cfa_and_black_level, check_raw_file, unpack_mosaic

#: Chen et al.'s ground-truth rendering (REFERENCE.md), plus `user_flip=0` so the developed image
#: keeps the sensor's orientation and stays pixel-aligned with the packed mosaic.
REFERENCE_POSTPROCESS = {
    "use_camera_wb": True,
    "half_size": False,
    "no_auto_bright": True,
    "output_bps": 16,
    "user_flip": 0,
}
#: LibRaw's X-Trans demosaic works on 512-pixel tiles and fails ("Input/output error") on frames
#: with a side below this; such frames (small synthetic ones; real X-Trans frames are 4000+
#: pixels) are demosaiced bilinearly instead.
XTRANS_DEMOSAIC_MIN_SIDE = 512


def develop(path, ratio=1.0, align=True, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Develops a RAW file with LibRaw as SID's reference code develops its ground truth.

    With `ratio` > 1 this is also the "traditional pipeline" baseline of the papers: the
    black-subtracted mosaic is multiplied by `ratio` (clipped at the white level) before the
    same rendering.

    X-Trans frames with a side below `XTRANS_DEMOSAIC_MIN_SIDE` pixels are demosaiced
    bilinearly (LibRaw's X-Trans demosaic refuses them).

    Args:
        path: RAW file (any LibRaw format).
        ratio: float > 0, digital gain applied to the mosaic first (1 = as shot).
        align: crop to the area the packer uses (`packing_window`), so the result lines up
            pixel for pixel with the network output for the same file.
        max_pixels: refuse sensors with more pixels than this before decoding (as `read_raw`).

    Returns:
        (H, W, 3) uint16 sRGB (gamma-encoded by LibRaw; divide by 65535 for [0, 1]).

    Raises:
        RawError subclasses naming the file (missing, not RAW, corrupt, too large, ...), the
        same as `read_raw` for the same file;
        CorruptRawFileError when the developed size differs from the visible mosaic.
    """
    if not ratio > 0:
        raise ValueError(f"ratio must be > 0. Received: ratio={ratio}")
    path = check_raw_file(path)
    with libraw_errors(path):
        raw = rawpy.imread(path)
    with raw, libraw_errors(path):
        unpack_mosaic(raw, path, max_pixels)
        visible = raw.raw_image_visible
        cfa, black = cfa_and_black_level(raw, path)
        if ratio != 1.0:
            reps = (-(-visible.shape[0] // black.shape[0]), -(-visible.shape[1] // black.shape[1]))
            levels = np.tile(black.astype(np.float32), reps)[: visible.shape[0], : visible.shape[1]]
            gained = (visible.astype(np.float32) - levels) * ratio + levels
            visible[...] = np.clip(np.rint(gained), 0, raw.white_level).astype(visible.dtype)
        options = dict(REFERENCE_POSTPROCESS)
        if cfa.shape[0] == 6 and min(visible.shape) < XTRANS_DEMOSAIC_MIN_SIDE:
            options["demosaic_algorithm"] = rawpy.DemosaicAlgorithm.LINEAR
        rgb = raw.postprocess(**options)
        if rgb.shape[:2] != visible.shape:
            raise CorruptRawFileError(
                path,
                f"developed image is {rgb.shape[1]}x{rgb.shape[0]} but the visible mosaic is "
                f"{visible.shape[1]}x{visible.shape[0]}; cannot align it with the packed input",
            )
        if align:
            rows, cols = packing_window(visible.shape, cfa, path)
            rgb = rgb[rows, cols]
        return np.ascontiguousarray(rgb)
