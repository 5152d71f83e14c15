"""Benchmark of the input side: RAW decode + pack, cache build, and the tf.data crop pipeline.

Prints the figures and writes them as JSON. Everything runs on synthetic Sony-size DNGs written
here (no dataset needed); measurements that are compared are taken side by side, interleaved, in
one run, because this kind of machine is noisy.

    python scripts/bench_data.py --out bench_data.json
    python scripts/bench_data.py --frame 256x384 --pairs 2 --repeats 2   # quick smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np


def _frame(text):
    height, width = (int(v) for v in text.lower().split("x"))
    if height % 32 or width % 32:
        raise argparse.ArgumentTypeError("frame sides must be multiples of 32")
    return height, width


def write_pairs(root, frame, pairs, seed=0):
    """`pairs` short/long DNG pairs of a smooth random scene, SID names; returns the list path."""
    from lsid_keras.raw import write_dng

    rng = np.random.default_rng(seed)
    black, white = 512, 16383
    lines = []
    for root_dir in ("Sony/short", "Sony/long"):
        os.makedirs(os.path.join(root, root_dir), exist_ok=True)
    for k in range(pairs):
        clean = rng.uniform(0.05, 0.9, size=(frame[0] // 8, frame[1] // 8))
        clean = np.kron(clean, np.ones((8, 8)))
        long_dn = np.rint(black + clean * (white - black)).astype(np.uint16)
        short_dn = black + rng.poisson((long_dn - black) / 100.0)
        long_name = f"Sony/long/{k:05d}_00_10s.dng"
        short_name = f"Sony/short/{k:05d}_00_0.1s.dng"
        write_dng(os.path.join(root, long_name), long_dn, "RGGB", black, white,
                  camera_wb=(2.0, 1.0, 1.6))
        write_dng(os.path.join(root, short_name), np.minimum(short_dn, white), "RGGB", black,
                  white, camera_wb=(2.0, 1.0, 1.6))
        lines.append(f"./{short_name} ./{long_name} ISO200 F9")
    listing = os.path.join(root, "Sony_train_list.txt")
    with open(listing, "w") as file:
        file.write("\n".join(lines) + "\n")
    return listing


def bench_decode(paths, repeats):
    """Seconds per file: rawpy decode alone vs read_raw + pack, interleaved."""
    import rawpy

    from lsid_keras.raw import pack, read_raw

    alone, packed = [], []
    for _ in range(repeats):
        for path in paths:
            start = time.perf_counter()
            with rawpy.imread(path) as raw:
                np.array(raw.raw_image_visible, copy=True)
            alone.append(time.perf_counter() - start)
            start = time.perf_counter()
            pack(read_raw(path))
            packed.append(time.perf_counter() - start)
    return statistics.median(alone), statistics.median(packed)


def bench_cache(pairs, cache_dir, workers):
    from lsid_keras.data.cache import prepare_cache

    summary = prepare_cache(pairs, cache_dir, workers=workers, progress=False)
    files = summary.decoded
    return files / summary.seconds, summary


def bench_pipeline(cached, crop, batches, workers):
    from lsid_keras.data.pipeline import make_dataset

    dataset = make_dataset(cached, crop_size=crop, seed=0, num_parallel_calls=workers,
                           repeat=True)
    iterator = iter(dataset)
    next(iterator)  # warm-up: first trace and file opening
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches / (time.perf_counter() - start)


def bench_train_step(crop, steps, width):
    import keras

    from lsid_keras.models import get_model

    model = get_model("sid", camera="sony", width=width)
    model.compile(keras.optimizers.Adam(1e-4), "mae")
    x = np.random.default_rng(0).uniform(size=(1, crop, crop, 4)).astype("float32")
    y = np.random.default_rng(1).uniform(size=(1, 2 * crop, 2 * crop, 3)).astype("float32")
    model.train_on_batch(x, y)  # warm-up: tracing
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frame", type=_frame, default=(2848, 4256),
                        help="RAW frame HxW (default: Sony A7S II, 2848x4256)")
    parser.add_argument("--pairs", type=int, default=4, help="short/long pairs to write")
    parser.add_argument("--repeats", type=int, default=3, help="decode timing repeats")
    parser.add_argument("--crop", type=int, default=512, help="crop side, packed pixels")
    parser.add_argument("--batches", type=int, default=50, help="pipeline batches timed")
    parser.add_argument("--steps", type=int, default=3, help="training steps timed")
    parser.add_argument("--width", type=int, default=32, help="model width for the step")
    parser.add_argument("--workers", type=int, default=2, help="cache and pipeline workers")
    parser.add_argument("--out", default="bench_data.json", help="JSON output file")
    args = parser.parse_args(argv)

    from lsid_keras.atomic import write_json_atomic
    from lsid_keras.data.cache import load_manifest
    from lsid_keras.data.sid_list import read_pair_list

    with tempfile.TemporaryDirectory() as tmp:
        pairs = read_pair_list(write_pairs(tmp, args.frame, args.pairs))
        shorts = [p.short_path for p in pairs]
        decode_alone, decode_pack = bench_decode(shorts, args.repeats)
        files_per_s, _ = bench_cache(pairs, os.path.join(tmp, "cache"), args.workers)
        cached = load_manifest(os.path.join(tmp, "cache"))
        crop = min(args.crop, args.frame[0] // 2 // 16 * 16)
        crops_per_s = bench_pipeline(cached, crop, args.batches, args.workers)
    step_s = bench_train_step(crop, args.steps, args.width)

    result = {
        "frame": list(args.frame),
        "cpu_count": os.cpu_count(),
        "decode_rawpy_s": decode_alone,
        "decode_and_pack_s": decode_pack,
        "pack_overhead_ratio": decode_pack / decode_alone,
        "cache_files_per_s": files_per_s,
        "cache_workers": args.workers,
        "crop": crop,
        "pipeline_crops_per_s": crops_per_s,
        "pipeline_workers": args.workers,
        "train_step_s": step_s,
        "model_width": args.width,
        "pipeline_vs_train_step": crops_per_s * step_s,
    }
    print(f"frame {args.frame[0]}x{args.frame[1]}, {os.cpu_count()} cores")
    print(f"rawpy decode alone        {decode_alone * 1e3:8.1f} ms/file")
    print(f"read_raw + pack           {decode_pack * 1e3:8.1f} ms/file "
          f"({result['pack_overhead_ratio']:.2f}x)")
    print(f"cache build               {files_per_s:8.2f} files/s ({args.workers} workers)")
    print(f"pipeline                  {crops_per_s:8.1f} crops/s of {crop}x{crop} "
          f"({args.workers} workers)")
    print(f"training step (sid w={args.width})  {step_s:8.3f} s/step")
    print(f"pipeline / training speed {result['pipeline_vs_train_step']:8.1f}x (target >= 10x)")
    write_json_atomic(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
