"""Hostile input through the real commands, as a user meets it: a subprocess of `lsid`, one
line on stderr, exit code 2, and nothing left behind."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from sid_fixtures import write_sid_dataset


def lsid(*args, cwd):
    result = subprocess.run([sys.executable, "-m", "lsid_keras", *args], cwd=cwd,
                            capture_output=True, text=True, timeout=300)
    return result.returncode, result.stderr.strip().splitlines()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A good tiny dataset, a model, and three hostile RAW files (truncated, random, empty)."""
    from lsid_keras.models import get_model

    root = tmp_path_factory.mktemp("hostile")
    listing = write_sid_dataset(root / "sid", scenes=1)
    good = root / "sid" / "Sony" / "short" / "00001_00_0.1s.dng"
    (root / "truncated.dng").write_bytes(good.read_bytes()[:4000])
    (root / "random.dng").write_bytes(np.random.default_rng(0).bytes(20000))
    (root / "empty.dng").write_bytes(b"")
    get_model("sid", camera="sony", width=2).save(root / "model.keras")
    return root, listing


BAD_FILES = ("truncated.dng", "random.dng", "empty.dng")


@pytest.mark.parametrize("name", BAD_FILES)
def test_enhance(hostile, name):
    root, _ = hostile
    code, err = lsid("enhance", name, "--model", "model.keras", "-o", "out.png", "--quiet",
                     cwd=root)
    assert code == 2 and len(err) == 1 and err[0].startswith(f"lsid enhance: error: {name}: ")
    assert not (root / "out.png").exists()


@pytest.mark.parametrize("name", BAD_FILES)
def test_evaluate(hostile, name, tmp_path):
    root, listing = hostile
    data = tmp_path / "sid"
    shutil.copytree(root / "sid", data)
    short = data / "Sony" / "short" / "00001_00_0.1s.dng"
    shutil.copy(root / name, short)
    out = tmp_path / "eval"
    code, err = lsid("evaluate", "--model", str(root / "model.keras"), "--data", str(data),
                     "--list", listing.name, "--out", str(out), "--save-outputs",
                     str(tmp_path / "png"), "--quiet", cwd=tmp_path)
    assert code == 2 and len(err) == 1 and "00001_00_0.1s.dng: " in err[0], err
    assert not out.exists() and not (tmp_path / "png").exists()


def test_train_on_a_damaged_cache(hostile, tmp_path):
    root, listing = hostile
    from lsid_keras.data.cache import load_manifest, prepare_cache
    from lsid_keras.data.sid_list import read_pair_list

    cache = tmp_path / "cache"
    prepare_cache(read_pair_list(listing), cache, workers=0, progress=False)
    first = load_manifest(cache)[0].input_file
    with open(first, "r+b") as file:
        file.truncate(200)
    code, err = lsid("train", "--cache", str(cache), "--out", "run", "--width", "2",
                     "--crop-size", "16", "--epochs", "1", cwd=tmp_path)
    assert code == 2 and len(err) == 1 and os.path.basename(first) in err[0], err
    assert not (tmp_path / "run").exists()
    (cache / "manifest.json").write_bytes(b'{"version": 1, "pairs": [')
    code, err = lsid("train", "--cache", str(cache), "--out", "run", cwd=tmp_path)
    assert code == 2 and len(err) == 1 and "manifest.json: unreadable manifest" in err[0], err
    assert not (tmp_path / "run").exists()


def test_evaluate_with_a_model_of_the_other_cfa_kind(hostile, tmp_path):
    from lsid_keras.models import get_model

    root, listing = hostile
    get_model("sid", camera="fuji", width=2).save(tmp_path / "fuji.keras")
    code, err = lsid("evaluate", "--model", "fuji.keras", "--data", str(root / "sid"),
                     "--list", listing.name, "--out", "eval", "--quiet", cwd=tmp_path)
    assert code == 2 and len(err) == 1, err
    assert "a Bayer frame (4 packed channels) cannot go into this X-Trans model" in err[0]
    assert not (tmp_path / "eval").exists()


@pytest.mark.parametrize("name", ["random.dng", "empty.dng"])
def test_export_of_a_file_that_is_no_model(hostile, tmp_path, name):
    root, _ = hostile
    model = tmp_path / "model.keras"
    shutil.copy(root / name, model)
    code, err = lsid("export", "--model", str(model), "--out", "mobile", "--quant", "fp32",
                     cwd=tmp_path)
    assert code == 2 and len(err) == 1 and err[0].startswith("lsid export: error: "), err
    assert str(model) in err[0] and not (tmp_path / "mobile").exists()
