"""The model card: one JSON document that travels inside every exported `.tflite` and beside it.

The card holds everything a runtime needs to feed the model and read its answer without magic
numbers: the camera's CFA and packed channel order, the fixed tile and the halo to tile with,
the block size, the normalisation contract, the output's range and colour space, the
quantisation with the input/output dtypes, scales and zero points, where the model came from
and how it was verified. It is stored twice, identically: in the flatbuffer's `metadata`
table under `CARD_NAME` (so the file alone suffices: the Python runtime and the Android app
read it from there) and as `<name>.card.json` beside the file (for people and tools).

This module is the one place that writes, reads and checks cards; it needs neither TensorFlow
nor LiteRT's interpreter (only `flatbuffers` and the TFLite schema module).
"""

from __future__ import annotations

import json
import os

from lsid_keras.amplification import TARGET_LEVEL
from lsid_keras.export import tflite_file
from lsid_keras.export.errors import ExportError

#: Name of the card's buffer in the flatbuffer's metadata table.
CARD_NAME = "lsid_card"
#: Incremented when a field changes meaning; readers refuse newer cards.
CARD_VERSION = 1
#: Quantisation variants, as named in cards and file names.
QUANTISATIONS = ("fp32", "fp16", "dynamic", "int8", "qat")

_CFA = {
    "bayer": {
        "packed_channels": 4,
        "block_size": 2,
        "channel_order": ["R", "G", "B", "G"],
        "packing": "R (0,0), G (0,1), B (1,1), G (1,0) of each RGGB 2x2 cell; other Bayer "
                   "orders are aligned to RGGB by dropping the first row and/or column",
    },
    "xtrans": {
        "packed_channels": 9,
        "block_size": 3,
        "channel_order": ["R", "G", "B", "R", "B", "G", "G", "G", "G"],
        "packing": "9 channels at a third of the resolution in the X-T2 phase of the SID "
                   "reference code (lsid_keras.raw.pack.XTRANS_PACKING); H, W cut to "
                   "multiples of 6",
    },
}

NORMALISATION = {
    "input": "packed RAW, linear: (x - black) / (white - black) per CFA position, black and "
             "white levels from the file, clipped at 0",
    "amplification": "multiplied by the exposure ratio (long / short exposure, at most 300; "
                     "or estimated by lsid_keras.amplification.estimate_ratio: the frame's "
                     f"highlight level brought to {TARGET_LEVEL}) and clipped to [0, 1]",
    "range": [0.0, 1.0],
}
OUTPUT = {
    "range": [0.0, 1.0],
    "clip": "clip to [0, 1] before quantising to 8 or 16 bits",
    "color_space": "sRGB (IEC 61966-2-1 primaries and transfer curve), camera white balance "
                   "applied, as rawpy/LibRaw develops SID's long exposures",
}


def training_camera_description(camera_name, cfa_kind):
    """The card's `camera.training_camera` entry: the camera whose colour the model learned
    (SID's camera for the CFA kind when `camera_name` is None) with its XYZ -> camera matrix
    (D65, row-major), so a runtime maps other cameras' frames into it before the network
    (`lsid_keras.raw.colour`)."""
    from lsid_keras.raw.cameras import camera_spec
    from lsid_keras.raw.colour import DEFAULT_TRAINING_CAMERA

    spec = camera_spec(camera_name or DEFAULT_TRAINING_CAMERA[cfa_kind])
    return {
        "name": spec.name,
        "model": spec.model,
        "assumed": camera_name is None,
        "xyz_to_camera": spec.xyz_to_camera.tolist(),
        "colour_mapping": "frames whose XYZ -> camera matrix differs: packed channels mapped by "
                          "diag(1/w_t) N_t inv(N_s) diag(w_s), N = rows-sum-to-1(M @ sRGB->XYZ), "
                          "w_s the file's as-shot gains, w_t = G / (M_t inv(M_s) (1/w_s)); "
                          "a channel of colour c becomes A[c,c] * itself + sum over the other "
                          "colours j of A[c,j] * (mean of the channels of colour j); clipped to "
                          "[0, 1] before amplification",
    }


def cfa_description(cfa_kind):
    """The card's `camera` entry for "bayer" or "xtrans"."""
    if cfa_kind not in _CFA:
        raise ValueError(f"cfa_kind must be 'bayer' or 'xtrans'. Received: {cfa_kind!r}")
    return {"cfa_kind": cfa_kind, **_CFA[cfa_kind]}


def card_path(tflite_path):
    """`<name>.card.json` beside `<name>.tflite`."""
    root, _ = os.path.splitext(os.fspath(tflite_path))
    return root + ".card.json"


def make_card(*, cfa_kind, tile, halo, quantization, inputs, outputs, source_model,
              training_recipe=None, verification=None, camera_name=None, size_multiple=16):
    """Builds a card (a JSON-ready dict).

    Args:
        cfa_kind: "bayer" or "xtrans".
        tile: int, the model's fixed input side in packed pixels (input `[1, tile, tile, C]`).
        halo: int, the context in packed pixels the tiler keeps around each tile's core and
            pads around the frame (see `lsid_keras.tiling`).
        quantization: one of `QUANTISATIONS`.
        inputs, outputs: `tflite_file.tensor_details` lists (name, shape, dtype, scale,
            zero point).
        source_model: dict describing the Keras model (file name, sha256, name, params).
        training_recipe: dict (the run's `config.json`) or None when unknown.
        verification: dict of figures from `lsid_keras.export.verify`, or None.
        camera_name: "sony", "fuji" or None.
    """
    from lsid_keras import __version__

    if quantization not in QUANTISATIONS:
        raise ValueError(f"quantization must be one of {QUANTISATIONS}. "
                         f"Received: {quantization!r}")
    return {
        "format": CARD_NAME,
        "card_version": CARD_VERSION,
        "camera": {"name": camera_name, **cfa_description(cfa_kind),
                   "training_camera": training_camera_description(camera_name, cfa_kind)},
        "tile": int(tile),
        "halo": int(halo),
        "size_multiple": int(size_multiple),
        "normalisation": NORMALISATION,
        "output": OUTPUT,
        "quantization": quantization,
        "inputs": inputs,
        "outputs": outputs,
        "source_model": source_model,
        "training_recipe": training_recipe,
        "package": {"name": "lsid-keras", "version": __version__},
        "verification": verification,
    }


def encode(card):
    """The card as compact UTF-8 JSON bytes (what goes into the flatbuffer)."""
    return json.dumps(card, sort_keys=True, separators=(",", ":")).encode("utf-8")


def embed(data, card):
    """A copy of the TFLite model `data` carrying `card` in its metadata."""
    return tflite_file.with_metadata(data, CARD_NAME, encode(card))


def card_from_bytes(data, path):
    """The card embedded in TFLite bytes, checked against the file's tensors.

    Raises:
        ExportError: (message starting with `path`) no card, unreadable or newer card, or a
            card whose tile, channels or block size disagree with the model's tensors.
    """
    tflite_file.check_flatbuffer(data, path)
    raw = tflite_file.read_metadata(data, CARD_NAME)
    if raw is None:
        raise ExportError(f"{path}: no {CARD_NAME} metadata, so tile, halo and camera are "
                          "unknown; export the model with `lsid export`")
    try:
        card = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExportError(f"{path}: {CARD_NAME} metadata is not JSON ({error})") from None
    check_card(card, data, path)
    return card


def read_card(path):
    """The card embedded in the `.tflite` file `path` (see `card_from_bytes`)."""
    path = os.fspath(path)
    return card_from_bytes(tflite_file.read_bytes(path), path)


def check_card(card, data, path):
    """Raises ExportError unless `card` is a card this version reads and it describes the
    model `data`: input `[1, tile, tile, C]`, output `[1, tile * b, tile * b, 3]`."""
    if not isinstance(card, dict) or card.get("format") != CARD_NAME:
        raise ExportError(f"{path}: {CARD_NAME} metadata is not an lsid model card")
    if not isinstance(card.get("card_version"), int) or card["card_version"] > CARD_VERSION:
        raise ExportError(f"{path}: model card version {card.get('card_version')!r} is newer "
                          f"than this package reads ({CARD_VERSION}); update lsid-keras")
    try:
        camera, tile, halo = card["camera"], int(card["tile"]), int(card["halo"])
        channels, block = int(camera["packed_channels"]), int(camera["block_size"])
        expected_camera = cfa_description(camera["cfa_kind"])
    except (KeyError, TypeError, ValueError) as error:
        raise ExportError(f"{path}: model card lacks or garbles {error}") from None
    if (channels, block) != (expected_camera["packed_channels"], expected_camera["block_size"]):
        raise ExportError(f"{path}: model card says {camera['cfa_kind']} with {channels} "
                          f"channels and block {block}; expected "
                          f"{expected_camera['packed_channels']} and "
                          f"{expected_camera['block_size']}")
    if tile < 16 or tile % 16 or halo < 0 or tile - 2 * halo < 16:
        raise ExportError(f"{path}: model card tile {tile} / halo {halo} cannot be tiled "
                          "(tile a multiple of 16, tile - 2 * halo >= 16)")
    inputs, outputs = tflite_file.tensor_details(data)
    if len(inputs) != 1 or len(outputs) != 1:
        raise ExportError(f"{path}: expected one input and one output tensor, found "
                          f"{len(inputs)} and {len(outputs)}")
    want_in = [1, tile, tile, channels]
    want_out = [1, tile * block, tile * block, 3]
    if inputs[0]["shape"] != want_in:
        raise ExportError(f"{path}: model card says input {want_in} (tile {tile}, {channels} "
                          f"channels) but the model's input is {inputs[0]['shape']}")
    if outputs[0]["shape"] != want_out:
        raise ExportError(f"{path}: model card says output {want_out} but the model's output "
                          f"is {outputs[0]['shape']}")
    for kind, described, actual in (("input", card.get("inputs"), inputs),
                                    ("output", card.get("outputs"), outputs)):
        if not described or described[0].get("dtype") != actual[0]["dtype"]:
            raise ExportError(f"{path}: model card {kind} dtype "
                              f"{(described or [{}])[0].get('dtype')!r} differs from the "
                              f"model's {actual[0]['dtype']!r}")
