"""`export_model`: a trained `.keras` model to verified, carded `.tflite` files.

For each requested precision: convert (`convert`), embed the model card (`card`), verify
against the Keras model (`verify`), and write `<stem>_<quant>.tflite` plus
`<stem>_<quant>.card.json` atomically, only if the variant passes. A failing variant is
reported with its figures and nothing of it is written.

A global model (GIA-Net, SE-UNet: `lsid_keras.models.global_branch.split_encoder_decoder` is
not None) averages its bottleneck map over the whole frame. One fixed-tile file would average
over its own tile only, so a tiled run on a phone would differ from the whole-frame Keras
result. Each variant of a global model is therefore two files (two SavedModels: only one
endpoint of an `ExportArchive` survives conversion), run with one encoder pass per tile:
- `<stem>_<quant>_encoder.tflite` (card `role` "global_encoder"): `[1, T, T, C]` -> the maps
  a runtime keeps: the skips of levels 1-4 and the bottleneck map `[1, T / 16, T / 16, K]`
  (K = 16 x width);
- `<stem>_<quant>.tflite`, the main file: the decoder, taking the kept maps and `frame_mean`
  `[1, 1, 1, K]`, output as a local model's.
Both cards' `global_branch` list the kept maps with their tensor names in each file; the main
card's names the encoder file and its sha256 (`lsid_keras.export.card`). A runtime runs every
tile through the encoder and keeps its outputs while it averages each tile's share of the
bottleneck map into the frame's average, then runs every kept tile through the decoder with
it (`lsid_keras.tiling.run_tiled_split`). int8 calibrates the encoder on the calibration
tiles and the decoder on each tile's Keras encoder outputs with that tile's own average; the
encoder then gives each kept map the decoder input's scale and zero point itself (a QUANTIZE
operator per map, `_match_kept_quantisation`), so runtimes pass the maps on as they are. The
encoder file is written before the main file, so a main file on disk always has its
encoder. Quantisation-aware int8 ("qat") of a global model fine-tunes the decoder's twin on
the same samples (`lsid_keras.export.qat`); its encoder is the post-training int8 one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

import numpy as np

from lsid_keras.export import card as cards
from lsid_keras.export import tflite_file
from lsid_keras.export.errors import ExportError

#: Variants exported by default. "qat" (quantisation-aware int8, `lsid_keras.export.qat`) is
#: opt-in: it fine-tunes the model, minutes for a small net and far longer for a full-width
#: one on a CPU, where post-training int8 takes seconds.
DEFAULT_QUANTIZATIONS = ("fp32", "fp16", "dynamic", "int8")
SUPPORTED_QUANTIZATIONS = ("fp32", "fp16", "dynamic", "int8", "qat")
#: Tiles drawn from the representative set for int8 calibration and for verification.
CALIBRATION_TILES = 48
VERIFICATION_TILES = 8


def _check_out_dir(out_dir):
    """Checks that `out_dir` is, or can be made, a writable folder, without making it (a
    failed export leaves no empty folder behind)."""
    out_dir = os.fspath(out_dir)
    existing = out_dir
    while not os.path.exists(existing):
        existing = os.path.dirname(os.path.abspath(existing))
    try:
        if not os.path.isdir(existing):
            raise NotADirectoryError(f"{existing} is not a folder")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ExportError(f"{out_dir}: output folder is not writable "
                          f"({error.strerror or error})") from None
    return out_dir


def _make_out_dir(out_dir):
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as error:
        raise ExportError(f"{out_dir}: output folder is not writable "
                          f"({error.strerror or error})") from None


def _training_recipe(model_path):
    """The run's `config.json` (written by `lsid train` beside `model.keras`), or None."""
    config = os.path.join(os.path.dirname(os.path.abspath(model_path)), "config.json")
    try:
        with open(config, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, json.JSONDecodeError):
        return None


def default_tile(cfa_kind, halo):
    """The tile `fit_tile` chooses for a full SID frame of the camera family (912 for Sony at
    the default halo of 96: 2 x 3 tiles)."""
    from lsid_keras.models import CAMERAS
    from lsid_keras.tiling import fit_tile

    camera = next(c for c in CAMERAS.values() if c.cfa_kind == cfa_kind)
    height, width = (side // camera.block_size for side in camera.frame)
    return fit_tile(height, width, halo)


def load_lsid_model(model_path):
    """`(model, packed_channels, block_size)` of a `.keras` lsid model; ExportError if the file
    is unreadable or not a low-light model."""
    from lsid_keras.enhance import EnhanceError, model_geometry
    from lsid_keras.models import ModelFileError, load_model

    try:
        model = load_model(model_path)
        channels, block = model_geometry(model, model_path)
    except (ModelFileError, EnhanceError) as error:
        raise ExportError(str(error)) from None
    return model, channels, block


def export_model(model_path, out_dir, tile=None, halo=None, quant=DEFAULT_QUANTIZATIONS,
                 representative=None, verify=True, thresholds=None, num_threads=None,
                 calibration_tiles=CALIBRATION_TILES, verification_tiles=VERIFICATION_TILES,
                 progress=None):
    """Exports a `.keras` lsid model to fixed-shape `.tflite` files with embedded model cards.

    Args:
        model_path: the trained `.keras` file.
        out_dir: folder for `<stem>_<quant>.tflite` and `<stem>_<quant>.card.json` (created).
        tile: int, the fixed input side in packed pixels (multiple of 16). Default: the tile
            `fit_tile` picks for the camera's full frame (912 Sony, 864 Fuji at halo 96).
        halo: int, the tiling halo recorded in the card (default `DEFAULT_HALO`).
        quant: iterable of "fp32", "fp16", "dynamic", "int8", "qat" (quantisation-aware int8,
            `lsid_keras.export.qat`; not in the defaults, see `DEFAULT_QUANTIZATIONS`).
        representative: a `lsid prepare` cache folder or a folder of RAW files; needed for
            int8 and qat; also supplies held-out tiles and a frame for verification (without it,
            verification uses synthetic smooth tiles and no full frame).
        verify: compare each variant with the Keras model and drop those below threshold.
        thresholds: dict overriding `verify.THRESHOLDS_DB` per variant.
        num_threads: LiteRT threads for verification (default: all cores).
        calibration_tiles, verification_tiles: tiles drawn from the representative set.
        progress: callable taking one line of text, or None.

    Returns:
        dict: `out_dir`, `tile`, `halo`, `global_branch` (bool), `variants` (one dict per
        variant: `quantization`, `path` (None unless written), `card_path`, `bytes`,
        `verification`, `passed`; for a global model also `encoder_path`,
        `encoder_card_path` and `encoder_bytes`).

    Raises:
        ExportError: unreadable or non-lsid model, bad tile/halo, unknown variant, missing or
            empty representative data (for int8), unwritable output folder, a variant
            needing non-builtin ops, or qat of a global model.
    """
    from lsid_keras.enhance import EnhanceError, check_tiling
    from lsid_keras.export.convert import convert_saved_model, write_saved_model
    from lsid_keras.export.litert import LiteRTEncoderDecoder, LiteRTPredictor
    from lsid_keras.export.representative import load_representative, synthetic_tiles
    from lsid_keras.export.verify import verify_variant
    from lsid_keras.models.global_branch import split_encoder_decoder
    from lsid_keras.models.unet import ENCODER_OUTPUTS
    from lsid_keras.tiling import DEFAULT_HALO, EncoderDecoder, keras_predictor

    say = progress or (lambda line: None)
    model_path = os.fspath(model_path)
    quant = tuple(quant)
    unknown = [q for q in quant if q not in SUPPORTED_QUANTIZATIONS]
    if not quant or unknown:
        raise ExportError(f"{model_path}: unknown variants {unknown or quant}; "
                          f"choose from {SUPPORTED_QUANTIZATIONS}")
    halo = DEFAULT_HALO if halo is None else halo
    out_dir = _check_out_dir(out_dir)
    model, channels, block = load_lsid_model(model_path)
    cfa_kind = "bayer" if channels == 4 else "xtrans"
    tile = default_tile(cfa_kind, halo) if tile is None else tile
    try:
        check_tiling(tile, halo)
    except EnhanceError as error:
        raise ExportError(f"{model_path}: {error}") from None
    halves = split_encoder_decoder(model, input_size=tile)

    data_set = None
    if representative is not None:
        data_set = load_representative(representative, cfa_kind)
    elif {"int8", "qat"} & set(quant):
        raise ExportError(f"{model_path}: int8 and qat need representative data: a "
                          "`lsid prepare` cache or a folder of RAW files")
    calibration = data_set.tiles(tile, calibration_tiles, seed=0) if data_set else None
    if data_set:
        held_out = data_set.tiles(tile, verification_tiles, held_out=True, seed=1)
        frame = data_set.frame(0)
        verification_data = f"held-out frames of {data_set.description}"
    else:
        held_out = synthetic_tiles(tile, channels, verification_tiles, seed=1)
        frame = None
        verification_data = "synthetic smooth tiles (no representative data given)"

    stem = os.path.splitext(os.path.basename(model_path))[0]
    source_model = {
        "file": os.path.basename(model_path),
        "sha256": cards.file_sha256(model_path),
        "name": model.name,
        "params": int(model.count_params()),
    }
    camera_name = next((n for n in ("sony", "fuji") if model.name.endswith(f"_{n}")), None)
    keras_predict = keras_predictor(model)
    main_calibration, keras_halves, mean_channels = calibration, None, None
    if halves is not None:
        keras_halves = EncoderDecoder(*(keras_predictor(half) for half in halves))  # float32
        mean_channels = int(halves[1].inputs[-1].shape[-1])
        if calibration:
            main_calibration = DecoderSamples(keras_halves.encode, calibration, ENCODER_OUTPUTS)
    report = {"out_dir": out_dir, "tile": tile, "halo": halo,
              "global_branch": halves is not None, "variants": []}
    created = not os.path.isdir(out_dir)
    _make_out_dir(out_dir)
    try:
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as work:
            saved_model = os.path.join(work, "saved_model")
            saved_encoder = os.path.join(work, "saved_encoder")
            say(f"writing a SavedModel with input [1, {tile}, {tile}, {channels}]"
                + (" as an encoder and a decoder" if halves else ""))
            write_saved_model(model if halves is None else halves[1], saved_model, tile)
            if halves is not None:
                write_saved_model(halves[0], saved_encoder, tile, output_names=ENCODER_OUTPUTS)
            for quantization in quant:
                encoder_data = fitted_encoder = None
                if quantization == "qat":
                    from lsid_keras.export.qat import quantization_aware_int8

                    say("fine-tuning a quantisation-aware twin (qat)")
                    data = quantization_aware_int8(
                        model, tile, calibration, model_path,
                        encoder=None if halves is None else halves[0])
                    if halves is not None:  # the encoder: post-training int8
                        encoder_data = convert_saved_model(saved_encoder, "int8",
                                                           calibration, model_path)
                else:
                    say(f"converting {quantization}")
                    data = convert_saved_model(saved_model, quantization, main_calibration,
                                               model_path)
                    if halves is not None:
                        encoder_data = convert_saved_model(saved_encoder, quantization,
                                                           calibration, model_path)
                inputs, outputs = tflite_file.tensor_details(data)
                kept = None
                if encoder_data is not None:
                    kept = _kept_maps(encoder_data, data, ENCODER_OUTPUTS)
                    fitted_encoder = encoder_data
                    encoder_data = _match_kept_quantisation(encoder_data, data, kept)
                figures = None
                if verify:
                    say(f"verifying {quantization}")
                    name = f"{stem}_{quantization}"
                    if halves is None:
                        predict = LiteRTPredictor(data, num_threads, source=name)
                    else:
                        predict = LiteRTEncoderDecoder(
                            data, encoder_data, kept, _frame_mean_input(data), num_threads,
                            source=name)
                    check = None
                    if fitted_encoder is not encoder_data:  # requantised: check it as converted
                        check = LiteRTEncoderDecoder(
                            data, fitted_encoder, kept, _frame_mean_input(data), num_threads,
                            source=f"{name} (encoder as converted)")
                    figures = verify_variant(
                        data, quantization, keras_predict, predict, held_out, frame, tile,
                        halo, block, (thresholds or {}).get(quantization), keras_halves,
                        encoder_check=check)
                    figures["data"] = verification_data
                    figures["num_threads"] = predict.num_threads
                common = {"cfa_kind": cfa_kind, "tile": tile, "halo": halo,
                          "quantization": quantization, "source_model": source_model,
                          "training_recipe": _training_recipe(model_path),
                          "verification": figures, "camera_name": camera_name}
                main_name = f"{stem}_{quantization}.tflite"
                encoder_name = f"{stem}_{quantization}_encoder.tflite"
                branch = carded_encoder = encoder_card = None
                if encoder_data is not None:
                    encoder_inputs, encoder_outputs = tflite_file.tensor_details(encoder_data)
                    encoder_card = cards.make_card(
                        inputs=encoder_inputs, outputs=encoder_outputs, role="global_encoder",
                        global_branch=cards.encoder_branch_entry(main_name, mean_channels,
                                                                 kept),
                        **common)
                    carded_encoder = cards.embed(encoder_data, encoder_card)
                    branch = cards.decoder_branch_entry(
                        encoder_name, hashlib.sha256(carded_encoder).hexdigest(),
                        _frame_mean_input(data), mean_channels, kept)
                card = cards.make_card(inputs=inputs, outputs=outputs, global_branch=branch,
                                       **common)
                carded = cards.embed(data, card)
                passed = figures is None or figures["passed"]
                entry = {"quantization": quantization, "path": None, "card_path": None,
                         "bytes": len(carded), "verification": figures, "passed": passed}
                if carded_encoder is not None:
                    entry.update(encoder_path=None, encoder_card_path=None,
                                 encoder_bytes=len(carded_encoder))
                if passed:
                    if carded_encoder is not None:
                        # The encoder first: a main file on disk always has its own.
                        entry["encoder_path"] = os.path.join(out_dir, encoder_name)
                        entry["encoder_card_path"] = cards.card_path(entry["encoder_path"])
                        _write_pair(entry["encoder_path"], carded_encoder,
                                    entry["encoder_card_path"], encoder_card)
                    entry["path"] = os.path.join(out_dir, main_name)
                    entry["card_path"] = cards.card_path(entry["path"])
                    _write_pair(entry["path"], carded, entry["card_path"], card)
                    say(f"wrote {entry['path']}"
                        + (f" and {entry['encoder_path']}" if carded_encoder else ""))
                else:
                    say(f"{quantization} failed verification: tile {figures['tile_psnr_db']} dB, "
                        f"frame {figures['frame_psnr_db']} dB < {figures['threshold_db']} dB; "
                        "not written")
                report["variants"].append(entry)

    except BaseException:
        if created and os.path.isdir(out_dir) and not os.listdir(out_dir):
            os.rmdir(out_dir)  # a failed export leaves no empty folder behind
        raise
    return report


class DecoderSamples:
    """A global model's decoder calibration samples, made one at a time (48 tiles' kept maps
    at 912 would take 5 GB at once): for each tile, its Keras encoder outputs by name and
    its own bottleneck average as `frame_mean` (so the decoder's target is the model's own
    output on the tile)."""

    def __init__(self, encode, tiles, names):
        self.encode, self.tiles, self.names = encode, tiles, names

    def __len__(self):
        return len(self.tiles)

    def __iter__(self):
        from lsid_keras.export.convert import FRAME_MEAN_NAME

        for tile in self.tiles:
            kept = self.encode(tile)
            sample = dict(zip(self.names, kept, strict=True))
            sample[FRAME_MEAN_NAME] = np.mean(kept[-1], axis=(1, 2), keepdims=True,
                                              dtype=np.float32)
            yield sample


def _frame_mean_input(decoder_data):
    """The decoder's `frame_mean` tensor name, through its signature."""
    from lsid_keras.export.convert import FRAME_MEAN_NAME

    return tflite_file.signature_tensors(decoder_data)["inputs"][FRAME_MEAN_NAME]


def _kept_maps(encoder_data, decoder_data, names):
    """The cards' `kept` list: each kept map's encoder output and decoder input tensor names
    (through the files' signatures) and shape, in `names` order."""
    outputs = tflite_file.signature_tensors(encoder_data)["outputs"]
    inputs = tflite_file.signature_tensors(decoder_data)["inputs"]
    shapes = {d["name"]: d["shape"] for d in tflite_file.tensor_details(encoder_data)[1]}
    return [cards.kept_map(name, outputs[name], inputs[name], shapes[outputs[name]])
            for name in names]


def _match_kept_quantisation(encoder_data, decoder_data, kept):
    """The encoder with each int8 kept map leaving in its decoder input's scale and zero point
    (`tflite_file.requantise_outputs`), so the maps pass from file to file as they are."""
    outputs = {d["name"]: d for d in tflite_file.tensor_details(encoder_data)[1]}
    inputs = {d["name"]: d for d in tflite_file.tensor_details(decoder_data)[0]}
    targets = {}
    for entry in kept:
        out, into = outputs[entry["encoder_output"]], inputs[entry["decoder_input"]]
        if out["dtype"] == into["dtype"] == "int8" and (
                out["scale"], out["zero_point"]) != (into["scale"], into["zero_point"]):
            targets[out["name"]] = (into["scale"], into["zero_point"])
    return tflite_file.requantise_outputs(encoder_data, targets) if targets else encoder_data


def _write_pair(tflite_path, data, card_json_path, card):
    """Writes the model and its card beside it, each atomically; the card last, so a card on
    disk always has its model."""
    from lsid_keras.atomic import write_bytes_atomic, write_json_atomic

    write_bytes_atomic(tflite_path, data)
    write_json_atomic(card_json_path, card)
