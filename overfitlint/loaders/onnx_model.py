"""ONNX graphs: parameter counts from initializer shapes, Dropout nodes, provenance.

What counts as a parameter: a floating-point initializer of rank >= 1 (scalars
are folded hyper-parameters such as epsilons or exponents, integer tensors are
shapes and indices). Running statistics of BatchNormalization (inputs 3 and 4)
are parameters but not trainable. An initializer feeding several nodes (weight
tying) is counted once, under its first consumer. Older IR versions also list
every initializer as a graph input: initializers are counted, inputs are not.
Tensor bytes, inline or external, are never needed for counting.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from overfitlint.errors import InputError
from overfitlint.facts import LayerFacts, ModelFacts, Provenance, Unknown

NON_TRAINABLE_INPUTS = {"BatchNormalization": (3, 4)}
# Exporters that remove Dropout when exporting a model in inference mode.
DROPOUT_STRIPPING_PRODUCERS = ("pytorch", "tf2onnx", "keras2onnx", "skl2onnx", "paddle2onnx")
NO_OPTIMIZER = Unknown(
    "an ONNX inference graph carries no optimizer",
    "Pass --weight-decay VALUE (the value the model was trained with), or check the "
    "training checkpoint instead of the exported graph.",
)


def load_onnx(path: Path) -> ModelFacts:
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise InputError(
            f"{path}: not a readable ONNX model (protobuf parse failed: {exc}); "
            "is the file truncated or of another format?"
        ) from None
    if not model.HasField("graph") or not model.opset_import or model.ir_version <= 0:
        raise InputError(
            f"{path}: not a complete ONNX model (no graph or no opset); "
            "is the file truncated or of another format?"
        )
    _refuse_escaping_external_data(model, path)
    return _facts(model, path)


def _refuse_escaping_external_data(model, path: Path) -> None:
    folder = path.resolve().parent
    for tensor in model.graph.initializer:
        if tensor.data_location != 1:  # TensorProto.EXTERNAL
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        target = (folder / location).resolve()
        if not location or Path(location).is_absolute() or not target.is_relative_to(folder):
            raise InputError(
                f"{path}: initializer {tensor.name!r} points its external data at "
                f"{location!r}, outside the model's folder; refusing to follow it"
            )


def _element_count(dims) -> int:
    return math.prod(int(d) for d in dims) if len(dims) else 1


def _facts(model, path: Path) -> ModelFacts:
    import onnx

    graph = model.graph
    floating = {
        onnx.TensorProto.FLOAT,
        onnx.TensorProto.FLOAT16,
        onnx.TensorProto.DOUBLE,
        onnx.TensorProto.BFLOAT16,
    }
    initializers = {t.name: t for t in graph.initializer}
    sparse = {s.values.name or s.indices.name: s for s in graph.sparse_initializer}
    constants = _constant_values(graph)

    parameters = {
        name: _element_count(t.dims)
        for name, t in initializers.items()
        if t.data_type in floating and len(t.dims) >= 1
    }
    for name, s in sparse.items():
        if s.values.data_type in floating:
            parameters[name] = _element_count(s.values.dims)

    layers: list[LayerFacts] = []
    claimed: set[str] = set()
    shared: dict[str, int] = defaultdict(int)
    for index, node in enumerate(graph.node):
        layer_name = node.name or f"{node.op_type}_{index}"
        if node.op_type == "Dropout":
            layers.append(_dropout_layer(node, layer_name, model, initializers, constants))
            continue
        params = trainable = 0
        frozen_inputs = NON_TRAINABLE_INPUTS.get(node.op_type, ())
        for position, name in enumerate(node.input):
            if name not in parameters:
                continue
            if name in claimed:
                shared[name] += 1
                continue
            claimed.add(name)
            params += parameters[name]
            if position not in frozen_inputs:
                trainable += parameters[name]
        if params:
            layers.append(LayerFacts(layer_name, node.op_type, params, trainable))

    unused = [name for name in parameters if name not in claimed]
    for name in unused:
        layers.append(LayerFacts(name, "UnusedInitializer", parameters[name], 0))

    notes = []
    if shared:
        notes.append(
            f"{len(shared)} initializer(s) feed several nodes (weight tying); each is counted once"
        )
    if unused:
        notes.append(f"{len(unused)} initializer(s) feed no node; counted as non-trainable")
    producer = model.producer_name or ""
    has_dropout = any(layer.is_dropout for layer in layers)
    dropout_visible: bool | Unknown = True
    if not has_dropout and producer.lower().startswith(DROPOUT_STRIPPING_PRODUCERS):
        dropout_visible = Unknown(
            f"{producer} removes Dropout when it exports a model in inference mode",
            "Export with dropout kept (torch.onnx.export(..., training="
            "torch.onnx.TrainingMode.PRESERVE)) or check the training checkpoint.",
        )
    return ModelFacts(
        framework="onnx",
        source=str(path),
        format="onnx",
        layers=layers,
        provenance=Provenance(
            producer=producer,
            producer_version=model.producer_version or "",
            details={
                "ir_version": int(model.ir_version),
                "opsets": {(o.domain or "ai.onnx"): int(o.version) for o in model.opset_import},
                "graph_name": graph.name,
            },
        ),
        optimizer=NO_OPTIMIZER,
        dropout_visible=dropout_visible,
        input_shapes=_input_shapes(graph, set(initializers)),
        notes=notes,
    )


def _constant_values(graph) -> dict[str, object]:
    """Outputs of Constant nodes, for reading Dropout ratios."""
    from onnx import numpy_helper

    values = {}
    for node in graph.node:
        if node.op_type != "Constant":
            continue
        for attribute in node.attribute:
            if attribute.name == "value":
                values[node.output[0]] = numpy_helper.to_array(attribute.t)
            elif attribute.name == "value_float":
                values[node.output[0]] = attribute.f
    return values


def _dropout_layer(node, name: str, model, initializers, constants) -> LayerFacts:
    from onnx import numpy_helper

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    rate: float | None = 0.5
    if opset < 12:
        for attribute in node.attribute:
            if attribute.name == "ratio":
                rate = attribute.f
    elif len(node.input) > 1 and node.input[1]:
        source = node.input[1]
        if source in initializers:
            rate = float(numpy_helper.to_array(initializers[source]))
        elif source in constants:
            rate = float(constants[source])
        else:
            rate = None  # computed at run time: unknown
    return LayerFacts(name, "Dropout", dropout_rate=None if rate is None else round(rate, 6))


def _input_shapes(graph, initializer_names: set[str]) -> dict[str, list[int | str]]:
    shapes: dict[str, list[int | str]] = {}
    for value in graph.input:
        if value.name in initializer_names:
            continue
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [
            d.dim_value if d.HasField("dim_value") else d.dim_param or "?" for d in dims
        ]
    return shapes
