"""Time the pass that finishes `lsid enhance`'s output: the as-shot colour and auto-bright.

    python scripts/bench_colour.py                       # this checkout
    python scripts/bench_colour.py --tree /tmp/old-tree  # another checkout, side by side

On a synthetic frame (default 12 MP, 2848 x 4256, uniform values) it times
`lsid_keras.as_shot_colour.match_mean_colour` (every version has it) and, where the tree has
it, `lsid_keras.enhance.finish_output` with the as-shot colour and auto-bright, as
`lsid enhance` runs them, each in place on a fresh copy; prints the best of `--repeats` and
writes JSON with the CPU flags. NumPy only (no TensorFlow).
"""

import argparse
import json
import os
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", default=os.path.join(os.path.dirname(__file__), ".."),
                        help="checkout whose lsid_keras is timed (default: this one)")
    parser.add_argument("--size", type=int, nargs=2, default=(2848, 4256), metavar=("H", "W"),
                        help="frame height and width in pixels (default: 12 MP Sony)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="bench_colour.json", help="JSON output file")
    args = parser.parse_args(argv)
    if args.repeats < 1 or min(args.size) < 1:
        parser.error("--repeats and --size must be >= 1")
    return args


class _Frame:
    """What `scene_colour` reads from a RawFrame: a flat grey Bayer mosaic, no matrix."""

    def __init__(self):
        import numpy as np

        self.mosaic = np.full((8, 8), 1000, np.uint16)
        self.cfa = np.array([[0, 1], [1, 2]])
        self.black_level = np.zeros((2, 2))
        self.white_level = 4095.0
        self.camera_wb = (2.0, 1.0, 1.5, 1.0)
        self.xyz_to_camera = None


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, os.path.abspath(args.tree))
    import numpy as np

    from lsid_keras import as_shot_colour, enhance
    from lsid_keras.machine import cpu_features

    rgb = np.random.default_rng(0).uniform(0, 1, (*args.size, 3)).astype(np.float32)
    jobs = {"match_mean_colour": lambda work: as_shot_colour.match_mean_colour(
        work, np.array([1.0, 0.9, 1.1]))}
    if hasattr(enhance, "finish_output"):
        jobs["finish_output"] = lambda work: enhance.finish_output(
            work, _Frame(), "as-shot", auto_bright=True, out=work)
    results = {}
    for name, job in jobs.items():
        times = []
        for _ in range(args.repeats):
            work = rgb.copy()
            start = time.perf_counter()
            job(work)
            times.append(time.perf_counter() - start)
        results[name] = {"best_s": min(times), "times": times}
        print(f"{name:18s} best {min(times):.2f} s of {args.repeats}  "
              f"({args.size[0]} x {args.size[1]}, tree {os.path.abspath(args.tree)})")
    report = {"tree": os.path.abspath(args.tree), "size": list(args.size),
              "cpu_features": cpu_features(), "cpu_count": os.cpu_count(), "results": results}
    with open(args.out, "w", encoding="utf-8") as file:
        json.dump(report, file, indent=2)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
