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
    elif name.endswith(".tflite"):  # the flatbuffer's layout may change with its library
        assert _signature_content(committed) == _signature_content(fresh), name
    elif name == "model_card.json":  # the package version is no contract of the card
        assert _without_version(json.loads(committed)) == _without_version(json.loads(fresh))
    else:
        assert json.loads(committed) == json.loads(fresh), f"{name}: regenerate the vectors"


def _signature_content(data):
    """Signatures and tensors of a TFLite flatbuffer, as LiteRT's interpreter reads them."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=data)
    content = {}
    for key in interpreter.get_signature_list():
        runner = interpreter.get_signature_runner(key)
        content[key] = {
            "inputs": {k: d["index"] for k, d in runner.get_input_details().items()},
            "outputs": {k: d["index"] for k, d in runner.get_output_details().items()},
        }
    content["tensors"] = {d["index"]: d["name"] for d in interpreter.get_tensor_details()}
    return content


def test_signature_vectors_say_what_litert_reads():
    """`signature.json` (what the Java reader must find) agrees with LiteRT's own reading of
    the flatbuffer, and the signature's input order is not the subgraph's, so a reader that
    went by position would pick the wrong tensor."""
    with open(os.path.join(GOLDEN, "signature.json")) as handle:
        expected = json.load(handle)
    with open(os.path.join(GOLDEN, expected["file"]), "rb") as handle:
        content = _signature_content(handle.read())
    for signature in expected["signatures"]:
        for kind in ("inputs", "outputs"):
            for entry in signature[kind]:
                assert content[signature["key"]][kind][entry["key"]] == entry["index"]
                assert content["tensors"][entry["index"]] == entry["tensor"]
    inputs = expected["signatures"][0]["inputs"]
    assert [entry["index"] for entry in inputs] != sorted(entry["index"] for entry in inputs)


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


def test_global_stand_in_has_the_exported_halves_contract():
    script = _load_script()
    weights = script.global_stand_in_weights(4, 3)
    rng = np.random.default_rng(1)
    batch = rng.random((2, 32, 32, 4), dtype=np.float32)
    features = script.global_features_model(batch, weights)
    assert features.shape == (2, 2, 2, 3) and features.dtype == np.float32
    # Cell (1, 0) of tile 1, channel 2: the mean over rows 16-31, columns 0-15 of the
    # pointwise map of the zero-padded 3x3 box mean.
    padded = np.pad(batch[1].astype(np.float64), ((1, 1), (1, 1), (0, 0)))
    box = sum(padded[dy:dy + 32, dx:dx + 32] for dy in range(3) for dx in range(3)) / 9
    mapped = box @ weights["linear"].T + box ** 2 @ weights["quadratic"].T + weights["bias"]
    assert features[1, 1, 0, 2] == pytest.approx(mapped[16:, :16, 2].mean(), abs=1e-6)
    mean = np.array([0.5, -1.0, 2.0], np.float32).reshape(1, 1, 1, 3)
    tile_weights, tile_bias = script.stand_in_weights(4, 2)
    out = script.global_main_model(batch[:1], mean, weights, tile_weights, tile_bias, 2)
    plain = script.stand_in_model(batch[:1], tile_weights, tile_bias, 2)
    shift = weights["mean_to_rgb"] @ mean.reshape(3)
    np.testing.assert_allclose(out - plain, np.broadcast_to(shift, out.shape), atol=1e-5)
    assert np.abs(shift).max() > 0.5  # the frame mean moves the output: the golden run sees it


def test_global_run_differs_from_per_tile_pooling():
    """The golden two-pass run is sensitive to the frame mean: the tiles' own averages differ
    from it by far more than the Java side's tolerance (1e-5)."""
    script = _load_script()
    files = {}
    script.tiled_run_cases(files)
    script.global_run_cases(files)
    document = json.loads(files["global_run.json"])
    case = next(c for c in document["cases"] if c["name"] == "frame")
    weights = script.global_stand_in_weights(4, document["channels"])
    halo, tile = case["halo"], case["tile"]
    packed = np.load(io.BytesIO(files[case["input"]]))
    first_window = np.pad(packed, ((halo, halo), (halo, halo), (0, 0)), mode="reflect")
    first_window = first_window[:tile, :tile]  # the plan's first tile reads exactly this
    own = script.global_features_model(first_window[None], weights).mean(axis=(0, 1, 2))
    assert np.abs(own - np.array(case["frame_mean"])).max() > 1e-3
