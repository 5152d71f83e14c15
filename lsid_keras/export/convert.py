"""Keras model -> fixed-shape TFLite flatbuffer, builtin operators only, in four precisions.

The one path that works on TF 2.21 / Keras 3 (REFERENCE.md, "Mobile export"): a SavedModel
written by Keras's `ExportArchive` with one endpoint of fixed signature `[1, T, T, C]`, then
`TFLiteConverter.from_saved_model`. `TFLiteConverter.from_keras_model` fails on Keras 3
models, and `model.export(format="litert")` silently enables Flex (SELECT_TF_OPS), which the
LiteRT Android runtime does not have; here the converter may use TFLITE_BUILTINS (or
TFLITE_BUILTINS_INT8) only, and an op outside them fails the export with its name.

A global model (`lsid_keras.models.global_branch`) is exported as its encoder (one input, the
kept maps as named outputs) and its decoder (the kept maps and `frame_mean` as named inputs).
Only the first endpoint of an `ExportArchive` survives conversion, so each half is its own
SavedModel and `.tflite`. Tensor names in the `.tflite` come from these names (inputs as
`serve_<name>:0`; outputs by the signature's keys), and the converter sorts inputs by name, so
runtimes find tensors by the names the model card lists, never by position.
"""

from __future__ import annotations

import re

from lsid_keras.export import tflite_file
from lsid_keras.export.errors import ExportError

#: The SavedModel endpoint that the converter reads.
ENDPOINT = "serve"
#: Name of the input tensor in the exported signature.
INPUT_NAME = "packed_raw"
#: Name of a global model's decoder input that takes the frame's bottleneck average.
FRAME_MEAN_NAME = "frame_mean"


def write_saved_model(model, directory, tile, output_names=None, input_shapes=None):
    """Writes `model` as a SavedModel with one fixed-shape endpoint `serve`.

    Each Keras input becomes a signature input of the same name (`packed_raw`, or the
    decoder's kept maps and `frame_mean`) with batch 1; spatial sides the model leaves open
    are `tile`, or each input's shape is given whole in `input_shapes` (for tiles that are
    not square: `scripts/bench_tile_shapes.py`). A model with several outputs (the encoder)
    returns them by `output_names`.
    """
    import keras
    import tensorflow as tf

    specs = []
    for k, tensor in enumerate(model.inputs):
        shape = list(input_shapes[k]) if input_shapes else [
            1, *(tile if side is None else int(side) for side in tensor.shape[1:3]),
            int(tensor.shape[3])]
        name = INPUT_NAME if len(model.inputs) == 1 else tensor.name
        specs.append(tf.TensorSpec(shape, tf.float32, name=name))

    def serve(*inputs):
        result = model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
        if isinstance(result, (list, tuple)):
            return dict(zip(output_names, result, strict=True))
        return result

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(ENDPOINT, serve, input_signature=specs)
    archive.write_out(directory, verbose=False)


def _unsupported_ops(message):
    """TensorFlow op names that a converter error message says are not builtin."""
    names = set(re.findall(r"'tf\.(\w+)'", message)) | set(re.findall(r"\bFlex(\w+)", message))
    names |= set(re.findall(r"tf\.(\w+)\s*\{", message))
    return sorted(names)


def convert_saved_model(directory, quantization, representative_tiles=None, source="model"):
    """Converts the SavedModel in `directory` to TFLite bytes.

    Args:
        directory: written by `write_saved_model`.
        quantization: "fp32"; "fp16" (float16 weights, float32 compute on CPU); "dynamic"
            (int8 weights, activations quantised on the fly); "int8" (weights and activations
            int8, int8 input and output, calibrated on `representative_tiles`).
        representative_tiles: list of float32 `(1, T, T, C)` arrays, needed for "int8"; for a
            several-input model (a decoder), dicts of arrays by input name.
        source: the model file, for error messages.

    Raises:
        ExportError: an op that is not a TFLite builtin (named), or "int8" without data.
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(directory, signature_keys=[ENDPOINT])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantization == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quantization == "int8":
        if not representative_tiles:
            raise ExportError(f"{source}: int8 needs representative data (--representative)")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if representative_tiles:
            converter.representative_dataset = lambda: (
                t if isinstance(t, dict) else [t] for t in representative_tiles)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif quantization != "fp32":
        raise ValueError(f"unknown quantization {quantization!r}")
    try:
        data = converter.convert()
    except Exception as error:  # noqa: BLE001 - the converter raises ConverterError and others
        message = str(error)
        ops = _unsupported_ops(message)
        if ops:
            raise ExportError(
                f"{source}: {quantization} conversion needs ops that are not TFLite builtins "
                f"({', '.join(ops)}); phones have no Flex ops, so the model must avoid them"
            ) from None
        first = message.strip().splitlines()[0] if message.strip() else type(error).__name__
        raise ExportError(f"{source}: {quantization} conversion failed: {first[:300]}") from None
    check_builtin_only(data, source, quantization)
    return data


def check_builtin_only(data, source, quantization="fp32"):
    """Raises ExportError naming any custom (e.g. Flex) operator in TFLite `data`."""
    custom = [op for op in tflite_file.operator_names(data) if op.startswith("CUSTOM:")]
    if custom:
        raise ExportError(f"{source}: the {quantization} model uses non-builtin ops "
                          f"({', '.join(c[7:] for c in custom)}); phones have no Flex ops")
