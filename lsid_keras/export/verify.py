"""Verifying an exported model against the Keras model it came from.

Per variant: PSNR (peak 1, outputs clipped to [0, 1] as every consumer clips them) of the
TFLite output against the Keras fp32 output on held-out tiles, and of the tiled full-frame
TFLite result (the tiler with the card's tile and halo) against the untiled Keras result on a
held-out frame; the largest absolute difference of each; and the operators in the file. A
variant below its threshold fails verification and is not written.

A global model (GIA-Net, SE-UNet) is exported as two files (`lsid_keras.export.exporter`), and
each half is checked against its Keras half (`lsid_keras.models.global_branch.split_global`):
the features file on the bottleneck map (PSNR with the Keras map's largest magnitude as
peak), the main file on the tiles given the Keras features' average of each tile; the frame
check runs both TFLite files in the tiler's two passes (`run_tiled(..., frame_features=)`)
against the whole Keras model on the untiled frame, so it measures what a phone computes.
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
                   block, threshold_db=None, global_halves=None):
    """Figures for one exported variant.

    Args:
        data: the TFLite bytes (for the operator list).
        quantization: variant name (selects the default threshold).
        keras_predict, tflite_predict: `predict` callables (`lsid_keras.tiling`).
        tiles: held-out float32 `(1, T, T, C)` tiles.
        frame: a held-out packed, amplified frame `(H, W, C)`, or None to skip the frame check.
        tile, halo, block: the tiling the card prescribes.
        threshold_db: pass mark (default `THRESHOLDS_DB[quantization]`).
        global_halves: for a global model, a dict: `features_data` (the features file's
            bytes), `keras_features` / `tflite_features` (the features halves' predicts) and
            `keras_model` (the whole Keras model's predict, the frame check's reference);
            `keras_predict` / `tflite_predict` are then the halves taking `frame_mean`.

    Returns:
        dict: `operators`, `tile_psnr_db`, `tile_max_abs`, `frame_psnr_db`, `frame_max_abs`,
        `frame_shape`, `threshold_db`, `passed`; for a global model also
        `features_operators`, `features_psnr_db` and `features_max_abs`.
    """
    from lsid_keras.tiling import run_tiled, run_untiled

    threshold = THRESHOLDS_DB[quantization] if threshold_db is None else float(threshold_db)
    whole_model, tiled_kwargs, means, extra = keras_predict, {}, [None] * len(tiles), {}
    if global_halves is not None:
        whole_model = global_halves["keras_model"]
        tiled_kwargs["frame_features"] = global_halves["tflite_features"]
        keras_maps = [np.asarray(global_halves["keras_features"](t)) for t in tiles]
        tflite_maps = np.concatenate([global_halves["tflite_features"](t) for t in tiles])
        keras_maps_all = np.concatenate(keras_maps)
        # Each tile with its own average (from the Keras half), so the main halves differ by
        # the main file's error only.
        means = [m.mean(axis=(1, 2), keepdims=True, dtype=np.float64).astype(np.float32)
                 for m in keras_maps]
        extra = {
            "features_operators": tflite_file.operator_names(global_halves["features_data"]),
            "features_psnr_db": round(feature_psnr(tflite_maps, keras_maps_all), 3),
            "features_max_abs": float(np.abs(tflite_maps - keras_maps_all).max()),
        }

    def run(predict):
        return np.concatenate([predict(t) if m is None else predict(t, m)
                               for t, m in zip(tiles, means, strict=True)])

    reference, exported = run(keras_predict), run(tflite_predict)
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
    worst = min(result["tile_psnr_db"], extra.get("features_psnr_db", PSNR_CAP_DB))
    if frame is not None:
        untiled = run_untiled(whole_model, frame, block, halo=halo)
        tiled = run_tiled(tflite_predict, frame, tile=tile, halo=halo, block=block,
                          **tiled_kwargs)
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

    from lsid_keras.export.card import global_features_file, read_card
    from lsid_keras.export.errors import ExportError
    from lsid_keras.export.exporter import load_lsid_model
    from lsid_keras.export.litert import LiteRTPredictor
    from lsid_keras.export.representative import load_representative, synthetic_tiles
    from lsid_keras.models.global_branch import split_global
    from lsid_keras.tiling import keras_predictor

    tflite_path = os.fspath(tflite_path)
    card = read_card(tflite_path)
    features = global_features_file(card, tflite_path)
    model, channels, block = load_lsid_model(model_path)
    halves = split_global(model)
    if (features is None) != (halves is None):
        raise ExportError(f"{tflite_path}: the card {'has' if features else 'has no'} a global "
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
    keras_predict, global_halves = keras_predictor(model), None
    if features is not None:
        with open(features[0], "rb") as file:
            global_halves = {"features_data": file.read(),
                             "keras_features": keras_predictor(halves[0]),
                             "tflite_features": LiteRTPredictor(features[0], num_threads),
                             "keras_model": keras_predict}
        keras_predict = keras_predictor(halves[1])
    figures = verify_variant(data, card["quantization"], keras_predict,
                             LiteRTPredictor(tflite_path, num_threads), held_out, frame,
                             tile, halo, block, threshold_db, global_halves)
    figures["data"] = description
    return figures
