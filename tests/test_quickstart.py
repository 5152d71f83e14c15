import json

import numpy as np
from sid_fixtures import write_sid_dataset

from lsid_keras.cli import main
from lsid_keras.data.sid_list import read_pair_list
from lsid_keras.image_io import read_image
from lsid_keras.models import load_model
from lsid_keras.quickstart import (
    CAPTION_HEIGHT,
    GRID_COLUMNS,
    GRID_GAP,
    QUICKSTART_SIZE,
    caption_row,
    grid,
    grid_pairs,
)


def test_quickstart_runs_end_to_end_on_a_tiny_budget(tmp_path, capsys):
    out = tmp_path / "qs"
    assert main(["quickstart", "--out", str(out), "--minutes", "0.05", "--scenes", "4",
                 "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "held-out PSNR: network" in printed
    assert "Look at " in printed and "side_by_side.png" in printed and "x100, x250, x300" in printed
    report = json.loads((out / "report.json").read_text())
    for key in ("psnr_network", "psnr_shipped", "psnr_traditional", "ssim_network",
                "ssim_shipped", "ssim_traditional"):
        assert isinstance(report[key], float)
    assert set(report["by_ratio"]) == {"network", "shipped", "traditional"}
    assert report["shipped_model"]["test_photos_seen_in_its_training"] == []
    assert report["test_pairs"] > 0 and report["epochs"] >= 1
    assert load_model(out / "model.keras").input_shape[-1] == 4
    # One row per held-out scene and test ratio (--scenes 4 leaves one test scene), five
    # columns (input, ISP, network, shipped, truth) under a caption row.
    rows = report["side_by_side_rows"]
    assert [r["ratio"] for r in rows] == [100, 250, 300] and len({r["scene"] for r in rows}) == 1
    assert report["side_by_side_panels"] == list(GRID_COLUMNS)
    height, width = QUICKSTART_SIZE
    image = read_image(out / "side_by_side.png")
    assert image.shape == (CAPTION_HEIGHT + 3 * (height + GRID_GAP), 5 * width + 4 * GRID_GAP, 3)
    caption = image[:CAPTION_HEIGHT]
    assert caption.min() < 0.2 and np.median(caption) > 0.99  # black text on white


def test_quickstart_bad_budget_is_one_line(tmp_path, capsys):
    assert main(["quickstart", "--out", str(tmp_path), "--minutes", "0"]) == 2
    assert "minutes must be > 0" in capsys.readouterr().err


def test_grid_takes_three_scenes_distinct_photos_first_at_every_ratio(tmp_path):
    listing = write_sid_dataset(tmp_path / "sid", scenes=5)
    pairs = read_pair_list(listing)
    scenes = sorted({p.scene for p in pairs})
    photos = dict(zip(scenes, ["coffee.png", "coffee.png", "rocket.jpg", None, "rocket.jpg"],
                      strict=True))
    shown = grid_pairs(pairs, photos, count=3)
    chosen = list(dict.fromkeys(p.scene for p in shown))
    assert chosen == [scenes[0], scenes[2], scenes[3]]  # coffee, rocket, dead leaves; no repeat
    ratios = sorted({p.ratio for p in pairs})
    assert [p.ratio for p in shown] == ratios * 3


def test_grid_layout_caption_row_then_rows_of_panels():
    panels = [[np.full((32, 48, 3), (i + j) / 10, np.float32) for j in range(5)]
              for i in range(3)]
    picture = grid(panels, GRID_COLUMNS)
    assert picture.shape == (CAPTION_HEIGHT + 3 * (32 + GRID_GAP), 5 * 48 + 4 * GRID_GAP, 3)
    top = CAPTION_HEIGHT + GRID_GAP  # first panel row
    assert np.allclose(picture[top:top + 32, :48], 0.0)
    assert np.allclose(picture[top:top + 32, 48 + GRID_GAP:2 * 48 + GRID_GAP], 0.1)
    second = top + 32 + GRID_GAP
    assert np.allclose(picture[second:second + 32, :48], 0.1)
    assert np.all(picture[top + 32:second] == 1.0)  # white gap between rows
    strip = caption_row([48] * 5, ["a", "b", "c", "d", "e"])
    assert strip.shape == (CAPTION_HEIGHT, 5 * 48 + 4 * GRID_GAP, 3) and strip.min() < 0.5
