"""The committed golden vectors (read by the Android demo's Java tests) are what the package
computes today: regenerated in memory with `scripts/make_golden_vectors.py` and compared.

A deliberate change to the packer, tiler, model card or auto-ratio rule fails here until the
vectors are regenerated (`python scripts/make_golden_vectors.py`), and then fails the Java
core's tests (`.ci/run`) until the Java port follows.
"""

import importlib.util
import io
import json
import os

import numpy as np
import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
GOLDEN = os.path.join(ROOT, "android_demo", "core", "src", "test", "resources", "golden")


def _load_script():
    path = os.path.join(ROOT, "scripts", "make_golden_vectors.py")
    spec = importlib.util.spec_from_file_location("make_golden_vectors", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regenerated():
    return _load_script().golden_files()


def _committed_names():
    return sorted(os.listdir(GOLDEN))


def test_the_same_files_are_committed(regenerated):
    assert sorted(regenerated) == _committed_names()


def _without_version(card):
    card = dict(card)
    card["package"] = {**card["package"], "version": "(any)"}
    return card


@pytest.mark.parametrize("name", _committed_names())
def test_golden_file_matches_the_package(regenerated, name):
    with open(os.path.join(GOLDEN, name), "rb") as handle:
        committed = handle.read()
    fresh = regenerated[name]
    if name.endswith(".npy"):
        old, new = (np.load(io.BytesIO(data), allow_pickle=False) for data in (committed, fresh))
        assert old.dtype == new.dtype and old.shape == new.shape, name
        np.testing.assert_array_equal(old, new, err_msg=f"{name}: regenerate the vectors")
    elif name.endswith(".dng"):
        assert committed == fresh, f"{name}: regenerate the vectors"
    elif name == "model_card.json":  # the package version is no contract of the card
        assert _without_version(json.loads(committed)) == _without_version(json.loads(fresh))
    else:
        assert json.loads(committed) == json.loads(fresh), f"{name}: regenerate the vectors"


def test_stand_in_model_has_the_exported_models_contract():
    script = _load_script()
    weights, bias = script.stand_in_weights(4, 2)
    batch = np.random.default_rng(0).random((2, 16, 16, 4), dtype=np.float32)
    out = script.stand_in_model(batch, weights, bias, 2)
    assert out.shape == (2, 32, 32, 3) and out.dtype == np.float32
    # Depth-to-space layout: sub-pixel (1, 0) of packed pixel (5, 7), colour 2, uses weight
    # row (1 * 2 + 0) * 3 + 2 applied to the 3x3 mean around (5, 7).
    mean = batch[0, 4:7, 6:9].astype(np.float64).mean(axis=(0, 1))
    assert out[0, 11, 14, 2] == pytest.approx(weights[8] @ mean + bias[2], abs=1e-6)
    # Zeros beyond the window: a corner pixel's mean divides 4 pixels by 9.
    corner = batch[1, :2, :2].astype(np.float64).sum(axis=(0, 1)) / 9
    assert out[1, 0, 0, 0] == pytest.approx(weights[0] @ corner + bias[0], abs=1e-6)
