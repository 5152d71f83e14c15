"""Time what `lsid enhance`'s fusion with the traditional rendering adds to a clean frame.

    python scripts/bench_fusion.py --out bench_fusion.json     # 12 MP, about a minute

Writes a clean synthetic Bayer DNG (default 12 MP, 2848 x 4256: smooth colour fields with fine
texture, both greens alike as a camera's are, SID's Sony levels), then times each stage the
fusion adds to `lsid enhance` (`lsid_keras.enhance.fuse_rendering`): the gate on the packed
frame (`isp_fusion.worth_fusing`, which every frame pays), LibRaw's rendering
(`raw.develop`) and the fusion itself (`isp_fusion.fuse_traditional`, in place), on a
stand-in for the network's output (the rendering blurred), with its bands on every usable
core ("fuse", what `lsid enhance` runs) and on one ("fuse_1_thread"). The stages take turns
in each of `--repeats` rounds, so the two fusions' ratio is measured side by side. Prints the
best round of each and the peak RSS, and writes JSON with the CPU flags. No TensorFlow.
"""

import argparse
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, nargs=2, default=(2848, 4256), metavar=("H", "W"),
                        help="RAW frame height and width, even (default: 12 MP Sony)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="bench_fusion.json", help="JSON output file")
    args = parser.parse_args(argv)
    if args.repeats < 1 or min(args.size) < 64 or any(v % 2 for v in args.size):
        parser.error("--repeats must be >= 1 and --size even, at least 64")
    return args


def clean_dng(path, size, seed=0):
    """A clean Bayer DNG (RGGB, black 512, white 16383, the alpha 7S II's matrix)."""
    import numpy as np
    from scipy.ndimage import gaussian_filter, zoom

    from lsid_keras.raw import write_dng
    from lsid_keras.raw.cameras import camera_spec

    rng = np.random.default_rng(seed)
    height, width = size[0] // 2, size[1] // 2
    coarse = rng.uniform(0.05, 0.6, (max(height // 64, 2), max(width // 64, 2), 3))
    fields = zoom(coarse, (height / coarse.shape[0], width / coarse.shape[1], 1), order=1)
    fields = fields[:height, :width]
    texture = gaussian_filter(rng.standard_normal((height, width)), 1.0)
    packed = np.clip(fields * (1 + 0.15 * texture / texture.std())[..., None], 0, 1)
    mosaic = np.empty(size, np.float64)
    mosaic[0::2, 0::2], mosaic[0::2, 1::2] = packed[..., 0], packed[..., 1]
    mosaic[1::2, 0::2], mosaic[1::2, 1::2] = packed[..., 1], packed[..., 2]
    codes = np.rint(512 + mosaic * (16383 - 512)).astype(np.uint16)
    write_dng(path, codes, "RGGB", 512, 16383, color_matrix=camera_spec("sony").xyz_to_camera)


def rounds(stages, repeats):
    """`{name: [seconds of each round]}`: every stage once per round, in turn."""
    times = {name: [] for name in stages}
    for _ in range(repeats):
        for name, job in stages.items():
            start = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - start)
    return times


def main(argv=None):
    args = parse_args(argv)
    import numpy as np
    from scipy.ndimage import uniform_filter

    from lsid_keras.atomic import write_json_atomic
    from lsid_keras.isp_fusion import fuse_traditional, usable_cores, worth_fusing
    from lsid_keras.machine import cpu_features
    from lsid_keras.raw import amplify, pack, read_raw
    from lsid_keras.raw.develop import develop

    with tempfile.TemporaryDirectory(prefix="bench_fusion-") as work:
        dng = os.path.join(work, "clean.dng")
        clean_dng(dng, tuple(args.size))
        packed = amplify(pack(read_raw(dng)), 1.0)
        rendering = develop(dng)
        network = uniform_filter(rendering.astype(np.float32) / 65535, (3, 3, 1))
        stages = {"gate": lambda: worth_fusing(packed),
                  "develop": lambda: develop(dng),
                  "fuse": lambda: fuse_traditional(network.copy(), rendering,
                                                   out=network.copy()),
                  "fuse_1_thread": lambda: fuse_traditional(network.copy(), rendering,
                                                            out=network.copy(), threads=1)}
        figures = {}
        for name, times in rounds(stages, args.repeats).items():
            figures[name] = {"seconds": min(times), "times": times}
            print(f"{name}: {min(times):.2f} s (best of {args.repeats} rounds)")
        fused, weights = fuse_traditional(network.copy(), rendering)
    total = figures["develop"]["seconds"] + figures["fuse"]["seconds"]
    speedup = figures["fuse_1_thread"]["seconds"] / figures["fuse"]["seconds"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"fusion adds {total:.2f} s to a clean {args.size[0]}x{args.size[1]} frame "
          f"(gate {figures['gate']['seconds'] * 1000:.0f} ms on every frame); its bands on "
          f"{usable_cores()} cores run {speedup:.2f}x one; weights low {weights['low']:.2f}, "
          f"detail {weights['detail']:.2f}; peak {peak:.0f} MiB")
    write_json_atomic(args.out, {"size": list(args.size), "stages": figures,
                                 "added_seconds": total, "threads": usable_cores(),
                                 "threads_speedup": speedup, "weights": weights,
                                 "worth_fusing": bool(worth_fusing(packed)),
                                 "peak_rss_mib": peak, "cpu_flags": cpu_features(),
                                 "date": time.strftime("%Y-%m-%d")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
