"""How close `--ratio auto` lands to the true ratio on synthetic SID-style datasets.

For each dataset root (written by `lsid synth`; ratios come from the file names) it prints, per
test pair, the true ratio and the ratio chosen by the package's rule
(`lsid_keras.amplification.estimate_ratio`) and by the former rule (mean to 0.1), and per rule
the worst under/over-estimate and the share of pairs within 1.5x. It also reports the rule's
statistic (`highlight_level`) over the long exposures of the training list (where
`TARGET_LEVEL` comes from) and of the test list (how much scenes differ), and the noise bias
(level of the short exposure x ratio / level of its long exposure). Writes everything as JSON.

    lsid synth /tmp/sony40 --camera sony --scenes 40
    python scripts/measure_auto_ratio.py /tmp/sony40 --out auto_ratio.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

WITHIN = 1.5


def former_rule(packed):
    """The rule before issue 11: the frame's mean brought to 0.1, clamped to [1, 300]."""
    mean = float(np.mean(packed, dtype=np.float64))
    return 300.0 if mean <= 0 else float(np.clip(0.1 / mean, 1.0, 300.0))


def _summary(errors):
    errors = np.asarray(errors)
    return {"min": float(errors.min()), "max": float(errors.max()),
            "within": float(np.mean((errors <= WITHIN) & (errors >= 1 / WITHIN))),
            "n": int(errors.size)}


def measure(root, list_name="Sony_test_list.txt", train_list="Sony_train_list.txt"):
    from lsid_keras.amplification import estimate_ratio, highlight_level
    from lsid_keras.data.sid_list import read_pair_list
    from lsid_keras.raw import pack, read_raw

    packed_of = {}

    def packed(path):
        if path not in packed_of:
            packed_of[path] = pack(read_raw(path))
        return packed_of[path]

    pairs = read_pair_list(os.path.join(root, list_name), root=root, first_burst_only=False)
    rows = []
    for pair in pairs:
        short = packed(pair.short_path)
        rows.append({
            "short": os.path.basename(pair.short_path), "ratio": pair.ratio,
            "auto": estimate_ratio(short), "former": former_rule(short),
            "noise_bias": highlight_level(short) * pair.ratio / highlight_level(
                packed(pair.long_path)),
        })
        packed_of.pop(pair.short_path)
    longs = {p.long_path for p in pairs}
    test_levels = sorted(highlight_level(packed(path)) for path in longs)
    train_path = os.path.join(root, train_list)
    train_levels = []
    if os.path.exists(train_path):
        longs = sorted({p.long_path for p in read_pair_list(train_path, root=root,
                                                            first_burst_only=False)})
        train_levels = [highlight_level(pack(read_raw(path))) for path in longs]
    return {
        "root": root,
        "pairs": rows,
        "auto": _summary([r["auto"] / r["ratio"] for r in rows]),
        "former": _summary([r["former"] / r["ratio"] for r in rows]),
        "noise_bias": _summary([r["noise_bias"] for r in rows]),
        "test_long_levels": test_levels,
        "train_long_level_median": float(np.median(train_levels)) if train_levels else None,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="+", help="datasets written by lsid synth")
    parser.add_argument("--list", default="Sony_test_list.txt")
    parser.add_argument("--out", help="write the results here as JSON")
    args = parser.parse_args(argv)
    from lsid_keras.amplification import TARGET_LEVEL

    results = [measure(root, args.list) for root in args.roots]
    for result in results:
        print(f"{result['root']}: {result['auto']['n']} pairs")
        for row in result["pairs"]:
            print(f"  {row['short']:28s} true x{row['ratio']:<5g} auto x{row['auto']:6.1f} "
                  f"({row['auto'] / row['ratio']:.2f}x)  former x{row['former']:6.1f} "
                  f"({row['former'] / row['ratio']:.2f}x)")
        for rule in ("auto", "former"):
            s = result[rule]
            print(f"  {rule:7s} estimate/true {s['min']:.2f} .. {s['max']:.2f}, "
                  f"{100 * s['within']:.0f} % within {WITHIN}x")
        bias = result["noise_bias"]
        levels = result["test_long_levels"]
        print(f"  noise bias of the statistic {bias['min']:.2f} .. {bias['max']:.2f}; test long "
              f"levels {min(levels):.3f} .. {max(levels):.3f} ({max(levels) / min(levels):.2f}x "
              f"apart); train long median {result['train_long_level_median']} "
              f"(TARGET_LEVEL {TARGET_LEVEL})")
    if args.out:
        from lsid_keras.atomic import write_text_atomic

        write_text_atomic(args.out, json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
