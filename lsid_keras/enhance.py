"""Full-resolution enhancement of one RAW file: read, pack, amplify, tiled network, sRGB.

The same `Enhancer` serves `lsid enhance`, `lsid evaluate` and the quickstart, so every one of
them packs, amplifies and tiles in exactly one way.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from lsid_keras.amplification import estimate_ratio
from lsid_keras.tiling import (
    DEFAULT_HALO,
    DEFAULT_TILE,
    SIZE_MULTIPLE,
    fit_tile,
    keras_encoder_decoder,
    run_tiled,
    run_tiled_split,
    run_untiled,
)

__all__ = ["CodePicture", "Enhanced", "EnhanceError", "Enhancer", "enhance_file",
           "enhance_packed", "estimate_ratio", "load_enhancer", "load_shipped_enhancer",
           "network_input", "write_enhanced"]


class EnhanceError(ValueError):
    """A file, model or setting that cannot be enhanced; the message names what and why."""


#: `tile` value meaning one forward pass over the whole frame (no tiles).
WHOLE_FRAME = 0
#: `tile` value meaning the whole frame when it fits in memory (`whole_frame_fits`), else tiles.
AUTO_TILE = "auto"
#: Peak bytes of a whole-frame float32 forward pass per packed pixel and per unit of U-Net width
#: (`Enhancer.width`): scripts/bench_inference.py measured 3404 MiB for the width-32 SID U-Net
#: on a full Sony frame (1424 x 2128 packed pixels).
WHOLE_FRAME_BYTES = 3404 * 2**20 / (1424 * 2128 * 32)


def available_memory():
    """Bytes of memory available to this process now (Linux MemAvailable; else total RAM)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


@dataclass
class Enhancer:
    """A network ready for tiled full-resolution inference.

    Attributes:
        predict: maps float32 `(n, tile, tile, C)` packed, amplified batches to
            `(n, tile * b, tile * b, 3)` sRGB in about [0, 1].
        packed_channels: C, 4 (Bayer) or 9 (X-Trans).
        block_size: b, 2 or 3.
        source: the model file.
        fixed_tile: the only tile size the model takes (fixed-shape exports), or None.
        halo: the halo the model's card prescribes (exports), or None (`DEFAULT_HALO`).
        card: the model card of an exported model, or None.
        training_camera: the camera the model learned (a `CAMERA_SPECS` name or a 3x3
            XYZ -> camera matrix); frames of other cameras are mapped into its colour space
            (`lsid_keras.raw.colour`). None: the SID camera of the model's CFA kind.
        width: channels of the U-Net's first level (Keras models), for the memory estimate
            of a whole-frame pass; None when unknown.
        encoder_decoder: for models with a global branch (GIA-Net, SE-UNet): the halves
            that make a tiled run pool over the whole frame with one encoder pass
            (`lsid_keras.tiling.EncoderDecoder` over `split_encoder_decoder`'s Keras halves,
            or `lsid_keras.export.litert.LiteRTEncoderDecoder` over an export's two files;
            run by `lsid_keras.tiling.run_tiled_split`); None for local models. `predict`
            is then the whole Keras model (whole-frame runs), or None for an export.
        shipped: the package's pretrained model (`lsid_keras.pretrained`), loaded because no
            model was given.
        precision: what the network computes in: "fp32", "bf16" (Keras, bfloat16 compute),
            or an export's quantisation ("int8", "fp16", ...); see `lsid_keras.precision`.
        precision_choice: the `PrecisionChoice` behind it (reason, warning), or None.
        output_dtype: the dtype `enhance_file` assembles a tiled frame's output in: float32,
            or float16 for an export whose output is int8 (256 levels: float16's 11 bits
            keep them within 1/8 of an 8-bit level, at half the memory, 73 MB less for a
            12 MP frame).
    """

    predict: object
    packed_channels: int
    block_size: int
    source: str
    fixed_tile: int | None = None
    halo: int | None = None
    card: dict | None = None
    training_camera: object = None
    width: int | None = None
    encoder_decoder: object = None
    shipped: bool = False
    precision: str = "fp32"
    precision_choice: object = None
    output_dtype: object = np.float32

    @property
    def cfa_kind(self):
        return "bayer" if self.packed_channels == 4 else "xtrans"

    @property
    def camera(self):
        """The training camera, defaulting to SID's camera for the CFA kind."""
        from lsid_keras.raw.colour import DEFAULT_TRAINING_CAMERA

        if self.training_camera is not None:
            return self.training_camera
        return DEFAULT_TRAINING_CAMERA[self.cfa_kind]


def model_geometry(model, path):
    """`(packed_channels, block_size)` of a Keras lsid model: (4, 2) Bayer or (9, 3) X-Trans.

    Raises:
        EnhanceError: the model does not map packed RAW to RGB at 2x / 3x the resolution.
    """
    try:
        channels = model.input_shape[-1]
        out_channels = model.output_shape[-1]
    except (AttributeError, ValueError):  # several inputs/outputs: not an lsid model
        raise EnhanceError(f"{path}: not an lsid low-light model (expected one input of "
                           "packed RAW and one RGB output)") from None
    block = None
    if model.input_shape[1] and model.output_shape[1]:
        block = model.output_shape[1] // model.input_shape[1]
    if block is None:
        block = getattr(model.layers[-1], "block_size", None)
    if (channels, block) not in ((4, 2), (9, 3)) or out_channels != 3:
        raise EnhanceError(
            f"{path}: not an lsid low-light model (takes {channels} channels, gives "
            f"{out_channels} at block {block}; expected 4 channels -> RGB at 2x or 9 -> RGB "
            "at 3x)"
        )
    return channels, block


def load_enhancer(path, num_threads=None, precision=None):
    """An `Enhancer` for a `.keras` model or a `.tflite` export (`lsid export`).

    A `.tflite` runs through LiteRT (`lsid_keras.export.litert`) with `num_threads` threads
    (default: all cores); its tile and halo come from its model card.

    Args:
        path: `.keras` or `.tflite` file.
        num_threads: LiteRT threads (a `.tflite`, or the int8 export "int8" picks).
        precision: one of `lsid_keras.precision.PRECISIONS` (`choose_precision`): "auto"
            picks what this CPU runs fastest (the `lsid` default), "fp32", "bf16" (the Keras
            model in bfloat16 compute) or "int8" (the model's int8 export beside it). None:
            fp32 for a `.keras`, the file's own precision for a `.tflite`.

    Raises:
        EnhanceError: missing or unreadable file, a `.tflite` without a valid card, an
            unsupported format, or a precision that cannot run (e.g. "int8" with no int8
            export at hand).
    """
    from lsid_keras.precision import PrecisionError, choose_precision, keras_policy

    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    if extension == ".tflite":
        return _load_tflite(path, num_threads, precision)
    if extension != ".keras":
        raise EnhanceError(f"{path}: unsupported model format {extension or '(none)'}; "
                           "expected a .keras or .tflite file")
    try:
        choice = choose_precision(precision or "fp32", path)
    except PrecisionError as error:
        raise EnhanceError(str(error)) from None
    if choice.model_file != path:  # the int8 export stands in for the model
        enhancer = _load_tflite(choice.model_file, num_threads, "int8")
        enhancer.precision_choice = choice
        return enhancer
    from lsid_keras.models import ModelFileError, load_model
    from lsid_keras.models.global_branch import split_encoder_decoder
    from lsid_keras.precision import bfloat16_model
    from lsid_keras.tiling import keras_predictor

    try:
        model = load_model(path)
    except ModelFileError as error:
        raise EnhanceError(str(error)) from None
    channels, block = model_geometry(model, path)
    convs = [layer for layer in model.layers if isinstance(getattr(layer, "filters", None), int)]
    try:
        if choice.precision == "bf16":
            model = bfloat16_model(model)
    except PrecisionError as error:
        raise EnhanceError(f"{path}: {error}") from None
    with keras_policy(choice.precision):  # a global model's halves compute as the model does
        halves = split_encoder_decoder(model)
    return Enhancer(keras_predictor(model), channels, block, path,
                    training_camera=_recorded_camera(path),
                    width=convs[0].filters if convs else None,
                    encoder_decoder=halves and keras_encoder_decoder(*halves),
                    precision=choice.precision, precision_choice=choice)


def load_shipped_enhancer(num_threads=None, precision=None):
    """An `Enhancer` for the pretrained model that ships with the package
    (`lsid_keras.pretrained`: a GIA-Net for the Sony alpha 7S II emulation, Bayer frames only),
    at `precision` as `load_enhancer` takes it (no int8 export ships: "auto" picks bf16 or
    fp32, and "int8" is an error).

    Raises:
        EnhanceError: the shipped model is missing from this install.
    """
    from lsid_keras.pretrained import SHIPPED_CAMERA, PretrainedError, shipped_model_path

    try:
        path = shipped_model_path()
    except PretrainedError as error:
        raise EnhanceError(str(error)) from None
    enhancer = load_enhancer(path, num_threads, precision)
    enhancer.training_camera = SHIPPED_CAMERA
    enhancer.shipped = True
    return enhancer


def whole_frame_fits(enhancer, packed_shape, memory=None):
    """Whether a whole-frame forward pass of `enhancer` on a `packed_shape` frame fits in half
    of `memory` bytes (default: the memory available now). Fixed-tile exports never do."""
    if enhancer.fixed_tile or enhancer.width is None:
        return False
    memory = available_memory() if memory is None else memory
    pixels = (packed_shape[0] + 2 * DEFAULT_HALO) * (packed_shape[1] + 2 * DEFAULT_HALO)
    return pixels * enhancer.width * WHOLE_FRAME_BYTES <= memory / 2


def _recorded_camera(model_path):
    """The `camera` of the training run's `config.json` beside a `.keras` model (`lsid train`
    writes both to one folder), or None (then SID's camera for the CFA kind is assumed)."""
    import json

    from lsid_keras.raw.cameras import CAMERA_SPECS

    config = os.path.join(os.path.dirname(os.path.abspath(model_path)), "config.json")
    try:
        with open(config, encoding="utf-8") as file:
            camera = json.load(file).get("camera")
    except (OSError, ValueError, AttributeError):
        return None
    return camera if camera in CAMERA_SPECS else None


def _load_tflite(path, num_threads, precision=None):
    """An Enhancer over an `lsid export` file; a global model's main (decoder) file brings its
    encoder file (named in its card, beside it, sha256 checked) as `encoder_decoder`. It runs
    at its own precision: `precision` may be None, "auto" or that one (`tflite_choice`)."""
    from lsid_keras.export.card import global_encoder_file, read_card
    from lsid_keras.export.errors import ExportError
    from lsid_keras.export.litert import LiteRTEncoderDecoder, LiteRTPredictor
    from lsid_keras.precision import PrecisionError, tflite_choice

    try:
        card = read_card(path)
        choice = tflite_choice(precision, path, card.get("quantization"))
        if card.get("role", "model") != "model":
            raise ExportError(f"{path}: this is the encoder of a global model; enhance with "
                              f"its main file {card['global_branch']['model_file']}")
        encoder = global_encoder_file(card, path)
        predict = encoder_decoder = None
        if encoder is None:
            predict = LiteRTPredictor(path, num_threads=num_threads)
        else:
            branch = card["global_branch"]
            encoder_decoder = LiteRTEncoderDecoder(path, encoder[0], branch["kept"],
                                                   branch["frame_mean_input"], num_threads)
    except (ExportError, PrecisionError) as error:
        raise EnhanceError(str(error)) from None
    camera = card["camera"]
    training_camera = (camera.get("training_camera") or {}).get("xyz_to_camera") or camera.get(
        "name")
    output = (predict or encoder_decoder).output_details
    if encoder_decoder is not None and output["dtype"] == np.int8:
        encoder_decoder.output_dtype = np.float16  # the frame is assembled in float16
    return Enhancer(predict, camera["packed_channels"], camera["block_size"], path,
                    fixed_tile=card["tile"], halo=card["halo"], card=card,
                    training_camera=training_camera, encoder_decoder=encoder_decoder,
                    precision=choice.precision, precision_choice=choice,
                    output_dtype=np.float16 if output["dtype"] == np.int8 else np.float32)


def check_tiling(tile, halo):
    """Raises EnhanceError for a tile size or halo the tiler cannot use."""
    if not isinstance(tile, int) or tile < SIZE_MULTIPLE or tile % SIZE_MULTIPLE:
        raise EnhanceError(f"tile size {tile} is not a multiple of {SIZE_MULTIPLE} (>= 16)")
    if not isinstance(halo, int) or halo < 0 or tile - 2 * halo < SIZE_MULTIPLE:
        raise EnhanceError(
            f"halo {halo} does not fit tile {tile}: need 0 <= halo and tile - 2 * halo >= 16"
        )


@dataclass
class CodePicture:
    """A finished picture kept as an int8 export's output codes and, per channel, the
    finished value of each of the 256 codes (colour and auto-bright applied, `finish_codes`):
    a quarter of a float32 frame, written straight to 8- or 16-bit pixels (`pixels`,
    `image8`)."""

    codes: np.ndarray  # (H, W, 3) int8, the decoder's output as it is
    tables: np.ndarray  # (3, 256) float32 in [0, 1], indexed by a code's bits read as uint8
    image: object = field(default=None, repr=False)  # the codes' `code_image`, made once

    def code_image(self):
        """The codes as a Pillow image (`as_shot_colour.code_image`), made on first use."""
        if self.image is None:
            from lsid_keras.as_shot_colour import code_image

            self.image = code_image(self.codes)
        return self.image

    def float32(self):
        """(H, W, 3) float32 sRGB in [0, 1]."""
        from lsid_keras.as_shot_colour import lookup_codes

        return lookup_codes(self.codes, self.tables)

    def pixels(self, bits):
        """(H, W, 3) uint8 (`bits` 8) or uint16 (16): `image_io.quantize` of `float32()`,
        exactly, by one lookup per value in tables quantised alike."""
        if bits == 8:
            return np.asarray(self.image8())
        from lsid_keras.as_shot_colour import lookup_codes
        from lsid_keras.image_io import quantize

        return lookup_codes(self.codes, quantize(self.tables[:, :, None], bits)[:, :, 0])

    def image8(self):
        """`pixels(8)` as a Pillow "RGB" image, looked up by Pillow (`lookup_image`): a JPEG
        is written from it with no numpy copy of the picture (0.09 -> 0.025 s for 12 MP)."""
        from lsid_keras.as_shot_colour import lookup_image
        from lsid_keras.image_io import quantize

        return lookup_image(self.code_image(), quantize(self.tables[:, :, None], 8)[:, :, 0])


@dataclass
class Enhanced:
    """Result of `enhance_file`: the image and how it was made. `rgb` is the picture, (H, W,
    3) float32 sRGB in [0, 1]; an int8 export's may be held as its codes (`picture` a
    `CodePicture`) until `rgb` is first read (`write_enhanced` writes the codes' pixels
    without it)."""

    picture: np.ndarray | CodePicture  # use `rgb`
    ratio: float
    ratio_source: str  # "given" or "auto"
    seconds: float
    orientation: int = 0  # LibRaw flip code of the RAW; `rgb` is NOT turned (see write_enhanced)
    colour_matrix: np.ndarray | None = None  # 3x3 camera-to-training-camera map, if applied
    frame: object = None  # the RawFrame's metadata (mosaic included), for EXIF
    colour_gains: np.ndarray | None = None  # (3,) as-shot colour gains, if applied
    bright: float = 1.0  # linear gain of LibRaw's auto-bright (1.0: none or off)
    fusion: dict | None = None  # mean weights of the traditional rendering fused in, if any

    @property
    def rgb(self):
        """(H, W, 3) float32 sRGB in [0, 1] (made from the codes on first use)."""
        if isinstance(self.picture, CodePicture):
            self.picture = self.picture.float32()
        return self.picture


def network_input(enhancer, frame, ratio):
    """`(amplified, ratio, colour_matrix)`: the packed frame the network takes.

    Packs `frame`, maps another camera's colour into the model's training camera
    (`lsid_keras.raw.colour.to_training_camera`; `colour_matrix` is None when nothing was
    mapped), estimates the ratio when `ratio` is "auto" (`lsid_keras.amplification`) and
    amplifies. `lsid enhance` and `lsid evaluate` both feed the network through here.

    Raises:
        EnhanceError: the frame's CFA kind does not match the model (an X-Trans frame into a
            Bayer model, or the reverse)."""
    from lsid_keras.raw import amplify, pack, packed_channels
    from lsid_keras.raw.colour import to_training_camera

    kind = frame.cfa_kind
    if enhancer.shipped and packed_channels(kind) != enhancer.packed_channels:
        raise EnhanceError(
            f"{frame.path}: an X-Trans frame, and the shipped pretrained model takes Bayer "
            "frames only; pass --model with an X-Trans model (train one with "
            "`lsid train --camera fuji`)"
        )
    if packed_channels(kind) != enhancer.packed_channels:
        raise EnhanceError(
            f"{frame.path}: a {'Bayer' if kind == 'bayer' else 'X-Trans'} frame "
            f"({packed_channels(kind)} packed channels) cannot go into this "
            f"{'Bayer' if enhancer.cfa_kind == 'bayer' else 'X-Trans'} model "
            f"({enhancer.packed_channels} channels, {enhancer.source})"
        )
    packed, matrix = to_training_camera(pack(frame), frame, enhancer.camera, enhancer.cfa_kind)
    gain = estimate_ratio(packed) if ratio == "auto" else float(ratio)
    return amplify(packed, gain, out=packed), gain, matrix  # `packed` is ours: in place


def write_enhanced(path, result):
    """Writes an `Enhanced` photo: turned upright for its RAW's orientation, with EXIF
    (camera, exposure, ISO, the ratio applied, software) and an sRGB profile
    (`lsid_keras.image_io`). Returns the path."""
    from lsid_keras.image_io import (
        PhotoMetadata,
        check_output_path,
        orient_image,
        orient_view,
        output_bits,
        write_image,
    )

    frame = result.frame
    description = f"lsid enhance: amplification ratio x{result.ratio:.4g} ({result.ratio_source})"
    if result.colour_matrix is not None:
        description += "; colour mapped into the model's training camera"
    if result.colour_gains is not None:
        description += "; as-shot colour"
    if result.fusion is not None:
        description += (f"; traditional rendering fused in (low band {result.fusion['low']:.2f},"
                        f" detail {result.fusion['detail']:.2f})")
    if result.bright != 1.0:
        description += f"; auto-bright x{result.bright:.3g}"
    metadata = PhotoMetadata(
        make=getattr(frame, "make", None), model=getattr(frame, "model", None),
        exposure_time=getattr(frame, "exposure_time", None), iso=getattr(frame, "iso", None),
        description=description)
    picture = result.picture
    if isinstance(picture, CodePicture):  # the pixels straight from the codes
        check_output_path(path)
        bits = output_bits(path)
        if bits == 8:
            return write_image(path, orient_image(picture.image8(), result.orientation),
                               metadata=metadata)
        picture = picture.pixels(bits)
    return write_image(path, orient_view(picture, result.orientation), metadata=metadata)


def tiling_for(enhancer, packed_shape, tile=None, halo=None):
    """`(tile, halo)` for a packed frame of `packed_shape`: a fixed-shape export's tile and
    halo from its card (an explicit `halo` wins), else the halo given (default `DEFAULT_HALO`)
    and the tile `fit_tile` sizes for the frame, at most `tile` (default `DEFAULT_TILE`)."""
    if halo is None:
        halo = enhancer.halo if enhancer.halo is not None else DEFAULT_HALO
    if enhancer.fixed_tile:
        check_tiling(enhancer.fixed_tile, halo)
        return enhancer.fixed_tile, halo
    tile = DEFAULT_TILE if tile is None else tile
    check_tiling(tile, halo)
    return fit_tile(packed_shape[0], packed_shape[1], halo, tile), halo


def enhance_packed(enhancer, packed, tile=None, halo=None, progress=False,
                   output_dtype=np.float32):
    """Runs the network over an amplified packed frame; returns (H*b, W*b, 3) in [0, 1].

    `packed` may be handed over in a one-item list (`run_tiled_split`): a global model's tiled
    run then frees it before its decoder pass. `output_dtype` (float32 or float16) is the
    dtype of a tiled run's output (`Enhancer.output_dtype`); whole-frame runs give float32.
    int8 gives an int8 export's output codes as they are, unclipped (`codes_output`;
    `finish_codes` finishes them).

    `tile` is the largest tile for models that take any size (see `tiling_for`),
    `WHOLE_FRAME` (0) for one pass over the whole frame (the papers' protocol: global models
    such as GIA-Net then pool over the whole frame, not a tile), or `AUTO_TILE` ("auto") for
    the whole frame when it fits in memory (`whole_frame_fits`) and tiles otherwise. Tiled and
    whole-frame runs pad the frame alike, so they agree within about one 8-bit level; models
    with a global branch run their tiles with the whole frame's average
    with one encoder pass (`Enhancer.encoder_decoder`), so they agree too."""
    frame = packed[0] if isinstance(packed, list) else packed
    if tile == AUTO_TILE:
        tile = WHOLE_FRAME if whole_frame_fits(enhancer, frame.shape) else None
    if tile == WHOLE_FRAME and not enhancer.fixed_tile:
        packed = frame
        halo = DEFAULT_HALO if halo is None else halo
        rgb = run_untiled(enhancer.predict, packed, block=enhancer.block_size, halo=halo)
        return clip_unit(rgb)
    tile, halo = tiling_for(enhancer, frame.shape, tile or None, halo)
    del frame
    halves = enhancer.encoder_decoder
    if np.dtype(output_dtype) == np.int8:
        if halves is None or halves.output_codes is None:
            raise EnhanceError(f"{enhancer.source}: int8 output (codes) needs an int8 export "
                               "of a global model")
        return run_tiled_split(halves.encode, halves.codes_decoder, packed, tile=tile,
                               halo=halo, block=enhancer.block_size, progress=progress,
                               bottleneck_values=halves.bottleneck_values,
                               output_dtype=np.int8)
    if halves is not None:
        rgb = run_tiled_split(halves.encode, halves.decode, packed, tile=tile, halo=halo,
                              block=enhancer.block_size, progress=progress,
                              bottleneck_values=halves.bottleneck_values,
                              output_dtype=output_dtype)
    else:
        packed = packed[0] if isinstance(packed, list) else packed
        rgb = run_tiled(enhancer.predict, packed, tile=tile, halo=halo,
                        block=enhancer.block_size, progress=progress).astype(output_dtype,
                                                                             copy=False)
    return clip_unit(rgb)  # in place: a 12 MP frame is 145 MiB of float32


#: float16 1.0 read as int16 (`clip_unit`).
_FLOAT16_ONE_BITS = 0x3C00


def clip_unit(rgb):
    """Clips float `rgb` to [0, 1] in place and returns it. float16 is clipped through its bit
    patterns read as int16, where every negative number reads below 0 and every number above
    1.0 above 0x3C00: the same values as NumPy's float16 clip (which converts each value; 0.24
    s against 3 ms on a 12 MP frame), -0.0 becoming 0.0 and NaN 0 or 1."""
    if rgb.dtype == np.float16:
        bits = rgb.view(np.int16)
        np.clip(bits, 0, _FLOAT16_ONE_BITS, out=bits)
        return rgb
    return np.clip(rgb, 0.0, 1.0, out=rgb)


#: What `enhance_file` does with the network's colour: "as-shot" gives the output the colour
#: the camera's as-shot white balance gives the scene (`lsid_keras.as_shot_colour`); "network"
#: keeps the network's own (the papers' protocol).
COLOUR_CHOICES = ("as-shot", "network")


def check_colour(colour):
    """Raises EnhanceError unless `colour` is one of `COLOUR_CHOICES`."""
    if colour not in COLOUR_CHOICES:
        raise EnhanceError(f"colour must be one of {COLOUR_CHOICES}. Received: colour={colour!r}")


def finish_colour(rgb, frame, colour, out=None):
    """`(rgb, gains)`: the network's output for `frame` with the colour `colour` asks for
    (`COLOUR_CHOICES`); gains is None when nothing was applied. `out`: a float32 array of
    `rgb`'s shape the as-shot colour is written into (`rgb` itself works: no second frame
    in memory), or None for a new one."""
    rgb, gains, _ = finish_output(rgb, frame, colour, auto_bright=False, out=out)
    return rgb, gains


def finish_output(rgb, frame, colour, auto_bright, out=None):
    """`(rgb, gains, bright)`: the network's output for `frame` with the colour `colour` asks
    for (`finish_colour`) and, when `auto_bright`, LibRaw's auto-bright measured after that
    colour (`lsid_keras.auto_bright`), both applied in one pass in linear light.

    Returns:
        the picture (float32 when anything was applied, else `rgb` as it is), the (3,) colour
        gains (None when the colour is the network's or the frame has none to measure) and
        the auto-bright gain (1.0 when off).
    """
    check_colour(colour)
    from lsid_keras.as_shot_colour import apply_linear_gains, code_histograms, scene_colour

    target = scene_colour(frame) if colour == "as-shot" else None
    if target is None and not auto_bright:
        return rgb, None, 1.0
    # one pass: the mean colour and the auto-bright levels
    gains, bright = _colour_gains(code_histograms(rgb), target, auto_bright)
    total = (np.ones(3) if gains is None else gains) * bright
    if np.all(total == 1.0):
        return (rgb if gains is None else np.asarray(rgb, dtype=np.float32)), gains, bright
    return apply_linear_gains(rgb, total, out=out), gains, bright


def _colour_gains(counts, target, auto_bright):
    """`(gains, bright)` of `finish_output` from the picture's `code_histograms` `counts`:
    the as-shot colour's (3,) gains towards `target` (None: no target; ones when the
    picture has no colour to match) and the auto-bright gain (1.0 when off)."""
    from lsid_keras.as_shot_colour import mean_colour_gains

    gains = None
    if target is not None:
        gains = mean_colour_gains(counts, target)
        gains = np.ones(3) if gains is None else gains
    bright = 1.0
    if auto_bright:
        from lsid_keras.auto_bright import auto_bright_gain, white_levels

        bright = auto_bright_gain(white_levels(counts), gains)
    return gains, bright


def finish_codes(codes, quantisation, frame, colour, auto_bright):
    """`finish_output` of an int8 export's output as its codes ((H, W, 3) int8, the decoder's
    `quantisation` (scale, zero point)): the same colour and auto-bright, measured on the
    codes' histograms (`int8_histograms`) and tabulated for the 256 codes of each channel,
    with no float frame in between. Returns `(picture, gains, bright)`, picture a
    `CodePicture` (the codes themselves, not copied)."""
    check_colour(colour)
    from lsid_keras.as_shot_colour import (
        int8_gain_tables,
        int8_histograms,
        int8_values,
        scene_colour,
    )

    values = int8_values(*quantisation)
    target = scene_colour(frame) if colour == "as-shot" else None
    picture = CodePicture(codes, None)
    gains, bright = None, 1.0
    if target is not None or auto_bright:
        gains, bright = _colour_gains(int8_histograms(picture.code_image(), values), target,
                                      auto_bright)
    total = (np.ones(3) if gains is None else gains) * bright
    picture.tables = (np.tile(values, (3, 1)) if np.all(total == 1.0)
                      else int8_gain_tables(values, total))
    return picture, gains, bright


def fuse_rendering(rgb, frame, ratio):
    """`(rgb, weights)`: `rgb` (the network's output for `frame` in the as-shot colour, before
    auto-bright) with the traditional pipeline's rendering of the frame at `ratio` fused in
    where it stands above its noise (`lsid_keras.isp_fusion`); weights is None, and `rgb`
    unchanged, when LibRaw's rendering does not line up with the output (a layout the packer
    crops differently, or one LibRaw renders at another size: the network's picture is then
    all there is, not an error)."""
    from lsid_keras.isp_fusion import fuse_traditional
    from lsid_keras.raw.develop import develop
    from lsid_keras.raw.errors import CorruptRawFileError

    try:
        rendering = develop(frame.path, ratio=ratio)
    except CorruptRawFileError:  # develop's "developed size differs from the visible mosaic"
        return rgb, None
    if rendering.shape != rgb.shape:
        return rgb, None
    return fuse_traditional(rgb, rendering, out=rgb if rgb.dtype == np.float32 else None)


def codes_output(enhancer):
    """The (scale, zero point) of an int8 export's output when `enhance_file` can take its
    codes as they are (`finish_codes`: a global model's LiteRT pair with an int8 output),
    else None. Saves the float16 frame's dequantising, clipping, histograms and colour
    passes: about 0.3 s of a 12 MP frame's 1.3 s (docs/performance.md)."""
    halves = enhancer.encoder_decoder
    return None if halves is None else getattr(halves, "output_codes", None)


def quantised_input(enhancer, amplified):
    """`amplified` as an int8 export's encoder takes it (its codes, quantised once for the
    frame, a quarter of the bytes for the tiles to cut; rounding is per value, so the same
    codes as tile by tile), or as it is for any other model."""
    halves = enhancer.encoder_decoder
    spec = None if halves is None else getattr(halves, "input_codes", None)
    if spec is None:
        return amplified
    from lsid_keras.export.litert import quantise

    dtype, scale, zero = spec
    return quantise(amplified, {"dtype": dtype, "quantization": (scale, zero)})


def enhance_file(enhancer, path, ratio="auto", contrast=False, tile=None, halo=None,
                 progress=False, colour="as-shot", auto_bright=True, fusion=True):
    """Enhances one RAW file (any LibRaw format) with `enhancer`.

    Args:
        enhancer: from `load_enhancer`.
        path: RAW file.
        ratio: amplification (> 0), or "auto" (`lsid_keras.amplification.estimate_ratio`).
        contrast: apply Zamir et al.'s contrast improvement to the output.
        tile, halo: largest tile and halo in packed pixels (see `tiling_for`; None: the
            defaults, or the model card's).
        colour: "as-shot" (default) gives the output the colour of the camera's as-shot white
            balance (`lsid_keras.as_shot_colour`; for a file without a colour matrix, the
            colour LibRaw renders it with); "network" keeps the network's colour.
        auto_bright: brighten as LibRaw's default rendering does, the brightest 1 % of the
            pixels to white (`lsid_keras.auto_bright`); False keeps the network's exposure,
            that of SID's ground truth (developed without it).
        fusion: with the as-shot colour, fuse in the traditional pipeline's rendering where
            it stands above its noise (`fuse_rendering`): its detail and local tone on clean
            frames. Frames too noisy for it to change anything (`isp_fusion.worth_fusing`,
            e.g. most of SID's x100 to x300) are not developed. False (or colour "network")
            keeps the network's picture alone.

    The frame is mapped into the model's training camera's colour space first when it comes
    from another camera (`network_input`). The image is returned as the sensor reads it; the
    RAW's orientation is in `Enhanced.orientation` (`write_enhanced` turns it upright).

    Raises:
        RawError subclasses for unreadable files; EnhanceError for a frame the model cannot
        take (e.g. an X-Trans frame into a Bayer model) or bad settings.
    """
    from lsid_keras.isp_fusion import worth_fusing
    from lsid_keras.raw import read_raw

    start = time.perf_counter()
    if ratio != "auto" and not (isinstance(ratio, (int, float)) and ratio > 0):
        raise EnhanceError(f"ratio must be > 0 or 'auto'. Received: ratio={ratio!r}")
    if tile not in (WHOLE_FRAME, AUTO_TILE):  # bad settings fail before the file is read
        tiling_for(enhancer, (SIZE_MULTIPLE, SIZE_MULTIPLE), tile, halo)
    check_colour(colour)
    frame = read_raw(path)
    source = "auto" if ratio == "auto" else "given"
    amplified, gain, matrix = network_input(enhancer, frame, ratio)
    fusing = fusion and colour == "as-shot" and worth_fusing(amplified, frame.cfa_kind)
    codes = None if fusing or contrast else codes_output(enhancer)
    handed_over = [quantised_input(enhancer, amplified)]  # freed before the decoder pass
    del amplified
    weights = None
    if codes is not None:  # an int8 export's codes straight to the finished picture
        rgb, gains, bright = finish_codes(
            enhance_packed(enhancer, handed_over, tile, halo, progress, np.int8), codes, frame,
            colour, auto_bright)
    else:
        rgb = enhance_packed(enhancer, handed_over, tile, halo, progress,
                             enhancer.output_dtype)
        in_place = rgb if rgb.dtype == np.float32 else None
        rgb, gains, bright = finish_output(rgb, frame, colour, auto_bright and not fusing,
                                           out=in_place)
    if fusing:
        rgb, weights = fuse_rendering(rgb, frame, gain)
        if auto_bright:  # measured on the fused picture, as LibRaw measures its own
            rgb, _, bright = finish_output(rgb, frame, "network", True,
                                           out=rgb if rgb.dtype == np.float32 else None)
    if contrast:
        from lsid_keras.contrast import improve_contrast

        rgb = improve_contrast(rgb)
    if not isinstance(rgb, CodePicture):
        rgb = rgb.astype(np.float32, copy=False)
    return Enhanced(rgb, gain, source, time.perf_counter() - start,
                    orientation=frame.orientation, colour_matrix=matrix, frame=frame,
                    colour_gains=gains, bright=bright, fusion=weights)
