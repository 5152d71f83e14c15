"""Running an exported `.tflite` model with LiteRT (`ai_edge_litert`) inside the tiler.

`LiteRTPredictor` is a `predict` callable for `lsid_keras.tiling.run_tiled`: float32 packed
tiles in, float32 sRGB out, whatever the model's precision. For int8 models it quantises each
input and dequantises the output with the scale and zero point of the tensors themselves. A
global model's main file takes a second input, the frame's bottleneck average `frame_mean`
(`predict(batch, frame_mean)`), and its features file returns the bottleneck map
(`lsid_keras.tiling.frame_mean`): one class runs all three kinds of file.
The interpreter's `num_threads` defaults to 1 in LiteRT; here it is set explicitly (default:
every core, `os.cpu_count()`).
"""

from __future__ import annotations

import os

import numpy as np

from lsid_keras.export.errors import ExportError


class LiteRTPredictor:
    """`predict(batch, frame_mean=None) -> output` over a fixed-shape TFLite model.

    Args:
        model: path of a `.tflite` file, or its bytes.
        num_threads: int >= 1 or None (all cores).
        source: name for error messages when `model` is bytes.

    Call arguments:
        batch: float32 `(n, T, T, C)` in [0, 1]; the model takes one tile per call, so each
            of the n tiles runs in turn.
        frame_mean: for a model with a `frame_mean` input (found by name, else by its
            `[1, 1, 1, K]` shape; never by position): float32 `(n, 1, 1, K)` or `(1, 1, 1, K)`,
            the frame's bottleneck average; required for such a model, refused otherwise.

    Returns (call): float32 `(n, ...)`: `(n, T * b, T * b, 3)` for an enhancement model,
    `(n, T / 16, T / 16, K)` for a features file.

    Attributes:
        takes_frame_mean: whether the model has the `frame_mean` input.
        input_shape: shape of the packed input, `(1, T, T, C)`.
    """

    def __init__(self, model, num_threads=None, source=None):
        from ai_edge_litert.interpreter import Interpreter

        from lsid_keras.export.tflite_file import frame_mean_index

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
        inputs = self.interpreter.get_input_details()
        outputs = self.interpreter.get_output_details()
        mean_index = frame_mean_index(inputs) if len(inputs) == 2 else None
        if len(outputs) != 1 or len(inputs) not in (1, 2) or (
                len(inputs) == 2 and mean_index is None):
            raise ExportError(f"{self.source}: expected one packed input (and at most a "
                              "frame_mean input [1, 1, 1, K]) and one output; found inputs "
                              f"{[(d['name'], list(d['shape'])) for d in inputs]} and "
                              f"{len(outputs)} outputs")
        self._mean = None if mean_index is None else inputs[mean_index]
        self._input = inputs[0 if mean_index is None else 1 - mean_index]
        (self._output,) = outputs
        self.takes_frame_mean = self._mean is not None
        self.input_shape = tuple(int(v) for v in self._input["shape"])

    @staticmethod
    def _quantise(values, detail):
        dtype = detail["dtype"]
        if dtype == np.float32:
            return values.astype(np.float32, copy=False)
        scale, zero = detail["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.rint(values / scale + zero), info.min, info.max).astype(dtype)

    def _dequantise(self, out):
        if self._output["dtype"] == np.float32:
            return out
        scale, zero = self._output["quantization"]
        return (out.astype(np.float32) - zero) * np.float32(scale)

    def __call__(self, batch, frame_mean=None):
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[1:] != self.input_shape[1:]:
            raise ValueError(f"{self.source}: takes tiles of shape {self.input_shape[1:]}; "
                             f"received a batch of shape {batch.shape}")
        means = self._frame_means(frame_mean, len(batch))
        outputs = []
        for k, tile in enumerate(batch):
            self.interpreter.set_tensor(self._input["index"],
                                        self._quantise(tile[None], self._input))
            if means is not None:
                self.interpreter.set_tensor(self._mean["index"],
                                            self._quantise(means[k:k + 1], self._mean))
            self.interpreter.invoke()
            outputs.append(self._dequantise(self.interpreter.get_tensor(self._output["index"])))
        return np.concatenate(outputs, axis=0)

    def _frame_means(self, frame_mean, count):
        """`frame_mean` as `(count, 1, 1, K)` float32, checked against the model."""
        if self._mean is None:
            if frame_mean is not None:
                raise ValueError(f"{self.source}: this model has no frame_mean input (a local "
                                 "model or a features file); received one")
            return None
        if frame_mean is None:
            raise ValueError(f"{self.source}: a global model's main file needs frame_mean, "
                             "the frame's bottleneck average (run it with "
                             "lsid_keras.tiling.run_tiled(..., frame_features=...))")
        means = np.asarray(frame_mean, dtype=np.float32)
        want = tuple(int(v) for v in self._mean["shape"][1:])
        if means.ndim != 4 or means.shape[1:] != want or means.shape[0] not in (1, count):
            raise ValueError(f"{self.source}: frame_mean must have shape (n, {want[0]}, "
                             f"{want[1]}, {want[2]}) for n = 1 or {count} tiles; received "
                             f"{means.shape}")
        return np.broadcast_to(means, (count, *want))
