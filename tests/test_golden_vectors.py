"""The committed golden vectors (read by the Android demo's Java tests) are what the package
computes today: regenerated in memory with `scripts/make_golden_vectors.py` and compared.

A deliberate change to the packer, tiler, model card or auto-ratio rule fails here until the
vectors are regenerated (`python scripts/make_golden_vectors.py`), and then fails the Java
core's tests (`.ci/run`) until the Java port follows.

Floats are compared within `ULPS` float32 units in the last place of their array's (or JSON
list's) largest magnitude, not bit for bit: numpy's SIMD kernels differ by an ulp between CPUs
(AVX2 vs AVX-512), so an exact test fails on a machine other than the one that wrote the
vectors. A change of logic moves values by far more, and still fails (tested below).
"""

import importlib.util
import io
import json
import math
import os

import numpy as np
import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
GOLDEN = os.path.join(ROOT, "android_demo", "core", "src", "test", "resources", "golden")
#: Allowed difference, in float32 ulps of the largest magnitude among the compared values.
ULPS = 4
_EPS32 = float(np.finfo(np.float32).eps)


def array_differences(old, new, ulps=ULPS):
    """How `new` differs from `old` beyond `ulps` float32 ulps of the array's scale, as a
    message ("" when it does not); integer arrays must be equal."""
    if old.dtype != new.dtype or old.shape != new.shape:
        return f"dtype/shape {old.dtype}{old.shape} -> {new.dtype}{new.shape}"
    if not np.issubdtype(old.dtype, np.floating):
        return "" if np.array_equal(old, new) else "integer values differ"
    a, b = old.astype(np.float64), new.astype(np.float64)
    if not np.array_equal(np.isfinite(a), np.isfinite(b)) or not np.array_equal(
        a[~np.isfinite(a)], b[~np.isfinite(b)]
    ):
        return "non-finite values differ"
    finite = np.isfinite(a)
    scale = max(np.abs(a[finite]).max(initial=0.0), np.abs(b[finite]).max(initial=0.0))
    allowed = ulps * _EPS32 * scale
    worst = np.abs(a[finite] - b[finite]).max(initial=0.0)
    if worst > allowed:
        count = int((np.abs(a[finite] - b[finite]) > allowed).sum())
        return f"{count} values differ, by up to {worst:.3g} (allowed {allowed:.3g})"
    return ""


def json_differences(old, new, ulps=ULPS, path="$"):
    """Where two JSON documents differ: numbers in a list within `ulps` float32 ulps of the
    list's largest magnitude (a lone number: of itself), everything else exactly."""
    if isinstance(old, dict) and isinstance(new, dict):
        if old.keys() != new.keys():
            return [f"{path}: keys {sorted(old)} -> {sorted(new)}"]
        return [d for k in old for d in json_differences(old[k], new[k], ulps, f"{path}.{k}")]
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{path}: length {len(old)} -> {len(new)}"]
        numbers = [abs(v) for v in old + new if _is_number(v) and math.isfinite(v)]
        scale = max(numbers, default=0.0)
        found = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if _is_number(a) and _is_number(b):
                found += _number_difference(a, b, ulps, scale, f"{path}[{i}]")
            else:
                found += json_differences(a, b, ulps, f"{path}[{i}]")
        return found
    if _is_number(old) and _is_number(new):
        return _number_difference(old, new, ulps, 0.0, path)
    return [] if old == new and type(old) is type(new) else [f"{path}: {old!r} -> {new!r}"]


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number_difference(a, b, ulps, scale, path):
    if isinstance(a, int) and isinstance(b, int):
        return [] if a == b else [f"{path}: {a} -> {b}"]
    if not (math.isfinite(a) and math.isfinite(b)):
        return [] if a == b else [f"{path}: {a!r} -> {b!r}"]
    allowed = ulps * _EPS32 * max(abs(a), abs(b), scale)
    return [] if abs(a - b) <= allowed else [f"{path}: {a!r} -> {b!r}"]


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
        difference = array_differences(old, new)
        assert not difference, f"{name}: {difference}; regenerate the vectors"
    elif name.endswith(".dng"):
        assert committed == fresh, f"{name}: regenerate the vectors"
    elif name.endswith(".tflite"):  # the flatbuffer's layout may change with its library
        assert _signature_content(committed) == _signature_content(fresh), name
    elif name.startswith("model_card") and name != "model_card_fields.json":
        # The package version is no contract of the card.
        differences = json_differences(
            _without_version(json.loads(committed)), _without_version(json.loads(fresh)))
        assert not differences, f"{name}: {differences[:5]}"
    else:
        differences = json_differences(json.loads(committed), json.loads(fresh))
        assert not differences, f"{name}: {differences[:5]}; regenerate the vectors"


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
    each flatbuffer, and the signatures' input and output orders are not the subgraphs', so a
    reader that went by position would pick the wrong tensor."""
    with open(os.path.join(GOLDEN, "signature.json")) as handle:
        expected = json.load(handle)
    for described in expected["files"]:
        with open(os.path.join(GOLDEN, described["file"]), "rb") as handle:
            content = _signature_content(handle.read())
        for signature in described["signatures"]:
            for kind in ("inputs", "outputs"):
                for entry in signature[kind]:
                    assert content[signature["key"]][kind][entry["key"]] == entry["index"]
                    assert content["tensors"][entry["index"]] == entry["tensor"]
    decoder, encoder = (d["signatures"][0] for d in expected["files"])
    for entries in (decoder["inputs"], encoder["outputs"]):
        assert [entry["index"] for entry in entries] != sorted(e["index"] for e in entries)
    # The kept maps name tensors the two files have: decoder inputs, encoder outputs.
    assert {k["decoder_input"] for k in expected["kept"]} | {expected["frame_mean_input"]} \
        == {entry["tensor"] for entry in decoder["inputs"]}
    assert {k["encoder_output"] for k in expected["kept"]} \
        == {entry["tensor"] for entry in encoder["outputs"]}


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
    box, bottleneck = script.global_encoder_model(batch, weights)
    assert box.shape == (2, 32, 32, 4) and box.dtype == np.float32
    assert bottleneck.shape == (2, 2, 2, 3) and bottleneck.dtype == np.float32
    # Cell (1, 0) of tile 1, channel 2: the mean over rows 16-31, columns 0-15 of the
    # pointwise map of the zero-padded 3x3 box mean.
    padded = np.pad(batch[1].astype(np.float64), ((1, 1), (1, 1), (0, 0)))
    mean3 = sum(padded[dy:dy + 32, dx:dx + 32] for dy in range(3) for dx in range(3)) / 9
    np.testing.assert_allclose(box[1], mean3, atol=1e-6)
    mapped = mean3 @ weights["linear"].T + mean3 ** 2 @ weights["quadratic"].T + weights["bias"]
    assert bottleneck[1, 1, 0, 2] == pytest.approx(mapped[16:, :16, 2].mean(), abs=1e-6)
    mean = np.array([0.5, -1.0, 2.0], np.float32).reshape(1, 1, 1, 3)
    tile_weights, tile_bias = script.stand_in_weights(4, 2)
    out = script.global_decoder_model([box[:1], bottleneck[:1]], mean, weights, tile_weights,
                                      tile_bias, 2)
    plain = script.stand_in_model(batch[:1], tile_weights, tile_bias, 2)
    shift = weights["mean_to_rgb"] @ mean.reshape(3)
    np.testing.assert_allclose(out - plain, np.broadcast_to(shift, out.shape), atol=1e-5)
    assert np.abs(shift).max() > 0.5  # the frame mean moves the output: the golden run sees it


def test_global_run_is_the_two_pass_run_with_one_encoder_pass():
    """The golden one-pass run equals a two-pass run of the same model (the frame's average
    from a separate pass over the encoder, `tiling.frame_mean`, then the whole network per
    tile with it, `run_tiled`) whose encoder outputs are rounded to `KEPT_DTYPE` (float16)
    on their way to the decoder, as the one-pass run keeps them; it is not the run with
    float32 maps (the Java side must round as Python does), and its int8 run is near the
    float one."""
    from lsid_keras.tiling import KEPT_DTYPE, frame_mean, run_tiled

    script = _load_script()
    files = {}
    script.tiled_run_cases(files)
    script.global_run_cases(files)
    document = json.loads(files["global_run.json"])
    weights = script.global_stand_in_weights(4, document["channels"])
    tile_weights, tile_bias = script.stand_in_weights(4, 2)

    def features(batch):
        return script.bottleneck_map(batch, weights)

    def predict(batch, mean, kept_dtype):
        kept = [m.astype(kept_dtype) for m in script.global_encoder_model(batch, weights)]
        return script.global_decoder_model(kept, mean, weights, tile_weights, tile_bias, 2)

    assert KEPT_DTYPE == np.float16
    for case in document["cases"]:
        packed = np.load(io.BytesIO(files[case["input"]]))
        for blend, name in case["outputs"].items():
            mean = frame_mean(features, packed, tile=case["tile"], halo=case["halo"])
            one_pass = np.load(io.BytesIO(files[name]))
            two_pass, unrounded = (
                run_tiled(lambda batch, mean=mean, d=d: predict(batch, mean, d), packed,
                          tile=case["tile"], halo=case["halo"], blend=blend)
                for d in (KEPT_DTYPE, np.float32))
            np.testing.assert_allclose(one_pass, two_pass, atol=1e-6)
            # float16's rounding shows, far beyond the Java side's tolerance (1e-5).
            assert 5e-5 < np.abs(one_pass - unrounded).max() < 2e-3, name
    # The int8 run is the float run within the maps' quantisation steps, and not equal to it:
    # the Java side's int8 path is checked against numbers of its own.
    for case in document["int8"]["cases"]:
        for blend, name in case["outputs"].items():
            float_name = next(c for c in document["cases"]
                              if c["name"] == case["name"])["outputs"][blend]
            difference = np.abs(np.load(io.BytesIO(files[name]))
                                - np.load(io.BytesIO(files[float_name]))).max()
            assert 1e-4 < difference < 0.05, difference


def test_global_run_differs_from_per_tile_pooling():
    """The golden run is sensitive to the frame mean: the tiles' own averages differ from it
    by far more than the Java side's tolerance (1e-5)."""
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
    own = script.bottleneck_map(first_window[None], weights).mean(axis=(0, 1, 2))
    assert np.abs(own - np.array(case["frame_mean"])).max() > 1e-3


def test_requantise_tables_follow_the_rule():
    """Every committed table is the documented rule, worked out here one code at a time in
    Python floats: exact halves go to the even code, codes beyond int8 clamp, equal
    quantisations give the identity; the package's function agrees."""
    from lsid_keras.export.litert import requantise_table

    with open(os.path.join(GOLDEN, "requantise.json")) as handle:
        cases = {c["name"]: c for c in json.load(handle)["cases"]}
    for case in cases.values():
        (s_enc, z_enc), (s_dec, z_dec) = ((case[k]["scale"], case[k]["zero_point"])
                                          for k in ("encoder", "decoder"))
        want = [max(-128, min(127, round((q - z_enc) * s_enc / s_dec) + z_dec))
                for q in range(-128, 128)]  # Python's round: half to even, as np.rint
        assert case["table"] == want, case["name"]
    ties = cases["half_scale_ties"]["table"]
    assert ties[-126 + 128] == -57 and ties[-124 + 128] == -55  # -61.5 -> -62, -60.5 -> -60
    clamped = cases["clamped"]["table"]
    assert clamped[0] == -128 and clamped[-1] == 127
    assert cases["same"]["table"] == list(range(-128, 128))
    assert requantise_table(0.25, -3, 0.5, 5).tolist() == ties


def _golden_array(name):
    return np.load(os.path.join(GOLDEN, name), allow_pickle=False)


def test_tolerance_lets_a_cpu_ulp_through():
    """Every element one float32 ulp away (what another CPU's SIMD path gives) passes; the same
    move of four times the allowance fails."""
    old = _golden_array("colour_mapped.npy")
    up = np.nextafter(old, np.float32(np.inf))
    assert array_differences(old, up) == ""
    assert array_differences(old, old + 4 * ULPS * _EPS32 * np.abs(old).max()) != ""
    document = json.loads(open(os.path.join(GOLDEN, "colour.json")).read())
    moved = json.loads(json.dumps(document))
    moved["matrix"] = [[float(np.nextafter(np.float32(v), np.float32(2))) for v in row]
                       for row in document["matrix"]]
    assert json_differences(document, moved) == []


def test_tolerance_still_fails_a_real_change(regenerated, monkeypatch):
    """Changes of logic that move results by less than a thousandth still fail: the camera
    mapping with its matrix rounded to 4 decimals, and LibRaw's curve with its constant rounded."""
    import lsid_keras.as_shot_colour as as_shot
    import lsid_keras.raw.colour as colour

    script = _load_script()
    exact = colour.camera_to_camera_matrix
    monkeypatch.setattr(colour, "camera_to_camera_matrix",
                        lambda *args: np.round(exact(*args), 4))
    files = {}
    script.colour_case(files)
    old = np.load(io.BytesIO(regenerated["colour_mapped.npy"]))
    new = np.load(io.BytesIO(files["colour_mapped.npy"]))
    assert np.abs(old - new).max() < 1e-3  # a small change ...
    assert array_differences(old, new) != ""  # ... that the comparison still sees
    assert json_differences(json.loads(regenerated["colour.json"]),
                            json.loads(files["colour.json"]))

    monkeypatch.setattr(as_shot, "_BT709_ALPHA", round(as_shot._BT709_ALPHA, 3))
    files = {}
    script.as_shot_cases(files)
    changed = [name for name in files if name.endswith(".npy") and array_differences(
        np.load(io.BytesIO(regenerated[name])), np.load(io.BytesIO(files[name])))]
    assert changed or json_differences(json.loads(regenerated["as_shot.json"]),
                                       json.loads(files["as_shot.json"]))
