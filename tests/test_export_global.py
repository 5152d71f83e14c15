"""Mobile export of global models (GIA-Net): two files whose tiled run pools over the frame.

One width-4 GIA-Net whose global branch is strengthened (`test_global_branch._strong_gia`: a
random init's branch is too weak for pooling per tile to show), its output shifted to a mean
of 0.5, exported once at tile 128, halo 32 in fp32 and int8 from a folder of synthetic DNGs.
(At tile 64, halo 16 the strengthened branch also magnifies the seam error of the frame
average beyond fp32's 60 dB on the fixtures' busy frames: a property of tiling such a model,
not of the export, whose halves match Keras to 1e-6.)
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from sid_fixtures import write_sid_dataset
from test_export import BUILTIN_OPS
from test_global_branch import _frame, _strong_gia

from lsid_keras.enhance import EnhanceError, enhance_packed, load_enhancer
from lsid_keras.export import ExportError, card_path, export_model, operator_names, read_card
from lsid_keras.export import card as cards
from lsid_keras.export.litert import LiteRTPredictor
from lsid_keras.export.tflite_file import read_bytes, tensor_details
from lsid_keras.export.verify import THRESHOLDS_DB
from lsid_keras.models.global_branch import split_global
from lsid_keras.tiling import keras_predictor, run_tiled, run_untiled

TILE, HALO = 128, 32
GAIN = 300.0
K = 16 * 4  # the bottleneck channels of a width-4 U-Net


def _shifted_strong_gia(packed, gain=GAIN):
    """`_strong_gia` with its output moved to mean 0.5 on `packed` (a trained net's range,
    so clipping to [0, 1] and int8's output scale see what they would on a real model)."""
    model = _strong_gia(packed, gain=gain)
    last = model.get_layer("conv10")
    kernel, bias = last.get_weights()
    mean = run_untiled(keras_predictor(model), packed, 2).mean()
    last.set_weights([kernel, bias + 0.5 - mean])
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export_global")
    write_sid_dataset(root / "sid", scenes=3, shape=(256, 384))
    packed = _frame()
    model = _shifted_strong_gia(packed)
    model.save(root / "gia.keras")
    report = export_model(root / "gia.keras", root / "out", tile=TILE, halo=HALO,
                          quant=("fp32", "int8"), representative=root / "sid/Sony/short",
                          num_threads=2, calibration_tiles=16, verification_tiles=4)
    return root, model, packed, report


def _variant(report, quantization):
    return next(v for v in report["variants"] if v["quantization"] == quantization)


def test_each_variant_is_two_builtin_files_with_cards_that_round_trip(exported):
    root, model, _, report = exported
    assert report["global_branch"] is True
    names = sorted(os.listdir(root / "out"))
    assert names == sorted(f"gia_{q}{part}{ext}" for q in ("fp32", "int8")
                           for part in ("", "_features") for ext in (".tflite", ".card.json"))
    for variant in report["variants"]:
        assert variant["passed"], variant["verification"]
        main, features = variant["path"], variant["features_path"]
        assert features == str(root / "out" / f"gia_{variant['quantization']}_features.tflite")
        for path in (main, features):
            ops = operator_names(read_bytes(path))
            assert set(ops) <= BUILTIN_OPS | {"QUANTIZE"}, ops
            with open(card_path(path)) as file:
                assert json.load(file) == read_card(path)
        card, features_card = read_card(main), read_card(features)
        assert card["card_version"] == cards.CARD_VERSION == 2
        assert card["role"] == "model" and features_card["role"] == "global_features"
        branch = card["global_branch"]
        assert branch["features_file"] == os.path.basename(features)
        assert branch["features_sha256"] == cards.file_sha256(features)
        assert (branch["channels"], branch["stride"]) == (K, 16)
        assert features_card["global_branch"]["model_file"] == os.path.basename(main)
        inputs, outputs = tensor_details(read_bytes(main))
        shapes = {i["name"]: i["shape"] for i in inputs}
        assert shapes[branch["frame_mean_input"]] == [1, 1, 1, K]
        assert sorted(shapes.values()) == [[1, 1, 1, K], [1, TILE, TILE, 4]]
        assert outputs[0]["shape"] == [1, 2 * TILE, 2 * TILE, 3]
        _, features_outputs = tensor_details(read_bytes(features))
        assert features_outputs[0]["shape"] == [1, TILE // 16, TILE // 16, K]
        figures = variant["verification"]
        assert figures["features_operators"] == operator_names(read_bytes(features))
        assert min(figures["tile_psnr_db"], figures["frame_psnr_db"],
                   figures["features_psnr_db"]) >= THRESHOLDS_DB[variant["quantization"]]
    int8 = read_card(_variant(report, "int8")["path"])
    assert {i["dtype"] for i in int8["inputs"]} == {"int8"}


def test_tiled_two_pass_tflite_equals_untiled_keras_where_per_tile_pooling_fails(exported):
    """The frame's two halves differ strongly, so a tile's own average is far from the
    frame's: pooling per tile (the old single-file export) misses by > 5 levels; the two
    TFLite files in the tiler's two passes agree with the whole Keras model on the untiled
    frame within fp32's seam tolerance (2 levels at halo 16, as for local models)."""
    _, model, packed, report = exported
    untiled = run_untiled(keras_predictor(model), packed, 2, halo=HALO)
    enhancer = load_enhancer(_variant(report, "fp32")["path"], num_threads=2)
    assert enhancer.global_branch is not None and enhancer.fixed_tile == TILE
    features, main = enhancer.global_branch
    assert main.takes_frame_mean and not features.takes_frame_mean
    tiled = run_tiled(main, packed, tile=TILE, halo=HALO, block=2, frame_features=features)
    assert tiled.shape == untiled.shape == (300, 460, 3)
    assert np.abs(tiled - untiled).max() < 2 / 255
    enhanced = enhance_packed(enhancer, packed)
    assert np.abs(enhanced - np.clip(untiled, 0, 1)).max() < 2 / 255
    per_tile = run_tiled(keras_predictor(model), packed, tile=TILE, halo=HALO, block=2)
    assert np.abs(per_tile - untiled).max() > 5 / 255


def test_litert_predictor_finds_frame_mean_by_name_and_checks_it(exported):
    _, model, packed, report = exported
    path = _variant(report, "int8")["path"]
    predict = LiteRTPredictor(path, num_threads=1)
    tile = packed[None, :TILE, :TILE]
    keras_features, keras_main = (keras_predictor(half) for half in split_global(model))
    mean = np.mean(keras_features(tile), axis=(1, 2), keepdims=True)
    out = predict(tile, mean)
    assert out.shape == (1, 2 * TILE, 2 * TILE, 3)
    assert np.abs(out - keras_main(tile, mean)).max() < 0.1  # int8, not garbage
    with pytest.raises(ValueError, match="needs frame_mean"):
        predict(tile)
    with pytest.raises(ValueError, match=r"frame_mean must have shape \(n, 1, 1, 64\)"):
        predict(tile, mean[..., :8])


def test_missing_or_foreign_features_file_is_one_error_naming_both(exported, tmp_path):
    root, _, _, report = exported
    fp32, int8 = _variant(report, "fp32"), _variant(report, "int8")
    alone = tmp_path / "gia_fp32.tflite"
    shutil.copy(fp32["path"], alone)
    raw = root / "sid/Sony/short/00003_00_0.1s.dng"
    process = subprocess.run(
        [sys.executable, "-m", "lsid_keras", "enhance", str(raw), "--model", str(alone),
         "-o", str(tmp_path / "out.png"), "--quiet"], capture_output=True, text=True,
        timeout=120)
    assert process.returncode == 2, process.stderr
    (line,) = process.stderr.strip().splitlines()
    features = tmp_path / "gia_fp32_features.tflite"
    assert str(alone) in line and str(features) in line and "missing" in line, line
    assert not (tmp_path / "out.png").exists()
    shutil.copy(int8["features_path"], features)  # another variant's features file
    with pytest.raises(EnhanceError, match="sha256 differs") as error:
        load_enhancer(alone)
    message = str(error.value)
    assert message.startswith(str(alone)) and str(features) in message
    with pytest.raises(EnhanceError, match="this is the features half .* gia_int8.tflite"):
        load_enhancer(int8["features_path"])


def test_global_card_checks_the_frame_mean_input(exported, tmp_path):
    _, _, _, report = exported
    path = _variant(report, "fp32")["path"]
    data, card = read_bytes(path), read_card(path)
    for change, message in (
        ({"global_branch": {**card["global_branch"], "channels": 32}},
         r"input \S*frame_mean\S* \[1, 1, 1, 32\] but the model's is \[1, 1, 1, 64\]"),
        ({"global_branch": None}, "expected one input and one output tensor, found 2 and 1"),
        ({"tile": 96}, r"model card says input \[1, 96, 96, 4\]"),
    ):
        wrong = tmp_path / "wrong.tflite"
        wrong.write_bytes(cards.embed(data, {**card, **change}))
        with pytest.raises(ExportError, match=message) as error:
            read_card(wrong)
        assert str(error.value).startswith(str(wrong)) and "\n" not in str(error.value)
    features = _variant(report, "fp32")["features_path"]
    wrong = tmp_path / "wrong_features.tflite"
    features_card = read_card(features)
    wrong.write_bytes(cards.embed(read_bytes(features), {
        **features_card, "global_branch": {**features_card["global_branch"], "channels": 8}}))
    with pytest.raises(ExportError, match=r"output \[1, 8, 8, 8\] but the model's output is "
                                          r"\[1, 8, 8, 64\]"):
        read_card(wrong)


def test_qat_of_a_global_model_fine_tunes_its_main_half(exported, tmp_path):
    """QAT of a GIA-Net: the main file's twin takes [tile, frame_mean]; the pair passes its
    threshold, and the two-pass tiled frame is at least as close to Keras as int8's (or
    within 1 dB of it: both quantise the same way, QAT only moves the weights)."""
    root, _, _, report = exported
    qat = export_model(root / "gia.keras", tmp_path / "out", tile=TILE, halo=HALO,
                       quant=("qat",), representative=root / "sid/Sony/short", num_threads=2,
                       calibration_tiles=16, verification_tiles=4)
    (variant,) = qat["variants"]
    assert variant["passed"], variant["verification"]
    main, features = variant["path"], variant["features_path"]
    assert read_card(main)["global_branch"]["features_file"] == os.path.basename(features)
    assert [t["name"] for t in tensor_details(read_bytes(main))[0]
            if "frame_mean" in t["name"]], "the main file takes frame_mean"
    from ai_edge_litert.interpreter import Interpreter

    signature = Interpreter(model_path=main).get_signature_list()["serve"]
    assert sorted(signature["inputs"]) == ["frame_mean", "packed_raw"]
    int8 = _variant(report, "int8")["verification"]["frame_psnr_db"]
    assert variant["verification"]["frame_psnr_db"] >= int8 - 1.0, (
        variant["verification"], int8)


def test_verify_file_checks_both_halves_and_refuses_a_local_keras_model(exported, tmp_path):
    from lsid_keras.export.verify import verify_file
    from lsid_keras.models import get_model

    root, _, _, report = exported
    path = _variant(report, "int8")["path"]
    figures = verify_file(path, root / "gia.keras", representative=root / "sid/Sony/short",
                          num_threads=2, tiles=2)
    assert figures["passed"] and figures["frame_psnr_db"] >= THRESHOLDS_DB["int8"]
    assert figures["features_operators"] == operator_names(
        read_bytes(_variant(report, "int8")["features_path"]))
    get_model("sid", width=4).save(tmp_path / "sid.keras")
    with pytest.raises(ExportError, match="the card has a global branch but .*sid.keras is a "
                                          "local model"):
        verify_file(path, tmp_path / "sid.keras")
