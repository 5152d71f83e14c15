"""Seam error of tiled inference against one untiled pass, per halo and blend mode.

Builds the SID U-Net (random init with a fixed seed: no trained weights are at hand, and a
trained net's context may reach further), runs it untiled and tiled on a smooth random packed
image, clean and with Gaussian noise, and prints the max
and mean absolute error of the tiled output in [0, 1] units and in 8-bit levels, for each halo
and both blend modes of `lsid_keras.tiling.run_tiled`. It also prints the receptive field, from
the layer graph and from the input gradient of one output pixel. Writes everything as JSON.

Random-init outputs have std ~0.01, so the last conv is scaled to give the untiled output std
0.25 as a trained net's sRGB would (`--output-std`); errors scale with it. Both blend modes
reuse one pass per tile, so the "feather" rows' seconds exclude the network.

    python scripts/measure_seams.py --out seams.json          # widths 32 and 8, ~80 s on 2 cores
    python scripts/measure_seams.py --widths 4 --size 128x192 --tile 64 --halos 0 8 16

With `--weights M.keras --raw FILE ...` it measures a trained model instead, as `lsid enhance`
runs it: each RAW file packed and amplified at its auto ratio (`network_input`), a global
model's tiles with one encoder pass (`run_tiled_split`), against one untiled pass padded by
the receptive field's reach (a global model's: by the same halo, since it averages over the
padded frame); the smallest halo below one 8-bit level over all files is the
answer for that model.

    python scripts/measure_seams.py --weights lsid_keras/pretrained/gia_net_sony_w16.keras \
        --raw DIR/*.dng --tile 128 --halos 8 16 24 32 --out seams_trained.json
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def _size(text):
    height, width = (int(v) for v in text.lower().split("x"))
    return height, width


def smooth_packed(height, width, channels, seed=0, cell=32, noise=0.0):
    """A smooth random packed image in [0.02, 0.9]: a coarse uniform grid every `cell` pixels,
    bilinearly interpolated, independently per channel, plus optional Gaussian `noise`."""
    rng = np.random.default_rng(seed)
    rows_coarse, cols_coarse = height // cell + 2, width // cell + 2
    coarse = rng.uniform(0.02, 0.9, size=(rows_coarse, cols_coarse, channels))
    y = np.arange(height) / cell
    x = np.arange(width) / cell
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = (y - y0)[:, None, None], (x - x0)[None, :, None]
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x0 + 1] * fx
    bottom = coarse[y0 + 1][:, x0] * (1 - fx) + coarse[y0 + 1][:, x0 + 1] * fx
    image = top * (1 - fy) + bottom * fy
    if noise:
        image = image + rng.normal(0.0, noise, size=image.shape)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def graph_receptive_field(model, length=1024):
    """Receptive field of the model's output in packed input pixels, from its layer graph.

    Propagates, exactly and in 1-D, the interval of input pixels each unit depends on through
    convolutions (SAME zero padding), k = s poolings, k = s transposed convolutions,
    concatenations and the final depth-to-space, over a `length`-pixel line. The field depends
    on the pixel's position on the 16-pixel pooling grid, so this reports the widest field and
    the furthest reach up/left (`before`) and down/right (`after`) of an output pixel's own
    packed pixel, over pixels away from the line's ends. Plain convolutions only.

    Returns:
        dict with `width`, `before`, `after` in packed pixels.
    """
    import keras

    intervals = {}
    for layer in model.layers:
        parents = [t._keras_history.operation.name
                   for t in layer._inbound_nodes[0].input_tensors]
        if not parents:
            index = np.arange(length)
            intervals[layer.name] = (index, index)
            continue
        lo = np.minimum.reduce([intervals[p][0] for p in parents])
        hi = np.maximum.reduce([intervals[p][1] for p in parents])
        if isinstance(layer, keras.layers.Conv2DTranspose):
            stride = layer.strides[0]
            if layer.kernel_size[0] != stride:
                raise NotImplementedError("transposed convolutions with kernel != stride")
            lo, hi = np.repeat(lo, stride), np.repeat(hi, stride)
        elif isinstance(layer, keras.layers.Conv2D):
            kernel, rate = layer.kernel_size[0], layer.dilation_rate[0]
            new_lo, new_hi = lo.copy(), hi.copy()
            for offset in rate * (np.arange(kernel) - (kernel - 1) // 2):
                source = np.arange(len(lo)) + offset
                valid = (source >= 0) & (source < len(lo))
                new_lo[valid] = np.minimum(new_lo[valid], lo[source[valid]])
                new_hi[valid] = np.maximum(new_hi[valid], hi[source[valid]])
            lo, hi = new_lo, new_hi
        elif isinstance(layer, keras.layers.MaxPooling2D):
            pool = layer.pool_size[0]
            if layer.strides[0] != pool:
                raise NotImplementedError("poolings with size != stride")
            lo, hi = lo.reshape(-1, pool).min(axis=1), hi.reshape(-1, pool).max(axis=1)
        elif hasattr(layer, "block_size"):  # SubPixel: output pixel I shows packed unit I // b
            lo, hi = np.repeat(lo, layer.block_size), np.repeat(hi, layer.block_size)
        intervals[layer.name] = (lo, hi)
    lo, hi = intervals[model.layers[-1].name]
    block = len(lo) // length
    own = np.arange(len(lo)) // block
    inner = (own >= length // 4) & (own < 3 * length // 4)
    return {
        "width": int((hi - lo + 1)[inner].max()),
        "before": int((own - lo)[inner].max()),
        "after": int((hi - own)[inner].max()),
    }


def gradient_receptive_field(model, side=384, fractions=(0.99, 0.999)):
    """Extent of the input gradient of one output pixel near the centre of a `side` x `side`
    input: rows/cols with any non-zero gradient (relative to the pixel), and the half-widths
    of the centred squares holding `fractions` of the total absolute gradient."""
    import tensorflow as tf

    channels = model.input_shape[-1]
    x = tf.constant(smooth_packed(side, side, channels, seed=1)[None])
    centre = side // 2 + 3  # off the pooling grid's symmetric points
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = model(x, training=False)
        block = out.shape[1] // side
        value = tf.reduce_sum(out[0, centre * block, centre * block])
    grad = np.abs(tape.gradient(value, x).numpy()[0]).sum(axis=-1)
    rows = np.nonzero(grad.sum(axis=1))[0] - centre
    cols = np.nonzero(grad.sum(axis=0))[0] - centre
    total = grad.sum()
    radii = {}
    for fraction in fractions:
        for radius in range(side):
            window = grad[max(0, centre - radius): centre + radius + 1,
                          max(0, centre - radius): centre + radius + 1]
            if window.sum() >= fraction * total:
                radii[str(fraction)] = radius
                break
    return {
        "nonzero_rows": [int(rows.min()), int(rows.max())],
        "nonzero_cols": [int(cols.min()), int(cols.max())],
        "mass_radius": radii,
    }


class _Memo:
    """Caches `predict` by batch content, so both blend modes share one pass per tile."""

    def __init__(self, predict):
        self.predict = predict
        self.cache = {}

    def __call__(self, batch):
        key = hashlib.sha1(np.ascontiguousarray(batch).tobytes()).hexdigest()
        if key not in self.cache:
            self.cache[key] = self.predict(batch)
        return self.cache[key]


def calibrate_output(model, packed, predict, block, output_std):
    """Scales the last 1x1 convolution so the untiled output on `packed` has std `output_std`.

    A random-init U-Net outputs values of std ~0.01, a trained one sRGB images of std ~0.25;
    seam errors scale with the output, so uncalibrated errors in [0, 1] units would be
    understated by ~25x. The last conv has zero bias at init, so this scales the output (and
    every seam error) exactly. Returns the scale.
    """
    from lsid_keras.tiling import run_untiled

    last_conv = model.get_layer(model.layers[-1]._inbound_nodes[0].input_tensors[0]
                                ._keras_history.operation.name)
    scale = output_std / float(run_untiled(predict, packed, block).std())
    kernel, bias = last_conv.get_weights()
    last_conv.set_weights([kernel * scale, bias * scale])
    return scale


def measure(width, camera, size, tile, halos, seed, noise, output_std):
    """Seam errors of one random-init SID model; returns a dict for the JSON."""
    import keras

    from lsid_keras.models import CAMERAS, get_model
    from lsid_keras.tiling import BLENDS, keras_predictor, run_tiled, run_untiled, tile_plan

    keras.utils.set_random_seed(seed)
    model = get_model("sid", camera=camera, width=width)
    block = CAMERAS[camera].block_size
    packed = smooth_packed(*size, CAMERAS[camera].packed_channels, seed=seed, noise=noise)
    predict = keras_predictor(model)
    scale = calibrate_output(model, packed, predict, block, output_std) if output_std else 1.0

    # The reference pads the frame by the receptive field's reach, so it is the network's
    # answer on the reflected frame: tiles approach it at the frame edges (reflect-padded by
    # the halo) as they do at their seams.
    receptive = graph_receptive_field(model)
    start = time.perf_counter()
    reference = run_untiled(predict, packed, block,
                            halo=max(receptive["before"], receptive["after"]))
    untiled_s = time.perf_counter() - start
    result = {
        "width": width,
        "noise": noise,
        "params": int(model.count_params()),
        "untiled_s": round(untiled_s, 3),
        "output_scale": scale,
        "output_min": float(reference.min()),
        "output_max": float(reference.max()),
        "output_std": float(reference.std()),
        "graph_receptive_field": receptive,
        "gradient_receptive_field": gradient_receptive_field(model),
        "rows": [],
    }
    for halo in halos:
        memo = _Memo(predict)
        for blend in BLENDS:
            start = time.perf_counter()
            tiled = run_tiled(memo, packed, tile=tile, halo=halo, block=block, blend=blend)
            seconds = time.perf_counter() - start
            error = np.abs(tiled - reference)
            result["rows"].append({
                "halo": halo,
                "blend": blend,
                "tiles": len(tile_plan(*size, tile, halo)),
                "max_abs": float(error.max()),
                "mean_abs": float(error.mean()),
                "max_levels": float(error.max() * 255),
                "mean_levels": float(error.mean() * 255),
                "p999_levels": float(np.quantile(error, 0.999) * 255),
                "seconds": round(seconds, 3),
            })
    for blend in BLENDS:
        result[f"halo_below_one_level_{blend}"] = smallest_halo_below(result["rows"], blend)
    return result


def measure_trained(weights, raw_files, tile, halos):
    """Seam errors of a trained model on RAW files; returns a dict for the JSON (one row per
    halo and blend, the worst file's max error and the mean over files' mean errors)."""
    from lsid_keras.enhance import load_enhancer, network_input
    from lsid_keras.raw import read_raw
    from lsid_keras.tiling import BLENDS, run_tiled, run_tiled_split, run_untiled

    enhancer = load_enhancer(weights)
    block = enhancer.block_size
    halves = enhancer.encoder_decoder
    receptive = graph_receptive_field(enhancer.predict.model)
    reach = max(receptive["before"], receptive["after"])
    frames = []
    for path in raw_files:
        packed, ratio, _ = network_input(enhancer, read_raw(path), "auto")
        frames.append((os.path.basename(path), packed, ratio))

    def untiled(packed, halo):
        # A global model averages over the padded frame, so its reference is the untiled
        # pass padded by the same halo (as `lsid enhance --tile 0` runs it); a local model's
        # is padded by the receptive field's reach: the network's answer on the reflected
        # frame, which tiles approach at their seams and edges.
        return run_untiled(enhancer.predict, packed, block,
                           halo=halo if halves is not None else reach)

    references = {}
    result = {"weights": weights, "files": [[name, round(ratio, 3), list(packed.shape)]
                                            for name, packed, ratio in frames],
              "global_model": halves is not None, "graph_receptive_field": receptive,
              "rows": []}
    for halo, blend in itertools.product(halos, BLENDS):
        worst, means, tails, start = 0.0, [], [], time.perf_counter()
        for name, packed, _ in frames:
            key = (name, halo if halves is not None else None)
            if key not in references:
                references[key] = untiled(packed, halo)
            reference = references[key]
            if halves is None:
                tiled = run_tiled(enhancer.predict, packed, tile=tile, halo=halo, block=block,
                                  blend=blend)
            else:
                tiled = run_tiled_split(halves.encode, halves.decode, packed, tile=tile,
                                        halo=halo, block=block, blend=blend)
            error = np.abs(np.clip(tiled, 0, 1) - np.clip(reference, 0, 1))
            worst, means = max(worst, float(error.max())), means + [float(error.mean())]
            tails.append(float(np.quantile(error, 0.999)))
        result["rows"].append({"halo": halo, "blend": blend, "max_levels": worst * 255,
                               "mean_levels": float(np.mean(means)) * 255,
                               "p999_levels": max(tails) * 255,
                               "seconds": round(time.perf_counter() - start, 3)})
    for blend in BLENDS:
        result[f"halo_below_one_level_{blend}"] = smallest_halo_below(result["rows"], blend)
    return result


def print_result(result, args):
    grad, field = result["gradient_receptive_field"], result["graph_receptive_field"]
    print(f"\nSID width {result['width']} ({result['params']:,} params), {args.camera}, "
          f"{args.size[0]}x{args.size[1]} packed, noise {result['noise']}, tile {args.tile}; "
          f"untiled {result['untiled_s']:.2f} s; output in [{result['output_min']:.3f}, "
          f"{result['output_max']:.3f}], std {result['output_std']:.3f}")
    print(f"receptive field (graph): {field['width']} packed px wide, reaching "
          f"{field['before']} before and {field['after']} after a pixel; gradient non-zero "
          f"rows {grad['nonzero_rows']}, cols {grad['nonzero_cols']}; 99% / 99.9% of "
          f"|gradient| within radius {grad['mass_radius'].get('0.99')} / "
          f"{grad['mass_radius'].get('0.999')}")
    print(f"{'halo':>5} {'blend':>8} {'tiles':>5} {'max abs':>10} {'mean abs':>10} "
          f"{'max lvl':>8} {'mean lvl':>9} {'p99.9 lvl':>9} {'s':>6}")
    for row in result["rows"]:
        print(f"{row['halo']:5d} {row['blend']:>8} {row['tiles']:5d} {row['max_abs']:10.2e} "
              f"{row['mean_abs']:10.2e} {row['max_levels']:8.3f} {row['mean_levels']:9.4f} "
              f"{row['p999_levels']:9.4f} {row['seconds']:6.2f}")
    for blend in ("crop", "feather"):
        print(f"smallest halo with max error < 1/255 ({blend}): "
              f"{result[f'halo_below_one_level_{blend}']}")


def smallest_halo_below(rows, blend, bound=1.0):
    """The smallest measured halo whose max error is below `bound` 8-bit levels, or None."""
    good = [r["halo"] for r in rows if r["blend"] == blend and r["max_levels"] < bound]
    return min(good) if good else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 8],
                        help="U-Net widths to measure (32 is the published SID net)")
    parser.add_argument("--camera", default="sony", choices=("sony", "fuji"))
    parser.add_argument("--size", type=_size, default=(512, 768),
                        help="packed image HxW in packed pixels")
    parser.add_argument("--tile", type=int, default=256, help="tile side in packed pixels")
    parser.add_argument("--halos", type=int, nargs="+", default=[0, 8, 16, 32, 48, 64])
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.05],
                        help="std of Gaussian noise added to the smooth input; one run each")
    parser.add_argument("--output-std", type=float, default=0.25,
                        help="scale the last conv so the untiled output has this std, as a "
                        "trained model's sRGB output would (0: leave the random init)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--weights", help="a trained .keras model (needs --raw) instead of "
                        "random-init SID nets")
    parser.add_argument("--raw", nargs="+", help="RAW files for --weights")
    args = parser.parse_args(argv)
    if bool(args.weights) != bool(args.raw):
        parser.error("--weights and --raw go together")

    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised in this process (tests)
        print(f"warning: TensorFlow already running; --threads {args.threads} ignored")

    if args.weights:
        from lsid_keras import machine

        result = measure_trained(args.weights, args.raw, args.tile, args.halos)
        result.update(tile=args.tile, cpu_features=machine.cpu_features())
        print(f"{args.weights} on {len(args.raw)} RAW files, tile {args.tile}:")
        print(f"{'halo':>5} {'blend':>8} {'max lvl':>8} {'p99.9 lvl':>9} {'mean lvl':>9} "
              f"{'s':>7}")
        for row in result["rows"]:
            print(f"{row['halo']:5d} {row['blend']:>8} {row['max_levels']:8.3f} "
                  f"{row['p999_levels']:9.3f} {row['mean_levels']:9.4f} {row['seconds']:7.2f}")
        for blend in ("crop", "feather"):
            print(f"smallest halo with max error < 1/255 ({blend}): "
                  f"{result[f'halo_below_one_level_{blend}']}")
        if args.out:
            with open(args.out, "w") as file:
                json.dump(result, file, indent=2)
            print(f"wrote {args.out}")
        return 0

    report = {"camera": args.camera, "size": list(args.size), "tile": args.tile,
              "halos": args.halos, "noise": args.noise,
              "output_std": args.output_std, "seed": args.seed, "models": []}
    for width, noise in itertools.product(args.widths, args.noise):
        result = measure(width, args.camera, args.size, args.tile, args.halos, args.seed,
                         noise, args.output_std)
        report["models"].append(result)
        print_result(result, args)
    for blend in ("crop", "feather"):
        halos = [r[f"halo_below_one_level_{blend}"] for r in report["models"]]
        worst = None if None in halos else max(halos)
        report[f"halo_below_one_level_{blend}"] = worst
        print(f"\n{blend}: smallest halo with max error < 1/255 in every run: {worst}")
    if args.out:
        with open(args.out, "w") as file:
            json.dump(report, file, indent=2)
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
