"""LiteRT time of a global model's int8 encoder and decoder over a frame, per tile shape.

`lsid enhance` runs a fixed-shape export over square tiles (912 with the default halo of 96
for a 12 MP Sony frame: 2 x 3 tiles covering 1.65x the frame's pixels; 848 and 1.42x at halo
64). Tiles shaped to the frame cover less: 1 x 2 tiles of 1552 x 1200 cover 1.23x at halo 64,
but LiteRT's arena for them alone exceeds 850 MiB (docs/performance.md), so they were not
adopted. This converts the model's encoder and
decoder to int8 at each `--shapes` entry (`HxW:N`, N tiles for the frame; calibrated on the
model's own outputs for random tiles: the timing does not depend on the calibration), runs N
encoder and decoder invocations as `lsid enhance` does (LiteRT, XNNPACK, `--threads`), and
prints the best of `--repeats` per shape beside the first shape's.

    python scripts/bench_tile_shapes.py --weights lsid_keras/pretrained/gia_net_sony_w16.keras \\
        --shapes 848x848:6 1552x1200:2 --out tile_shapes.json

Writes JSON with the machine's CPU flags.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def parse_shape(text):
    """"HxW:N" -> (H, W, N)."""
    size, _, count = text.partition(":")
    height, _, width = size.lower().partition("x")
    return int(height), int(width), int(count or 1)


def int8_pair(encoder, decoder, height, width, samples=2, seed=0):
    """(encoder bytes, decoder bytes): both halves converted to int8 at one tile shape."""
    from lsid_keras.export.convert import convert_saved_model, write_saved_model
    from lsid_keras.models.unet import ENCODER_OUTPUTS

    rng = np.random.default_rng(seed)
    channels = int(encoder.inputs[0].shape[-1])
    tiles = [rng.random((1, height, width, channels), dtype=np.float32) ** 3
             for _ in range(samples)]
    kept = [[np.asarray(v) for v in encoder(t, training=False)] for t in tiles]
    names = [tensor.name for tensor in decoder.inputs]
    decoder_samples = [dict(zip(names, [*k, np.mean(k[-1], axis=(1, 2), keepdims=True)],
                                strict=True)) for k in kept]
    with tempfile.TemporaryDirectory(prefix="lsid-tile-shapes-") as work:
        write_saved_model(encoder, f"{work}/encoder", None, output_names=ENCODER_OUTPUTS,
                          input_shapes=[tiles[0].shape])
        write_saved_model(decoder, f"{work}/decoder", None,
                          input_shapes=[v.shape for v in decoder_samples[0].values()])
        return (convert_saved_model(f"{work}/encoder", "int8", tiles),
                convert_saved_model(f"{work}/decoder", "int8", decoder_samples))


def time_pair(encoder_bytes, decoder_bytes, count, threads, repeats):
    """Seconds of each of `repeats` runs of `count` encoder and decoder invocations."""
    from ai_edge_litert.interpreter import Interpreter

    runs = []
    interpreters = [Interpreter(model_content=data, num_threads=threads)
                    for data in (encoder_bytes, decoder_bytes)]
    for interpreter in interpreters:
        interpreter.allocate_tensors()
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(count):
            for interpreter in interpreters:
                interpreter.invoke()
        runs.append(time.perf_counter() - start)
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", required=True, help="a global model's .keras file")
    parser.add_argument("--shapes", nargs="+", default=["848x848:6", "1552x1200:2"],
                        help="HxW:N, packed pixels (multiples of 16) and tiles per frame")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="write the results here as JSON")
    args = parser.parse_args(argv)
    import keras

    from lsid_keras.machine import cpu_features
    from lsid_keras.models.global_branch import split_encoder_decoder

    model = keras.models.load_model(args.weights, compile=False)
    halves = split_encoder_decoder(model)
    if halves is None:
        sys.exit(f"{args.weights}: not a global model (GIA-Net or SE-UNet)")
    rows = []
    for text in args.shapes:
        height, width, count = parse_shape(text)
        times = time_pair(*int8_pair(*halves, height, width), count, args.threads,
                          args.repeats)
        rows.append({"shape": [height, width], "tiles": count, "pixels": height * width * count,
                     "times": times, "best_s": min(times)})
        print(f"{count} x {height}x{width}: best {min(times):.3f} s "
              f"({rows[-1]['pixels'] / 1e6:.2f} M packed pixels; "
              f"{min(times) / rows[0]['best_s']:.2f}x the first)", flush=True)
    print("CPU flags:", " ".join(cpu_features()))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as file:
            json.dump({"weights": args.weights, "threads": args.threads,
                       "cpu_flags": cpu_features(), "date": time.strftime("%Y-%m-%d"),
                       "results": rows}, file, indent=1)


if __name__ == "__main__":
    main()
