"""Training speed: float32 vs mixed bfloat16 (and XLA) `model.fit` steps, per preset's loss.

For each preset (`sid`: l1, `zamir`: multi-criterion with a random VGG-16, `gia_net`: joint
l1 + MS-SSIM) this builds the full-width model once per precision policy, compiles it as
`lsid train` does (the preset's loss and its per-term metrics, Adam), and times `model.fit`
steps. Policies are timed side by side in one process, in alternating rounds, and the best
round counts: other processes share this machine's cores, so the minimum is the figure least
disturbed by them. It also times the loss alone (forward and backward, on the network output's
shape) to give the loss's share of the step. Prints a table and writes JSON.

    python scripts/bench_train.py --json bench_train.json                 # the papers' setting
    python scripts/bench_train.py --presets gia_net --xla                  # XLA as well
    python scripts/bench_train.py --width 4 --crop-size 32 --rounds 1 --steps 1   # smoke run

Crops are random tensors in memory (`--cache DIR` reads crops from a `lsid prepare` cache with
`make_dataset` instead, to include the input pipeline).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

POLICIES = ("float32", "mixed_bfloat16")
def cpu_bf16_flags():
    """The CPU features of native bfloat16 this CPU has (`lsid_keras.machine`)."""
    from lsid_keras.machine import BF16_FEATURES, cpu_features

    return [flag for flag in cpu_features() if flag in BF16_FEATURES]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="sid,zamir,gia_net",
                        help="comma-separated presets; each trains with its paper's loss")
    parser.add_argument("--width", type=int, default=32, help="U-Net width (32: the papers)")
    parser.add_argument("--crop-size", type=int, default=512, help="packed pixels (512)")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds (best counts)")
    parser.add_argument("--steps", type=int, default=2, help="fit steps per round")
    parser.add_argument("--xla", action="store_true", help="also time jit_compile=True")
    parser.add_argument("--cache", help="read crops from this cache (make_dataset)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--curve-steps", type=int, default=0,
                        help="also train float32 and mixed bfloat16 from the same weights on "
                        "the same crops for this many steps each and compare their loss "
                        "curves (0: skip)")
    return parser.parse_args(argv)


def _dataset(args, channels, scale):
    import tensorflow as tf

    if args.cache:
        from lsid_keras.data.cache import load_manifest
        from lsid_keras.data.pipeline import make_dataset

        return make_dataset(load_manifest(args.cache), crop_size=args.crop_size,
                            batch_size=args.batch_size, seed=0, repeat=True)
    side = args.crop_size
    x = tf.random.stateless_uniform((args.batch_size, side, side, channels), (0, 1))
    y = tf.random.stateless_uniform((args.batch_size, side * scale, side * scale, 3), (0, 2))
    return tf.data.Dataset.from_tensors((x, y)).repeat()


def _variants(args):
    variants = [(policy, False) for policy in POLICIES]
    if args.xla:
        variants += [(policy, True) for policy in POLICIES]
    return variants


def _name(policy, xla):
    return policy + ("_xla" if xla else "")


def _build(preset, policy, xla, args):
    import keras

    from lsid_keras.losses import loss_term_metrics
    from lsid_keras.models import get_model
    from lsid_keras.train import TrainConfig, build_loss

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        model = get_model(preset, camera="sony", width=args.width)
        config = TrainConfig(cache="-", model=preset, vgg_weights=None).resolved()
        loss = build_loss(config)
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=loss,
                      metrics=loss_term_metrics(loss), jit_compile=xla)
    finally:
        keras.config.set_dtype_policy(previous)
    return model, loss, config.loss


def _loss_step(loss, shape):
    """A compiled forward + backward pass of `loss` alone on `shape` outputs."""
    import tensorflow as tf

    y_true = tf.random.stateless_uniform(shape, (1, 0))
    y_pred = tf.Variable(tf.random.stateless_uniform(shape, (1, 1)))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = loss(y_true, y_pred)
        return tape.gradient(value, y_pred)

    return step


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def bench_preset(preset, args):
    """Best seconds per step of every variant, and of the preset's loss alone."""
    import numpy as np

    models = {}
    for policy, xla in _variants(args):
        models[_name(policy, xla)] = _build(preset, policy, xla, args)
    model = next(iter(models.values()))[0]
    channels = model.input_shape[-1]
    scale = 2 if channels == 4 else 3  # Bayer (Sony) output is 2x the packed side
    dataset = _dataset(args, channels, scale)
    side = args.crop_size * scale
    loss_step = _loss_step(models["float32"][1], (args.batch_size, side, side, 3))
    failed = {}
    for name, (model, _, _) in list(models.items()):  # trace and compile outside the timing
        try:
            start = time.perf_counter()
            model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)
            seconds = time.perf_counter() - start
            print(f"  {preset} {name}: first step (with tracing) {seconds:.1f} s",
                  file=sys.stderr, flush=True)
        except Exception as error:  # e.g. XLA refusing a mixed-precision graph
            if name == "float32":
                raise
            failed[name] = {"error": str(error).strip().splitlines()[-1][:300]}
            del models[name]
    loss_step()
    times = {name: [] for name in models}
    loss_times = []
    for _ in range(args.rounds):
        for name, (model, _, _) in models.items():
            def fit(model=model):
                model.fit(dataset, steps_per_epoch=args.steps, epochs=1, verbose=0,
                          shuffle=False)

            times[name].append(_timed(fit) / args.steps)
            print(f"  {preset} {name}: {times[name][-1]:.3f} s/step", file=sys.stderr, flush=True)
        loss_times.append(_timed(lambda: np.asarray(loss_step())))
    loss_seconds = min(loss_times)
    result = {"loss": models["float32"][2], "loss_seconds": loss_seconds, "variants": {}}
    for name, values in times.items():
        best = min(values)
        result["variants"][name] = {
            "seconds_per_step": best,
            "steps_per_s": 1.0 / best,
            "crops_per_s": args.batch_size / best,
            "rounds": values,
        }
    base = result["variants"]["float32"]["seconds_per_step"]
    result["variants"]["float32"]["loss_share"] = loss_seconds / base
    for entry in result["variants"].values():
        entry["speedup_vs_float32"] = base / entry["seconds_per_step"]
    result["variants"].update(failed)
    return result


def loss_curves(preset, args):
    """float32 and mixed-bfloat16 training from the same initial weights on the same crop
    sequence, `--curve-steps` steps each: the loss of every step, and how far the bfloat16
    curve is from the float32 one (relative, mean over the second half of the steps)."""
    import numpy as np

    curves = {}
    for policy in POLICIES:
        model, _, _ = _build(preset, policy, False, args)
        channels = model.input_shape[-1]
        dataset = _dataset(args, channels, 2 if channels == 4 else 3)
        if not args.cache:  # a new random crop each step, the same sequence for both
            dataset = dataset.enumerate().map(lambda i, xy: (
                _random_crop_pair(i, xy, args)))
        history = model.fit(dataset, steps_per_epoch=1, epochs=args.curve_steps, verbose=0,
                            shuffle=False)
        curves[policy] = [float(v) for v in history.history["loss"]]
    f32, bf16 = (np.asarray(curves[p]) for p in POLICIES)
    half = slice(len(f32) // 2, None)
    return {"steps": args.curve_steps, "loss": curves,
            "mean_relative_difference_second_half": float(
                np.mean(np.abs(bf16[half] - f32[half]) / f32[half])),
            "final_loss": {p: curves[p][-1] for p in POLICIES}}


def _random_crop_pair(index, pair, args):
    import tensorflow as tf

    x, y = pair
    seed = tf.stack([tf.cast(index, tf.int32), 7])
    return (tf.random.stateless_uniform(tf.shape(x), seed),
            tf.random.stateless_uniform(tf.shape(y), seed + 1, 0, 2))


def main(argv=None):
    args = parse_args(argv)
    bf16_flags = cpu_bf16_flags()
    if not bf16_flags:
        print("note: this CPU has no native bfloat16 (no amx_bf16 / avx512_bf16 flag): "
              "expect mixed_bfloat16 to be slower than float32", file=sys.stderr)
    results = {}
    for preset in args.presets.split(","):
        results[preset] = bench_preset(preset.strip(), args)
        result = results[preset]
        cells = ", ".join(
            f"{name} {entry['seconds_per_step']:.3f} s/step ({entry['speedup_vs_float32']:.2f}x)"
            if "error" not in entry else f"{name} failed"
            for name, entry in result["variants"].items()
        )
        print(f"{preset} ({result['loss']}): {cells}; loss alone (float32 fwd+bwd) "
              f"{result['loss_seconds']:.3f} s", flush=True)
        if args.curve_steps:
            result["loss_curves"] = curves = loss_curves(preset.strip(), args)
            print(f"{preset} loss curves over {args.curve_steps} steps: final float32 "
                  f"{curves['final_loss']['float32']:.4f}, mixed bfloat16 "
                  f"{curves['final_loss']['mixed_bfloat16']:.4f}; mean relative difference "
                  f"over the second half {curves['mean_relative_difference_second_half']:.3f}",
                  flush=True)
    report = {"settings": {k: v for k, v in vars(args).items() if k != "json"},
              "note": "best of alternating rounds; the machine's cores are shared",
              "cpu_bf16_flags": bf16_flags,
              "results": results}
    if args.json:
        from lsid_keras.atomic import write_json_atomic

        write_json_atomic(args.json, report)
    else:
        json.dump(report, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
