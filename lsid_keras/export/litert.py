"""Running an exported `.tflite` model with LiteRT (`ai_edge_litert`) inside the tiler.

`LiteRTPredictor` is a `predict` callable for `lsid_keras.tiling.run_tiled`: float32 packed
tiles in, float32 sRGB out, whatever the model's precision. For int8 models it quantises the
input and dequantises the output with the scale and zero point of the tensors themselves.
The interpreter's `num_threads` defaults to 1 in LiteRT; here it is set explicitly (default:
every core, `os.cpu_count()`).
"""

from __future__ import annotations

import os

import numpy as np

from lsid_keras.export.errors import ExportError


class LiteRTPredictor:
    """`predict(batch) -> output` over a fixed-shape TFLite model.

    Args:
        model: path of a `.tflite` file, or its bytes.
        num_threads: int >= 1 or None (all cores).
        source: name for error messages when `model` is bytes.

    Call arguments:
        batch: float32 `(n, T, T, C)` in [0, 1]; the model takes one tile per call, so each
            of the n tiles runs in turn.

    Returns (call): float32 `(n, T * b, T * b, 3)`.
    """

    def __init__(self, model, num_threads=None, source=None):
        from ai_edge_litert.interpreter import Interpreter

        self.num_threads = int(num_threads or os.cpu_count() or 1)
        if isinstance(model, (bytes, bytearray)):
            self.source = source or "<tflite bytes>"
            kwargs = {"model_content": bytes(model)}
        else:
            self.source = os.fspath(model)
            kwargs = {"model_path": self.source}
        try:
            self.interpreter = Interpreter(num_threads=self.num_threads, **kwargs)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise ExportError(f"{self.source}: LiteRT cannot load the model ({error})") from None
        (self._input,) = self.interpreter.get_input_details()
        (self._output,) = self.interpreter.get_output_details()
        self.input_shape = tuple(int(v) for v in self._input["shape"])

    def _quantise(self, tile):
        dtype = self._input["dtype"]
        if dtype == np.float32:
            return tile
        scale, zero = self._input["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.rint(tile / scale + zero), info.min, info.max).astype(dtype)

    def _dequantise(self, out):
        if self._output["dtype"] == np.float32:
            return out
        scale, zero = self._output["quantization"]
        return (out.astype(np.float32) - zero) * np.float32(scale)

    def __call__(self, batch):
        batch = np.asarray(batch, dtype=np.float32)
        if batch.shape[1:] != self.input_shape[1:]:
            raise ValueError(f"{self.source}: takes tiles of shape {self.input_shape[1:]}; "
                             f"received a batch of shape {batch.shape}")
        outputs = []
        for tile in batch:
            self.interpreter.set_tensor(self._input["index"], self._quantise(tile[None]))
            self.interpreter.invoke()
            outputs.append(self._dequantise(self.interpreter.get_tensor(self._output["index"])))
        return np.concatenate(outputs, axis=0)
