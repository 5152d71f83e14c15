"""Mobile export of global models (GIA-Net): an encoder and a decoder file whose tiled run,
one encoder pass per tile, pools over the frame.

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
from dataclasses import replace

import numpy as np
import pytest
from sid_fixtures import write_sid_dataset
from test_export import BUILTIN_OPS
from test_global_branch import _frame, _strong_gia

from lsid_keras.enhance import EnhanceError, enhance_packed, load_enhancer
from lsid_keras.export import ExportError, card_path, export_model, operator_names, read_card
from lsid_keras.export import card as cards
from lsid_keras.export.litert import LiteRTEncoderDecoder, LiteRTPredictor, requantise_table
from lsid_keras.export.tflite_file import read_bytes, tensor_details
from lsid_keras.export.verify import THRESHOLDS_DB
from lsid_keras.models.global_branch import split_encoder_decoder
from lsid_keras.models.unet import ENCODER_OUTPUTS
from lsid_keras.tiling import keras_predictor, run_tiled, run_tiled_split, run_untiled

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


def _kept_shapes(tile=TILE, width=4):
    return [[1, tile >> i, tile >> i, width << i] for i in range(5)]


def test_each_variant_is_two_builtin_files_with_cards_that_round_trip(exported):
    root, model, _, report = exported
    assert report["global_branch"] is True
    names = sorted(os.listdir(root / "out"))
    assert names == sorted(f"gia_{q}{part}{ext}" for q in ("fp32", "int8")
                           for part in ("", "_encoder") for ext in (".tflite", ".card.json"))
    for variant in report["variants"]:
        assert variant["passed"], variant["verification"]
        main, encoder = variant["path"], variant["encoder_path"]
        assert encoder == str(root / "out" / f"gia_{variant['quantization']}_encoder.tflite")
        for path in (main, encoder):
            ops = operator_names(read_bytes(path))
            assert set(ops) <= BUILTIN_OPS | {"QUANTIZE"}, ops
            with open(card_path(path)) as file:
                assert json.load(file) == read_card(path)
        card, encoder_card = read_card(main), read_card(encoder)
        assert card["card_version"] == cards.CARD_VERSION == 3
        assert card["role"] == "model" and encoder_card["role"] == "global_encoder"
        branch = card["global_branch"]
        assert branch["split"] == "encoder_decoder"
        assert branch["encoder_file"] == os.path.basename(encoder)
        assert branch["encoder_sha256"] == cards.file_sha256(encoder)
        assert (branch["channels"], branch["stride"]) == (K, 16)
        assert encoder_card["global_branch"]["model_file"] == os.path.basename(main)
        assert encoder_card["global_branch"]["kept"] == branch["kept"]
        assert [k["name"] for k in branch["kept"]] == list(ENCODER_OUTPUTS)
        assert [k["shape"] for k in branch["kept"]] == _kept_shapes()
        inputs, outputs = tensor_details(read_bytes(main))
        shapes = {i["name"]: i["shape"] for i in inputs}
        assert shapes[branch["frame_mean_input"]] == [1, 1, 1, K]
        assert [shapes[k["decoder_input"]] for k in branch["kept"]] == _kept_shapes()
        assert outputs[0]["shape"] == [1, 2 * TILE, 2 * TILE, 3]
        encoder_inputs, encoder_outputs = tensor_details(read_bytes(encoder))
        assert encoder_inputs[0]["shape"] == [1, TILE, TILE, 4]
        found = {o["name"]: o["shape"] for o in encoder_outputs}
        assert [found[k["encoder_output"]] for k in branch["kept"]] == _kept_shapes()
        figures = variant["verification"]
        assert figures["encoder_operators"] == operator_names(read_bytes(encoder))
        assert min(figures["tile_psnr_db"], figures["frame_psnr_db"],
                   figures["encoder_psnr_db"]) >= THRESHOLDS_DB[variant["quantization"]]
    int8 = read_card(_variant(report, "int8")["path"])
    assert {i["dtype"] for i in int8["inputs"]} == {"int8"}


def test_tiled_one_pass_tflite_equals_untiled_keras_where_per_tile_pooling_fails(exported):
    """The frame's two halves differ strongly, so a tile's own average is far from the
    frame's: pooling per tile (a single-file export) misses by > 5 levels; the two TFLite
    files run with one encoder pass agree with the whole Keras model on the untiled frame
    within fp32's seam tolerance (2 levels at halo 16, as for local models)."""
    _, model, packed, report = exported
    untiled = run_untiled(keras_predictor(model), packed, 2, halo=HALO)
    enhancer = load_enhancer(_variant(report, "fp32")["path"], num_threads=2)
    assert enhancer.encoder_decoder is not None and enhancer.fixed_tile == TILE
    halves = enhancer.encoder_decoder
    tiled = run_tiled_split(halves.encode, halves.decode, packed, tile=TILE, halo=HALO,
                            block=2, bottleneck_values=halves.bottleneck_values)
    assert tiled.shape == untiled.shape == (300, 460, 3)
    assert np.abs(tiled - untiled).max() < 2 / 255
    enhanced = enhance_packed(enhancer, packed)
    assert np.abs(enhanced - np.clip(untiled, 0, 1)).max() < 2 / 255
    per_tile = run_tiled(keras_predictor(model), packed, tile=TILE, halo=HALO, block=2)
    assert np.abs(per_tile - untiled).max() > 5 / 255


def test_int8_keeps_int8_maps_in_the_decoders_quantisation(exported):
    """An int8 export's encoder maps are kept as int8 (a quarter of float32's memory); the
    encoder file itself gives each the scale and zero point of its decoder input (a QUANTIZE
    operator per map), so they pass to the decoder as they are, without a table. They are
    Keras's maps within that quantisation's range; the decoder's output on them is close
    to the Keras decoder's (int8, not garbage), and the whole enhancement matches the Keras
    model's within int8's budget."""
    from lsid_keras.export import tflite_file

    _, model, packed, report = exported
    enhancer = load_enhancer(_variant(report, "int8")["path"], num_threads=1)
    pair = enhancer.encoder_decoder
    assert pair._same == [True] * 5 and pair._tables == [None] * 5
    assert "QUANTIZE" in tflite_file.operator_names(pair.encoder_data)
    assert "QUANTIZE" in _variant(report, "int8")["verification"]["encoder_operators"]
    tile = packed[None, :TILE, :TILE]
    kept = pair.encode(tile)
    assert [k.dtype for k in kept] == [np.int8] * 5
    assert [list(k.shape) for k in kept] == _kept_shapes()
    encoder, decoder = (keras_predictor(half) for half in split_encoder_decoder(model))
    want = encoder(tile)
    for k, (got, ref) in enumerate(zip(kept, want, strict=True)):
        span = 255 * pair._kept[k][1]["quantization"][0]  # the decoder input's range
        error = np.mean((pair.dequantise_kept(got, k) - ref) ** 2)
        assert 10 * np.log10(span**2 / error) > 30, ENCODER_OUTPUTS[k]
    mean = np.mean(want[-1], axis=(1, 2), keepdims=True)
    assert np.abs(pair.decode(kept, mean) - decoder(want, mean)).max() < 0.1
    enhanced = enhance_packed(enhancer, packed)
    untiled = np.clip(run_untiled(keras_predictor(model), packed, 2, halo=HALO), 0, 1)
    assert 10 * np.log10(1 / np.mean((enhanced - untiled) ** 2)) > THRESHOLDS_DB["int8"]


def test_int8_enhancement_frees_the_frame_before_decoding_and_keeps_its_output_in_half(
        exported):
    """Memory of `lsid enhance` with an int8 export: a frame handed over in a list is gone
    before the first decoder call (the encoder pass read it all), and the output, int8's 256
    levels, is assembled in float16, within 1/8 of an 8-bit level of float32's."""
    _, _, packed, report = exported
    enhancer = load_enhancer(_variant(report, "int8")["path"], num_threads=1)
    assert enhancer.output_dtype == np.float16
    assert load_enhancer(_variant(report, "fp32")["path"]).output_dtype == np.float32
    pair = enhancer.encoder_decoder
    handed_over, seen = [packed.copy()], []
    decode = pair.decode

    def watched(kept, mean):
        seen.append(len(handed_over))
        return decode(kept, mean)

    pair.decode = watched
    try:
        half = enhance_packed(enhancer, handed_over, output_dtype=enhancer.output_dtype)
    finally:
        pair.decode = decode
    assert seen and set(seen) == {0} and handed_over == []
    full = enhance_packed(enhancer, packed)
    assert half.dtype == np.float16 and full.dtype == np.float32
    assert np.abs(half.astype(np.float32) - full).max() <= 1 / 8 / 255


def test_requantise_table_is_the_rounded_rescale():
    table = requantise_table(0.02, -3, 0.01, 5)
    assert table.dtype == np.int8 and table.shape == (256,)
    assert table[-3 + 128] == 5  # the encoder's zero is the decoder's zero
    assert table[-2 + 128] == 7  # one encoder step is two decoder steps
    assert table[127 + 128] == 127 and table[0] == -128  # clipped
    same = requantise_table(0.05, 4, 0.05, 4)
    assert np.array_equal(same, np.arange(-128, 128))
    half = requantise_table(0.01, 0, 0.02, 0)  # 1 step -> 0.5 -> rint to even 0; 3 -> 2
    assert (half[1 + 128], half[3 + 128], half[-1 + 128]) == (0, 2, 0)


def test_litert_pair_finds_tensors_by_the_cards_names(exported):
    _, _, _, report = exported
    variant = _variant(report, "fp32")
    card = read_card(variant["path"])
    branch = card["global_branch"]
    kept = [{**k, "decoder_input": "serve_nothing:0"} if k["name"] == "skip2" else k
            for k in branch["kept"]]
    with pytest.raises(ExportError, match="names tensor 'serve_nothing:0'"):
        LiteRTEncoderDecoder(variant["path"], variant["encoder_path"], kept,
                             branch["frame_mean_input"])
    with pytest.raises(ExportError, match="expected one packed input and one output"):
        LiteRTPredictor(variant["path"])


def test_missing_or_foreign_encoder_file_is_one_error_naming_both(exported, tmp_path):
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
    encoder = tmp_path / "gia_fp32_encoder.tflite"
    assert str(alone) in line and str(encoder) in line and "missing" in line, line
    assert not (tmp_path / "out.png").exists()
    shutil.copy(int8["encoder_path"], encoder)  # another variant's encoder file
    with pytest.raises(EnhanceError, match="sha256 differs") as error:
        load_enhancer(alone)
    message = str(error.value)
    assert message.startswith(str(alone)) and str(encoder) in message
    with pytest.raises(EnhanceError, match="this is the encoder of a global model; .* "
                                           "gia_int8.tflite"):
        load_enhancer(int8["encoder_path"])


def test_global_card_checks_every_tensor_it_names(exported, tmp_path):
    _, _, _, report = exported
    path = _variant(report, "fp32")["path"]
    data, card = read_bytes(path), read_card(path)
    branch = card["global_branch"]
    wrong_kept = [{**k, "shape": [1, 8, 8, 8]} if k["name"] == "skip4" else k
                  for k in branch["kept"]]
    for change, message in (
        ({"global_branch": {**branch, "channels": 32}},
         r"last kept map must be the bottleneck map \[1, 8, 8, 32\]"),
        ({"global_branch": {**branch, "kept": wrong_kept}},
         r"input serve_skip4:0 \[1, 8, 8, 8\] but the model's input is \[1, 16, 16, 32\]"),
        ({"global_branch": {**branch, "frame_mean_input": "serve_other:0"}},
         "names input 'serve_other:0', which the model does not have"),
        ({"global_branch": None}, "expects 1 input tensor"),
        ({"tile": 96}, r"last kept map must be the bottleneck map \[1, 6, 6, 64\]"),
    ):
        wrong = tmp_path / "wrong.tflite"
        wrong.write_bytes(cards.embed(data, {**card, **change}))
        with pytest.raises(ExportError, match=message) as error:
            read_card(wrong)
        assert str(error.value).startswith(str(wrong)) and "\n" not in str(error.value)
    encoder = _variant(report, "fp32")["encoder_path"]
    wrong = tmp_path / "wrong_encoder.tflite"
    encoder_card = read_card(encoder)
    kept = [{**k, "encoder_output": "other:0"} if k["name"] == "skip1" else k
            for k in encoder_card["global_branch"]["kept"]]
    wrong.write_bytes(cards.embed(read_bytes(encoder), {
        **encoder_card, "global_branch": {**encoder_card["global_branch"], "kept": kept}}))
    with pytest.raises(ExportError, match="names output 'other:0', which the model does not"):
        read_card(wrong)


def test_version_2_global_exports_are_refused_with_a_request_to_re_export(exported, tmp_path):
    _, _, _, report = exported
    path = _variant(report, "fp32")["path"]
    data, card = read_bytes(path), read_card(path)
    old_main = {**card, "card_version": 2, "global_branch": {
        "features_file": "gia_fp32_features.tflite", "features_sha256": "0" * 64,
        "frame_mean_input": "serve_frame_mean:0", "channels": K, "stride": 16}}
    old_features = {**card, "card_version": 2, "role": "global_features",
                    "global_branch": {"model_file": "gia_fp32.tflite", "channels": K}}
    for old in (old_main, old_features):
        wrong = tmp_path / "old.tflite"
        wrong.write_bytes(cards.embed(data, old))
        with pytest.raises(ExportError, match=r"old.tflite: exported by an older lsid-keras "
                                              r"as two passes \(card version 2\); re-export"):
            read_card(wrong)


def test_qat_of_a_global_model_fine_tunes_its_decoder(exported, tmp_path):
    """QAT of a GIA-Net: the decoder's twin takes the kept maps and frame_mean (by name, in
    the signature); the pair passes its threshold. (On this random-init, strengthened test
    model the fine-tuned decoder's tiled frame is 37.0 dB against Keras, post-training
    int8's 42.2 dB: QAT is not among the default variants.)"""
    root, _, _, report = exported
    qat = export_model(root / "gia.keras", tmp_path / "out", tile=TILE, halo=HALO,
                       quant=("qat",), representative=root / "sid/Sony/short", num_threads=2,
                       calibration_tiles=16, verification_tiles=4)
    (variant,) = qat["variants"]
    assert variant["passed"], variant["verification"]
    main, encoder = variant["path"], variant["encoder_path"]
    assert read_card(main)["global_branch"]["encoder_file"] == os.path.basename(encoder)
    from ai_edge_litert.interpreter import Interpreter

    signature = Interpreter(model_path=main).get_signature_list()["serve"]
    assert sorted(signature["inputs"]) == sorted([*ENCODER_OUTPUTS, "frame_mean"])
    assert variant["verification"]["frame_psnr_db"] >= THRESHOLDS_DB["qat"]


def test_kept_int8_maps_reach_the_decoder_by_the_table_rule(exported):
    """Every int8 map fed to the decoder is the table rule applied to the encoder's values
    (the runtime's fast paths, a lookup by bit pattern or the identity, change nothing)."""
    _, _, _, report = exported
    pair = load_enhancer(_variant(report, "int8")["path"], num_threads=1).encoder_decoder
    values = np.arange(-128, 128, dtype=np.int8).reshape(1, 16, 16, 1)
    for k, (out, into) in enumerate(pair._kept):
        table = requantise_table(*out["quantization"], *into["quantization"])
        np.testing.assert_array_equal(pair._convert(values, k),
                                      table[values.astype(np.int16) + 128])


def test_requantise_outputs_refuses_what_it_cannot_do(exported):
    from lsid_keras.export import tflite_file
    from lsid_keras.export.errors import ExportError

    _, _, _, report = exported
    int8 = tflite_file.read_bytes(_variant(report, "int8")["encoder_path"])
    with pytest.raises(ExportError, match="no output tensor named nope"):
        tflite_file.requantise_outputs(int8, {"nope": (0.1, 0)})
    fp32 = tflite_file.read_bytes(_variant(report, "fp32")["encoder_path"])
    name = tflite_file.tensor_details(fp32)[1][0]["name"]
    with pytest.raises(ExportError, match="only int8 outputs"):
        tflite_file.requantise_outputs(fp32, {name: (0.1, 0)})


def test_an_int8_decoder_gives_float16_for_a_float16_frame_with_the_same_values(exported):
    """`lsid enhance` assembles an int8 export's frame in float16: the decoder then looks its
    output up in float16, the float32 values rounded, so the frame is what it was."""
    _, _, packed, report = exported
    enhancer = load_enhancer(_variant(report, "int8")["path"], num_threads=1)
    pair = enhancer.encoder_decoder
    assert pair.output_dtype == enhancer.output_dtype == np.float16
    kept = pair.encode(packed[None, :TILE, :TILE])
    mean = np.mean(pair.bottleneck_values(kept[-1]), axis=(1, 2), keepdims=True)
    half = pair.decode(kept, mean)
    single = pair.decode(kept, mean, output_dtype=np.float32)
    codes = pair.codes_decoder(kept, mean)
    assert half.dtype == np.float16 and single.dtype == np.float32 and codes.dtype == np.int8
    assert np.array_equal(half, single.astype(np.float16))
    scale, zero = pair.output_codes
    assert np.array_equal(single, (codes.astype(np.float32) - zero) * np.float32(scale))
    assert pair.output_dtype == np.float16  # asked per call: the pair is left as it was


def test_enhance_file_finishes_an_int8_exports_codes_as_the_float_path_does(
        exported, monkeypatch):
    """`enhance_file` with an int8 export takes the decoder's codes as they are (quantised
    input once, int8 tiles stitched, `finish_codes`) unless it fuses or improves contrast:
    the picture equals the float16 path's within a quarter of an 8-bit level (that path
    rounds each value to float16 first), with the same colour gains and auto-bright."""
    import lsid_keras.enhance as enhance

    root, _, _, report = exported
    enhancer = load_enhancer(_variant(report, "int8")["path"], num_threads=1)
    assert enhance.codes_output(enhancer) is not None
    assert enhance.codes_output(load_enhancer(_variant(report, "fp32")["path"])) is None
    short = sorted((root / "sid/Sony/short").glob("*.dng"))[0]
    seen = []
    finish = enhance.finish_codes
    monkeypatch.setattr(enhance, "finish_codes", lambda *a: seen.append(a[0].dtype) or finish(*a))
    fast = enhance.enhance_file(enhancer, short, ratio=100, fusion=False)
    assert seen == [np.dtype(np.int8)]
    # `write_enhanced` writes the codes' pixels without a float frame: the same file
    assert isinstance(fast.picture, enhance.CodePicture)
    direct = enhance.write_enhanced(root / "direct.png", fast)
    assert isinstance(fast.picture, enhance.CodePicture)  # no float frame was made
    via_float = enhance.write_enhanced(root / "via_float.png",
                                       replace(fast, picture=fast.picture.float32()))
    assert open(direct, "rb").read() == open(via_float, "rb").read()
    monkeypatch.setattr(enhance, "codes_output", lambda enhancer: None)
    slow = enhance.enhance_file(enhancer, short, ratio=100, fusion=False)
    assert len(seen) == 1 and fast.rgb.dtype == slow.rgb.dtype == np.float32
    assert np.abs(fast.rgb - slow.rgb).max() <= 0.25 / 255
    assert np.allclose(fast.colour_gains, slow.colour_gains, rtol=1e-3)
    assert fast.bright == pytest.approx(slow.bright, rel=1e-3)


def test_int8_codes_need_crop_blending():
    with pytest.raises(ValueError, match="crop"):
        run_tiled_split(lambda b: [b], lambda k, m: k[0], np.zeros((32, 32, 4), np.float32),
                        tile=32, halo=0, blend="feather", output_dtype=np.int8)


def test_a_frame_quantised_once_runs_as_the_float_frame_does(exported):
    """`quantised_input` gives the int8 encoder the frame's codes once (cut into tiles from
    one reflect-padded int8 frame) instead of quantising each float tile: the same codes, so
    the same output, bit for bit; other models get the frame as it is."""
    import lsid_keras.enhance as enhance

    _, _, packed, report = exported
    enhancer = load_enhancer(_variant(report, "int8")["path"], num_threads=1)
    codes = enhance.quantised_input(enhancer, packed)
    assert codes.dtype == np.int8 and codes.shape == packed.shape
    from_float = enhance_packed(enhancer, packed.copy(), output_dtype=np.int8)
    from_codes = enhance_packed(enhancer, codes, output_dtype=np.int8)
    assert from_codes.dtype == np.int8 and np.array_equal(from_float, from_codes)
    fp32 = load_enhancer(_variant(report, "fp32")["path"])
    assert enhance.quantised_input(fp32, packed) is packed
    with pytest.raises(EnhanceError, match="int8 output"):
        enhance_packed(fp32, packed, output_dtype=np.int8)


def test_quantise_in_bands_is_the_rounded_rescale_of_every_value(monkeypatch):
    import lsid_keras.export.litert as litert

    monkeypatch.setattr(litert, "QUANTISE_VALUES", 1000)  # many bands on a small array
    rng = np.random.default_rng(4)
    values = (rng.random((37, 23, 4)) * 1.4 - 0.2).astype(np.float32)
    detail = {"dtype": np.int8, "quantization": (0.0039215689, -128)}
    want = np.clip(np.rint(values / np.float32(0.0039215689) + np.float32(-128)), -128,
                   127).astype(np.int8)
    assert np.array_equal(litert.quantise(values, detail), want)
    # a channel-planar frame (as `pack_bayer` leaves it) is banded without a flattened copy
    planar = np.ascontiguousarray(np.moveaxis(values, -1, 0))
    assert np.array_equal(litert.quantise(np.moveaxis(planar, 0, -1), detail), want)
    assert litert.quantise(values[0, 0, 0], detail) == want[0, 0, 0]
    assert litert.quantise(want, detail) is want  # codes already: as they are
