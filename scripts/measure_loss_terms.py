"""Magnitudes and gradients of the multi-criterion loss's terms on real training crops.

For `--batches` crops from `make_dataset` (a cache written by `lsid prepare`, e.g. of a
`lsid synth` dataset), this measures Zamir et al.'s pixel term `Lpix = beta * l1 + (1 - beta) *
(1 - MS-SSIM)` and VGG feature term `Lfeat` (raw and reference-energy normalised), and the
norms of their gradients with respect to the network output, for three predictions:
- `init`: the preset's network at initialisation (the start of training);
- `noise_0.05`: the ground truth plus Gaussian noise of sigma 0.05 (late training);
- `blur_3x3`: the ground truth blurred by a 3x3 box (late training).
For each it reports the feature term's share of the weighted loss (raw, normalised, and
normalised times `feature_scale`, the `MultiCriterionLoss` default), `(1 - alpha) * Lfeat /
(alpha * Lpix + (1 - alpha) * Lfeat)`, in value and in gradient norm: `alpha = 0.9` states a
share of 0.1 when both terms are of the same size.

ImageNet VGG-16 weights cannot be downloaded on an offline machine; by default the VGG is random
(`--vgg-weights none`). With the weights file, rerun with
`--vgg-weights /path/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5` (or `imagenet`).

    lsid synth data --scenes 8 --size 1088x1088 && lsid prepare data --list \\
        Sony_train_list.txt --cache cache
    python scripts/measure_loss_terms.py --cache cache --json loss_terms.json
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

PREDICTIONS = ("init", "noise_0.05", "blur_3x3")


def _weights(text):
    return None if text.lower() == "none" else text


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", required=True, help="training cache from `lsid prepare`")
    parser.add_argument("--model", default="zamir", help="preset at initialisation (zamir)")
    parser.add_argument("--width", type=int, default=32, help="U-Net width (32: the papers)")
    parser.add_argument("--crop-size", type=int, default=256,
                        help="crop side in packed pixels (the papers: 512)")
    parser.add_argument("--batches", type=int, default=4, help="crops measured (batch 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alpha", type=float, default=0.9)
    parser.add_argument("--beta", type=float, default=0.99)
    parser.add_argument("--vgg-weights", type=_weights, default=None,
                        help="none (random VGG, default), imagenet, or a .h5 weights file")
    parser.add_argument("--vgg-layer", default="block2_conv2")
    parser.add_argument("--feature-scale", type=float, default=None,
                        help="factor of the normalised VGG term (MultiCriterionLoss's default)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    return parser.parse_args(argv)


def _predictions(model, x, y, rng):
    import tensorflow as tf

    blurred = tf.nn.avg_pool2d(tf.pad(y, [[0, 0], [1, 1], [1, 1], [0, 0]], "SYMMETRIC"), 3, 1,
                               "VALID")
    return {
        "init": tf.cast(model(x, training=False), tf.float32),
        "noise_0.05": tf.clip_by_value(y + rng.normal(0, 0.05, y.shape).astype("float32"), 0, 1),
        "blur_3x3": blurred,
    }


def measure(args):
    import keras
    import tensorflow as tf

    from lsid_keras.losses.multi_criterion import FEATURE_SCALE

    if args.feature_scale is None:
        args.feature_scale = FEATURE_SCALE
    from lsid_keras.data.cache import load_manifest
    from lsid_keras.data.pipeline import make_dataset
    from lsid_keras.losses import JointLoss, VGGFeatureLoss
    from lsid_keras.models import get_model

    keras.utils.set_random_seed(args.seed)
    pairs = load_manifest(args.cache)
    camera = "fuji" if pairs[0].cfa_kind == "xtrans" else "sony"
    model = get_model(args.model, camera=camera, width=args.width)
    pixel_loss = JointLoss(gamma=args.beta, reduction=None)
    features = {
        "reference_energy": VGGFeatureLoss(args.vgg_weights, args.vgg_layer, reduction=None),
        "raw": VGGFeatureLoss(args.vgg_weights, args.vgg_layer, normalization=None,
                              reduction=None),
    }
    dataset = make_dataset(pairs, crop_size=args.crop_size, seed=args.seed, repeat=True)
    rng = np.random.default_rng(args.seed)
    samples = {name: [] for name in PREDICTIONS}
    for x, y in dataset.take(args.batches):
        for name, pred in _predictions(model, x, y, rng).items():
            pred = tf.Variable(pred)
            values, grads = {}, {}
            losses = {"pixel": pixel_loss, **{f"feature_{k}": v for k, v in features.items()}}
            for term, loss in losses.items():
                with tf.GradientTape() as tape:
                    value = tf.reduce_mean(loss.call(y, pred))
                values[term] = float(value)
                grads[term] = float(tf.norm(tape.gradient(value, pred)))
            samples[name].append((values, grads))
    return summarise(samples, args.alpha, args.feature_scale)


def summarise(samples, alpha, feature_scale):
    """Means over the crops, and the feature term's weighted share in value and gradient.

    `scaled` is the normalised term times `feature_scale` (MultiCriterionLoss's default);
    `suggested_feature_scale` is the factor that makes it equal to Lpix at initialisation.
    """
    results = {}
    for name, rows in samples.items():
        entry = {}
        for kind, index in (("value", 0), ("grad_norm", 1)):
            for term in rows[0][index]:
                entry[f"{term}_{kind}"] = float(np.mean([row[index][term] for row in rows]))
            normalised = entry[f"feature_reference_energy_{kind}"]
            entry[f"feature_scaled_{kind}"] = feature_scale * normalised
        for norm in ("scaled", "reference_energy", "raw"):
            for kind in ("value", "grad_norm"):
                pixel, feature = entry[f"pixel_{kind}"], entry[f"feature_{norm}_{kind}"]
                share = (1 - alpha) * feature / (alpha * pixel + (1 - alpha) * feature)
                entry[f"feature_share_{norm}_{kind}"] = share
        results[name] = entry
    init = results["init"]
    suggested = init["pixel_value"] / init["feature_reference_energy_value"]
    results["suggested_feature_scale"] = suggested
    return results


def main(argv=None):
    args = parse_args(argv)
    results = measure(args)
    report = {"settings": {k: v for k, v in vars(args).items() if k != "json"},
              "results": results}
    for name in PREDICTIONS:
        entry = results[name]
        print(f"{name}: Lpix {entry['pixel_value']:.4g} (grad {entry['pixel_grad_norm']:.3g}); "
              f"Lfeat normalised {entry['feature_reference_energy_value']:.4g} "
              f"(grad {entry['feature_reference_energy_grad_norm']:.3g}), raw "
              f"{entry['feature_raw_value']:.4g} (grad {entry['feature_raw_grad_norm']:.3g}); "
              f"feature share at alpha={args.alpha}: normalised "
              f"{entry['feature_share_reference_energy_value']:.2f} value / "
              f"{entry['feature_share_reference_energy_grad_norm']:.2f} grad, raw "
              f"{entry['feature_share_raw_value']:.2f} / "
              f"{entry['feature_share_raw_grad_norm']:.2f}; scaled x{args.feature_scale:g} "
              f"{entry['feature_share_scaled_value']:.2f} / "
              f"{entry['feature_share_scaled_grad_norm']:.2f}")
    print(f"suggested feature_scale: {results['suggested_feature_scale']:.3g}")
    if args.json:
        from lsid_keras.atomic import write_json_atomic

        write_json_atomic(args.json, report)
    else:
        json.dump(report, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
