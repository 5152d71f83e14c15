"""Which numeric precision a model runs in on this machine, and why.

`lsid enhance` and `lsid evaluate` take `--precision auto` (their default), which picks what
this CPU runs fastest within the accuracy budget (`choose_precision`):

- "bf16": the Keras model in bfloat16 compute with float32 weights (Keras' "mixed_bfloat16"
  policy, `bfloat16_model`), where the CPU has native bfloat16 (AVX512_BF16, AMX-BF16, Arm
  BF16). It needs no export and stays closest to fp32, so it comes first.
- "int8": the int8 LiteRT export beside the Keras model, where the CPU has an int8 dot
  product (AVX512-VNNI, AVX-VNNI, AMX-INT8, Arm dot product / i8mm) and that export is at
  hand. `lsid export` writes a variant only when it passes its accuracy check against the
  Keras model, so a file at hand is within the budget.
- "fp32" otherwise, and whenever a GPU is visible (Keras runs there; the CPU's flags do not
  apply).

On a CPU without native bfloat16, TensorFlow runs bfloat16 convolutions in generic code,
several times slower than float32 (`lsid_keras.machine`); an explicit "bf16" there still runs,
with a warning. `lsid train --mixed-precision auto` is chosen the same way
(`choose_mixed_precision`).

Only the choice, the file lookup and the bfloat16 rebuild live here; `lsid_keras.enhance`
loads the chosen file. Importing this module imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

import contextlib
import glob
import os
import sys
from dataclasses import dataclass

from lsid_keras import machine
from lsid_keras.errors import LsidError

#: Values of `--precision`: "auto" chooses one of the other three (`choose_precision`).
PRECISIONS = ("auto", "fp32", "bf16", "int8")
#: `lsid export` quantisations that run in int8 arithmetic.
INT8_EXPORTS = ("int8", "qat")
#: Keras dtype policy of each precision the Keras model runs in.
KERAS_POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16"}
#: Value of `TrainConfig.mixed_precision` that `choose_mixed_precision` resolves.
AUTO = "auto"


class PrecisionError(LsidError, ValueError):
    """A precision that cannot run: an unknown name, an int8 export that is not at hand, or a
    `.tflite` asked to run at another precision than its own. The message names the file."""


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision a model runs in and why.

    Attributes:
        precision: "fp32", "bf16" or "int8"; for a `.tflite` given as it is, its card's
            quantisation ("fp32", "fp16", "dynamic", "int8", "qat").
        model_file: the file to load: the model asked for, or its int8 export.
        reason: one line, e.g. "fp32: this CPU (avx2 fma) has no native bfloat16 and no int8
            dot product".
        warning: one line when the choice runs slower than fp32 would, else None.
    """

    precision: str
    model_file: str
    reason: str
    warning: str | None = None


def int8_export_path(model_path):
    """Where the int8 export of a `.keras` model is looked for: `<stem>_int8.tflite` in the
    model's folder, the name `lsid export --model <stem>.keras --out <that folder>` writes
    (a global model's second file, which its card names, must lie beside it)."""
    model_path = os.fspath(model_path)
    stem = os.path.splitext(os.path.basename(model_path))[0]
    return os.path.join(os.path.dirname(model_path), f"{stem}_int8.tflite")


def _this_cpu():
    return f"this CPU ({' '.join(machine.cpu_features()) or 'no SIMD features reported'})"


def _gpu_visible():
    """Whether TensorFlow sees a GPU. On Linux without a CUDA or ROCm device node no GPU can
    be visible, and TensorFlow (about 0.5 GB) is not imported to ask: "auto" may pick the
    int8 LiteRT export, which runs without it."""
    if sys.platform.startswith("linux") and not (
            glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/kfd")):
        return False
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def _int8_export_problem(model_path, export_path):
    """Why `export_path` cannot stand in for `model_path` in int8, or None when it can: it
    must exist, carry an int8 (or qat) card of a whole model, and have been exported from
    this very `.keras` file (the card's sha256), not from an older training of it."""
    from lsid_keras.export.card import file_sha256, read_card
    from lsid_keras.export.errors import ExportError

    if not os.path.isfile(export_path):
        return f"no int8 export {export_path} (make it with lsid export --quant int8)"
    try:
        card = read_card(export_path)
    except ExportError as error:
        return str(error)
    if card.get("role", "model") != "model" or card.get("quantization") not in INT8_EXPORTS:
        return (f"{export_path} is not an int8 model export (role {card.get('role')!r}, "
                f"quantization {card.get('quantization')!r})")
    if (card.get("source_model") or {}).get("sha256") != file_sha256(model_path):
        return (f"{export_path} was exported from another version of {model_path} (sha256 "
                "differs); export it again")
    return None


def tflite_choice(requested, path, quantization):
    """The choice for a `.tflite` given as it is: it runs at its own `quantization` (its
    card's); "auto" or that precision may be asked, nothing else.

    Raises:
        PrecisionError: another precision asked, e.g. "fp32" of an int8 export.
    """
    path = os.fspath(path)
    _check_requested(requested)
    kind = "int8" if quantization in INT8_EXPORTS else quantization
    if requested not in (None, "auto", kind):
        raise PrecisionError(f"{path}: a .tflite runs at the precision it was exported at "
                             f"({quantization}), not {requested}; give the .keras model to "
                             f"run {requested}")
    how = "asked" if requested == kind else "the file's own"
    return PrecisionChoice(quantization, path, f"{quantization}: {how}, a .tflite export runs "
                           "at the precision it was exported at")


def choose_precision(requested, model_path, gpu=None):
    """The precision to run the model `model_path` in, on this machine, and why.

    Args:
        requested: one of `PRECISIONS`: "auto" (see the module docstring), or "fp32", "bf16",
            "int8" as asked ("bf16" without native bfloat16 comes with a warning).
        model_path: a `.keras` model; its int8 export is `int8_export_path(model_path)`. A
            `.tflite` runs as it is (`tflite_choice`, its card read here).
        gpu: whether TensorFlow sees a GPU; None asks TensorFlow (only for "auto").

    Returns:
        `PrecisionChoice`.

    Raises:
        PrecisionError: an unknown precision; "int8" without a usable int8 export (the
            message names the file looked for); a `.tflite` asked for another precision.
    """
    model_path = os.fspath(model_path)
    _check_requested(requested)
    if os.path.splitext(model_path)[1].lower() == ".tflite":
        from lsid_keras.export.card import read_card
        from lsid_keras.export.errors import ExportError

        try:
            quantization = read_card(model_path).get("quantization")
        except ExportError as error:
            raise PrecisionError(str(error)) from None
        return tflite_choice(requested, model_path, quantization)
    cpu = _this_cpu()
    if requested == "fp32":
        return PrecisionChoice("fp32", model_path, "fp32: asked")
    if requested == "bf16":
        if machine.has_native_bfloat16():
            return PrecisionChoice("bf16", model_path, f"bf16: asked; {cpu} has native bfloat16")
        return PrecisionChoice("bf16", model_path, "bf16: asked",
                               warning=f"{cpu} has no native bfloat16: bf16 runs in generic "
                               "code, several times slower than fp32")
    export = int8_export_path(model_path)
    if requested == "int8":
        problem = _int8_export_problem(model_path, export)
        if problem:
            raise PrecisionError(f"{model_path}: cannot run int8: {problem}")
        warning = None if machine.has_int8_dot_product() else (
            f"{cpu} has no int8 dot product: int8 may run no faster than fp32")
        return PrecisionChoice("int8", export, f"int8: asked, LiteRT export {export}", warning)
    # auto
    if gpu is None:
        gpu = _gpu_visible()
    if gpu:
        return PrecisionChoice("fp32", model_path, "fp32: a GPU is visible; Keras runs there")
    if machine.has_native_bfloat16():
        return PrecisionChoice("bf16", model_path, f"bf16: {cpu} has native bfloat16")
    if machine.has_int8_dot_product():
        problem = _int8_export_problem(model_path, export)
        if problem is None:
            return PrecisionChoice("int8", export,
                                   f"int8: {cpu} has an int8 dot product and no native "
                                   f"bfloat16; LiteRT export {export}")
        return PrecisionChoice("fp32", model_path, f"fp32: {cpu} has an int8 dot product but "
                               f"no native bfloat16, and {problem}")
    return PrecisionChoice("fp32", model_path,
                           f"fp32: {cpu} has no native bfloat16 and no int8 dot product")


def _check_requested(requested):
    if requested is not None and requested not in PRECISIONS:
        raise PrecisionError(f"precision must be one of {', '.join(PRECISIONS)}. "
                             f"Received: {requested!r}")


def choose_mixed_precision(gpu=None):
    """`TrainConfig.mixed_precision` for "auto" on this machine, and why (one line).

    "float16" when a GPU is visible (`gpu`; None asks TensorFlow); "bfloat16" on a CPU with
    native bfloat16 (about 1.6x faster training); otherwise None, float32: without native
    bfloat16, mixed bfloat16 training measured 4x slower (`lsid_keras.machine`).

    Returns:
        `(mixed_precision, reason)`, mixed_precision None, "bfloat16" or "float16".
    """
    if gpu is None:
        gpu = _gpu_visible()
    if gpu:
        return "float16", "mixed precision float16: a GPU is visible"
    cpu = _this_cpu()
    if machine.has_native_bfloat16():
        return "bfloat16", f"mixed precision bfloat16: {cpu} has native bfloat16"
    return None, f"mixed precision off (float32): {cpu} has no native bfloat16 and no GPU"


@contextlib.contextmanager
def keras_policy(precision):
    """Keras' global dtype policy set to `KERAS_POLICIES[precision]` inside the block (models
    built there compute in that precision), restored after it. Other precisions leave the
    policy as it is."""
    import keras

    if precision not in KERAS_POLICIES:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(KERAS_POLICIES[precision])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def bfloat16_model(model):
    """The same network and weights computing in bfloat16: `model` rebuilt by `build_unet`
    under the "mixed_bfloat16" policy (bfloat16 activations, float32 variables) with its
    weights copied. Its output stays float32 sRGB in about [0, 1] (the last layer computes in
    float32). Build a global model's halves (`split_encoder_decoder`) inside `keras_policy("bf16")`
    so they compute in bfloat16 too.

    Raises:
        PrecisionError: `model` was not built by `build_unet`.
    """
    from lsid_keras.models import build_unet
    from lsid_keras.models.unet import unet_args_of

    try:
        args = unet_args_of(model)
    except ValueError as error:
        raise PrecisionError(f"cannot run {model.name!r} in bf16: {error}") from None
    with keras_policy("bf16"):
        twin = build_unet(**args, name=model.name)
    twin.set_weights(model.get_weights())
    return twin
