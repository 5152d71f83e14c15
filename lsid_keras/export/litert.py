"""Running an exported `.tflite` model with LiteRT (`ai_edge_litert`) inside the tiler.

`LiteRTPredictor` is a `predict` callable for `lsid_keras.tiling.run_tiled`: float32 packed
tiles in, float32 sRGB out, whatever the model's precision. For int8 models it quantises each
input and dequantises the output with the scale and zero point of the tensors themselves.
`LiteRTEncoderDecoder` runs a global model's two files (`lsid_keras.export.card`) as the
`encode` and `decode` callables of `lsid_keras.tiling.run_tiled_split`: the encoder's outputs
are kept in their own type (an int8 export's as int8, a quarter of float32's memory) and
converted to each decoder input's type, int8 to int8 through a 256-entry table
(`requantise_table`).
The interpreter's `num_threads` defaults to 1 in LiteRT; here it is set explicitly (default:
every core, `os.cpu_count()`).
"""

from __future__ import annotations

import os

import numpy as np

from lsid_keras.export import tflite_file
from lsid_keras.export.errors import ExportError


def _interpreter(model, num_threads, source):
    """`(interpreter, source)`: a LiteRT interpreter over a path or bytes, tensors allocated."""
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(model, (bytes, bytearray)):
        source = source or "<tflite bytes>"
        kwargs = {"model_content": bytes(model)}
    else:
        source = os.fspath(model)
        kwargs = {"model_path": source}
    try:
        interpreter = Interpreter(num_threads=num_threads, **kwargs)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        raise ExportError(f"{source}: LiteRT cannot load the model ({error})") from None
    return interpreter, source


#: Values `quantise` converts at a time (a cache-sized band: 4 MB of float32).
QUANTISE_VALUES = 1 << 20


def quantise(values, detail):
    """float values as the tensor `detail` takes them: float32, or its integer type by its
    scale and zero point (rounded half to even, clipped). Values already of an integer type
    the tensor takes are taken as its codes, as they are (a frame quantised once,
    `LiteRTEncoderDecoder.input_codes`)."""
    dtype = detail["dtype"]
    if dtype != np.float32 and getattr(values, "dtype", None) == dtype:
        return values
    if dtype == np.float32:
        return np.asarray(values, dtype=np.float32)
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 0:
        return quantise(values[None], detail)[0]
    out = np.empty(values.shape, dtype)
    # In bands along the first axis, whatever the layout (a packed frame is channel-planar):
    # a whole frame's temporaries would be 48 MB each, a flattened copy another (4x faster).
    row = max(1, values[0].size)
    step = max(1, QUANTISE_VALUES // row)
    for start in range(0, values.shape[0], step):
        out[start:start + step] = _quantised(values[start:start + step], scale, zero, info)
    return out


def _quantised(values, scale, zero, info):
    """float32 `values / scale + zero`, rounded half to even and clipped to `info`'s range."""
    scaled = values / np.float32(scale)
    scaled += np.float32(zero)
    np.rint(scaled, out=scaled)
    return np.clip(scaled, info.min, info.max, out=scaled)


def dequantise(values, detail, dtype=np.float32):
    """A tensor's values (its `detail`: dtype, scale, zero point) as float32,
    `(q - zero) * scale` computed in float32. int8 values are looked up in a 256-entry table
    of exactly that (one float32 array allocated, no widened temporaries: a 12 MP frame's
    tile output is 35 MB of float32). `dtype` float16 gives int8 values as those float32
    values rounded to float16, looked up in a float16 table (half the memory traffic, for a
    frame assembled in float16)."""
    if detail["dtype"] == np.float32 or values.dtype.kind == "f":
        return values.astype(np.float32, copy=False)
    scale, zero = detail["quantization"]
    if values.dtype == np.int8:
        table = (np.arange(-128, 128, dtype=np.float32) - zero) * np.float32(scale)
        return np.take(_by_bits(table).astype(dtype), values.view(np.uint8))
    return (values.astype(np.float32) - zero) * np.float32(scale)


def _by_bits(table):
    """`table` (indexed by `q + 128`) re-indexed by the int8 value's bits read as uint8, so a
    lookup is one `np.take` on a view, without widening 20 M values to int16 first."""
    return table[(np.arange(256) + 128) % 256]


def requantise_table(enc_scale, enc_zero, dec_scale, dec_zero):
    """The int8 -> int8 map from an encoder output's quantisation to a decoder input's:
    `table[q + 128] = clip(rint((q - enc_zero) * enc_scale / dec_scale) + dec_zero, -128,
    127)`, computed in float64 (the Android core computes the same table in double).

    Returns:
        int8 numpy array of 256 entries.
    """
    q = np.arange(-128, 128, dtype=np.float64)
    values = np.rint((q - enc_zero) * float(enc_scale) / float(dec_scale)) + dec_zero
    return np.clip(values, -128, 127).astype(np.int8)


class LiteRTPredictor:
    """`predict(batch) -> output` over a fixed-shape TFLite model of one input and output.

    Args:
        model: path of a `.tflite` file, or its bytes.
        num_threads: int >= 1 or None (all cores).
        source: name for error messages when `model` is bytes.

    Call arguments:
        batch: float32 `(n, T, T, C)` in [0, 1]; the model takes one tile per call, so each
            of the n tiles runs in turn.

    Returns (call): float32 `(n, T * b, T * b, 3)`.

    Attributes:
        input_shape: shape of the packed input, `(1, T, T, C)`.
    """

    def __init__(self, model, num_threads=None, source=None):
        self.num_threads = int(num_threads or os.cpu_count() or 1)
        self.interpreter, self.source = _interpreter(model, self.num_threads, source)
        inputs = self.interpreter.get_input_details()
        outputs = self.interpreter.get_output_details()
        if len(outputs) != 1 or len(inputs) != 1:
            raise ExportError(f"{self.source}: expected one packed input and one output; found "
                              f"inputs {[(d['name'], list(d['shape'])) for d in inputs]} and "
                              f"{len(outputs)} outputs (a global model's files run together: "
                              "LiteRTEncoderDecoder)")
        (self._input,), (self._output,) = inputs, outputs
        self.input_shape = tuple(int(v) for v in self._input["shape"])

    @property
    def output_details(self):
        """LiteRT's detail of the output tensor (its dtype and quantisation)."""
        return self._output

    def __call__(self, batch):
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[1:] != self.input_shape[1:]:
            raise ValueError(f"{self.source}: takes tiles of shape {self.input_shape[1:]}; "
                             f"received a batch of shape {batch.shape}")
        outputs = []
        for tile in batch:
            self.interpreter.set_tensor(self._input["index"], quantise(tile[None], self._input))
            self.interpreter.invoke()
            outputs.append(dequantise(self.interpreter.get_tensor(self._output["index"]),
                                      self._output))
        return np.concatenate(outputs, axis=0)


class LiteRTEncoderDecoder:
    """A global model's encoder and decoder files as `run_tiled_split`'s callables.

    Args:
        decoder, encoder: paths (or bytes) of the main (decoder) file and its encoder file.
        kept: the cards' `global_branch.kept` list (`lsid_keras.export.card.kept_map`): per
            kept map, in order (bottleneck last), its encoder output and decoder input names.
        frame_mean_input: the decoder's `frame_mean` input name.
        num_threads: int >= 1 or None (all cores), for each interpreter.
        source: name for error messages when the models are bytes.

    Use: `run_tiled_split(pair.encode, pair.decode, ..., bottleneck_values=pair.bottleneck_values)`.
    """

    def __init__(self, decoder, encoder, kept, frame_mean_input, num_threads=None,
                 source=None):
        self.num_threads = int(num_threads or os.cpu_count() or 1)
        self.decoder, self.source = _interpreter(decoder, self.num_threads, source)
        self.encoder, self.encoder_source = _interpreter(
            encoder, self.num_threads, source and f"{source}_encoder")
        self.encoder_data = (bytes(encoder) if isinstance(encoder, (bytes, bytearray))
                             else tflite_file.read_bytes(encoder))  # for its operator list
        (self._input,) = self.encoder.get_input_details()
        outputs = {d["name"]: d for d in self.encoder.get_output_details()}
        inputs = {d["name"]: d for d in self.decoder.get_input_details()}
        (self._output,) = self.decoder.get_output_details()
        try:
            self._kept = [(outputs[k["encoder_output"]], inputs[k["decoder_input"]])
                          for k in kept]
            self._mean = inputs[frame_mean_input]
        except KeyError as missing:
            raise ExportError(f"{self.source}: the card names tensor {missing}, which its "
                              "encoder or decoder file lacks") from None
        # int8 -> int8 maps: a table by bit pattern, or none where the table is the identity
        # (the converter often gives a skip about the same scale on both sides).
        self._tables, self._same = [], []
        for out, into in self._kept:
            table = None
            if out["dtype"] == into["dtype"] == np.int8:
                table = requantise_table(*out["quantization"], *into["quantization"])
            same = table is not None and np.array_equal(table, np.arange(-128, 128))
            self._same.append(same)
            self._tables.append(None if table is None or same else _by_bits(table))
        self.input_shape = tuple(int(v) for v in self._input["shape"])
        #: dtype `decode` gives an int8 output in: float32, or float16 for a frame assembled
        #: in float16 (`lsid_keras.enhance.Enhancer.output_dtype`).
        self.output_dtype = np.float32

    @property
    def output_details(self):
        """LiteRT's detail of the decoder's output tensor (its dtype and quantisation)."""
        return self._output

    @property
    def input_codes(self):
        """`(dtype, scale, zero point)` of the encoder's quantised input, or None for a float
        input: a frame quantised once with them (`quantise`) goes into `encode` as it is."""
        if self._input["dtype"] == np.float32:
            return None
        return (self._input["dtype"], *self._input["quantization"])

    @property
    def output_codes(self):
        """`(scale, zero point)` of the decoder's int8 output, or None for a float output:
        with `output_dtype` int8, `decode` gives those codes as they are."""
        if self._output["dtype"] != np.int8:
            return None
        return tuple(self._output["quantization"])

    def encode(self, batch):
        """float32 tiles `(n, T, T, C)`, or the encoder input's own codes (`input_codes`) ->
        the kept maps, each `(n, ...)` in its encoder output's own type (int8 for an int8
        export, else float32)."""
        batch = np.asarray(batch)
        if batch.dtype != self._input["dtype"]:
            batch = batch.astype(np.float32, copy=False)
        if batch.ndim != 4 or batch.shape[1:] != self.input_shape[1:]:
            raise ValueError(f"{self.encoder_source}: takes tiles of shape "
                             f"{self.input_shape[1:]}; received a batch of shape {batch.shape}")
        maps = [[] for _ in self._kept]
        for tile in batch:
            self.encoder.set_tensor(self._input["index"], quantise(tile[None], self._input))
            self.encoder.invoke()
            for found, (out, _) in zip(maps, self._kept, strict=True):
                found.append(self.encoder.get_tensor(out["index"]))  # a copy
        return [found[0] if len(found) == 1 else np.concatenate(found, axis=0)
                for found in maps]

    def bottleneck_values(self, bottleneck):
        """The encoder's bottleneck map (the last kept map) as float32."""
        return self.dequantise_kept(bottleneck, len(self._kept) - 1)

    def dequantise_kept(self, values, k):
        """Kept map `k` (as `encode` returned it) as float32."""
        return dequantise(values, self._kept[k][0])

    def _convert(self, values, k):
        out, into = self._kept[k]
        if values.dtype == np.int8 and self._same[k]:
            return values
        if values.dtype == np.int8 and self._tables[k] is not None:
            return np.take(self._tables[k], values.view(np.uint8))
        return quantise(dequantise(values, out), into)

    def decode(self, kept, frame_mean, output_dtype=None):
        """The kept maps of n tiles (as `encode` returned them; float ones in any float
        dtype) and `frame_mean` `(n or 1, 1, 1, K)` float32 -> `(n, T * b, T * b, 3)` float32
        (an int8 output in `output_dtype`, default the pair's own `output_dtype`; with int8,
        its codes as they are, `output_codes`: `codes_decoder`)."""
        output_dtype = self.output_dtype if output_dtype is None else output_dtype
        count = len(kept[0])
        means = np.broadcast_to(np.asarray(frame_mean, dtype=np.float32),
                                (count, *self._mean["shape"][1:]))
        outputs = []
        for n in range(count):
            for k, values in enumerate(kept):
                self.decoder.set_tensor(self._kept[k][1]["index"],
                                        self._convert(values[n:n + 1], k))
            self.decoder.set_tensor(self._mean["index"], quantise(means[n:n + 1], self._mean))
            self.decoder.invoke()
            values = self.decoder.get_tensor(self._output["index"])
            if output_dtype == np.int8 and values.dtype == np.int8:
                outputs.append(values)
            else:
                outputs.append(dequantise(values, self._output, output_dtype))
        return np.concatenate(outputs, axis=0)

    def codes_decoder(self, kept, frame_mean):
        """`decode` giving an int8 output's codes as they are (`output_codes`), for
        `run_tiled_split(..., output_dtype=np.int8)`."""
        return self.decode(kept, frame_mean, output_dtype=np.int8)
