"""How fast `lsid` answers: `--help` of every command, and a user error that needs no TensorFlow.

Each case runs as a fresh process (as a user types it) `--repeats` times; prints the best and
median wall time per case and writes them as JSON. Issue 8's target: `--help` under 1 s.

    python scripts/bench_cli.py [--repeats 5] [--out bench_cli.json]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

CASES = {
    "lsid --help": ["--help"],
    **{f"lsid {c} --help": [c, "--help"]
       for c in ("quickstart", "models", "prepare", "synth", "evaluate", "enhance", "train",
                 "export")},
    "lsid enhance missing.dng (error)": ["enhance", "missing.dng", "--model", "m.keras", "-o",
                                         "out.png"],
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per case (default: 5)")
    parser.add_argument("--out", default="bench_cli.json", help="JSON output file")
    args = parser.parse_args(argv)
    results = {}
    for name, command in CASES.items():
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "lsid_keras", *command],
                           capture_output=True, check=False)
            times.append(time.perf_counter() - start)
        results[name] = {"best_s": min(times), "median_s": statistics.median(times)}
        print(f"{name:<36} best {min(times):.2f} s, median {statistics.median(times):.2f} s")
    with open(args.out, "w", encoding="utf-8") as file:
        json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
