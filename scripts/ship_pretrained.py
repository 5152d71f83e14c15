"""Copy a trained run of the shipped model's recipe into the package, with its provenance.

    python scripts/ship_pretrained.py --run /work/shipped/model/run \
        --network-eval eval/net --isp-eval eval/isp [--as-shot-eval eval/net-as-shot] \
        [--data /work/shipped/model/data] [--model eval/epoch3.keras --epoch 3]

Writes `lsid_keras/pretrained/gia_net_sony_w16.keras` (the run's `model.keras` without its
optimizer state: float32 weights only, about 8.3 MB) and `gia_net_sony_w16.json`: epochs
trained of those planned, the training curve (`training_log.csv`, one row per epoch), the
figures of `lsid evaluate` on unseen photos for the model and for the traditional pipeline
(`--network-eval` / `--isp-eval`: the `--out` folders of the two runs, each holding
`summary.json`; `--as-shot-eval`, optional: the model's run with `--colour as-shot --fusion`,
what `lsid enhance` gives by default), and which photos the test scenes came from (`synth.json`
of `--data`); `--generalisation` adds the held-out figures of `scripts/measure_generalisation.py`
(cross-noise set, real camera files) and `--recipe` copies the recipe the run trained with
(default: the run's own settings are checked against `gia_net_sony_w16.toml`); `--base-run`
names the run a fine-tuning started from (its epochs, recipe and curve are recorded as
`fine_tuned_from`, so "finished" covers both stages). Prints the
README's tables. Every file is written atomically. `--figures-only` re-measures the model
already shipped (e.g. after `lsid enhance`'s defaults changed): it checks that `--model` has
the shipped file's weights and rewrites the JSON only, not the model file.
"""

import argparse
import csv
import json
import os
import sys

MAX_BYTES = 10 * 2**20  # the limit for a model file in the repository


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="run folder of `lsid train` (model.keras, "
                        "training_log.csv, config.json)")
    parser.add_argument("--network-eval", required=True,
                        help="`lsid evaluate --out` folder of the run's model")
    parser.add_argument("--isp-eval", required=True,
                        help="`lsid evaluate --method isp --out` folder on the same list")
    parser.add_argument("--as-shot-eval",
                        help="`lsid evaluate --colour as-shot [--fusion] --out` folder of the "
                        "same model (with --fusion: what `lsid enhance` gives by default)")
    parser.add_argument("--model", help="the model file evaluated (default: the run's "
                        "model.keras); a copy taken at an epoch's end while training goes on")
    parser.add_argument("--epoch", type=int, help="the epochs that model had trained (default: "
                        "every row of training_log.csv); the curve stops there")
    parser.add_argument("--data", help="the synthetic dataset root (its synth.json names the "
                        "photos of each split)")
    parser.add_argument("--generalisation", help="JSON of scripts/measure_generalisation.py for "
                        "the same model (cross-noise set, real files)")
    parser.add_argument("--recipe", help="the recipe (.toml) the run trained with, copied to "
                        "the shipped model's recipe file")
    parser.add_argument("--base-run", help="run folder of the training this run fine-tuned "
                        "(its init_model): recorded with its epochs and curve")
    parser.add_argument("--base-recipe", help="the recipe (.toml) of --base-run, checked "
                        "against its settings")
    parser.add_argument("--figures-only", action="store_true",
                        help="new figures for the model already shipped: `--model` must have "
                        "its weights; only the JSON is rewritten")
    return parser.parse_args(argv)


def _json(path):
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def training_curve(run):
    """Rows of `training_log.csv` as dicts of floats (epoch as int)."""
    with open(os.path.join(run, "training_log.csv"), encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    curve = []
    for row in rows:
        entry = {"epoch": int(row["epoch"]) + 1}
        for key in ("loss", "l1", "ms_ssim_loss", "gradient_l1", "learning_rate"):
            if row.get(key) not in (None, "", "NA"):
                entry[key] = float(row[key])
        curve.append(entry)
    return curve


def figures(summary):
    """`{"overall": {...}, "by_ratio": {...}}` of an `lsid evaluate` summary, rounded."""
    def short(group):
        return {"n": group["n"], "psnr_db": round(group["psnr"], 2),
                "ssim": round(group["ssim"], 3)}

    return {"overall": short(summary), "by_ratio": {
        ratio: short(group) for ratio, group in summary["by_ratio"].items()},
        "protocol": summary.get("protocol"), "tile": summary.get("tile"),
        "fusion": bool(summary.get("fusion"))}


def photo_splits(data):
    if not data:
        return None
    sony = _json(os.path.join(data, "synth.json"))["datasets"]["Sony"]
    return {"photo_splits": sony.get("photo_splits"), "scene_sources": sony.get("scene_sources")}


def check_recipe(path, config):
    """Exits naming the settings of the recipe at `path` that the run's `config` lacks."""
    import tomllib

    with open(path, "rb") as file:
        recipe = tomllib.load(file)
    differing = sorted(k for k, v in recipe.items() if config.get(k) != v)
    if differing:
        raise SystemExit(f"{path}: the run trained with other settings "
                         f"({', '.join(differing)})")


def readme_tables(provenance):
    """The README's two tables (figures per ratio; training curve), from the provenance."""
    columns = [("shipped model", provenance["network"])]
    if provenance.get("network_as_shot"):
        name = ("as `lsid enhance --no-auto-bright` gives it (as-shot colour, fusion)"
                if provenance["network_as_shot"].get("fusion") else
                "with as-shot colour (`lsid enhance --no-auto-bright`)")
        columns.append((name, provenance["network_as_shot"]))
    columns.append(("traditional pipeline", provenance["traditional"]))

    def cell(group):
        return f"{group['psnr_db']:.2f} dB / {group['ssim']:.3f}"

    lines = ["| ratio | n | " + " | ".join(f"{name} PSNR / SSIM" for name, _ in columns) + " |",
             "|---|---|" + "---|" * len(columns)]
    first = columns[0][1]
    for ratio, group in first["by_ratio"].items():
        lines.append(f"| x{ratio} | {group['n']} | " + " | ".join(
            cell(column["by_ratio"][ratio]) for _, column in columns) + " |")
    lines.append(f"| all | {first['overall']['n']} | " + " | ".join(
        cell(column["overall"]) for _, column in columns) + " |")
    lines += ["", "| epoch | loss | l1 term | MS-SSIM term | learning rate |",
              "|---|---|---|---|---|"]
    for row in provenance["training_curve"]:
        lines.append(f"| {row['epoch']} | {row.get('loss', float('nan')):.4f} | "
                     f"{row.get('l1', float('nan')):.4f} | "
                     f"{row.get('ms_ssim_loss', float('nan')):.4f} | "
                     f"{row.get('learning_rate', float('nan')):.0e} |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from lsid_keras.atomic import atomic_output, write_json_atomic
    from lsid_keras.models import load_model
    from lsid_keras.pretrained import SHIPPED_CAMERA, shipped_path

    config = _json(os.path.join(args.run, "config.json"))
    curve = training_curve(args.run)[: args.epoch]
    provenance = {
        "model": os.path.basename(shipped_path()),
        "camera": SHIPPED_CAMERA,
        "trained_on": "synthetic RAW pairs of `lsid synth --camera sony` (the alpha 7S II "
                      "emulation), not the SID dataset",
        "epochs_trained": len(curve),
        "epochs_planned": config.get("epochs"),
        "steps_per_epoch": config.get("steps_per_epoch"),
        "recipe": os.path.basename(shipped_path(".toml")),
        "training_curve": curve,
        "network": figures(_json(os.path.join(args.network_eval, "summary.json"))),
        "network_as_shot": figures(_json(os.path.join(args.as_shot_eval, "summary.json")))
        if args.as_shot_eval else None,
        "traditional": figures(_json(os.path.join(args.isp_eval, "summary.json"))),
        "test_data": photo_splits(args.data),
    }
    if args.generalisation:
        measured = _json(args.generalisation)
        provenance["generalisation"] = {
            "cross_noise": (measured.get("cross_noise") or {}).get("summary"),
            "cross_noise_family": (measured.get("cross_noise") or {}).get("noise_family"),
            "real_files": measured.get("real_files"),
            "cpu_flags": measured.get("cpu_flags"), "date": measured.get("date")}
    if args.recipe:
        check_recipe(args.recipe, config)
    if args.base_run:
        base = _json(os.path.join(args.base_run, "config.json"))
        if args.base_recipe:
            check_recipe(args.base_recipe, base)
        base_curve = training_curve(args.base_run)
        provenance["fine_tuned_from"] = {
            "recipe": os.path.basename(args.base_recipe) if args.base_recipe else None,
            "epochs_trained": len(base_curve), "epochs_planned": base.get("epochs"),
            "steps_per_epoch": base.get("steps_per_epoch"), "training_curve": base_curve}
    model = load_model(args.model or os.path.join(args.run, "model.keras"))  # uncompiled
    if args.figures_only:
        import numpy as np

        shipped = load_model(shipped_path()).get_weights()
        given = model.get_weights()
        if len(shipped) != len(given) or not all(
                np.array_equal(a, b) for a, b in zip(shipped, given, strict=True)):
            raise SystemExit(f"{args.model}: not the weights of {shipped_path()}; ship it "
                             "without --figures-only")
        write_json_atomic(shipped_path(".json"), provenance)
        print(f"wrote {shipped_path('.json')} (figures only; the model file is unchanged)")
        print(readme_tables(provenance))
        return 0
    with atomic_output(shipped_path()) as temporary:
        model.save(temporary)
        size = os.path.getsize(temporary)
        if size > MAX_BYTES:
            raise SystemExit(f"{shipped_path()}: {size / 2**20:.1f} MiB exceeds the "
                             f"{MAX_BYTES / 2**20:.0f} MiB limit for the repository")
    if args.recipe:
        from lsid_keras.atomic import copy_file_atomic

        copy_file_atomic(args.recipe, shipped_path(".toml"))
    write_json_atomic(shipped_path(".json"), provenance)
    print(f"wrote {shipped_path()} ({size / 1e6:.1f} MB, {len(curve)} of "
          f"{config.get('epochs')} epochs) and {shipped_path('.json')}")
    print(readme_tables(provenance))
    return 0


if __name__ == "__main__":
    sys.exit(main())
