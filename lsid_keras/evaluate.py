"""Evaluation on SID-style lists with the reference protocol, for networks and the ISP baseline.

Whole frames in one pass when they fit in memory (else tiles); ground truth developed as the
reference does; PSNR and SSIM on 8-bit RGB (`lsid_keras.metrics`, protocol "reference");
results per image and per amplification ratio
(x100 / x250 / x300, the columns of the papers' tables).
"""

from __future__ import annotations

import csv
import os
import time
from collections import defaultdict

import numpy as np

from lsid_keras.atomic import atomic_output
from lsid_keras.tiling import DEFAULT_HALO

METHODS = ("network", "isp")
CSV_FIELDS = ("short_path", "long_path", "scene", "burst", "ratio", "psnr", "ssim", "lpips",
              "seconds")


def _lpips_scorer(enabled, log):
    """An LPIPS function when the `lpips` package and its weights load; else None (logged)."""
    if not enabled:
        return None
    try:
        import lpips
        import torch

        net = lpips.LPIPS(net="alex", verbose=False)
    except Exception as error:  # noqa: BLE001 - any failure means "not available here"
        log(f"LPIPS skipped: needs the lpips package (PyTorch) and its AlexNet weights ({error})")
        return None

    def score(output, target):
        def tensor(image):
            return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None] * 2 - 1

        with torch.no_grad():
            return float(net(tensor(output), tensor(target)))

    return score


def evaluate_pairs(pairs, method="network", enhancer=None, tile="auto", halo=DEFAULT_HALO,
                   lpips=False, save_dir=None, progress=True, log=print, colour="network",
                   fusion=False):
    """Scores every pair; returns (rows, summary).

    Args:
        pairs: `SidPair`s from `read_pair_list`.
        method: "network" (needs `enhancer`) or "isp" (the traditional pipeline: the short
            exposure scaled by the ratio and developed by LibRaw).
        enhancer: from `lsid_keras.enhance.load_enhancer`.
        tile, halo: tiling in packed pixels (`lsid_keras.enhance.enhance_packed`): "auto"
            (default) runs each whole frame in one pass, as the papers evaluate, when it fits
            in memory, and tiles otherwise; 0 always whole frames; N tiles of at most N.
        lpips: also compute LPIPS when available (skipped with a message otherwise).
        save_dir: write each output as an 8-bit PNG here (as the reference protocol does).
        progress: tqdm progress bar.
        colour: for "network": "network" (default, the papers' protocol) scores the network's
            own colour, "as-shot" its output given the as-shot colour
            (`lsid_keras.enhance.finish_colour`).
        fusion: with colour "as-shot", also fuse in the traditional rendering as `lsid
            enhance` does by default (`lsid_keras.enhance.fuse_rendering`, where
            `isp_fusion.worth_fusing` lets it).

    Returns:
        rows: one dict per pair (CSV_FIELDS); summary: dict with `n`, mean `psnr` and `ssim`
        (dB and [0, 1]), `lpips` (or None) and `by_ratio` {"100": {...}, ...}.
    """
    from lsid_keras.enhance import (
        check_colour,
        enhance_packed,
        finish_colour,
        fuse_rendering,
        network_input,
    )
    from lsid_keras.image_io import write_image
    from lsid_keras.isp_fusion import worth_fusing
    from lsid_keras.metrics import psnr, ssim
    from lsid_keras.progress import progress_bar
    from lsid_keras.raw import read_raw
    from lsid_keras.raw.develop import develop

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}. Received: {method!r}")
    if method == "network" and enhancer is None:
        raise ValueError("method 'network' needs a model")
    check_colour(colour)
    if fusion and (method != "network" or colour != "as-shot"):
        raise ValueError("fusion needs method 'network' with colour 'as-shot'")
    score_lpips = _lpips_scorer(lpips, log)
    rows = []
    for pair in progress_bar(pairs, desc=f"evaluating ({method})", unit="pair",
                             disable=not progress):
        start = time.perf_counter()
        target = develop(pair.long_path).astype(np.float32) / 65535
        if method == "isp":
            output = develop(pair.short_path, ratio=pair.ratio).astype(np.float32) / 65535
        else:
            # another camera's frame is mapped into the model's training camera first
            frame = read_raw(pair.short_path)
            amplified, _, _ = network_input(enhancer, frame, pair.ratio)
            fusing = fusion and worth_fusing(amplified, frame.cfa_kind)
            output, _ = finish_colour(enhance_packed(enhancer, amplified, tile, halo), frame,
                                      colour)
            if fusing:
                output, _ = fuse_rendering(output, frame, pair.ratio)
        if output.shape != target.shape:
            raise ValueError(
                f"{pair.short_path}: output {output.shape} and ground truth {target.shape} "
                "differ in size (short and long exposures from different cameras?)"
            )
        row = {
            "short_path": pair.short_path,
            "long_path": pair.long_path,
            "scene": pair.scene,
            "burst": pair.burst,
            "ratio": pair.ratio,
            "psnr": float(psnr(target, output, protocol="reference")),
            "ssim": float(ssim(target, output, protocol="reference")),
            "lpips": score_lpips(output, target) if score_lpips else None,
            "seconds": time.perf_counter() - start,
        }
        rows.append(row)
        if save_dir:
            name = os.path.splitext(os.path.basename(pair.short_path))[0] + ".png"
            write_image(os.path.join(save_dir, name), output, bits=8)
    return rows, summarize(rows)


def _means(rows):
    lpips_values = [r["lpips"] for r in rows if r["lpips"] is not None]
    return {
        "n": len(rows),
        "psnr": float(np.mean([r["psnr"] for r in rows])) if rows else None,
        "ssim": float(np.mean([r["ssim"] for r in rows])) if rows else None,
        "lpips": float(np.mean(lpips_values)) if lpips_values else None,
    }


def summarize(rows):
    """Mean PSNR / SSIM (/ LPIPS) overall and per amplification ratio."""
    groups = defaultdict(list)
    for row in rows:
        groups[f"{row['ratio']:g}"].append(row)
    summary = _means(rows)
    summary["by_ratio"] = {key: _means(group) for key, group in sorted(
        groups.items(), key=lambda item: float(item[0]))}
    return summary


def write_rows_csv(path, rows):
    """Writes the per-image rows as CSV (atomically)."""
    with atomic_output(path) as temporary, open(temporary, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
