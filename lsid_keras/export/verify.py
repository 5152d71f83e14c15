"""Verifying an exported model against the Keras model it came from.

Per variant: PSNR (peak 1, outputs clipped to [0, 1] as every consumer clips them) of the
TFLite output against the Keras fp32 output on held-out tiles, and of the tiled full-frame
TFLite result (the tiler with the card's tile and halo) against the untiled Keras result on a
held-out frame; the largest absolute difference of each; and the operators in the file. A
variant below its threshold fails verification and is not written.

A global model (GIA-Net, SE-UNet) is exported as two files (`lsid_keras.export.exporter`), and
each half is checked against its Keras half (`lsid_keras.models.global_branch.
split_encoder_decoder`): the encoder file on every kept map (PSNR with the Keras map's largest
magnitude as peak; the worst map counts), the decoder (main) file on the tiles given the Keras
encoder's maps and each tile's own average; the frame check runs both TFLite files as a phone
does (`run_tiled_split`: one encoder pass, int8 maps kept as int8) against the whole Keras
model on the untiled frame.
"""

from __future__ import annotations

import math

import numpy as np

from lsid_keras.export import tflite_file

#: Minimum PSNR in dB against Keras fp32 on held-out tiles and on the tiled full frame. fp32
#: should agree to float rounding (max error ~1e-6); fp16 weights cost ~1e-3; dynamic-range
#: and int8 quantise to ~1/256 steps. Published PTQ int8 losses for restoration nets reach
#: ~2 dB against ground truth at ~30 dB, which is about 30 dB against the fp32 output.
THRESHOLDS_DB = {"fp32": 60.0, "fp16": 45.0, "dynamic": 32.0, "int8": 30.0, "qat": 30.0}
#: PSNR reported for identical outputs (JSON has no infinity).
PSNR_CAP_DB = 100.0


def psnr(a, b):
    """PSNR in dB of `a` against `b`, both clipped to [0, 1], peak 1 (capped at PSNR_CAP_DB)."""
    a = np.clip(np.asarray(a, np.float64), 0, 1)
    b = np.clip(np.asarray(b, np.float64), 0, 1)
    mse = float(np.mean((a - b) ** 2))
    return PSNR_CAP_DB if mse == 0 else min(PSNR_CAP_DB, 10 * math.log10(1.0 / mse))


def feature_psnr(a, b):
    """PSNR in dB of feature map `a` against `b`, unclipped, peak the largest |b| (capped)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    peak = float(np.abs(b).max())
    mse = float(np.mean((a - b) ** 2))
    if mse == 0 or peak == 0:
        return PSNR_CAP_DB if mse == 0 else 0.0
    return min(PSNR_CAP_DB, 10 * math.log10(peak**2 / mse))


def verify_variant(data, quantization, keras_predict, tflite_predict, tiles, frame, tile, halo,
                   block, threshold_db=None, keras_halves=None, encoder_check=None):
    """Figures for one exported variant.

    Args:
        data: the TFLite bytes (for the operator list; a global model's decoder file).
        quantization: variant name (selects the default threshold).
        keras_predict: the whole Keras model's `predict` (`lsid_keras.tiling`).
        tflite_predict: the export's `predict` callable, or for a global model its
            `LiteRTEncoderDecoder`.
        tiles: held-out float32 `(1, T, T, C)` tiles.
        frame: a held-out packed, amplified frame `(H, W, C)`, or None to skip the frame check.
        tile, halo, block: the tiling the card prescribes.
        threshold_db: pass mark (default `THRESHOLDS_DB[quantization]`).
        keras_halves: for a global model, its Keras `EncoderDecoder` (float32 outputs), the
            reference of each TFLite half.
        encoder_check: the `LiteRTEncoderDecoder` whose encoder's kept maps are compared with
            Keras (default `tflite_predict`): the encoder before its outputs were requantised
            to the decoder's inputs (`tflite_file.requantise_outputs`), each map in the
            quantisation the converter fitted to it; the tile and frame checks run
            `tflite_predict` whole.

    Returns:
        dict: `operators`, `tile_psnr_db`, `tile_max_abs`, `frame_psnr_db`, `frame_max_abs`,
        `frame_shape`, `threshold_db`, `passed`; for a global model also
        `encoder_operators`, `encoder_psnr_db` and `encoder_max_abs`.
    """
    from lsid_keras.tiling import run_tiled, run_tiled_split, run_untiled

    threshold = THRESHOLDS_DB[quantization] if threshold_db is None else float(threshold_db)
    extra = {}
    if keras_halves is None:
        reference = np.concatenate([keras_predict(t) for t in tiles])
        exported = np.concatenate([tflite_predict(t) for t in tiles])
    else:
        reference, exported, worst_map, worst_abs = [], [], PSNR_CAP_DB, 0.0
        for t in tiles:
            kept = keras_halves.encode(t)
            checked = encoder_check or tflite_predict
            found = checked.encode(t)
            for k, (want, got) in enumerate(zip(kept, found, strict=True)):
                got = checked.dequantise_kept(got, k)
                worst_map = min(worst_map, feature_psnr(got, want))
                worst_abs = max(worst_abs, float(np.abs(got - want).max()))
            # Each tile with its own average (from the Keras half), so the decoders differ by
            # the decoder file's error only.
            mean = kept[-1].mean(axis=(1, 2), keepdims=True, dtype=np.float64).astype(np.float32)
            reference.append(keras_halves.decode(kept, mean))
            exported.append(tflite_predict.decode(kept, mean))
        reference, exported = np.concatenate(reference), np.concatenate(exported)
        extra = {"encoder_operators": tflite_file.operator_names(tflite_predict.encoder_data),
                 "encoder_psnr_db": round(worst_map, 3), "encoder_max_abs": worst_abs}
    result = {
        "operators": tflite_file.operator_names(data),
        "held_out_tiles": len(tiles),
        "tile_psnr_db": round(psnr(exported, reference), 3),
        "tile_max_abs": float(np.abs(exported - reference).max()),
        "frame_psnr_db": None,
        "frame_max_abs": None,
        "frame_shape": None,
        "threshold_db": threshold,
        **extra,
    }
    worst = min(result["tile_psnr_db"], extra.get("encoder_psnr_db", PSNR_CAP_DB))
    if frame is not None:
        untiled = run_untiled(keras_predict, frame, block, halo=halo)
        if keras_halves is None:
            tiled = run_tiled(tflite_predict, frame, tile=tile, halo=halo, block=block)
        else:
            tiled = run_tiled_split(tflite_predict.encode, tflite_predict.decode, frame,
                                    tile=tile, halo=halo, block=block,
                                    bottleneck_values=tflite_predict.bottleneck_values)
        result["frame_psnr_db"] = round(psnr(tiled, untiled), 3)
        result["frame_max_abs"] = float(np.abs(tiled - untiled).max())
        result["frame_shape"] = list(frame.shape)
        worst = min(worst, result["frame_psnr_db"])
    result["passed"] = bool(worst >= threshold)
    return result


def verify_file(tflite_path, model_path, representative=None, num_threads=None,
                tiles=8, threshold_db=None):
    """Verifies an exported `.tflite` against the `.keras` model it came from, with the tile
    and halo of its card: `verify_variant`'s figures (plus `data`). Held-out tiles and frame
    come from `representative` (a cache or RAW folder), else synthetic tiles, no frame.

    Raises:
        ExportError: unreadable files, a file without a valid card, a model of another
            camera than the card's, or representative frames of another CFA.
    """
    import os

    from lsid_keras.export.card import global_encoder_file, read_card
    from lsid_keras.export.errors import ExportError
    from lsid_keras.export.exporter import load_lsid_model
    from lsid_keras.export.litert import LiteRTEncoderDecoder, LiteRTPredictor
    from lsid_keras.export.representative import load_representative, synthetic_tiles
    from lsid_keras.models.global_branch import split_encoder_decoder
    from lsid_keras.tiling import EncoderDecoder, keras_predictor

    tflite_path = os.fspath(tflite_path)
    card = read_card(tflite_path)
    encoder = global_encoder_file(card, tflite_path)
    model, channels, block = load_lsid_model(model_path)
    halves = split_encoder_decoder(model)
    if (encoder is None) != (halves is None):
        raise ExportError(f"{tflite_path}: the card {'has' if encoder else 'has no'} a global "
                          f"branch but {model_path} is a "
                          f"{'local' if halves is None else 'global'} model")
    camera = card["camera"]
    if (channels, block) != (camera["packed_channels"], camera["block_size"]):
        raise ExportError(f"{tflite_path}: the card's camera ({camera['cfa_kind']}) does not "
                          f"match {model_path} ({channels} channels)")
    tile, halo = card["tile"], card["halo"]
    if representative is not None:
        data_set = load_representative(representative, camera["cfa_kind"])
        held_out = data_set.tiles(tile, tiles, held_out=True, seed=1)
        frame, description = data_set.frame(0), f"held-out frames of {data_set.description}"
    else:
        held_out = synthetic_tiles(tile, channels, tiles, seed=1)
        frame, description = None, "synthetic smooth tiles"
    with open(tflite_path, "rb") as file:
        data = file.read()
    keras_halves = None
    if encoder is None:
        predict = LiteRTPredictor(tflite_path, num_threads)
    else:
        branch = card["global_branch"]
        predict = LiteRTEncoderDecoder(tflite_path, encoder[0], branch["kept"],
                                       branch["frame_mean_input"], num_threads)
        keras_halves = EncoderDecoder(*(keras_predictor(half) for half in halves))
    figures = verify_variant(data, card["quantization"], keras_predictor(model), predict,
                             held_out, frame, tile, halo, block, threshold_db, keras_halves)
    figures["data"] = description
    return figures
