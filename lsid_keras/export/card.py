"""The model card: one JSON document that travels inside every exported `.tflite` and beside it.

The card holds everything a runtime needs to feed the model and read its answer without magic
numbers: the camera's CFA and packed channel order, the fixed tile and the halo to tile with,
the block size, the normalisation contract, the output's range and colour space, the
quantisation with the input/output dtypes, scales and zero points, where the model came from
and how it was verified. It is stored twice, identically: in the flatbuffer's `metadata`
table under `CARD_NAME` (so the file alone suffices: the Python runtime and the Android app
read it from there) and as `<name>.card.json` beside the file (for people and tools).

A global model (GIA-Net, SE-UNet) is exported as two files (`lsid_keras.models.global_branch`):
the main file (`role` "model") takes the tile and the frame's bottleneck average `frame_mean`,
and its card's `global_branch` names the features file and its sha256; the features file
(`role` "global_features") maps a tile to its bottleneck map. A local model's `global_branch`
is null. Card version 2 added `role` and `global_branch` (a version-1 reader would run a
global main file without its average, so it must refuse the card).

This module is the one place that writes, reads and checks cards; it needs neither TensorFlow
nor LiteRT's interpreter (only `flatbuffers` and the TFLite schema module).
"""

from __future__ import annotations

import hashlib
import json
import os

from lsid_keras.amplification import TARGET_LEVEL
from lsid_keras.export import tflite_file
from lsid_keras.export.errors import ExportError

#: Name of the card's buffer in the flatbuffer's metadata table.
CARD_NAME = "lsid_card"
#: Incremented when a field changes meaning; readers refuse newer cards.
CARD_VERSION = 2
#: What a file is: a whole enhancement model (a local model, or a global model's main half
#: taking `frame_mean`), or a global model's features half.
ROLES = ("model", "global_features")
#: Bottleneck map pixels per packed pixel, along each side: the U-Net pools 4 times.
GLOBAL_STRIDE = 16
GLOBAL_HOW = ("run every tile through the features file, average each tile's share of the "
              "bottleneck map (the tile's core, in stride-16 cells) over the frame padded as "
              "an untiled pass pads it, then run every tile through this file with that "
              "average as frame_mean (lsid_keras.tiling.frame_mean)")
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


def file_sha256(path):
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def global_branch_entry(features_file, features_sha256, channels, frame_mean_input):
    """The main card's `global_branch`: the features file beside it (name and sha256 of its
    bytes), the name of the `frame_mean` input, its channels K and the stride."""
    return {"features_file": features_file, "features_sha256": features_sha256,
            "frame_mean_input": frame_mean_input, "channels": int(channels),
            "stride": GLOBAL_STRIDE, "how": GLOBAL_HOW}


def features_entry(model_file, channels):
    """The features file's `global_branch`: the main file it serves and its output's K."""
    return {"model_file": model_file, "channels": int(channels), "stride": GLOBAL_STRIDE,
            "how": "the first pass of " + model_file + ": " + GLOBAL_HOW}


def make_card(*, cfa_kind, tile, halo, quantization, inputs, outputs, source_model,
              training_recipe=None, verification=None, camera_name=None, size_multiple=16,
              role="model", global_branch=None):
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
        role: one of `ROLES`.
        global_branch: `global_branch_entry` (a global model's main file), `features_entry`
            (its features file) or None (a local model).
    """
    from lsid_keras import __version__

    if quantization not in QUANTISATIONS:
        raise ValueError(f"quantization must be one of {QUANTISATIONS}. "
                         f"Received: {quantization!r}")
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}. Received: {role!r}")
    return {
        "format": CARD_NAME,
        "card_version": CARD_VERSION,
        "role": role,
        "global_branch": global_branch,
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
    model `data`: input `[1, tile, tile, C]` and output `[1, tile * b, tile * b, 3]`; a global
    main file (`global_branch` set) also takes `frame_mean` `[1, 1, 1, K]`; a features file
    maps `[1, tile, tile, C]` to `[1, tile / 16, tile / 16, K]`."""
    if not isinstance(card, dict) or card.get("format") != CARD_NAME:
        raise ExportError(f"{path}: {CARD_NAME} metadata is not an lsid model card")
    if not isinstance(card.get("card_version"), int) or card["card_version"] > CARD_VERSION:
        raise ExportError(f"{path}: model card version {card.get('card_version')!r} is newer "
                          f"than this package reads ({CARD_VERSION}); update lsid-keras")
    try:
        camera, tile, halo = card["camera"], int(card["tile"]), int(card["halo"])
        channels, block = int(camera["packed_channels"]), int(camera["block_size"])
        expected_camera = cfa_description(camera["cfa_kind"])
        role, branch = card.get("role", "model"), card.get("global_branch")
        mean_channels = None if branch is None else int(branch["channels"])
        if role == "model" and branch is not None:
            mean_name = str(branch["frame_mean_input"])
    except (KeyError, TypeError, ValueError) as error:
        raise ExportError(f"{path}: model card lacks or garbles {error}") from None
    if role not in ROLES:
        raise ExportError(f"{path}: model card role {role!r} is not one of {ROLES}")
    if role == "global_features" and branch is None:
        raise ExportError(f"{path}: model card of a global features file lacks global_branch")
    if (channels, block) != (expected_camera["packed_channels"], expected_camera["block_size"]):
        raise ExportError(f"{path}: model card says {camera['cfa_kind']} with {channels} "
                          f"channels and block {block}; expected "
                          f"{expected_camera['packed_channels']} and "
                          f"{expected_camera['block_size']}")
    if tile < 16 or tile % 16 or halo < 0 or tile - 2 * halo < 16:
        raise ExportError(f"{path}: model card tile {tile} / halo {halo} cannot be tiled "
                          "(tile a multiple of 16, tile - 2 * halo >= 16)")
    inputs, outputs = tflite_file.tensor_details(data)
    takes_mean = role == "model" and branch is not None
    want_inputs = 2 if takes_mean else 1
    if len(inputs) != want_inputs or len(outputs) != 1:
        raise ExportError(f"{path}: expected {'two inputs' if takes_mean else 'one input'} and "
                          f"one output tensor, found {len(inputs)} and {len(outputs)}")
    packed_input = inputs[0]
    if takes_mean:
        index = tflite_file.frame_mean_index(inputs, mean_name)
        if index is None:
            raise ExportError(f"{path}: model card says a {mean_name!r} input [1, 1, 1, "
                              f"{mean_channels}] but the model's inputs are "
                              f"{[(i['name'], i['shape']) for i in inputs]}")
        packed_input = inputs[1 - index]
        if inputs[index]["shape"] != [1, 1, 1, mean_channels]:
            raise ExportError(f"{path}: model card says input {mean_name} "
                              f"{[1, 1, 1, mean_channels]} but the model's is "
                              f"{inputs[index]['shape']}")
    want_in = [1, tile, tile, channels]
    if role == "global_features":
        side = tile // GLOBAL_STRIDE
        want_out = [1, side, side, mean_channels]
    else:
        want_out = [1, tile * block, tile * block, 3]
    if packed_input["shape"] != want_in:
        raise ExportError(f"{path}: model card says input {want_in} (tile {tile}, {channels} "
                          f"channels) but the model's input is {packed_input['shape']}")
    if outputs[0]["shape"] != want_out:
        raise ExportError(f"{path}: model card says output {want_out} but the model's output "
                          f"is {outputs[0]['shape']}")
    for kind, described, actual in (("input", card.get("inputs"), inputs),
                                    ("output", card.get("outputs"), outputs)):
        by_name = {d.get("name"): d.get("dtype") for d in described or [] if isinstance(d, dict)}
        for tensor in actual:
            said = by_name.get(tensor["name"], (described or [{}])[0].get("dtype")
                               if len(actual) == 1 else None)
            if said != tensor["dtype"]:
                raise ExportError(f"{path}: model card {kind} {tensor['name']} dtype {said!r} "
                                  f"differs from the model's {tensor['dtype']!r}")


def global_features_file(card, path):
    """The features file of a global model's main file `path` (`card` its card), checked:
    it exists beside `path`, its sha256 is the card's and its own card is a features card of
    the same tile, halo and quantisation.

    Returns:
        `(features_path, features_card)`, or None when the card has no `global_branch`.

    Raises:
        ExportError: (naming both files) a missing, changed or mismatching features file.
    """
    branch = card.get("global_branch")
    if branch is None or card.get("role", "model") != "model":
        return None
    path = os.fspath(path)
    features = os.path.join(os.path.dirname(path), os.path.basename(branch["features_file"]))
    if not os.path.isfile(features):
        raise ExportError(f"{path}: its global features file {features} is missing; a global "
                          "model needs both files of its export side by side")
    if file_sha256(features) != branch.get("features_sha256"):
        raise ExportError(f"{path}: its global features file {features} is not the one it was "
                          "exported with (sha256 differs); copy both files of one export")
    features_card = read_card(features)
    same = all(features_card.get(k) == card.get(k) for k in ("tile", "halo", "quantization"))
    if features_card.get("role") != "global_features" or not same:
        raise ExportError(f"{path}: {features} is not its features file (role "
                          f"{features_card.get('role')!r}, tile {features_card.get('tile')}, "
                          f"quantization {features_card.get('quantization')!r})")
    return features, features_card
