"""Chooses the traditional-pipeline fusion's constants (`lsid_keras.isp_fusion`) on a
development set of the *training* noise family, so that the cross-noise test set
(`scripts/measure_generalisation.py`) stays unseen.

The development set is `lsid synth --noise-family wide` on `--photos` (photos the training
may use; never Set5 / Set14 / Urban100 / the super-resolution repositories' samples) at
x4 / x20 / x100 / x250 / x300, and with `--clean-scenes N` its clean end: N scenes of the
same photos at x1-x2 shot at base ISO (`lsid synth --base-iso-share 1`), as users' daylight
files are, scored in the row "clean". Each pair is scored (PSNR on 8-bit RGB, SID's reference
protocol) for the network with as-shot colour, the traditional pipeline, and the fusion with
each setting of a small grid (`GRID`), where the gate lets it
(`isp_fusion.worth_fusing`, as `lsid enhance` decides). The network runs once per pair.

    python scripts/tune_fusion.py --model M.keras --photos TRAIN_PHOTOS --work /tmp/fusion-dev \\
        --scenes 30 --pairs-per-ratio 10 --clean-scenes 10 --out tune_fusion.json

Prints one row per ratio and writes JSON (with the machine's CPU flags).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

DEV_RATIOS = (4, 20, 100, 250, 300)
#: Candidates: `fuse_traditional` keyword arguments that differ from the module's defaults
#: (the first, empty, is the defaults themselves). beta_top=1 is beta stopping at
#: `WIENER_BETA_CLEAN`, as it did before `SNR_TOP`.
GRID = ({}, {"beta": 2.0}, {"beta": 4.0}, {"snr_floor": 4.0, "snr_full": 12.0},
        {"snr_floor": 10.0, "snr_full": 40.0, "snr_top": 160.0}, {"beta_top": 1.0},
        {"beta_top": 0.0}, {"snr_top": 40.0}, {"snr_top": 160.0})


def candidate_name(settings):
    """"default", or the settings that differ from it ("beta_top=0.5,snr_top=40")."""
    return ",".join(f"{k}={v:g}" for k, v in sorted(settings.items())) or "default"


def make_dev_set(folder, photos, scenes, size=(320, 480), seed=7):
    """The development set (all scenes test scenes); returns its list's path."""
    from lsid_keras.data.synth import synthesize_dataset

    summary = synthesize_dataset(folder, images=photos, camera="sony", scenes=scenes, seed=seed,
                                 size=size, ratios=DEV_RATIOS, splits=(0, 1, 0),
                                 content="photos", noise_family="wide", progress=False)
    return summary["lists"]["test"]


def make_clean_dev_set(folder, photos, scenes, size=(320, 480), seed=7):
    """The development set's clean end, as users' daylight files are: `scenes` scenes with two
    exposures each at ratios drawn from x1-x2, shot at base ISO (`lsid synth --base-iso-share
    1`, training scenes of the same photos); returns its list's path. Scored as "clean"."""
    from lsid_keras.data.synth import synthesize_dataset

    summary = synthesize_dataset(folder, images=photos, camera="sony", scenes=scenes, seed=seed,
                                 size=size, ratios=(4,), splits=(1, 0, 0), content="photos",
                                 noise_family="wide", random_ratios=2, ratio_range=(1, 2),
                                 base_iso_share=1.0, progress=False)
    return summary["lists"]["train"]


def _group(ratio):
    """The row a pair is scored in: its ratio, or "clean" for the clean end's x1-x2."""
    return "clean" if ratio <= CLEAN_RATIO else f"x{ratio:g}"


#: Ratios up to this are the clean end's (`make_clean_dev_set`).
CLEAN_RATIO = 2.0


def score(enhancer, list_path, pairs_per_ratio, grid=GRID):
    """{ratio: {method: [psnr, ...]}}; methods "as-shot", "isp" and each `candidate_name`."""
    from lsid_keras.data.sid_list import read_pair_list
    from lsid_keras.enhance import enhance_packed, finish_colour, network_input
    from lsid_keras.isp_fusion import fuse_traditional, worth_fusing
    from lsid_keras.metrics import psnr
    from lsid_keras.raw import read_raw
    from lsid_keras.raw.develop import develop

    results, seen = {}, {}
    for pair in read_pair_list(list_path, first_burst_only=False):
        group = _group(pair.ratio)
        if seen.get(group, 0) >= pairs_per_ratio or (
                group != "clean" and pair.ratio not in DEV_RATIOS):
            continue
        seen[group] = seen.get(group, 0) + 1
        target = develop(pair.long_path).astype(np.float32) / 65535
        frame = read_raw(pair.short_path)
        amplified, _, _ = network_input(enhancer, frame, pair.ratio)
        fusing = worth_fusing(amplified, frame.cfa_kind)  # as `lsid enhance` decides
        network = finish_colour(enhance_packed(enhancer, amplified), frame, "as-shot")[0]
        rendering = develop(pair.short_path, ratio=pair.ratio)
        outputs = {"as-shot": network, "isp": rendering.astype(np.float32) / 65535}
        for settings in grid:
            outputs[candidate_name(settings)] = fuse_traditional(
                network, rendering, **settings)[0] if fusing else network
        row = results.setdefault(group, {})
        for method, output in outputs.items():
            row.setdefault(method, []).append(float(psnr(target, output, protocol="reference")))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help=".keras model (default: the shipped one)")
    parser.add_argument("--photos", required=True, help="folder of training-set photos")
    parser.add_argument("--work", default="runs/fusion-dev", help="folder for the dev set")
    parser.add_argument("--scenes", type=int, default=30)
    parser.add_argument("--size", default="320x480",
                        help="dev frame HEIGHTxWIDTH in RAW pixels (default: 320x480)")
    parser.add_argument("--pairs-per-ratio", type=int, default=10)
    parser.add_argument("--clean-scenes", type=int, default=0,
                        help="also score the clean end: this many scenes at x1-x2, base ISO "
                        "(`make_clean_dev_set`; 0: none)")
    parser.add_argument("--out", help="write the results here as JSON")
    args = parser.parse_args(argv)
    from lsid_keras.enhance import load_enhancer, load_shipped_enhancer
    from lsid_keras.machine import cpu_features

    start = time.perf_counter()
    list_path = os.path.join(args.work, "Sony_test_list.txt")
    if not os.path.exists(list_path):
        size = tuple(int(v) for v in args.size.lower().split("x"))
        list_path = make_dev_set(args.work, args.photos, args.scenes, size)
    enhancer = load_enhancer(args.model) if args.model else load_shipped_enhancer()
    results = score(enhancer, list_path, args.pairs_per_ratio)
    if args.clean_scenes:
        clean = os.path.join(args.work, "clean")
        clean_list = os.path.join(clean, "Sony_train_list.txt")
        if not os.path.exists(clean_list):
            clean_list = make_clean_dev_set(clean, args.photos, args.clean_scenes,
                                            tuple(int(v) for v in args.size.lower().split("x")))
        results.update(score(enhancer, clean_list, args.pairs_per_ratio))
    means = {ratio: {m: float(np.mean(v)) for m, v in row.items()}
             for ratio, row in results.items()}
    methods = list(next(iter(means.values())))
    # one row per method (the grid is longer than the ratios), and the mean over the ratios
    ratios = list(means)
    print("| method | " + " | ".join(ratios) + " | mean |")
    print("|---" * (len(ratios) + 2) + "|")
    for m in methods:
        values = [means[r][m] for r in ratios]
        print(f"| {m} | " + " | ".join(f"{v:.2f}" for v in values)
              + f" | {np.mean(values):.2f} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"model": args.model or "shipped", "cpu_flags": cpu_features(),
                       "date": time.strftime("%Y-%m-%d"), "list": list_path,
                       "mean_psnr": means, "psnr": results,
                       "seconds": time.perf_counter() - start}, f, indent=1)


if __name__ == "__main__":
    main()
