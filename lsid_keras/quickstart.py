"""The quickstart: the whole method end to end in minutes on a CPU, with no dataset.

1. `lsid synth`: a small synthetic SID-style Sony dataset from the photos scikit-image ships;
2. `lsid prepare`: its training list into a cache;
3. `lsid train`: a small GIA-Net (width 8, joint loss) for a bounded wall time;
4. `lsid evaluate`: the network, the shipped pretrained model (`lsid_keras.pretrained`) and
   the traditional pipeline on the held-out test scenes;
5. `lsid enhance`: one test scene, shown side by side: the input, the traditional pipeline,
   the quickstart's model, the shipped model and the ground truth.

It writes `OUT/model.keras`, `OUT/report.json` and `OUT/side_by_side.png`. The training recipe
is not the papers' (they train 4000 epochs of 512 crops on a GPU): a higher learning rate and
small crops make a few CPU minutes count.
"""

from __future__ import annotations

import os
import shutil
import time

import numpy as np

QUICKSTART_SCENES = 24
QUICKSTART_SIZE = (256, 384)  # RAW pixels: packed 128 x 192
QUICKSTART_WIDTH = 8
QUICKSTART_MINUTES = 5.0


def side_by_side(panels):
    """Concatenates (H, W, 3) [0, 1] images left to right with a 4-pixel white gap."""
    height = max(p.shape[0] for p in panels)
    gap = np.ones((height, 4, 3), np.float32)
    parts = []
    for panel in panels:
        pad = height - panel.shape[0]
        parts += [np.pad(panel, ((0, pad), (0, 0), (0, 0))), gap]
    return np.concatenate(parts[:-1], axis=1)


def run_quickstart(out="quickstart", minutes=QUICKSTART_MINUTES, scenes=QUICKSTART_SCENES,
                   seed=0, progress=True, log=print):
    """Runs the five steps above into `out`; returns the report dict (also `report.json`).

    Args:
        out: output folder (created; reruns reuse the dataset and cache already there).
        minutes: training wall-time budget (> 0).
        scenes: synthetic scenes (>= 4, so that the test split is not empty).
        seed: seed of the dataset, the crops and the initial weights.
    """
    from lsid_keras.atomic import atomic_output, write_json_atomic
    from lsid_keras.data.cache import prepare_cache
    from lsid_keras.data.sid_list import read_pair_list
    from lsid_keras.data.synth import synthesize_dataset
    from lsid_keras.enhance import enhance_packed, load_enhancer, load_shipped_enhancer
    from lsid_keras.evaluate import evaluate_pairs
    from lsid_keras.image_io import write_image
    from lsid_keras.raw import amplify, pack, read_raw
    from lsid_keras.raw.develop import develop
    from lsid_keras.train import TrainConfig, train
    from lsid_keras.train_callbacks import preview_packed

    if not minutes > 0:
        raise ValueError(f"minutes must be > 0. Received: minutes={minutes}")
    if scenes < 4:
        raise ValueError(f"scenes must be >= 4. Received: scenes={scenes}")
    start = time.monotonic()
    os.makedirs(out, exist_ok=True)
    data = os.path.join(out, "data")

    log(f"[1/5] synthesising {scenes} low-light scenes -> {data}")
    synthesize_dataset(data, camera="sony", scenes=scenes, seed=seed, size=QUICKSTART_SIZE,
                       splits=(0.75, 0.25, 0.0), progress=progress)
    train_pairs = read_pair_list(os.path.join(data, "Sony_train_list.txt"))
    test_pairs = read_pair_list(os.path.join(data, "Sony_test_list.txt"))

    log(f"[2/5] caching {len(train_pairs)} training pairs")
    cache = os.path.join(out, "cache")
    prepare_cache(train_pairs, cache, workers=1, progress=progress)

    log(f"[3/5] training a width-{QUICKSTART_WIDTH} GIA-Net for {minutes:g} min")
    result = train(TrainConfig(
        cache=cache, out=os.path.join(out, "train"), model="gia_net", width=QUICKSTART_WIDTH,
        loss="joint", epochs=100_000, learning_rate=5e-4, lr_after_drop=5e-4,
        crop_size=64, batch_size=4, seed=seed, max_minutes=minutes, image_every=0,
        epoch_unit="pairs",
        verbose="budget" if progress else 0,
    ))
    model_path = os.path.join(out, "model.keras")
    with atomic_output(model_path) as temporary:
        shutil.copyfile(result.model_path, temporary)

    log(f"[4/5] evaluating on {len(test_pairs)} held-out pairs: the quickstart's model, the "
        "shipped model and the traditional pipeline")
    enhancer = load_enhancer(model_path)
    _, network = evaluate_pairs(test_pairs, "network", enhancer, tile=128, halo=32,
                                progress=progress, log=log)
    shipped = load_shipped_enhancer()
    _, shipped_scores = evaluate_pairs(test_pairs, "network", shipped, tile=128, halo=32,
                                       progress=progress, log=log)
    _, traditional = evaluate_pairs(test_pairs, "isp", progress=progress, log=log)

    log("[5/5] enhancing one held-out scene")
    pair = test_pairs[0]
    packed = amplify(pack(read_raw(pair.short_path)), pair.ratio)
    network_rgb = enhance_packed(enhancer, packed, tile=128, halo=32)
    preview = np.repeat(np.repeat(preview_packed(packed), 2, axis=0), 2, axis=1)
    panels = [
        preview,
        develop(pair.short_path, ratio=pair.ratio).astype(np.float32) / 65535,
        network_rgb,
        enhance_packed(shipped, packed, tile=128, halo=32),
        develop(pair.long_path).astype(np.float32) / 65535,
    ]
    image_path = write_image(os.path.join(out, "side_by_side.png"), side_by_side(panels), bits=8)

    report = {
        "psnr_network": network["psnr"],
        "psnr_traditional": traditional["psnr"],
        "ssim_network": network["ssim"],
        "ssim_traditional": traditional["ssim"],
        "test_pairs": len(test_pairs),
        "train_pairs": len(train_pairs),
        "psnr_shipped": shipped_scores["psnr"],
        "ssim_shipped": shipped_scores["ssim"],
        "by_ratio": {"network": network["by_ratio"], "shipped": shipped_scores["by_ratio"],
                     "traditional": traditional["by_ratio"]},
        "shipped_model": _shipped_summary(data),
        "epochs": result.epochs_done,
        "final_loss": result.logs.get("loss"),
        "train_minutes": minutes,
        "model": model_path,
        "side_by_side": image_path,
        "side_by_side_panels": ["input (amplified, no ISP)", "traditional pipeline",
                                "network (quickstart)", "shipped model", "ground truth"],
        "seconds": time.monotonic() - start,
    }
    write_json_atomic(os.path.join(out, "report.json"), report)
    return report


def _shipped_summary(data):
    """The shipped model's file and epochs, and whether any of its training photos is among
    the quickstart's test photos (then its figures here would not be on unseen content)."""
    import json

    from lsid_keras.pretrained import shipped_model_path, shipped_provenance

    provenance = shipped_provenance()
    with open(os.path.join(data, "synth.json"), encoding="utf-8") as file:
        splits = json.load(file)["datasets"]["Sony"].get("photo_splits") or {}
    trained_on = set(((provenance.get("test_data") or {}).get("photo_splits") or {}).get(
        "train", []))
    return {"model": shipped_model_path(), "epochs_trained": provenance.get("epochs_trained"),
            "test_photos_seen_in_its_training": sorted(trained_on & set(splits.get("test", [])))}
