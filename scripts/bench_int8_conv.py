"""Does int8 beat float32 in LiteRT on this CPU? Two 3x3 convolutions, both precisions.

    python scripts/bench_int8_conv.py [--size 128] [--channels 128] [--threads 2] [--out F]

Converts the same two-layer convolution block (3x3, `--channels` in and out, LReLU between,
input `[1, size, size, channels]`) to float32 and full-int8 TFLite (the converter path of
`lsid export`), runs each with LiteRT (XNNPACK, `--threads`) in alternating rounds and prints
the best ms, GOP/s (2 x multiply-adds) and the int8 speed-up; writes JSON. On CPUs with int8
dot-product instructions (AVX-512 VNNI, AMX, Arm dotprod) int8 convolutions run several times
faster than float32; on an AVX2-only x86 they need not (measured 1.05x and 1.31x in two runs
on the shared AMD EPYC AVX2 machine of 2026-11-30), and then int8 buys size and memory more
than speed.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=128, help="input side, pixels")
    parser.add_argument("--channels", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default="bench_int8_conv.json")
    return parser.parse_args(argv)


def convert(size, channels, quantization, workdir):
    """TFLite bytes of the two-conv block in float32 or full int8."""
    import keras
    import tensorflow as tf

    inputs = keras.Input((size, size, channels), batch_size=1)
    x = keras.layers.Conv2D(channels, 3, padding="same")(inputs)
    x = keras.layers.LeakyReLU(0.2)(x)
    model = keras.Model(inputs, keras.layers.Conv2D(channels, 3, padding="same")(x))
    saved = os.path.join(workdir, "saved_model")
    if not os.path.isdir(saved):
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", lambda a: model(a), input_signature=[
            tf.TensorSpec([1, size, size, channels], tf.float32)])
        archive.write_out(saved, verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(saved)
    if quantization == "int8":
        rng = np.random.default_rng(0)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: (
            [rng.random((1, size, size, channels), dtype=np.float32)] for _ in range(4))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def main(argv=None):
    args = parse_args(argv)
    from ai_edge_litert.interpreter import Interpreter

    interpreters = {}
    with tempfile.TemporaryDirectory() as workdir:
        for quantization in ("fp32", "int8"):
            data = convert(args.size, args.channels, quantization, workdir)
            interpreter = Interpreter(model_content=data, num_threads=args.threads)
            interpreter.allocate_tensors()
            detail = interpreter.get_input_details()[0]
            interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
            interpreter.invoke()  # warm-up
            interpreters[quantization] = interpreter
    times = {q: [] for q in interpreters}
    for _ in range(args.rounds):
        for quantization, interpreter in interpreters.items():
            start = time.perf_counter()
            interpreter.invoke()
            times[quantization].append(time.perf_counter() - start)
    ops = 2 * 2 * args.size**2 * 9 * args.channels**2
    report = {"settings": vars(args), "gop": ops / 1e9, "results": {}}
    for quantization, values in times.items():
        best = min(values)
        report["results"][quantization] = {"ms": 1000 * best, "gop_per_s": ops / best / 1e9,
                                           "rounds_ms": [1000 * v for v in values]}
        print(f"{quantization}: {1000 * best:.1f} ms, {ops / best / 1e9:.1f} GOP/s")
    speedup = min(times["fp32"]) / min(times["int8"])
    report["int8_speedup"] = speedup
    print(f"int8 speed-up over float32: {speedup:.2f}x")
    with open(args.out, "w", encoding="utf-8") as file:
        json.dump(report, file, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
