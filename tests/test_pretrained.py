"""The shipped pretrained model (issue 11.3): used when no --model is given, Bayer only."""

import subprocess
import sys

import numpy as np
import pytest
from raw_fixtures import XT2
from sid_fixtures import write_sid_dataset

from lsid_keras.enhance import load_shipped_enhancer
from lsid_keras.image_io import read_image
from lsid_keras.pretrained import SHIPPED_CAMERA, shipped_model_path, shipped_provenance
from lsid_keras.raw import write_dng


def _cli(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "lsid_keras", *argv], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def test_shipped_model_is_a_small_gia_net_for_the_sony_emulation():
    import os

    path = shipped_model_path()
    assert os.path.getsize(path) <= 10 * 2**20  # the limit for the repository
    enhancer = load_shipped_enhancer()
    assert enhancer.shipped and enhancer.camera == SHIPPED_CAMERA == "sony"
    assert enhancer.cfa_kind == "bayer" and enhancer.width == 16
    assert enhancer.encoder_decoder is not None  # GIA-Net: tiles pool over the whole frame


def test_provenance_records_training_and_figures_on_unseen_photos():
    provenance = shipped_provenance()
    assert "not the SID dataset" in provenance["trained_on"]
    curve = provenance["training_curve"]
    assert len(curve) == provenance["epochs_trained"] >= 1
    assert [row["epoch"] for row in curve] == list(range(1, len(curve) + 1))
    splits = provenance["test_data"]["photo_splits"]
    assert not set(splits["test"]) & set(splits["train"])  # held out: never seen
    net, isp = provenance["network"], provenance["traditional"]
    assert set(net["by_ratio"]) == set(isp["by_ratio"]) == {"100", "250", "300"}
    assert net["overall"]["n"] == isp["overall"]["n"] > 0


def test_enhance_without_model_uses_the_shipped_one(tmp_path):
    listing = write_sid_dataset(tmp_path / "sid", scenes=1, shape=(64, 96))
    raw = next((tmp_path / "sid" / "Sony" / "short").glob("*.dng"))
    out = tmp_path / "out.jpg"
    result = _cli("enhance", str(raw), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    image = read_image(out)
    assert image.shape == (64, 96, 3) and np.ptp(image) > 0
    # evaluate without --model says which model ran
    result = _cli("evaluate", "--data", str(tmp_path / "sid"), "--list", listing.name,
                  "--out", str(tmp_path / "eval"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "all" in result.stdout


@pytest.mark.parametrize("argv", [["enhance", "FILE", "-o", "OUT"]])
def test_x_trans_frame_without_model_is_one_clear_line(tmp_path, argv):
    mosaic = np.full((96, 96), 2000, np.uint16)
    xtrans = write_dng(tmp_path / "fuji.dng", mosaic, XT2, 1024, 16383)
    out = tmp_path / "o.png"
    argv = [str(xtrans) if a == "FILE" else str(out) if a == "OUT" else a for a in argv]
    result = _cli(*argv, "--quiet")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "shipped pretrained model takes Bayer frames only" in lines[0]
    assert str(xtrans) in lines[0] and not out.exists()


def test_readme_figures_are_the_shipped_models():
    """The figures and epoch counts of README.md's "Shipped model" section (its headline table)
    and of docs/shipped_model.md (every table) are the provenance file's: a new checkpoint must
    update both."""
    import re
    import runpy
    from pathlib import Path

    root = Path(__file__).parents[1]
    readme = root.joinpath("README.md").read_text(encoding="utf-8")
    headline = readme.split("## Shipped model", 1)[1].split("\n## ", 1)[0]
    page = root.joinpath("docs", "shipped_model.md").read_text(encoding="utf-8")
    provenance = shipped_provenance()
    tables = runpy.run_path("scripts/ship_pretrained.py")["readme_tables"](provenance)
    figures, curve = tables.split("\n\n", 1)  # figures per ratio, then the training curve
    for line in tables.splitlines():
        assert line in page, line
    for line in figures.splitlines():
        assert line in headline, line
    assert curve.splitlines()[0] in page
    for text in (headline, page):
        epochs = re.search(r"(\d+) of the recipe's (\d+) epochs", text)
        assert epochs and int(epochs[1]) == provenance["epochs_trained"]
        assert int(epochs[2]) == provenance["epochs_planned"]


@pytest.mark.parametrize("name", ["gia_net_sony_w16_v2"])
def test_committed_resume_state_continues_the_committed_recipe(name):
    """`scripts/train_shipped_model.sh` resumes from `training/<recipe>.state/` on a new
    machine: the state must hold every resume file and have been saved from the recipe's
    settings, or the next machine's `lsid train --resume-from` would refuse it (or train
    another recipe)."""
    import json
    from pathlib import Path

    import tomllib

    from lsid_keras.train import RESUME_FILES, TrainConfig, _identity

    root = Path(__file__).parents[1] / "training"
    recipe = root / f"{name}.toml"
    state = root / f"{name}.state"
    script = (root.parent / "scripts" / "train_shipped_model.sh").read_text()
    assert f"training/{name}.toml" in script and f"training/{name}.state" in script
    assert all((state / name).is_file() for name in RESUME_FILES)
    with open(recipe, "rb") as file:
        settings = tomllib.load(file)
    wanted = _identity(TrainConfig(cache="x", **settings).resolved().to_dict())
    saved = json.loads((state / "config.json").read_text())
    # A setting added after the state was saved is absent from it and taken at its default,
    # as `lsid train --resume-from` takes it.
    defaults = TrainConfig(cache="x")
    assert {k: saved.get(k, getattr(defaults, k)) for k in wanted} == wanted
    epoch = json.loads((state / "training_metadata.json").read_text())["epoch"]
    log_rows = (state / "training_log.csv").read_text().strip().splitlines()[1:]
    assert 1 <= epoch <= settings["epochs"] and len(log_rows) == epoch


def test_figures_only_rewrites_the_json_for_the_shipped_weights_and_nothing_else(
        tmp_path, monkeypatch, capsys):
    import json
    import os
    import runpy
    import shutil

    import lsid_keras.pretrained as pretrained
    from lsid_keras.models import get_model

    folder = tmp_path / "pretrained"
    folder.mkdir()
    shutil.copy(shipped_model_path(), folder / "gia_net_sony_w16.keras")
    before = (folder / "gia_net_sony_w16.keras").read_bytes()
    monkeypatch.setattr(pretrained, "shipped_path",
                        lambda extension=".keras": str(folder / f"gia_net_sony_w16{extension}"))
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"epochs": 40, "steps_per_epoch": 840}))
    (run / "training_log.csv").write_text("epoch,loss\n0,0.2\n1,0.19\n2,0.18\n")
    summary = {"n": 3, "psnr": 20.0, "ssim": 0.5,
               "by_ratio": {"100": {"n": 3, "psnr": 20.0, "ssim": 0.5}}}
    for name in ("net", "isp", "fused"):
        os.makedirs(tmp_path / name)
        (tmp_path / name / "summary.json").write_text(json.dumps(
            {**summary, "fusion": name == "fused"}))
    argv = ["ship_pretrained.py", "--run", str(run), "--network-eval", str(tmp_path / "net"),
            "--isp-eval", str(tmp_path / "isp"), "--as-shot-eval", str(tmp_path / "fused"),
            "--epoch", "2", "--figures-only"]
    other = tmp_path / "other.keras"
    get_model("gia_net", width=16).save(other)  # random weights: refused
    monkeypatch.setattr(sys, "argv", [*argv, "--model", str(other)])
    with pytest.raises(SystemExit, match="not the weights"):
        runpy.run_path("scripts/ship_pretrained.py", run_name="__main__")
    assert not (folder / "gia_net_sony_w16.json").exists()
    monkeypatch.setattr(sys, "argv", [*argv, "--model", str(shipped_model_path())])
    with pytest.raises(SystemExit) as done:
        runpy.run_path("scripts/ship_pretrained.py", run_name="__main__")
    assert done.value.code == 0
    provenance = json.loads((folder / "gia_net_sony_w16.json").read_text())
    assert provenance["epochs_trained"] == 2 and provenance["network_as_shot"]["fusion"]
    assert (folder / "gia_net_sony_w16.keras").read_bytes() == before
    assert "(as-shot colour, fusion)" in capsys.readouterr().out
    assert "fine_tuned_from" not in provenance

    # A fine-tuning records the run it started from, checked against that run's recipe.
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps({"epochs": 3, "steps_per_epoch": 840}))
    (base / "training_log.csv").write_text("epoch,loss\n0,0.3\n1,0.25\n2,0.2\n")
    recipe = tmp_path / "base.toml"
    recipe.write_text("epochs = 4\n")
    argv += ["--model", str(shipped_model_path()), "--base-run", str(base)]
    monkeypatch.setattr(sys, "argv", [*argv, "--base-recipe", str(recipe)])
    with pytest.raises(SystemExit, match="other settings \\(epochs\\)"):
        runpy.run_path("scripts/ship_pretrained.py", run_name="__main__")
    recipe.write_text("epochs = 3\n")
    monkeypatch.setattr(sys, "argv", [*argv, "--base-recipe", str(recipe)])
    with pytest.raises(SystemExit) as done:
        runpy.run_path("scripts/ship_pretrained.py", run_name="__main__")
    assert done.value.code == 0
    base_record = json.loads((folder / "gia_net_sony_w16.json").read_text())["fine_tuned_from"]
    assert base_record["recipe"] == "base.toml" and base_record["epochs_trained"] == 3
    assert base_record["epochs_planned"] == 3 and len(base_record["training_curve"]) == 3


def test_every_committed_recipe_is_a_valid_training_config():
    """training/*.toml are kept to be rerun (the shipped recipe, and the tries that were not
    shipped, each with the command in its header): each must still load as a TrainConfig."""
    from pathlib import Path

    import tomllib

    from lsid_keras.train import TrainConfig

    recipes = sorted((Path(__file__).parents[1] / "training").glob("*.toml"))
    assert len(recipes) >= 3
    for recipe in recipes:
        with open(recipe, "rb") as file:
            settings = tomllib.load(file)
        config = TrainConfig(cache="x", **settings).resolved()
        assert config.epochs == settings["epochs"], recipe.name
    v4 = (Path(__file__).parents[1] / "training" / "gia_net_sony_w16_v4.toml").read_text()
    assert "--base-iso-share 0.5" in v4 and "--init-model" in v4
