"""Golden vectors shared by the Python package and the Android demo's plain-Java core.

Writes small cases computed with `lsid_keras` into a folder that the Java unit tests read
(`android_demo/core/src/test/resources/golden/` by default), so both sides are checked against
the same numbers: a change to the Python packer, tiler, model card or auto-ratio rule makes
`tests/test_golden_vectors.py` fail until the vectors are regenerated, and then the Java tests
fail until the Java core follows.

    python scripts/make_golden_vectors.py            # rewrite the committed vectors
    python scripts/make_golden_vectors.py --out DIR  # somewhere else

Files (arrays are NumPy `.npy` version 1.0, little-endian, C order; `np.save` output):

- `packing.json` + `pack_<ORDER>_mosaic.npy` (uint16 DN) / `pack_<ORDER>_packed.npy` (float32
  [0, 1]): a mosaic in each Bayer order with per-position black levels and
  `lsid_keras.raw.pack.pack_bayer`'s result.
- `tile_plans.json`: frame sizes with tile and halo, `tiling.padded_size` and the plan
  `tiling.tile_plan` (one row per tile), and `tiling.fit_tile` answers.
- `model_card.json` (a card from `lsid_keras.export.card.make_card`) and
  `model_card_fields.json` (what a reader must find in it); `model_card_decoder.json` and
  `model_card_encoder.json`: a global model's two int8 cards (card version 3, `global_cards`).
- `tiled_run.json` + `tiled_<case>_input.npy` / `tiled_<case>_<blend>.npy` (float32): a packed
  frame run through `tiling.run_tiled` with a stand-in model (`stand_in_model`: a 3x3 box
  filter with zero padding at the window's edges, as a network's convolutions pad, then a
  fixed linear map to `block x block x 3` sub-pixels), both blends.
- `global_run.json` + `global_<case>_<blend>.npy` (float32): a global model's tiled run
  with one encoder pass per tile (`tiling.run_tiled_split`, float kept maps in its default
  `KEPT_DTYPE`, float16, as the Java core keeps them: `Float16`) with a
  global stand-in split as `lsid export` splits the model (`global_encoder_model`: two kept
  maps, the zero-padded 3x3 box mean of the tile and, last, the bottleneck map: a fixed
  pointwise map of the box mean to K channels and 16 x 16 block means, so each tile's map
  depends on where its window lies; `global_decoder_model`: the tiled run's linear map of the
  kept box mean to sub-pixels plus a fixed linear map of the frame mean), the frame mean
  `tiling.frame_mean` computes and the stitched output; the inputs are the tiled run's.
  Its `int8` entry + `global_<case>_int8_<blend>.npy`: the same run with the kept maps
  int8 as an int8 export keeps them (`global_int8_stand_in`): each encoder output quantised
  with a scale and zero point of its own (`litert.quantise`), the bottleneck map averaged
  dequantised, each map fed to the decoder through `requantise_table` into the decoder
  input's own int8 quantisation and dequantised there; `frame_mean` stays float32.
- `float16.json` + `float16_sweep_float32_bits.npy` (uint32) / `float16_sweep_bits.npy`
  (uint16): float32 values, as their bits, and NumPy's `astype(np.float16)` of each, as bits:
  named edge cases (ties to even, subnormals, 65504 and the overflow from 65520, signed
  zeros and infinities, quiet NaNs with payloads) and a sweep (the midpoint between
  neighbouring halves and the float32 values either side of it, for halves spread over the
  whole range, and float32 bit patterns spread over all exponents): how a float export's kept
  maps are rounded between the passes. Signalling NaNs are left out: NumPy rounds them in
  software or, built for AVX512-FP16, in hardware, which quiets them.
- `requantise.json`: 256-entry int8 -> int8 tables from an encoder output's scale and zero
  point to a decoder input's (`lsid_keras.export.litert.requantise_table`), including ties
  (half to even) and clamping: how an int8 export's kept maps are fed to its decoder.
- `signature.json` + `signature_decoder.tflite` / `signature_encoder.tflite`: minimal TFLite
  flatbuffers (no operators) with a global model's decoder tensors (five kept maps and
  `frame_mean` in, RGB out) and encoder tensors (the packed tile in, five kept maps out), each
  with a `serve` signature whose inputs or outputs are listed in another order than the
  subgraph's and bound to tensors of other numbers, and what a reader must find in them
  (signature keys, tensor names and indices): the app finds every kept map and `frame_mean`
  by the card's tensor names through the signatures, never by position.
- `dng.json` + `dng_GRBG.dng` / `dng_GRBG_packed.npy`: a small DNG written by
  `lsid_keras.raw.dng.write_dng` with what `read_raw` finds in it and `pack(read_raw(...))`,
  for the Java DNG reader (the app opens DNGs picked from storage with it).
- `colour.json` + `colour_input.npy` / `colour_mapped.npy`: the 3x3 camera-to-camera matrix of
  `lsid_keras.raw.colour` from an emulated Nikon D850 into the alpha 7S II, and a packed frame
  mapped by it; and the matrices of frames without a colour matrix (LibRaw's rule: camera RGB
  x white balance taken as sRGB) into the alpha 7S II, white-balanced (gains 1) and not.
- `as_shot.json` + `as_shot_<case>_mosaic.npy` (uint16 DN) / `as_shot_<case>_rgb.npy` /
  `as_shot_<case>_out.npy` (float32): `lsid_keras.as_shot_colour`'s `scene_colour` of small
  Bayer frames (per-position black levels, mosaic partly below black; as-shot multipliers or
  none, then the D65 fallback; no colour matrix: camera RGB x gains as sRGB, LibRaw's rule;
  no signal -> null) and `match_mean_colour`
  / `as_shot_colour` of small network outputs (values beyond [0, 1], a dark one left as it is,
  one whose gains are clamped) with the gains they apply. The Java core is Bayer-only, so no
  X-Trans case.
- `auto_bright.json` + `auto_bright_<case>_rgb.npy` / `auto_bright_<case>_out.npy` (float32):
  LibRaw's auto-bright (`lsid_keras.auto_bright`) and the histogram both it and the as-shot
  colour are measured on. `histograms`: small network outputs (values beyond [0, 1], values
  within an ulp of half a code, where float32 and float64 round differently) with
  `lsid_keras.as_shot_colour.code_histograms`, sparse (the codes counted and their counts,
  per channel), and `auto_bright.white_levels` of them at two thresholds (one where the count
  from the top reaches exactly the threshold, which is not yet past it). `gains`:
  `auto_bright_gain` of given white levels, with colour gains and without (levels clipped at
  1, the gain clamped to [1, 256]). `finish_output`: `lsid_keras.enhance.finish_output`
  on small outputs with auto-bright, as-shot (the frame is `as_shot.json`'s scene of that
  name) or network colour, with the colour gains (null: none) and the auto-bright gain it
  applied and the picture; one already bright enough that nothing is applied (the output
  is the input, values beyond [0, 1] included) and a dark one brightened by the largest gain.
- `orientation.json` + `orientation_input.npy` / `orientation_<flip>.npy` (float32): the LibRaw
  flip code rawpy reports for a DNG written with each EXIF Orientation 1-8
  (`write_dng(orientation=...)`), and a small image laid out for display by
  `lsid_keras.image_io.orient` for each flip code 0-7 (mirrors and transposes included).
- `auto_ratio.json` + `ratio_<case>.npy` (float32 packed, not amplified; `ratio_scene_u8.npy`
  holds 8-bit codes, packed = code / 255 in float32): inputs and the ratio
  `lsid_keras.amplification.estimate_ratio` chooses (`lsid_keras.enhance.estimate_ratio`
  before that module existed).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "android_demo",
                           "core", "src", "test", "resources", "golden")

BAYER_ORDERS = {"RGGB": [[0, 1], [1, 2]], "GRBG": [[1, 0], [2, 1]],
                "GBRG": [[1, 2], [0, 1]], "BGGR": [[2, 1], [1, 0]]}


def estimate_ratio_function():
    """The package's auto-ratio rule: `lsid_keras.amplification.estimate_ratio` when that
    module exists, else `lsid_keras.enhance.estimate_ratio` (same signature)."""
    try:
        from lsid_keras.amplification import estimate_ratio
    except ImportError:
        from lsid_keras.enhance import estimate_ratio
    return estimate_ratio


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _json(data):
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8")


def packing_cases(files):
    from lsid_keras.raw.pack import pack_bayer

    rng = np.random.default_rng(12)
    white = 1000
    cases = []
    for k, (order, cfa) in enumerate(BAYER_ORDERS.items()):
        # Odd sizes so that every order crops a row and/or column and rounds down.
        shape = (13 + 2 * k, 18 + k)
        mosaic = rng.integers(0, white + 40, size=shape).astype(np.uint16)
        mosaic.flat[::9] = 0
        mosaic.flat[4::13] = white + 39  # above white: clipped to 1
        black = [[60 + k, 64], [62, 66 - k]]  # per position of the mosaic's top-left cell
        packed = pack_bayer(mosaic, np.array(cfa), np.array(black), white)
        files[f"pack_{order}_mosaic.npy"] = _npy(mosaic.astype("<u2"))
        files[f"pack_{order}_packed.npy"] = _npy(packed.astype("<f4"))
        cases.append({"order": order, "cfa": cfa, "black": black, "white": white,
                      "mosaic": f"pack_{order}_mosaic.npy",
                      "packed": f"pack_{order}_packed.npy"})
    files["packing.json"] = _json({"cases": cases})


def tile_plan_cases(files):
    from lsid_keras.tiling import fit_tile, padded_size, tile_plan

    plans = []
    for height, width, tile, halo in ((100, 150, 64, 8), (1424, 2128, 784, 32),
                                      (1424, 2128, 512, 32), (7, 5, 32, 8), (33, 200, 48, 4),
                                      (500, 375, 256, 0), (64, 64, 64, 24)):
        plan = tile_plan(height, width, tile, halo)
        plans.append({
            "height": height, "width": width, "tile": tile, "halo": halo,
            "padded": list(padded_size(height, width, tile, halo)),
            "columns": ["top", "left", "height", "width", "core_top", "core_left",
                        "core_height", "core_width", "ramp_top", "ramp_bottom", "ramp_left",
                        "ramp_right", "pad"],
            "tiles": [[t.top, t.left, t.height, t.width, t.core_top, t.core_left,
                       t.core_height, t.core_width, *t.ramps, t.pad] for t in plan],
        })
    fits = [{"height": h, "width": w, "halo": halo, "max_tile": max_tile,
             "tile": fit_tile(h, w, halo, max_tile)}
            for h, w, halo, max_tile in ((1424, 2128, 32, 800), (1424, 2128, 32, 512),
                                         (2016, 3024, 32, 512), (100, 150, 8, 64),
                                         (20, 20, 32, 800), (1500, 2000, 16, 256))]
    files["tile_plans.json"] = _json({"plans": plans, "fit_tile": fits})


def model_card_case(files):
    from lsid_keras.export.card import make_card

    tile = 256
    card = make_card(
        cfa_kind="bayer", tile=tile, halo=32, quantization="int8", camera_name="sony",
        inputs=[{"name": "serve_packed_raw:0", "shape": [1, tile, tile, 4], "dtype": "int8",
                 "scale": 0.003921568859368563, "zero_point": -128}],
        outputs=[{"name": "StatefulPartitionedCall:0", "shape": [1, 2 * tile, 2 * tile, 3],
                  "dtype": "int8", "scale": 0.00392156862745098, "zero_point": -128}],
        source_model={"file": "model.keras", "name": "gia_net", "params": 12345},
    )
    files["model_card.json"] = _json(card)
    files["model_card_fields.json"] = _json({
        "cfa_kind": "bayer", "packed_channels": 4, "block_size": 2,
        "channel_order": ["R", "G", "B", "G"], "tile": tile, "halo": 32, "size_multiple": 16,
        "quantization": "int8", "input_range": card["normalisation"]["range"],
        "output_range": card["output"]["range"],
        "input": {"dtype": "int8", "scale": card["inputs"][0]["scale"],
                  "zero_point": -128, "shape": [1, tile, tile, 4]},
        "output": {"dtype": "int8", "scale": card["outputs"][0]["scale"],
                   "zero_point": -128, "shape": [1, 2 * tile, 2 * tile, 3]},
        "training_xyz_to_camera": (card["camera"].get("training_camera") or {}).get(
            "xyz_to_camera"),
    })
    global_cards(files)


def global_cards(files):
    """A global model's two cards as `lsid export` writes them at int8 (card version 3): the
    decoder's (`model_card_decoder.json`, role "model") and the encoder's
    (`model_card_encoder.json`), each tensor with a scale and zero point of its own, listed in
    another order than `global_branch.kept`; `encoder_sha256` is that of the bytes
    b"encoder"."""
    import hashlib

    from lsid_keras.export.card import (
        decoder_branch_entry,
        encoder_branch_entry,
        kept_map,
        make_card,
    )

    tile, halo, width = 64, 16, 4
    names = ["skip1", "skip2", "skip3", "skip4", "bottleneck"]
    shapes = [[1, tile >> k, tile >> k, width << k] for k in range(5)]
    outputs = [f"StatefulPartitionedCall:{n}" for n in (3, 0, 4, 1, 2)]
    kept = [kept_map(name, output, f"serve_{name}:0", shape)
            for name, output, shape in zip(names, outputs, shapes, strict=True)]
    channels = shapes[-1][3]

    def tensor(name, shape, k):
        return {"name": name, "shape": shape, "dtype": "int8",
                "scale": float(np.float32(0.01 + 0.003 * k)), "zero_point": (k * 37) % 50 - 25}

    packed = tensor("serve_packed_raw:0", [1, tile, tile, 4], 11)
    rgb = tensor("StatefulPartitionedCall:0", [1, 2 * tile, 2 * tile, 3], 12)
    decoder_inputs = sorted([tensor(f"serve_{n}:0", s, k) for k, (n, s) in
                             enumerate(zip(names, shapes, strict=True))]
                            + [tensor("serve_frame_mean:0", [1, 1, 1, channels], 5)],
                            key=lambda t: t["name"])
    encoder_outputs = sorted([tensor(o, s, k + 6) for k, (o, s) in
                              enumerate(zip(outputs, shapes, strict=True))],
                             key=lambda t: t["name"])
    common = {"cfa_kind": "bayer", "tile": tile, "halo": halo, "quantization": "int8",
              "camera_name": "sony",
              "source_model": {"file": "gia.keras", "name": "gia_net", "params": 4321}}
    files["model_card_decoder.json"] = _json(make_card(
        **common, inputs=decoder_inputs, outputs=[rgb], role="model",
        global_branch=decoder_branch_entry("gia_int8_encoder.tflite",
                                           hashlib.sha256(b"encoder").hexdigest(),
                                           "serve_frame_mean:0", channels, kept)))
    files["model_card_encoder.json"] = _json(make_card(
        **common, inputs=[packed], outputs=encoder_outputs, role="global_encoder",
        global_branch=encoder_branch_entry("gia_int8.tflite", channels, kept)))


def stand_in_weights(channels, block):
    """The stand-in model's fixed linear map: `(block * block * 3, channels)` weights and
    `(3,)` bias, float64, small rational numbers the Java side reads from the JSON."""
    k = np.arange(block * block * 3)[:, None]
    c = np.arange(channels)[None, :]
    weights = ((k * 3 + c * 5) % 7 - 3) / 8.0
    bias = np.array([0.125, -0.25, 0.5])
    return weights, bias


def box_mean(batch):
    """Each packed pixel's 3x3 neighbourhood mean, zeros beyond the window (so a pixel's
    value depends on where the window lies, as a network's does), float64 `(n, H, W, C)`."""
    batch = np.asarray(batch, dtype=np.float64)
    _, height, width, _ = batch.shape
    padded = np.pad(batch, ((0, 0), (1, 1), (1, 1), (0, 0)))
    box = sum(padded[:, dy:dy + height, dx:dx + width] for dy in range(3) for dx in range(3))
    return box / 9.0


def sub_pixel_map(box, weights, bias, block):
    """`box` `(n, H, W, C)` through `weights` to `block * block` RGB sub-pixels, arranged like
    depth-to-space: sub-pixel (i, j) of packed pixel (y, x) lands at (y * block + i,
    x * block + j) and uses weight rows `(i * block + j) * 3 + [0, 1, 2]`; float64."""
    box = np.asarray(box, dtype=np.float64)
    n, height, width, _ = box.shape
    mapped = box @ weights.T  # (n, H, W, block * block * 3)
    mapped = mapped.reshape(n, height, width, block, block, 3) + bias
    return mapped.transpose(0, 1, 3, 2, 4, 5).reshape(n, height * block, width * block, 3)


def stand_in_model(batch, weights, bias, block):
    """A fixed tile model with the contract of an exported one: `(n, T, T, C)` float32 ->
    `(n, T * block, T * block, 3)` float32: `sub_pixel_map(box_mean(batch))`."""
    return sub_pixel_map(box_mean(batch), weights, bias, block).astype(np.float32)


def tiled_run_cases(files):
    from lsid_keras.tiling import run_tiled

    block, channels = 2, 4
    weights, bias = stand_in_weights(channels, block)
    rng = np.random.default_rng(7)
    cases = []
    for name, (height, width, tile, halo) in {"frame": (29, 45, 32, 8),
                                              "small": (9, 13, 32, 4)}.items():
        packed = rng.random((height, width, channels), dtype=np.float32)
        files[f"tiled_{name}_input.npy"] = _npy(packed.astype("<f4"))
        outputs = {}
        for blend in ("crop", "feather"):
            out = run_tiled(lambda b: stand_in_model(b, weights, bias, block), packed,
                            tile=tile, halo=halo, block=block, blend=blend)
            files[f"tiled_{name}_{blend}.npy"] = _npy(out.astype("<f4"))
            outputs[blend] = f"tiled_{name}_{blend}.npy"
        cases.append({"name": name, "tile": tile, "halo": halo, "block": block,
                      "input": f"tiled_{name}_input.npy", "outputs": outputs})
    files["tiled_run.json"] = _json({
        "stand_in": {"weights": weights.tolist(), "bias": bias.tolist(),
                     "rule": "3x3 box mean with zeros beyond the window, then weights "
                             "(row (i * block + j) * 3 + k) to sub-pixel (i, j), colour k"},
        "cases": cases,
    })


def global_stand_in_weights(channels, mean_channels):
    """The global stand-in's fixed maps, float64 small rationals the Java side reads from the
    JSON: the bottleneck's pointwise map, `linear` and `quadratic` `(K, channels)` and `bias`
    `(K,)`, and the decoder's `mean_to_rgb` `(3, K)`."""
    k = np.arange(mean_channels)[:, None]
    c = np.arange(channels)[None, :]
    linear = ((k * 5 + c * 3) % 7 - 3) / 4.0
    quadratic = ((k * 2 + c * 3) % 5 - 2) / 2.0
    bias = (np.arange(mean_channels) % 3 - 1) / 8.0
    rgb = np.arange(3)[:, None]
    mean_to_rgb = ((rgb * 3 + k.T * 2) % 5 - 2) / 2.0
    return {"linear": linear, "quadratic": quadratic, "bias": bias, "mean_to_rgb": mean_to_rgb}


def bottleneck_map(batch, weights, stride=16):
    """The global stand-in's bottleneck map: `(n, T, T, C)` float32 -> `(n, T / stride,
    T / stride, K)` float32. Each packed pixel's box mean m (`box_mean`) goes through
    `linear @ m + quadratic @ m**2 + bias`, then each `stride x stride` block is averaged."""
    box = box_mean(batch)
    n, height, width, _ = box.shape
    mapped = box @ weights["linear"].T + (box * box) @ weights["quadratic"].T + weights["bias"]
    blocks = mapped.reshape(n, height // stride, stride, width // stride, stride, -1)
    return blocks.mean(axis=(2, 4)).astype(np.float32)


def global_encoder_model(batch, weights, stride=16):
    """A fixed encoder with the contract of an exported one: `(n, T, T, C)` float32 -> the
    kept maps `[box mean (n, T, T, C), bottleneck map (n, T / stride, T / stride, K)]`, both
    float32, the bottleneck map last."""
    return [box_mean(batch).astype(np.float32), bottleneck_map(batch, weights, stride)]


def global_decoder_model(kept, frame_mean, weights, tile_weights, tile_bias, block):
    """A fixed decoder with the contract of an exported one: the kept maps and `frame_mean`
    `(n, 1, 1, K)` -> `(n, T * block, T * block, 3)` float32: `sub_pixel_map` of the kept box
    mean (as the tiled run's stand-in) plus `mean_to_rgb @ frame_mean` on every output pixel.
    The bottleneck map is not used: only its frame average reaches the decoder's output."""
    box = np.asarray(kept[0], dtype=np.float64)
    out = sub_pixel_map(box, tile_weights, tile_bias, block)
    mean = np.asarray(frame_mean, dtype=np.float64).reshape(len(out), 1, 1, -1)
    return (out + mean @ weights["mean_to_rgb"].T).astype(np.float32)


def global_run_cases(files):
    from lsid_keras.tiling import frame_mean, run_tiled_split

    block, channels, mean_channels, stride = 2, 4, 3, 16
    tile_weights, tile_bias = stand_in_weights(channels, block)
    weights = global_stand_in_weights(channels, mean_channels)

    def encode(b):
        return global_encoder_model(b, weights, stride)

    def decode(kept, mean):
        return global_decoder_model(kept, mean, weights, tile_weights, tile_bias, block)

    cases = []
    for name, blends in (("frame", ("crop",)), ("small", ("crop", "feather"))):
        source = f"tiled_{name}_input.npy"  # the tiled run's inputs, not stored twice
        packed = np.load(io.BytesIO(files[source]), allow_pickle=False)
        case = next(c for c in json.loads(files["tiled_run.json"])["cases"]
                    if c["name"] == name)
        tile, halo = case["tile"], case["halo"]
        mean = frame_mean(lambda b: encode(b)[-1], packed, tile=tile, halo=halo)
        outputs = {}
        for blend in blends:
            # Float kept maps in the default KEPT_DTYPE (float16), as lsid enhance and the
            # Java core keep a float export's.
            out = run_tiled_split(encode, decode, packed, tile=tile, halo=halo, block=block,
                                  blend=blend)
            files[f"global_{name}_{blend}.npy"] = _npy(out.astype("<f4"))
            outputs[blend] = f"global_{name}_{blend}.npy"
        cases.append({"name": name, "tile": tile, "halo": halo, "block": block,
                      "input": source, "frame_mean": mean.reshape(-1).tolist(),
                      "kept": [{"name": "box", "shape": [1, tile, tile, channels]},
                               {"name": "bottleneck",
                                "shape": [1, tile // stride, tile // stride, mean_channels]}],
                      "outputs": outputs})
    int8_cases = []
    quantisation = global_int8_quantisation()
    encode_int8, decode_int8, bottleneck_values = global_int8_stand_in(encode, decode,
                                                                       quantisation)

    def int8_bottleneck(b):
        return bottleneck_values(encode_int8(b)[-1])

    for name, blend in (("frame", "crop"),):
        source = f"tiled_{name}_input.npy"
        packed = np.load(io.BytesIO(files[source]), allow_pickle=False)
        case = next(c for c in cases if c["name"] == name)
        out = run_tiled_split(encode_int8, decode_int8, packed, tile=case["tile"],
                              halo=case["halo"], block=block, blend=blend,
                              bottleneck_values=bottleneck_values)
        files[f"global_{name}_int8_{blend}.npy"] = _npy(out.astype("<f4"))
        mean = frame_mean(int8_bottleneck, packed, tile=case["tile"], halo=case["halo"])
        int8_cases.append({"name": name, "frame_mean": mean.reshape(-1).tolist(),
                           "outputs": {blend: f"global_{name}_int8_{blend}.npy"}})
    files["global_run.json"] = _json({
        "stand_in": {key: value.tolist() for key, value in weights.items()},
        "int8": {"kept": quantisation, "cases": int8_cases,
                 "rule": "encoder outputs quantised as litert.quantise (float32 x / scale + "
                         "zero, rint, clipped); bottleneck averaged dequantised ((q - zero) * "
                         "scale in float32); decoder inputs requantise_table(encoder, "
                         "decoder)[q + 128], dequantised in float32 by the decoder input's "
                         "scale and zero point; frame_mean float32"},
        "channels": mean_channels, "stride": stride,
        "rule": "encoder: kept maps [m, bottleneck], m the 3x3 box mean with zeros beyond the "
                "window (float32), bottleneck the mean of each 16 x 16 block of linear @ m + "
                "quadratic @ m**2 + bias (m in float64); decoder: the tiled run's stand-in "
                "weights applied to the kept m, plus mean_to_rgb @ frame_mean",
        "cases": cases,
    })


def global_int8_quantisation():
    """Per kept map of the global stand-in (box mean, bottleneck), the scale and zero point
    of its encoder output and of its decoder input, as an int8 export gives them: float32
    scales, the two sides' different."""
    f32 = lambda v: float(np.float32(v))  # noqa: E731
    return [{"encoder": {"scale": f32(0.0041), "zero_point": -128},
             "decoder": {"scale": f32(0.0037), "zero_point": -121}},
            {"encoder": {"scale": f32(0.0127), "zero_point": 5},
             "decoder": {"scale": f32(0.0151), "zero_point": -2}}]


def global_int8_stand_in(encode, decode, quantisation):
    """`(encode, decode, bottleneck_values)` for `run_tiled_split`: the float stand-in with
    its kept maps int8, as `lsid_keras.export.litert.LiteRTEncoderDecoder` keeps and feeds an
    int8 export's (`quantisation`: `global_int8_quantisation`)."""
    from lsid_keras.export.litert import dequantise, quantise, requantise_table

    def detail(side, k):
        q = quantisation[k][side]
        return {"dtype": np.int8, "quantization": (q["scale"], q["zero_point"])}

    tables = [requantise_table(*detail("encoder", k)["quantization"],
                               *detail("decoder", k)["quantization"])
              for k in range(len(quantisation))]

    def encode_int8(batch):
        return [quantise(m, detail("encoder", k)) for k, m in enumerate(encode(batch))]

    def decode_int8(kept, mean):
        real = [dequantise(tables[k][m.astype(np.int16) + 128], detail("decoder", k))
                for k, m in enumerate(kept)]
        return decode(real, mean)

    def bottleneck_values(bottleneck):
        return dequantise(bottleneck, detail("encoder", len(quantisation) - 1))

    return encode_int8, decode_int8, bottleneck_values


def float16_cases(files):
    f32 = np.float32
    named = [
        ("zero", f32(0.0)), ("negative zero", f32(-0.0)), ("one", f32(1.0)),
        ("a tenth", f32(0.1)), ("a third", f32(1 / 3)), ("minus 2.5", f32(-2.5)),
        ("pi", f32(np.pi)),
        ("tie 1 + 2^-11 to even 1", f32(1 + 2.0 ** -11)),
        ("tie 1 + 3 * 2^-11 to even 1 + 2^-9", f32(1 + 3 * 2.0 ** -11)),
        ("just above the tie 1 + 2^-11", np.nextafter(f32(1 + 2.0 ** -11), f32(2))),
        ("just below the tie 1 + 3 * 2^-11", np.nextafter(f32(1 + 3 * 2.0 ** -11), f32(0))),
        ("tie 2049 to even 2048", f32(2049)), ("tie 2051 to even 2052", f32(2051)),
        ("tie -2049 to even -2048", f32(-2049)),
        ("below 2048, carries into the exponent", np.nextafter(f32(2048), f32(0))),
        ("max half 65504", f32(65504)), ("minus max half", f32(-65504)),
        ("65519.996, below the overflow tie", np.nextafter(f32(65520), f32(0))),
        ("65520 overflows (tie to even: infinity)", f32(65520)),
        ("-65520 overflows", f32(-65520)), ("65536", f32(65536)), ("1e6", f32(1e6)),
        ("float32 max", np.finfo(np.float32).max),
        ("infinity", f32(np.inf)), ("minus infinity", f32(-np.inf)),
        ("smallest normal half 2^-14", f32(2.0 ** -14)),
        ("largest subnormal half 1023 * 2^-24", f32(1023 * 2.0 ** -24)),
        ("tie 1023.5 * 2^-24 to even 2^-14", f32(1023.5 * 2.0 ** -24)),
        ("smallest subnormal half 2^-24", f32(2.0 ** -24)),
        ("minus smallest subnormal half", f32(-(2.0 ** -24))),
        ("tie 1.5 * 2^-24 to even 2 * 2^-24", f32(1.5 * 2.0 ** -24)),
        ("tie 2.5 * 2^-24 to even 2 * 2^-24", f32(2.5 * 2.0 ** -24)),
        ("tie 2^-25 to even zero", f32(2.0 ** -25)),
        ("tie -2^-25 to negative zero", f32(-(2.0 ** -25))),
        ("just above 2^-25", np.nextafter(f32(2.0 ** -25), f32(1))),
        ("below 2^-25", f32(2.0 ** -26)),
        ("subnormal float32", np.uint32(1).view(np.float32)),
        ("negative subnormal float32", np.uint32(0x80000001).view(np.float32)),
        ("subnormal with low bits beyond the shift", f32(5 * 2.0 ** -25 + 2.0 ** -40)),
    ]
    # Quiet NaNs (top significand bit set), given as bits: the sign and the top ten bits
    # of the payload are kept.
    named += [(name, np.uint32(bits).view(np.float32)) for name, bits in (
        ("NaN", 0x7FC00000), ("negative NaN", 0xFFC00000), ("NaN with a payload", 0x7FD56000),
        ("NaN, payload below the half's bits", 0x7FC00FFF))]
    values = np.array([value for _, value in named], np.float32)
    with np.errstate(over="ignore"):  # the overflow cases
        halves = values.astype(np.float16)
    cases = [{"name": name, "float32_bits": int(f), "float16_bits": int(h)} for (name, _), f, h
             in zip(named, values.view(np.uint32), halves.view(np.uint16), strict=True)]

    # Sweep: halves spread over the finite range, the midpoint to the next half up and the
    # float32 values either side of it, both signs; then float32 bit patterns over all
    # exponents (signalling NaNs left out).
    halves = np.arange(0, 0x7BFF, 37, dtype=np.uint16)
    low = halves.view(np.float16).astype(np.float64)
    high = (halves + 1).view(np.float16).astype(np.float64)
    middle = ((low + high) / 2).astype(np.float32)  # exact: 12 significant bits
    sweep = np.concatenate([middle, np.nextafter(middle, np.float32(0)),
                            np.nextafter(middle, np.float32(np.inf))])
    sweep = np.concatenate([sweep, -sweep])
    spread = np.arange(0, 2 ** 32, 2 ** 32 // 2000 + 12345, dtype=np.uint64).astype(np.uint32)
    signalling = ((spread & 0x7F800000) == 0x7F800000) & ((spread & 0x00400000) == 0) \
        & ((spread & 0x007FFFFF) != 0)
    bits = np.concatenate([sweep.view(np.uint32), spread[~signalling]])
    with np.errstate(over="ignore"):
        half_bits = bits.view(np.float32).astype(np.float16).view(np.uint16)
    files["float16_sweep_float32_bits.npy"] = _npy(bits.astype("<u4"))
    files["float16_sweep_bits.npy"] = _npy(half_bits.astype("<u2"))
    files["float16.json"] = _json({
        "rule": "numpy astype(np.float16) of float32: round to nearest, ties to even; from "
                "65520 on infinity; subnormal halves down to 2^-24; a NaN keeps its sign and "
                "the top ten bits of its payload",
        "cases": cases,
        "sweep": {"float32_bits": "float16_sweep_float32_bits.npy",
                  "float16_bits": "float16_sweep_bits.npy", "count": int(len(bits))},
    })


def requantise_cases(files):
    from lsid_keras.export.litert import requantise_table as table

    f32 = lambda v: float(np.float32(v))  # noqa: E731  scales are float32 in TFLite files
    cases = []
    for name, encoder, decoder in (
            ("half_scale_ties", (0.25, -3), (0.5, 5)),  # odd q - z: exact halves, to even
            ("float32_scales", (f32(0.0173), -17), (f32(0.0211), 9)),
            ("clamped", (f32(0.062), 40), (f32(0.019), -60)),
            ("same", (f32(0.0173), -17), (f32(0.0173), -17))):
        values = np.asarray(table(encoder[0], encoder[1], decoder[0], decoder[1]))
        cases.append({"name": name,
                      "encoder": {"scale": encoder[0], "zero_point": encoder[1]},
                      "decoder": {"scale": decoder[0], "zero_point": decoder[1]},
                      "table": [int(v) for v in values.reshape(-1)]})
    files["requantise.json"] = _json({
        "rule": "table[q + 128] = clip(rint((q - encoder_zero) * encoder_scale / "
                "decoder_scale) + decoder_zero, -128, 127), float64, rint half to even",
        "cases": cases,
    })


#: The kept maps of the signature files: name, encoder output tensor, shape (tile 32,
#: width 2: the U-Net's skips and bottleneck).
SIGNATURE_KEPT = [("skip1", "StatefulPartitionedCall:2", [1, 32, 32, 2]),
                  ("skip2", "StatefulPartitionedCall:4", [1, 16, 16, 4]),
                  ("skip3", "StatefulPartitionedCall:0", [1, 8, 8, 8]),
                  ("skip4", "StatefulPartitionedCall:3", [1, 4, 4, 16]),
                  ("bottleneck", "StatefulPartitionedCall:1", [1, 2, 2, 32])]


def _signature_file(tensors, inputs, outputs, signature_inputs, signature_outputs):
    """A TFLite flatbuffer without operators: `tensors` [(name, shape)], subgraph `inputs` /
    `outputs` (tensor indices) and a `serve` signature of [(key, tensor index)]."""
    import flatbuffers

    from lsid_keras.export.tflite_file import FILE_IDENTIFIER, _schema

    schema = _schema()

    def tensor(name, shape):
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer = name, shape, schema.TensorType.FLOAT32, 0
        return t

    def tensor_map(key, index):
        m = schema.TensorMapT()
        m.name, m.tensorIndex = key, index
        return m

    subgraph = schema.SubGraphT()
    subgraph.tensors = [tensor(name, shape) for name, shape in tensors]
    subgraph.inputs, subgraph.outputs, subgraph.operators = inputs, outputs, []
    signature = schema.SignatureDefT()
    signature.signatureKey, signature.subgraphIndex = "serve", 0
    signature.inputs = [tensor_map(key, index) for key, index in signature_inputs]
    signature.outputs = [tensor_map(key, index) for key, index in signature_outputs]
    model = schema.ModelT()
    model.version, model.subgraphs, model.buffers = 3, [subgraph], [schema.BufferT()]
    model.signatureDefs, model.operatorCodes = [signature], []
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    description = {"key": "serve", "inputs": [], "outputs": []}
    for kind, entries in (("inputs", signature_inputs), ("outputs", signature_outputs)):
        description[kind] = [{"key": key, "tensor": tensors[index][0], "index": index}
                             for key, index in entries]
    return bytes(builder.Output()), description


def signature_case(files):
    # As the converter writes a global model's decoder (tensor names "serve_<input>:0",
    # signature keys the input names), but the subgraph lists its tensors and inputs in an
    # order of its own and the signature in another (LiteRT's interpreter sorts by key).
    decoder_tensors = [("serve_frame_mean:0", [1, 1, 1, 32])] + [
        (f"serve_{name}:0", shape) for name, _, shape in reversed(SIGNATURE_KEPT)] + [
        ("StatefulPartitionedCall:0", [1, 64, 64, 3])]
    index = {name: i for i, (name, _) in enumerate(decoder_tensors)}
    keys = sorted([name for name, _, _ in SIGNATURE_KEPT] + ["frame_mean"])
    decoder, decoder_signature = _signature_file(
        decoder_tensors, [4, 0, 2, 5, 1, 3], [6],
        [(key, index[f"serve_{key}:0"]) for key in keys], [("output_0", 6)])
    # The encoder: outputs "StatefulPartitionedCall:<n>" whose numbers are not the kept
    # order, and signature keys "output_<m>" whose m is neither.
    encoder_tensors = [("serve_packed_raw:0", [1, 32, 32, 4])] + sorted(
        ((tensor, shape) for _, tensor, shape in SIGNATURE_KEPT), key=lambda t: t[0])
    index = {name: i for i, (name, _) in enumerate(encoder_tensors)}
    outputs = [(f"output_{m}", index[tensor])
               for m, (_, tensor, _) in enumerate(SIGNATURE_KEPT[1:] + SIGNATURE_KEPT[:1])]
    encoder, encoder_signature = _signature_file(
        encoder_tensors, [0], [5, 3, 1, 4, 2], [("packed_raw", 0)], outputs)
    files["signature_decoder.tflite"] = decoder
    files["signature_encoder.tflite"] = encoder
    files["signature.json"] = _json({
        "files": [{"file": "signature_decoder.tflite", "signatures": [decoder_signature]},
                  {"file": "signature_encoder.tflite", "signatures": [encoder_signature]}],
        "kept": [{"name": name, "encoder_output": tensor, "decoder_input": f"serve_{name}:0",
                  "shape": shape} for name, tensor, shape in SIGNATURE_KEPT],
        "frame_mean_input": "serve_frame_mean:0",
    })


#: ColorMatrix1 (XYZ -> camera, D65) of the golden DNG: the Nikon D850's, rounded as the DNG
#: stores it (rationals over 10000).
COLOR_MATRIX = [[0.6575, -0.2145, -0.0624], [-0.4524, 1.2198, 0.2487],
                [-0.0825, 0.1553, 0.6946]]


def dng_case(files):
    import tempfile

    from lsid_keras.raw import pack, read_raw
    from lsid_keras.raw.dng import write_dng

    rng = np.random.default_rng(5)
    white = 4000
    mosaic = rng.integers(0, white + 1, size=(27, 34)).astype(np.uint16)
    black = [[200, 204], [198, 202]]
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "frame.dng")
        write_dng(path, mosaic, "GRBG", black, white, camera_wb=(2.0, 1.0, 1.6),
                  exposure_time=0.04, color_matrix=COLOR_MATRIX)
        with open(path, "rb") as handle:
            files["dng_GRBG.dng"] = handle.read()
        frame = read_raw(path)
        packed = pack(frame)
    wb = [float(v) for v in frame.camera_wb[:3]]
    files["dng_GRBG_packed.npy"] = _npy(packed.astype("<f4"))
    files["dng.json"] = _json({"cases": [{
        "file": "dng_GRBG.dng", "packed": "dng_GRBG_packed.npy",
        "height": int(frame.mosaic.shape[0]), "width": int(frame.mosaic.shape[1]),
        "cfa": frame.cfa.tolist(), "black": frame.black_level.tolist(),
        "white": float(frame.white_level),
        "white_balance": [wb[0] / wb[1], 1.0, wb[2] / wb[1]],
        "exposure_time": frame.exposure_time,
        "color_matrix": COLOR_MATRIX,
    }]})


def colour_case(files):
    from lsid_keras.raw.cameras import camera_spec
    from lsid_keras.raw.colour import apply_to_packed, camera_to_camera_matrix, mapping_for
    from lsid_keras.raw.read import RawFrame

    source = camera_spec("nikon").xyz_to_camera
    target = camera_spec("sony").xyz_to_camera
    gains = [2.1, 1.0, 1.45]
    matrix = camera_to_camera_matrix(source, gains, target)
    packed = (np.random.default_rng(9).random((6, 7, 4)) * 0.8).astype(np.float32)
    files["colour_input.npy"] = _npy(packed.astype("<f4"))
    files["colour_mapped.npy"] = _npy(apply_to_packed(packed, matrix, "bayer").astype("<f4"))
    # Frames without a colour matrix, mapped by LibRaw's rule (camera RGB x white balance taken
    # as sRGB): white-balanced data (gains 1) and raw data with as-shot gains.
    without = []
    for wb in ([1.0, 1.0, 1.0], [2.0, 1.0, 1.6]):
        frame = RawFrame(mosaic=np.zeros((2, 2), np.uint16), cfa=[[0, 1], [1, 2]],
                         black_level=0, white_level=1, camera_wb=wb)
        without.append({"as_shot_gains": wb,
                        "matrix": mapping_for(frame, "sony").tolist()})
    files["colour.json"] = _json({
        "source_xyz_to_camera": np.asarray(source).tolist(),
        "target_xyz_to_camera": np.asarray(target).tolist(),
        "as_shot_gains": gains, "matrix": matrix.tolist(),
        "packed": "colour_input.npy", "mapped": "colour_mapped.npy",
        "without_matrix": without,
    })


def as_shot_cases(files, frames=None):
    """`as_shot.json` and its arrays into `files`; the scenes' RawFrames into `frames` (a
    dict) when given."""
    from lsid_keras.as_shot_colour import as_shot_colour, match_mean_colour, scene_colour
    from lsid_keras.raw.read import RawFrame

    rng = np.random.default_rng(11)
    white = 4000
    frames = {} if frames is None else frames
    scenes = []
    # (name, order, black, camera_wb, matrix, mean signal per colour in DN above black):
    # the first is a dim warm scene, its mosaic partly below black (read noise that must not
    # be clipped); the second has no as-shot multipliers (LibRaw reports zeros: D65 gains);
    # the third carries no colour matrix and the fourth no signal, both null.
    for name, order, black, wb, matrix, signal in (
            ("bayer", "BGGR", [[512, 510], [514, 508]], (2.0, 1.0, 1.5, 1.0), COLOR_MATRIX,
             (60.0, 45.0, 20.0)),
            ("d65_fallback", "GRBG", [[64, 66], [62, 64]], (0.0, 0.0, 0.0, 0.0), COLOR_MATRIX,
             (300.0, 500.0, 200.0)),
            ("no_matrix", "RGGB", [[64, 64], [64, 64]], (2.0, 1.0, 1.5, 1.0), None,
             (300.0, 500.0, 200.0)),
            ("no_signal", "GBRG", [[64, 64], [64, 64]], (2.0, 1.0, 1.5, 1.0), COLOR_MATRIX,
             (-3.0, -3.0, -3.0))):
        cfa = np.array(BAYER_ORDERS[order])
        height, width = 11 + len(scenes), 14 + len(scenes)  # odd: the positions' counts differ
        colours = np.tile(cfa, (height // 2 + 1, width // 2 + 1))[:height, :width]
        blacks = np.tile(np.array(black, dtype=np.float64),
                         (height // 2 + 1, width // 2 + 1))[:height, :width]
        level = blacks + np.asarray(signal)[colours] * rng.uniform(0.5, 1.5, (height, width))
        mosaic = np.clip(np.round(level + rng.normal(0.0, 6.0, (height, width))), 0, white)
        mosaic = mosaic.astype(np.uint16)
        frame = RawFrame(mosaic=mosaic, cfa=cfa, black_level=np.array(black, dtype=np.float64),
                         white_level=float(white), camera_wb=wb,
                         xyz_to_camera=None if matrix is None else np.array(matrix))
        frames[name] = frame
        colour = scene_colour(frame)
        files[f"as_shot_{name}_mosaic.npy"] = _npy(mosaic.astype("<u2"))
        scenes.append({"name": name, "order": order, "black": black, "white": white,
                       "camera_wb": list(wb), "xyz_to_camera": matrix,
                       "mosaic": f"as_shot_{name}_mosaic.npy",
                       "scene_colour": None if colour is None else colour.tolist()})
    rgb = rng.random((6, 5, 3)).astype(np.float32)
    rgb[0, 0] = [-0.05, 1.1, 0.5]  # the network's output may leave [0, 1] a little
    reddish = (rng.random((5, 4, 3)) * [0.9, 0.3, 0.1]).astype(np.float32)
    dark = (rng.random((4, 6, 3)) * 2e-6).astype(np.float32)
    dark[0, 0, 0] = -0.01  # below zero and kept: the dark image is returned as it is
    matches = []
    for name, image, target, frame in (
            ("scene", rgb, [0.8, 1.0, 1.3], None),
            ("clamped", reddish, [0.05, 0.3, 2.0], None),
            ("zero_target", rgb, [0.0, 1.0, 0.7], None),
            ("dark", dark, [0.8, 1.0, 1.3], None),
            ("as_shot", rgb, None, "bayer"),
            ("as_shot_no_matrix", rgb, None, "no_matrix")):
        if frame is None:
            out, gains = match_mean_colour(image, target)
        else:
            out, gains = as_shot_colour(image, frames[frame])
        files[f"as_shot_{name}_rgb.npy"] = _npy(image.astype("<f4"))
        files[f"as_shot_{name}_out.npy"] = _npy(np.asarray(out).astype("<f4"))
        matches.append({"name": name, "rgb": f"as_shot_{name}_rgb.npy",
                        "out": f"as_shot_{name}_out.npy", "target": target, "frame": frame,
                        "gains": None if gains is None else np.asarray(gains).tolist()})
    files["as_shot.json"] = _json({"scene_colour": scenes, "match_mean_colour": matches})


def as_shot_frames():
    """`as_shot_cases`' frames by scene name (the same random draws), for `finish_output`."""
    frames = {}
    as_shot_cases({}, frames)
    return frames


def _sparse_histograms(counts):
    """(3, CODES) counts -> per channel the codes counted (ascending) and their counts."""
    return [{"codes": np.flatnonzero(row).tolist(), "counts": row[row > 0].tolist()}
            for row in np.asarray(counts)]


def auto_bright_cases(files):
    from lsid_keras.as_shot_colour import CODES, code_histograms
    from lsid_keras.auto_bright import auto_bright_gain, white_levels
    from lsid_keras.enhance import finish_output

    rng = np.random.default_rng(17)
    # Values within an ulp of half a code: float32 rounds half of them to another code than
    # float64 would (the histogram is computed in float32 on both sides).
    halves = np.float32((rng.integers(0, CODES - 1, 40) + 0.5) / (CODES - 1))
    edges = np.concatenate([halves, np.nextafter(halves, np.float32(0)),
                            np.nextafter(halves, np.float32(1)),
                            np.float32([0.0, 1.0, -0.2, 1.3, 0.5, 1e-7])])
    spread = (rng.random((20, 30, 3)) * [0.8, 0.6, 0.7]).astype(np.float32)
    spread.reshape(-1, 3)[: edges.size, 1] = edges  # green carries the edge values
    spread[3, 4] = [1.05, 1.2, -0.1]  # beyond [0, 1]: counted at the codes they clip to
    # 200 pixels, 2 of them at the top code: a threshold of 1 % is reached exactly at the top
    # (not yet passed: the level is the next code counted below).
    tie = np.tile(np.float32([0.3, 0.4, 0.2]), (10, 20, 1))
    tie.reshape(-1, 3)[:2] = [0.9, 0.95, 0.6]
    tie.reshape(-1, 3)[2:40] *= np.float32(1.5)
    histograms = []
    for name, image in (("spread", spread), ("tie", tie)):
        counts = code_histograms(image)
        files[f"auto_bright_{name}_rgb.npy"] = _npy(image.astype("<f4"))
        histograms.append({"name": name, "rgb": f"auto_bright_{name}_rgb.npy",
                           "counts": _sparse_histograms(counts),
                           "white_levels": [{"threshold": t,
                                             "levels": white_levels(counts, t).tolist()}
                                            for t in (0.01, 0.2)]})
    gains = []
    for levels, colour in (([0.4, 0.5, 0.3], None),
                           ([0.4, 0.5, 0.3], [1.3, 1.0, 0.6]),
                           ([0.9, 0.5, 0.3], [1.5, 1.0, 1.0]),  # red past 1: clipped, gain 1
                           ([1e-4, 2e-3, 5e-4], None),  # darker than 1 / 256: the largest gain
                           ([0.0, 0.0, 0.0], [0.5, 2.0, 1.0]),
                           ([2.0, 3.0, 1.5], None)):
        gains.append({"levels": levels, "colour_gains": colour,
                      "gain": auto_bright_gain(levels, colour)})
    frames = as_shot_frames()
    # 120 pixels: the level is the second brightest, so the two beyond 1 do not set it.
    picture = rng.random((12, 10, 3)).astype(np.float32) * np.float32(0.45)
    picture[0, 0] = [-0.05, 1.1, 0.5]  # the network's output may leave [0, 1] a little
    picture[2, 3] = [0.2, -0.01, 1.02]
    bright = picture.copy()
    bright[:2, :1] = np.float32(1.04)  # 2 pixels of 120: past 1 %, white already
    bright[4, 1, 0] = -0.03
    dark = (rng.random((5, 8, 3)) * 0.01).astype(np.float32)  # needs more than 256
    dark[1, 1, 2] = -0.02
    finishes = []
    for name, image, colour, frame in (
            ("as_shot", picture, "as-shot", "bayer"),
            ("as_shot_no_matrix", picture, "as-shot", "no_matrix"),
            ("network", picture, "network", "bayer"),
            ("no_signal", picture, "as-shot", "no_signal"),
            ("white_already", bright, "network", "bayer"),
            ("dark", dark, "as-shot", "bayer")):
        out, colour_gains, gain = finish_output(image.copy(), frames[frame], colour, True)
        files[f"auto_bright_{name}_rgb.npy"] = _npy(image.astype("<f4"))
        files[f"auto_bright_{name}_out.npy"] = _npy(np.asarray(out).astype("<f4"))
        finishes.append({"name": name, "rgb": f"auto_bright_{name}_rgb.npy",
                         "out": f"auto_bright_{name}_out.npy", "colour": colour,
                         "frame": frame, "auto_bright": True,
                         "colour_gains": None if colour_gains is None
                         else np.asarray(colour_gains).tolist(),
                         "bright": float(gain)})
    files["auto_bright.json"] = _json({"codes": CODES, "histograms": histograms,
                                       "gains": gains, "finish_output": finishes})


def orientation_cases(files):
    import tempfile

    import rawpy

    from lsid_keras.image_io import orient
    from lsid_keras.raw.dng import write_dng

    mosaic = np.random.default_rng(13).integers(0, 4001, size=(24, 26)).astype(np.uint16)
    exif_to_flip = {}
    with tempfile.TemporaryDirectory() as directory:
        for exif in range(1, 9):
            path = os.path.join(directory, f"o{exif}.dng")
            write_dng(path, mosaic, "GRBG", 64, 4000, orientation=exif)
            with rawpy.imread(path) as raw:
                exif_to_flip[str(exif)] = int(raw.sizes.flip)
    # An image with no symmetry (3 rows, 5 columns): every layout is distinct.
    image = np.arange(3 * 5 * 3, dtype=np.float32).reshape(3, 5, 3) / 45
    files["orientation_input.npy"] = _npy(image.astype("<f4"))
    cases = []
    for flip in range(8):
        out = orient(image, flip)
        files[f"orientation_{flip}.npy"] = _npy(np.asarray(out).astype("<f4"))
        cases.append({"flip": flip, "out": f"orientation_{flip}.npy",
                      "height": int(out.shape[0]), "width": int(out.shape[1])})
    files["orientation.json"] = _json({"exif_to_flip": exif_to_flip,
                                       "input": "orientation_input.npy", "cases": cases})


def auto_ratio_cases(files):
    estimate_ratio = estimate_ratio_function()
    rng = np.random.default_rng(3)
    cases = []
    inputs = {
        "dark": rng.random((16, 24, 4)) * 0.004,
        "dim": rng.random((16, 24, 4)) * 0.02,
        "bright": rng.random((16, 24, 4)) * 0.6,
        "black": np.zeros((8, 8, 4)),
        "highlights": np.where(rng.random((16, 24, 4)) < 0.05, 1.0, rng.random((16, 24, 4))
                               * 0.002),
        "odd_size": rng.random((7, 5, 4)) * 0.01,
    }
    for name, packed in inputs.items():
        packed = packed.astype(np.float32)
        files[f"ratio_{name}.npy"] = _npy(packed.astype("<f4"))
        cases.append({"name": name, "packed": f"ratio_{name}.npy",
                      "ratio": float(estimate_ratio(packed))})
    # A frame large enough that the rule averages several highlight blocks, stored as 8-bit
    # codes (packed = code / 255 in float32) to stay small: a dark noisy scene with a few
    # brighter patches.
    codes = np.minimum(rng.poisson(2.0, (160, 160, 4)), 255).astype(np.uint8)
    for top, left, level in ((10, 20, 40), (90, 130, 60), (140, 8, 25)):
        codes[top:top + 6, left:left + 6] = np.minimum(
            rng.poisson(level, (6, 6, 4)), 255).astype(np.uint8)
    packed = codes.astype(np.float32) / np.float32(255)
    files["ratio_scene_u8.npy"] = _npy(codes.astype("u1"))
    cases.append({"name": "scene", "packed": "ratio_scene_u8.npy", "codes_per_unit": 255,
                  "ratio": float(estimate_ratio(packed))})
    files["auto_ratio.json"] = _json({"rule": estimate_ratio.__module__ + ".estimate_ratio",
                                      "cases": cases})


def golden_files():
    """Every golden file's name and bytes, computed in memory with the package."""
    files = {}
    packing_cases(files)
    tile_plan_cases(files)
    model_card_case(files)
    tiled_run_cases(files)
    global_run_cases(files)
    float16_cases(files)
    requantise_cases(files)
    signature_case(files)
    dng_case(files)
    colour_case(files)
    as_shot_cases(files)
    auto_bright_cases(files)
    orientation_cases(files)
    auto_ratio_cases(files)
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="folder to write (default: %(default)s)")
    args = parser.parse_args(argv)
    from lsid_keras.atomic import write_bytes_atomic

    os.makedirs(args.out, exist_ok=True)
    files = golden_files()
    for name, data in sorted(files.items()):
        write_bytes_atomic(os.path.join(args.out, name), data)
    total = sum(len(data) for data in files.values())
    print(f"wrote {len(files)} golden files, {total / 1024:.0f} KiB, "
          f"to {os.path.normpath(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
