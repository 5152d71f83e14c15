"""Reading and amending a `.tflite` flatbuffer without TensorFlow: operators, metadata.

A `.tflite` file is a FlatBuffer of the TFLite schema. This module reads it with the generated
schema module that ships in the `ai-edge-litert` wheel (or, without it, in `tensorflow`) and
the `flatbuffers` runtime, so an app, a CI job or a phone-side tool can list a model's
operators and read its model card without importing TensorFlow.
"""

from __future__ import annotations

import os

from lsid_keras.export.errors import ExportError

#: TFLite files carry this identifier at bytes 4-8.
FILE_IDENTIFIER = b"TFL3"


def _schema():
    """The generated TFLite schema module (LiteRT's wheel first, TensorFlow's otherwise)."""
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:  # pragma: no cover - depends on the extras installed
        from tensorflow.lite.python import schema_py_generated as schema
    return schema


def read_bytes(path):
    """The bytes of a `.tflite` file; ExportError if missing or not a TFLite flatbuffer."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ExportError(f"{path}: TFLite file not found")
    with open(path, "rb") as file:
        data = file.read()
    check_flatbuffer(data, path)
    return data


def check_flatbuffer(data, path):
    """Raises ExportError unless `data` looks like a TFLite flatbuffer."""
    if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
        raise ExportError(f"{path}: not a TFLite model (no {FILE_IDENTIFIER.decode()} "
                          "file identifier)")


def _model(data):
    return _schema().Model.GetRootAs(data, 0)


def _builtin_names():
    names = {}
    for name, value in vars(_schema().BuiltinOperator).items():
        if not name.startswith("_") and isinstance(value, int):
            names[value] = name
    return names


def operator_names(data):
    """Sorted names of the operators a TFLite model uses, e.g. `["CONV_2D", "DEPTH_TO_SPACE"]`.

    Builtin operators by their schema name; custom operators (Flex ops among them, named
    `Flex<TfOp>`) as `"CUSTOM:<code>"`.
    """
    model = _model(data)
    names = _builtin_names()
    found = set()
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        # The schema keeps builtin codes < 127 in a deprecated int8 field too; the real code is
        # the larger of the two.
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == _schema().BuiltinOperator.CUSTOM:
            found.add(f"CUSTOM:{code.CustomCode().decode('utf-8', 'replace')}")
        else:
            found.add(names.get(builtin, f"BUILTIN_{builtin}"))
    return sorted(found)


def read_metadata(data, name):
    """The bytes of the metadata buffer called `name`, or None when the model has none."""
    model = _model(data)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name() is not None and entry.Name().decode("utf-8") == name:
            buffer = model.Buffers(entry.Buffer())
            if buffer.Offset():  # models over 2 GB keep buffers after the flatbuffer
                return bytes(data[buffer.Offset():buffer.Offset() + buffer.Size()])
            return buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
    return None


def with_metadata(data, name, payload):
    """A copy of the model `data` whose metadata buffer `name` holds `payload` (replaced if
    present), re-serialised with the schema's object API."""
    import flatbuffers
    import numpy as np

    schema = _schema()
    model = schema.ModelT.InitFromObj(_model(data))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(payload, dtype=np.uint8)
    entries = [m for m in (model.metadata or [])
               if (m.name.decode() if isinstance(m.name, bytes) else m.name) != name]
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    model.metadata = entries + [entry]
    builder = flatbuffers.Builder(len(data) + len(payload) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def requantise_outputs(data, targets):
    """A copy of the model `data` whose int8 outputs named in `targets` ({tensor name: (scale,
    zero point)}) leave through a QUANTIZE operator (int8 to int8) that gives them that scale
    and zero point. The output keeps its tensor name (the one before gets
    "/before_requantise") and its signature name.

    Why: a global model's encoder and decoder are converted apart, and the converter gives each
    kept map its own quantisation on either side (the decoder's concatenations decide its
    range). LiteRT requantises in its own kernel at a fraction of what a lookup per value
    costs a runtime between the two files (0.3 s a 12 MP frame in NumPy), and the runtimes
    then find the two sides equal and pass the maps as they are.
    """
    import flatbuffers

    schema = _schema()
    model = schema.ModelT.InitFromObj(_model(data))
    graph = model.subgraphs[0]
    quantize = schema.BuiltinOperator.QUANTIZE
    code = next((i for i, c in enumerate(model.operatorCodes)
                 if max(c.builtinCode, c.deprecatedBuiltinCode) == quantize), None)
    if code is None:
        entry = schema.OperatorCodeT()
        entry.builtinCode = entry.deprecatedBuiltinCode = quantize
        entry.version = 2  # int8 input
        model.operatorCodes.append(entry)
        code = len(model.operatorCodes) - 1
    graph.outputs = [int(v) for v in graph.outputs]
    found = set()
    for position, index in enumerate(list(graph.outputs)):
        before = graph.tensors[index]
        name = before.name.decode("utf-8") if isinstance(before.name, bytes) else before.name
        if name not in targets:
            continue
        if before.type != schema.TensorType.INT8:
            raise ExportError(f"{name}: only int8 outputs can be requantised")
        found.add(name)
        scale, zero = targets[name]
        after = schema.TensorT()
        after.shape, after.shapeSignature = before.shape, before.shapeSignature
        after.type, after.name = before.type, name
        model.buffers.append(schema.BufferT())
        after.buffer = len(model.buffers) - 1
        after.quantization = schema.QuantizationParametersT()
        after.quantization.scale, after.quantization.zeroPoint = [float(scale)], [int(zero)]
        before.name = f"{name}/before_requantise"
        graph.tensors.append(after)
        operator = schema.OperatorT()
        operator.opcodeIndex, operator.inputs = code, [index]
        operator.outputs = [len(graph.tensors) - 1]
        graph.operators.append(operator)
        graph.outputs[position] = len(graph.tensors) - 1
        for signature in model.signatureDefs or []:
            for output in signature.outputs or []:
                if output.tensorIndex == index:
                    output.tensorIndex = len(graph.tensors) - 1
    missing = sorted(set(targets) - found)
    if missing:
        raise ExportError(f"no output tensor named {', '.join(missing)} to requantise")
    builder = flatbuffers.Builder(len(data) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def tensor_details(data):
    """Input and output tensors of the main subgraph: lists of dicts with `name`, `shape`,
    `dtype` (numpy name) and `scale` / `zero_point` (quantised tensors; else 0.0 / 0)."""
    schema = _schema()
    model = _model(data)
    graph = model.Subgraphs(0)
    types = {v: k.lower() for k, v in vars(schema.TensorType).items()
             if not k.startswith("_") and isinstance(v, int)}

    def describe(index):
        tensor = graph.Tensors(index)
        quant = tensor.Quantization()
        scale = float(quant.Scale(0)) if quant is not None and quant.ScaleLength() else 0.0
        zero = int(quant.ZeroPoint(0)) if quant is not None and quant.ZeroPointLength() else 0
        return {
            "name": tensor.Name().decode("utf-8"),
            "shape": [int(v) for v in tensor.ShapeAsNumpy()],
            "dtype": types.get(tensor.Type(), str(tensor.Type())),
            "scale": scale,
            "zero_point": zero,
        }

    return (
        [describe(graph.Inputs(i)) for i in range(graph.InputsLength())],
        [describe(graph.Outputs(i)) for i in range(graph.OutputsLength())],
    )


def signature_tensors(data, key="serve"):
    """The signature `key`'s inputs and outputs as `{"inputs": {name: tensor name},
    "outputs": {name: tensor name}}`: the names the SavedModel endpoint gave them (e.g.
    "skip1") to the tensors' names in the main subgraph (e.g. "StatefulPartitionedCall:1").

    Raises:
        ExportError: the file has no signature `key`.
    """
    model = _model(data)
    graph = model.Subgraphs(0)
    for i in range(model.SignatureDefsLength()):
        signature = model.SignatureDefs(i)
        if signature.SignatureKey().decode("utf-8") != key:
            continue

        def names(count, get):
            return {get(j).Name().decode("utf-8"):
                    graph.Tensors(get(j).TensorIndex()).Name().decode("utf-8")
                    for j in range(count)}

        return {"inputs": names(signature.InputsLength(), signature.Inputs),
                "outputs": names(signature.OutputsLength(), signature.Outputs)}
    raise ExportError(f"the TFLite model has no signature {key!r}")
