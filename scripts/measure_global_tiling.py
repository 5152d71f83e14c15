"""Per-tile vs whole-frame pooling of a trained global model (GIA-Net, SE-UNet), measured.

    python scripts/measure_global_tiling.py --model M.keras --data DATA --list LIST \
        [--tiles 128,192,256] [--count 12] [--halo 32] [--out global_tiling.json]

For the first `--count` pairs of SID's test protocol (`_00` of each exposure time), runs the
model three ways: the whole frame in one pass (the papers' protocol, the reference); tiled
with the frame's average (`run_tiled_split`, one encoder pass, what `lsid enhance` does); and
tiled with each tile pooling over itself (the tiler before the global pass, and any runtime
that ignores it). Prints and writes per tile size: PSNR against ground truth (8-bit, SID's
protocol, as `lsid evaluate`), the mean PSNR change from the whole frame, and the largest
difference from the whole frame in 8-bit levels.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help=".keras GIA-Net or SE-UNet")
    parser.add_argument("--data", required=True, help="dataset root")
    parser.add_argument("--list", required=True, help="pair list, relative to --data")
    parser.add_argument("--tiles", default="128,192,256",
                        help="tile sides in packed pixels, comma-separated")
    parser.add_argument("--count", type=int, default=12, help="pairs to measure")
    parser.add_argument("--halo", type=int, default=32)
    parser.add_argument("--out", default="global_tiling.json")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from lsid_keras.data.sid_list import read_pair_list
    from lsid_keras.enhance import load_enhancer, network_input
    from lsid_keras.metrics import psnr
    from lsid_keras.raw import read_raw
    from lsid_keras.raw.develop import develop
    from lsid_keras.tiling import run_tiled, run_tiled_split, run_untiled

    enhancer = load_enhancer(args.model)
    if enhancer.encoder_decoder is None:
        raise SystemExit(f"{args.model}: not a global Keras model (no GIA or squeeze-excite "
                         "layer)")
    halves = enhancer.encoder_decoder
    tiles = [int(t) for t in args.tiles.split(",")]
    pairs = read_pair_list(os.path.join(args.data, args.list), root=args.data,
                           first_burst_only=True)[: args.count]
    results = {"whole": []}
    for tile in tiles:
        results[f"frame_mean_{tile}"], results[f"per_tile_{tile}"] = [], []
    worst = {key: 0.0 for key in results}
    for pair in pairs:
        target = develop(pair.long_path).astype(np.float32) / 65535
        packed, _, _ = network_input(enhancer, read_raw(pair.short_path), pair.ratio)
        whole = np.clip(run_untiled(enhancer.predict, packed, 2, halo=args.halo), 0, 1)
        outputs = {"whole": whole}
        for tile in tiles:
            outputs[f"frame_mean_{tile}"] = run_tiled_split(
                halves.encode, halves.decode, packed, tile=tile, halo=args.halo, block=2)
            outputs[f"per_tile_{tile}"] = run_tiled(enhancer.predict, packed, tile=tile,
                                                    halo=args.halo, block=2)
        for key, output in outputs.items():
            output = np.clip(output, 0, 1)
            results[key].append(float(psnr(target, output, protocol="reference")))
            worst[key] = max(worst[key], float(np.abs(output - whole).max() * 255))
        print(f"{os.path.basename(pair.short_path)}: " + ", ".join(
            f"{k} {v[-1]:.2f}" for k, v in results.items()), flush=True)
    whole_mean = float(np.mean(results["whole"]))
    report = {"model": args.model, "pairs": len(pairs), "halo": args.halo,
              "frame_shape": list(whole.shape), "runs": {}}
    print(f"{'run':>18} {'PSNR dB':>8} {'vs whole':>9} {'max diff (8-bit)':>17}")
    for key, values in results.items():
        mean = float(np.mean(values))
        report["runs"][key] = {"psnr_db": round(mean, 3),
                               "delta_db": round(mean - whole_mean, 3),
                               "max_diff_levels": round(worst[key], 2)}
        print(f"{key:>18} {mean:8.2f} {mean - whole_mean:+9.3f} {worst[key]:17.2f}")
    from lsid_keras.atomic import write_json_atomic

    write_json_atomic(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
