"""Quantisation-aware int8 ("qat"): fine-tune a tf_keras twin with fake quantisation, convert.

tfmot 0.8.1 quantises tf_keras (Keras 2) models only, so the trained Keras 3 model is rebuilt
as a tf_keras twin from the same `build_unet` definition (`tf_keras_twin`), its weights
copied, every layer annotated (tfmot's default 8-bit scheme; layers it does not know and that
have no weights, depth-to-space and multiply, get their output quantised), and the
quantise-wrapped twin is fine-tuned briefly on representative tiles to reproduce the fp32
model's own outputs (distillation: no ground truth needed, and the int8 model learns to match
exactly what it replaces). It is converted with int8 input and output, builtin ops only.

A global model (GIA-Net, SE-UNet; `lsid_keras.models.global_branch`) is fine-tuned as its
decoder: the twin takes the encoder's kept maps and `frame_mean`, each training tile's maps
with its own bottleneck average (so the targets are the model's own outputs). Its encoder is
converted with post-training int8 by the exporter. The samples are held in memory: about
`31 * width / 16 * T**2` floats per tile (103 MB in float32 per 912 tile at width 16).
"""

from __future__ import annotations

import tempfile

import numpy as np

from lsid_keras.export.errors import ExportError

#: Fine-tuning defaults: a light touch (the fp32 weights are already right); Adam at the
#: papers' final learning rate.
QAT_EPOCHS = 3
QAT_LEARNING_RATE = 1e-5
#: Range calibration before fine-tuning: one pass over the tiles.
CALIBRATION_PASSES = 1


def _output_quantize_config():
    """A QuantizeConfig for weightless layers tfmot does not know: quantise the output."""
    import tensorflow_model_optimization as tfmot

    quantizers = tfmot.quantization.keras.quantizers

    class OutputQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return [quantizers.MovingAverageQuantizer(
                num_bits=8, per_axis=False, symmetric=False, narrow_range=False)]

        def get_config(self):
            return {}

    return OutputQuantizeConfig


def quantize_twin(twin):
    """The twin wrapped for quantisation-aware training (tfmot's `quantize_apply`)."""
    import tensorflow_model_optimization as tfmot
    import tf_keras
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_registry,
    )

    from lsid_keras.export.tf_keras_twin import DepthToSpace

    keras_q = tfmot.quantization.keras
    registry = default_8bit_quantize_registry.Default8BitQuantizeRegistry()
    output_config = _output_quantize_config()

    def annotate(layer):
        if isinstance(layer, tf_keras.layers.InputLayer):
            return layer
        if registry.supports(layer):
            return keras_q.quantize_annotate_layer(layer)
        if not layer.weights:
            return keras_q.quantize_annotate_layer(layer, output_config())
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) has weights and no "
                         "8-bit quantisation scheme")

    scope = {"DepthToSpace": DepthToSpace, "OutputQuantizeConfig": output_config}
    with keras_q.quantize_scope(scope):
        annotated = tf_keras.models.clone_model(twin, clone_function=annotate)
        annotated.set_weights(twin.get_weights())
        return keras_q.quantize_apply(annotated)


def calibrate_ranges(quantized, tiles, passes=CALIBRATION_PASSES):
    """Sets every activation range of a quantise-wrapped model to the tiles' min and max.

    tfmot starts each moving-average range at [-6, 6] and moves it with a fixed EMA decay of
    0.999, so a brief fine-tune keeps ranges far too wide for outputs in [0, 1] (measured:
    17 dB against fp32 where post-training int8 reaches 35 dB), and an EMA of per-batch ranges
    would clip what brighter tiles reach (20 dB). Post-training calibration takes the min and
    max over all calibration data; this does the same (each range also contains 0, as TFLite
    needs) with forward passes that update the ranges and take no gradient step.
    """
    import tensorflow as tf
    from tensorflow_model_optimization.python.core.quantization.keras import quant_ops

    original = quant_ops.MovingAvgQuantize
    seen = set()

    def min_max(inputs, min_var, max_var, per_channel=False, **kwargs):
        axes = [0, 1, 2] if per_channel and inputs.shape.rank == 4 else None
        low = tf.minimum(tf.reduce_min(inputs, axis=axes), 0.0)
        high = tf.maximum(tf.reduce_max(inputs, axis=axes), 0.0)
        if id(min_var) not in seen:  # forget tfmot's initial [-6, 6]
            seen.add(id(min_var))
            min_var.assign(tf.zeros_like(min_var))
            max_var.assign(tf.zeros_like(max_var))
        min_var.assign(tf.minimum(min_var, low))
        max_var.assign(tf.maximum(max_var, high))
        kwargs["is_training"] = False
        return original(inputs, min_var, max_var, per_channel=per_channel, **kwargs)

    quant_ops.MovingAvgQuantize = min_max
    try:
        for _ in range(passes):
            for sample in tiles:  # a tile, or [tile, frame_mean] for a global twin
                quantized(sample, training=True)
    finally:
        quant_ops.MovingAvgQuantize = original


def quantization_aware_int8(model, tile, tiles, source="model", epochs=QAT_EPOCHS,
                            learning_rate=QAT_LEARNING_RATE, encoder=None):
    """Fine-tunes an int8-aware twin of `model` and converts it to TFLite bytes.

    Args:
        model: a Keras 3 `build_unet` model (fp32, trained).
        encoder: for a global model, its Keras encoder (`split_encoder_decoder`): the twin is
            then the decoder, and the result the main file of the pair.
        tile: int, the fixed input side.
        tiles: list of float32 `(1, tile, tile, C)` representative tiles (fine-tuning inputs
            and converter calibration).
        source: the model file, for messages.
        epochs: passes over `tiles`, batch size 1.
        learning_rate: Adam's learning rate.

    Raises:
        ExportError: no tiles, a model the twin cannot rebuild, or non-builtin ops.
    """
    import tensorflow as tf
    import tf_keras

    from lsid_keras.export.convert import (
        ENDPOINT,
        FRAME_MEAN_NAME,
        INPUT_NAME,
        check_builtin_only,
    )
    from lsid_keras.export.tf_keras_twin import build_twin
    from lsid_keras.models.unet import ENCODER_OUTPUTS

    if not tiles:
        raise ExportError(f"{source}: qat needs representative data (--representative)")
    try:
        twin = build_twin(model, tile, part="whole" if encoder is None else "decoder")
    except ValueError as error:
        raise ExportError(f"{source}: cannot build a tf_keras twin for QAT ({error})") from None
    inputs = np.concatenate(tiles)
    targets = np.asarray(model.predict(inputs, batch_size=1, verbose=0))
    samples, names = [[t] for t in tiles], [INPUT_NAME]
    if encoder is not None:  # each tile's maps with its own average: the model's own output
        samples, names = [], [*ENCODER_OUTPUTS, FRAME_MEAN_NAME]
        for t in tiles:
            kept = [np.asarray(x) for x in encoder(t, training=False)]
            samples.append([*kept, np.mean(kept[-1], axis=(1, 2), keepdims=True,
                                           dtype=np.float32)])
    quantized = quantize_twin(twin)
    calibrate_ranges(quantized, [s if len(s) > 1 else s[0] for s in samples])
    quantized.compile(tf_keras.optimizers.Adam(learning_rate), loss="mean_absolute_error")
    fit_inputs = [np.concatenate(part) for part in zip(*samples, strict=True)]
    quantized.fit(fit_inputs if len(fit_inputs) > 1 else fit_inputs[0], targets, batch_size=1,
                  epochs=epochs, shuffle=True, verbose=0)

    specs = [tf.TensorSpec(part.shape, tf.float32, name=name)
             for name, part in zip(names, samples[0], strict=True)]
    forward = tf.function(lambda *args: quantized(list(args) if len(args) > 1 else args[0],
                                                  training=False))
    concrete = forward.get_concrete_function(*specs)
    # Through a SavedModel with a named signature, as `convert.write_saved_model` does, so the
    # file carries the signature (`serve`, inputs by name) that LiteRT's signature runners and
    # the Android app bind to; `from_concrete_functions` writes none.
    with tempfile.TemporaryDirectory(prefix="lsid-qat-") as saved:
        # Only the signature and the variables it reads: saving the tfmot-wrapped layers'
        # own call functions fails (a Conv2DTranspose wrapper captures a graph tensor).
        holder = tf.Module()
        holder.weights = list(quantized.variables)
        tf.saved_model.save(holder, saved, signatures={ENDPOINT: concrete})
        converter = tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=[ENDPOINT])
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        # a signature's representative samples are dicts by input name
        converter.representative_dataset = lambda: (
            {name: value for name, value in zip(names, sample, strict=True)}
            for sample in samples)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        try:
            data = converter.convert()
        except Exception as error:  # noqa: BLE001 - the converter raises many kinds
            first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise ExportError(f"{source}: qat conversion failed: {first[:300]}") from None
    check_builtin_only(data, source, "qat")
    return data
