"""The model card: one JSON document that travels inside every exported `.tflite` and beside it.

The card holds everything a runtime needs to feed the model and read its answer without magic
numbers: the camera's CFA and packed channel order, the fixed tile and the halo to tile with,
the block size, the normalisation contract, the output's range and colour space, the
quantisation with the input/output dtypes, scales and zero points, where the model came from
and how it was verified. It is stored twice, identically: in the flatbuffer's `metadata`
table under `CARD_NAME` (so the file alone suffices: the Python runtime and the Android app
read it from there) and as `<name>.card.json` beside the file (for people and tools).

A global model (GIA-Net, SE-UNet) is exported as two files (`lsid_keras.models.global_branch`),
run with one encoder pass per tile: the encoder file (`role` "global_encoder") maps a tile to
the maps a runtime keeps, the four skips and the bottleneck map; the main file (`role`
"model") is the decoder, taking the kept maps and the frame's bottleneck average
`frame_mean`. Both cards' `global_branch` list the kept maps in order (bottleneck last), each
with its encoder output's and decoder input's tensor names and shape; the main card's also
names the encoder file and its sha256. A local model's `global_branch` is null.

Versions: 2 added `role` and `global_branch` (a version-1 reader would run a global main file
without its average, so it must refuse the card); 3 replaced version 2's two passes (a
features file, then the whole network again with `frame_mean`) by the encoder/decoder split.
Version-2 cards of local models read as before; those of global models are refused with a
request to re-export.

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
CARD_VERSION = 3
#: What a file is: a whole enhancement model (a local model, or a global model's decoder
#: taking the kept maps and `frame_mean`), or a global model's encoder.
ROLES = ("model", "global_encoder")
#: The one way global models are split since card version 3.
SPLIT = "encoder_decoder"
#: Bottleneck map pixels per packed pixel, along each side: the U-Net pools 4 times.
GLOBAL_STRIDE = 16
GLOBAL_HOW = ("run every tile through the encoder file and keep its outputs (int8 ones as "
              "int8); average each tile's share of the bottleneck map (dequantised; the "
              "tile's core, in stride-16 cells) over the frame padded as an untiled pass pads "
              "it; then run every kept tile through the decoder (main) file with that average "
              "as frame_mean, each kept map converted to the decoder input's type (int8 to "
              "int8: rint((q - z_enc) * s_enc / s_dec) + z_dec, clipped) "
              "(lsid_keras.tiling.run_tiled_split)")
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


def kept_map(name, encoder_output, decoder_input, shape):
    """One entry of `global_branch.kept`: a map the runtime keeps between the encoder and
    the decoder, by its tensor names in each file and its shape."""
    return {"name": name, "encoder_output": encoder_output, "decoder_input": decoder_input,
            "shape": [int(v) for v in shape]}


def decoder_branch_entry(encoder_file, encoder_sha256, frame_mean_input, channels, kept):
    """The main (decoder) card's `global_branch`: the encoder file beside it (name and sha256
    of its bytes), the decoder's `frame_mean` input name, its channels K, the stride and the
    kept maps (`kept_map`, bottleneck last)."""
    return {"split": SPLIT, "encoder_file": encoder_file, "encoder_sha256": encoder_sha256,
            "frame_mean_input": frame_mean_input, "channels": int(channels),
            "stride": GLOBAL_STRIDE, "kept": kept, "how": GLOBAL_HOW}


def encoder_branch_entry(model_file, channels, kept):
    """The encoder card's `global_branch`: the main file it serves, K, the stride and the
    kept maps."""
    return {"split": SPLIT, "model_file": model_file, "channels": int(channels),
            "stride": GLOBAL_STRIDE, "kept": kept,
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
        global_branch: `decoder_branch_entry` (a global model's main file),
            `encoder_branch_entry` (its encoder file) or None (a local model).
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


def _older_global(card, branch):
    """Whether `card` is a version-2 global card (a features file, or a main file run in
    two passes), which this version no longer runs."""
    return card.get("role") == "global_features" or (
        isinstance(branch, dict) and branch.get("split") != SPLIT)


def check_card(card, data, path):
    """Raises ExportError unless `card` is a card this version reads and it describes the
    model `data`: a local model maps input `[1, tile, tile, C]` to output
    `[1, tile * b, tile * b, 3]`; a global model's encoder maps that input to the kept maps,
    and its decoder maps the kept maps and `frame_mean` `[1, 1, 1, K]` to that output, every
    tensor found by the name the card gives."""
    if not isinstance(card, dict) or card.get("format") != CARD_NAME:
        raise ExportError(f"{path}: {CARD_NAME} metadata is not an lsid model card")
    if not isinstance(card.get("card_version"), int) or card["card_version"] > CARD_VERSION:
        raise ExportError(f"{path}: model card version {card.get('card_version')!r} is newer "
                          f"than this package reads ({CARD_VERSION}); update lsid-keras")
    branch = card.get("global_branch")
    if _older_global(card, branch):
        raise ExportError(f"{path}: exported by an older lsid-keras as two passes (card "
                          "version 2); re-export it with `lsid export`")
    try:
        camera, tile, halo = card["camera"], int(card["tile"]), int(card["halo"])
        channels, block = int(camera["packed_channels"]), int(camera["block_size"])
        expected_camera = cfa_description(camera["cfa_kind"])
        role = card.get("role", "model")
        if branch is not None:
            mean_channels = int(branch["channels"])
            kept = [(str(k["name"]), str(k["encoder_output"]), str(k["decoder_input"]),
                     [int(v) for v in k["shape"]]) for k in branch["kept"]]
            if role == "model":
                mean_name = str(branch["frame_mean_input"])
    except (KeyError, TypeError, ValueError) as error:
        raise ExportError(f"{path}: model card lacks or garbles {error}") from None
    if role not in ROLES:
        raise ExportError(f"{path}: model card role {role!r} is not one of {ROLES}")
    if role == "global_encoder" and branch is None:
        raise ExportError(f"{path}: model card of a global encoder file lacks global_branch")
    if (channels, block) != (expected_camera["packed_channels"], expected_camera["block_size"]):
        raise ExportError(f"{path}: model card says {camera['cfa_kind']} with {channels} "
                          f"channels and block {block}; expected "
                          f"{expected_camera['packed_channels']} and "
                          f"{expected_camera['block_size']}")
    if tile < 16 or tile % 16 or halo < 0 or tile - 2 * halo < 16:
        raise ExportError(f"{path}: model card tile {tile} / halo {halo} cannot be tiled "
                          "(tile a multiple of 16, tile - 2 * halo >= 16)")
    inputs, outputs = tflite_file.tensor_details(data)
    packed = ("packed input", [1, tile, tile, channels])
    rgb = ("output", [1, tile * block, tile * block, 3])
    if branch is None:
        want_inputs, want_outputs = [packed], [rgb]
    else:
        side = tile // GLOBAL_STRIDE
        if not kept or kept[-1][3] != [1, side, side, mean_channels]:
            raise ExportError(f"{path}: model card's last kept map must be the bottleneck map "
                              f"{[1, side, side, mean_channels]}; found "
                              f"{kept[-1][3] if kept else 'no kept maps'}")
        if role == "global_encoder":
            want_inputs = [packed]
            want_outputs = [(output, shape) for _, output, _, shape in kept]
        else:
            want_inputs = [(decoder_input, shape) for _, _, decoder_input, shape in kept]
            want_inputs.append((mean_name, [1, 1, 1, mean_channels]))
            want_outputs = [rgb]
    for kind, wanted, actual in (("input", want_inputs, inputs),
                                 ("output", want_outputs, outputs)):
        _check_tensors(path, kind, wanted, actual)
    for kind, described, actual in (("input", card.get("inputs"), inputs),
                                    ("output", card.get("outputs"), outputs)):
        by_name = {d.get("name"): d.get("dtype") for d in described or [] if isinstance(d, dict)}
        for tensor in actual:
            said = by_name.get(tensor["name"], (described or [{}])[0].get("dtype")
                               if len(actual) == 1 else None)
            if said != tensor["dtype"]:
                raise ExportError(f"{path}: model card {kind} {tensor['name']} dtype {said!r} "
                                  f"differs from the model's {tensor['dtype']!r}")


def _check_tensors(path, kind, wanted, actual):
    """Raises ExportError unless the model's `actual` tensors are exactly the `wanted`
    `(name, shape)` pairs; a single wanted tensor ("packed input", "output") matches the only
    tensor whatever its name."""
    if len(actual) != len(wanted):
        raise ExportError(f"{path}: the model card expects {len(wanted)} {kind} tensor(s) "
                          f"{[w[0] for w in wanted]}, the model has {len(actual)}: "
                          f"{[(a['name'], a['shape']) for a in actual]}")
    by_name = {a["name"]: a for a in actual}
    for name, shape in wanted:
        tensor = actual[0] if len(wanted) == 1 else by_name.get(name)
        if tensor is None:
            raise ExportError(f"{path}: model card names {kind} {name!r}, which the model does "
                              f"not have (it has {sorted(by_name)})")
        if tensor["shape"] != shape:
            what, theirs = {
                "packed input": (f"input {shape} (tile {shape[1]}, {shape[3]} channels)",
                                 "input"),
                "output": (f"output {shape}", "output"),
            }.get(name, (f"{kind} {name} {shape}", kind))
            raise ExportError(f"{path}: model card says {what} but the model's {theirs} is "
                              f"{tensor['shape']}")


def global_encoder_file(card, path):
    """The encoder file of a global model's main (decoder) file `path` (`card` its card),
    checked: it exists beside `path`, its sha256 is the card's and its own card is an encoder
    card of the same tile, halo, quantisation and kept maps.

    Returns:
        `(encoder_path, encoder_card)`, or None when the card has no `global_branch`.

    Raises:
        ExportError: (naming both files) a missing, changed or mismatching encoder file.
    """
    branch = card.get("global_branch")
    if branch is None or card.get("role", "model") != "model":
        return None
    path = os.fspath(path)
    encoder = os.path.join(os.path.dirname(path), os.path.basename(branch["encoder_file"]))
    if not os.path.isfile(encoder):
        raise ExportError(f"{path}: its global encoder file {encoder} is missing; a global "
                          "model needs both files of its export side by side")
    if file_sha256(encoder) != branch.get("encoder_sha256"):
        raise ExportError(f"{path}: its global encoder file {encoder} is not the one it was "
                          "exported with (sha256 differs); copy both files of one export")
    encoder_card = read_card(encoder)
    same = all(encoder_card.get(k) == card.get(k) for k in ("tile", "halo", "quantization"))
    same = same and (encoder_card.get("global_branch") or {}).get("kept") == branch["kept"]
    if encoder_card.get("role") != "global_encoder" or not same:
        raise ExportError(f"{path}: {encoder} is not its encoder file (role "
                          f"{encoder_card.get('role')!r}, tile {encoder_card.get('tile')}, "
                          f"quantization {encoder_card.get('quantization')!r})")
    return encoder, encoder_card
