"""The quickstart: the whole method end to end in minutes on a CPU, with no dataset.

1. `lsid synth`: a small synthetic SID-style Sony dataset from the photos scikit-image ships;
2. `lsid prepare`: its training list into a cache;
3. `lsid train`: a small GIA-Net (width 8, joint loss) for a bounded wall time;
4. `lsid evaluate`: the network, the shipped pretrained model (`lsid_keras.pretrained`) and
   the traditional pipeline on the held-out test scenes;
5. `lsid enhance`: held-out scenes at every test ratio, shown in a grid (`side_by_side.png`):
   one row per scene and ratio, columns the input, the traditional pipeline, the quickstart's
   model, the shipped model and the ground truth, under a caption row; each panel is labelled
   with its PSNR against the ground truth.

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
#: Held-out scenes in the picture, each at every test ratio (one row per scene and ratio).
GRID_SCENES = 3
GRID_GAP = 4  # white pixels between panels and rows
CAPTION_HEIGHT = 24  # pixels of the caption row above the grid
GRID_COLUMNS = ("input (amplified, no ISP)", "traditional pipeline", "quickstart model",
                "shipped model", "ground truth")


def side_by_side(panels, gap=GRID_GAP):
    """Concatenates (H, W, 3) [0, 1] images left to right with a `gap`-pixel white gap."""
    height = max(p.shape[0] for p in panels)
    spacer = np.ones((height, gap, 3), np.float32)
    parts = []
    for panel in panels:
        pad = height - panel.shape[0]
        parts += [np.pad(panel, ((0, pad), (0, 0), (0, 0))), spacer]
    return np.concatenate(parts[:-1], axis=1)


def _font(size):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1: a scalable default font
    except TypeError:
        return ImageFont.load_default()


def label_panel(panel, text, corner="bottom"):
    """`panel` ((H, W, 3) [0, 1]) with `text` in white on a black box at its top or bottom left
    (PIL's default font)."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(np.round(np.clip(panel, 0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    font = _font(13)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    box_height = bottom - top + 6
    y = 0 if corner == "top" else image.height - box_height
    draw.rectangle((0, y, right - left + 8, y + box_height), fill=(0, 0, 0))
    draw.text((4 - left, y + 3 - top), text, fill=(255, 255, 255), font=font)
    return np.asarray(image, np.float32) / 255


def caption_row(widths, captions, gap=GRID_GAP, height=CAPTION_HEIGHT):
    """A white (height, sum(widths) + gaps, 3) strip with each caption centred over its
    column, in black (PIL's default font)."""
    from PIL import Image, ImageDraw

    width = sum(widths) + gap * (len(widths) - 1)
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = _font(15)
    x = 0
    for column_width, caption in zip(widths, captions, strict=True):
        left, top, right, bottom = draw.textbbox((0, 0), caption, font=font)
        draw.text((x + (column_width - (right - left)) // 2 - left,
                   (height - (bottom - top)) // 2 - top), caption, fill=(0, 0, 0), font=font)
        x += column_width + gap
    return np.asarray(image, np.float32) / 255


def grid(rows, captions, gap=GRID_GAP):
    """Stacks rows of panels (each a list of (H, W, 3) [0, 1] images, one per caption) under a
    caption row, `gap` white pixels between panels and rows."""
    lines = [side_by_side(row, gap) for row in rows]
    width = max(line.shape[1] for line in lines)
    parts = [caption_row([panel.shape[1] for panel in rows[0]], captions, gap)]
    for line in lines:
        parts += [np.ones((gap, width, 3), np.float32), line]
    return np.concatenate(parts, axis=0)


def grid_pairs(pairs, scene_images, count=GRID_SCENES):
    """The test pairs of the picture: `count` scenes, distinct photos first (each photo once
    before any repeats), every ratio of each, in (scene, ratio) order.

    Args:
        pairs: the test `SidPair`s.
        scene_images: {scene number: the photo it shows} (from `synth.json`).
    """
    by_scene = {}
    for pair in pairs:
        by_scene.setdefault(pair.scene, []).append(pair)
    chosen, seen = [], set()
    for repeat in (False, True):
        for scene in sorted(by_scene):
            image = scene_images.get(scene)
            if scene in chosen or (not repeat and image in seen):
                continue
            if len(chosen) < count:
                chosen.append(scene)
                seen.add(image)
    return [pair for scene in chosen for pair in sorted(by_scene[scene], key=lambda p: p.ratio)]


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
    network_rows, network = evaluate_pairs(test_pairs, "network", enhancer, tile=128,
                                           halo=32, progress=progress, log=log)
    shipped = load_shipped_enhancer()
    shipped_rows, shipped_scores = evaluate_pairs(test_pairs, "network", shipped, tile=128,
                                                  halo=32, progress=progress, log=log)
    isp_rows, traditional = evaluate_pairs(test_pairs, "isp", progress=progress, log=log)

    images = _scene_images(data)
    shown = grid_pairs(test_pairs, images)
    log(f"[5/5] enhancing {len(shown)} held-out pairs ({len({p.scene for p in shown})} scenes "
        "x every ratio) into side_by_side.png")
    scores = {name: {row["short_path"]: row["psnr"] for row in rows} for name, rows in
              (("network", network_rows), ("shipped", shipped_rows), ("isp", isp_rows))}
    rows = []
    for pair in shown:
        packed = amplify(pack(read_raw(pair.short_path)), pair.ratio)
        preview = np.repeat(np.repeat(preview_packed(packed), 2, axis=0), 2, axis=1)
        name = images.get(pair.scene) or f"scene {pair.scene}"
        rows.append([
            label_panel(preview, f"{name} x{pair.ratio:g}", corner="top"),
            label_panel(develop(pair.short_path, ratio=pair.ratio).astype(np.float32) / 65535,
                        f"{scores['isp'][pair.short_path]:.1f} dB"),
            label_panel(enhance_packed(enhancer, packed, tile=128, halo=32),
                        f"{scores['network'][pair.short_path]:.1f} dB"),
            label_panel(enhance_packed(shipped, packed, tile=128, halo=32),
                        f"{scores['shipped'][pair.short_path]:.1f} dB"),
            develop(pair.long_path).astype(np.float32) / 65535,
        ])
    image_path = write_image(os.path.join(out, "side_by_side.png"), grid(rows, GRID_COLUMNS),
                             bits=8)

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
        "side_by_side_panels": list(GRID_COLUMNS),
        "side_by_side_rows": [{"scene": p.scene, "photo": images.get(p.scene),
                               "ratio": p.ratio} for p in shown],
        "seconds": time.monotonic() - start,
    }
    write_json_atomic(os.path.join(out, "report.json"), report)
    for line in what_it_means(report):
        log(line)
    return report


def what_it_means(report):
    """The quickstart's closing lines: what the figures mean and where to look."""
    ratios = sorted({row["ratio"] for row in report["side_by_side_rows"]})
    scenes = len({row["scene"] for row in report["side_by_side_rows"]})
    return [
        f"Figures: mean PSNR (dB, higher is better; +3 dB is half the squared error) and SSIM "
        f"(0-1) against the long exposure over {report['test_pairs']} held-out pairs whose "
        "photos no training scene showed, in each network's own colour (the papers' protocol).",
        "  network: the model trained just now for "
        f"{report['train_minutes']:g} min; shipped: the pretrained GIA-Net "
        f"({report['shipped_model']['epochs_trained']} epochs on the same emulated camera); "
        "traditional: the short exposure brightened by the ratio and developed by LibRaw.",
        f"Look at {report['side_by_side']}: {scenes} held-out scenes x ratios "
        f"{', '.join(f'x{r:g}' for r in ratios)} (rows); columns "
        f"{' / '.join(GRID_COLUMNS)}; each panel's PSNR at its bottom left.",
        "Per-ratio figures are in report.json (by_ratio); enhance your own RAW with "
        "`lsid enhance FILE -o out.jpg` (see docs/enhance.md).",
    ]


def _scene_images(data):
    """{scene number: the photo it shows, or None for dead leaves} from `synth.json`."""
    import json

    with open(os.path.join(data, "synth.json"), encoding="utf-8") as file:
        scenes = json.load(file)["datasets"]["Sony"].get("scenes") or []
    return {int(s["scene"]): s.get("image") for s in scenes}


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
