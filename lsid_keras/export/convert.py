"""Keras model -> fixed-shape TFLite flatbuffer, builtin operators only, in four precisions.

The one path that works on TF 2.21 / Keras 3 (REFERENCE.md, "Mobile export"): a SavedModel
written by Keras's `ExportArchive` with one endpoint of fixed signature `[1, T, T, C]`, then
`TFLiteConverter.from_saved_model`. `TFLiteConverter.from_keras_model` fails on Keras 3
models, and `model.export(format="litert")` silently enables Flex (SELECT_TF_OPS), which the
LiteRT Android runtime does not have; here the converter may use TFLITE_BUILTINS (or
TFLITE_BUILTINS_INT8) only, and an op outside them fails the export with its name.

A global model's half that takes the frame's average (`lsid_keras.models.global_branch`) gets
a second input `frame_mean` `[1, 1, 1, K]`. Only the first endpoint of an `ExportArchive`
survives conversion, so each half of a global model is its own SavedModel and `.tflite`.
"""

from __future__ import annotations

import re

from lsid_keras.export import tflite_file
from lsid_keras.export.errors import ExportError

#: The SavedModel endpoint that the converter reads.
ENDPOINT = "serve"
#: Name of the input tensor in the exported signature.
INPUT_NAME = "packed_raw"
#: Name of the second input of a global model's main half: the frame's bottleneck average.
FRAME_MEAN_NAME = "frame_mean"


def write_saved_model(model, directory, tile):
    """Writes `model` as a SavedModel with one fixed-shape endpoint: input `packed_raw`
    `[1, tile, tile, C]`, and for a two-input model (`split_global`'s `with_frame_mean`) a
    second input `frame_mean` `[1, 1, 1, K]`."""
    import keras
    import tensorflow as tf

    channels = model.inputs[0].shape[-1]
    packed_spec = tf.TensorSpec([1, tile, tile, channels], tf.float32, name=INPUT_NAME)
    archive = keras.export.ExportArchive()
    archive.track(model)
    if len(model.inputs) == 1:
        archive.add_endpoint(ENDPOINT, lambda packed_raw: model(packed_raw, training=False),
                             input_signature=[packed_spec])
    else:
        mean_channels = model.inputs[1].shape[-1]
        archive.add_endpoint(
            ENDPOINT,
            lambda packed_raw, frame_mean: model([packed_raw, frame_mean], training=False),
            input_signature=[packed_spec, tf.TensorSpec([1, 1, 1, mean_channels], tf.float32,
                                                        name=FRAME_MEAN_NAME)],
        )
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
            two-input model, dicts `{"packed_raw": tile, "frame_mean": (1, 1, 1, K) array}`.
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
