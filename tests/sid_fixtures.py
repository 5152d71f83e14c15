"""A tiny SID-like dataset of DNG pairs (names, layout and list file as in SID)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lsid_keras.raw import write_dng

BLACK, WHITE = 512, 16383


def scene_mosaic(shape, seed):
    """A smooth clean long exposure in DN: black + signal in [0.1, 0.9] of the range."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    fy, fx = rng.uniform(3, 9, size=2)
    signal = 0.5 + 0.4 * np.sin(yy / fy) * np.cos(xx / fx)
    return np.rint(BLACK + signal * (WHITE - BLACK)).astype(np.uint16)


def write_sid_dataset(root, scenes=2, shape=(64, 96), cfa="RGGB", shorts=((0.1, 100), (0.04, 250))):
    """Writes `root/Sony/{short,long}/*.dng` and `root/Sony_train_list.txt`; returns the list."""
    root = Path(root)
    (root / "Sony/short").mkdir(parents=True, exist_ok=True)
    (root / "Sony/long").mkdir(parents=True, exist_ok=True)
    lines = []
    for scene in range(1, scenes + 1):
        clean = scene_mosaic(shape, seed=scene)
        long_name = f"Sony/long/{scene:05d}_00_10s.dng"
        write_dng(root / long_name, clean, cfa, BLACK, WHITE, camera_wb=(2.0, 1.0, 1.6))
        for burst, (exposure, ratio) in enumerate(shorts):
            dark = np.rint(BLACK + (clean.astype(float) - BLACK) / ratio).astype(np.uint16)
            short_name = f"Sony/short/{scene:05d}_{burst:02d}_{exposure:g}s.dng"
            write_dng(root / short_name, dark, cfa, BLACK, WHITE, camera_wb=(2.0, 1.0, 1.6))
            lines.append(f"./{short_name} ./{long_name} ISO200 F9")
    listing = root / "Sony_train_list.txt"
    listing.write_text("\n".join(lines) + "\n")
    return listing
