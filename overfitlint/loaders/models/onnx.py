"""ONNX graphs: parameter counts from initializer shapes, Dropout nodes, provenance, optimizers.

What counts as a parameter: a floating-point initializer of rank >= 1 (scalars
are folded hyper-parameters such as epsilons or exponents, integer tensors are
shapes and indices), and an integer initializer that a quantized operator uses
as its weight. Running statistics of BatchNormalization (inputs 3 and 4) are
parameters but not trainable. An initializer feeding several nodes (weight
tying) is counted once, under its first consumer. Older IR versions also list
every initializer as a graph input: initializers are counted, inputs are not.

Tensor bytes, inline or external, are never read: the file is memory-mapped and
walked at the protobuf wire level (``onnx_wire``), without ``import onnx``; a large
tensor is known by its name, shape, type and the size of its data. Reading a 115 MB
model this way costs a fraction of ``onnx.load`` (see benchmarks/bench_big.py).
"""

from __future__ import annotations

import math
import mmap
from collections import defaultdict
from pathlib import Path

from overfitlint import protowire as wire
from overfitlint.errors import InputError
from overfitlint.facts import LayerFacts, ModelFacts, OptimizerFacts, Provenance, Unknown
from overfitlint.onnx_wire import (
    EXTERNAL,
    Model,
    attribute_value,
    tensor_values,
)
from overfitlint.onnx_wire import read_model as decode_model

NON_TRAINABLE_INPUTS = {"BatchNormalization": (3, 4)}
# Integer initializers that quantized operators use as weights: (op_type, input position).
QUANTIZED_WEIGHT_INPUTS = {
    ("DequantizeLinear", 0),
    ("QLinearConv", 3),
    ("QLinearMatMul", 3),
    ("ConvInteger", 1),
    ("MatMulInteger", 1),
}
# Exporters that remove Dropout when exporting a model in inference mode.
DROPOUT_STRIPPING_PRODUCERS = (
    "pytorch",
    "tf2onnx",
    "keras2onnx",
    "onnxmltools",
    "paddle2onnx",
    "onnx-caffe2",
)
EXPORTERS = {
    "pytorch": "torch.onnx.export",
    "tf2onnx": "tf2onnx",
    "keras2onnx": "keras2onnx",
    "onnx-caffe2": "Caffe2's ONNX exporter",
    "skl2onnx": "sklearn-onnx",
    "onnxmltools": "onnxmltools",
    "paddle2onnx": "paddle2onnx",
}
NO_OPTIMIZER = Unknown(
    "an ONNX inference graph carries no optimizer",
    "Pass --weight-decay VALUE (the value the model was trained with), or check the "
    "training checkpoint instead of the exported graph.",
)
TRAINING_DOMAIN = "ai.onnx.preview.training"
ORT_DOMAIN = "com.microsoft"
ORT_OPTIMIZER_FILE = "optimizer_model.onnx"
FLOATING = {1, 10, 11, 16, 17, 18, 19, 20}
"""TensorProto data types of floating-point parameters: FLOAT, FLOAT16, DOUBLE, BFLOAT16 and
the float8 variants."""

# A tensor of more elements than this is a corrupt or hostile file, not a model.
MAX_TENSOR_ELEMENTS = 1 << 40
ITEM_SIZES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8}
ITEM_SIZES |= {14: 8, 15: 16, 16: 2, 17: 1, 18: 1, 19: 1, 20: 1, 24: 1}


def load_onnx(path: Path) -> ModelFacts:
    model = read_model(path)
    _refuse_escaping_external_data(model, path)
    facts = _facts(model, path)
    if isinstance(facts.optimizer, Unknown):
        _optimizer_from_ort_artifacts(facts, path)
    return facts


def read_model(path: Path) -> Model:
    """The model's structure, read from a memory map of ``path`` without its tensor bytes."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if size == 0:
        raise InputError(f"{path}: empty file; expected an ONNX model")
    try:
        with (
            path.open("rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf,
        ):
            model = decode_model(buf)
    except wire.WireError as exc:
        raise InputError(
            f"{path}: not a readable ONNX model ({exc}); "
            "is the file truncated or of another format?"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if model.graph is None or not model.opset_import or model.ir_version <= 0:
        raise InputError(
            f"{path}: not a complete ONNX model (no graph or no opset); "
            "is the file truncated or of another format?"
        )
    return model


def _refuse_escaping_external_data(model, path: Path) -> None:
    folder = path.resolve().parent
    for tensor in model.graph.initializer:
        if tensor.data_location != EXTERNAL:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        target = (folder / location).resolve()
        if not location or Path(location).is_absolute() or not target.is_relative_to(folder):
            raise InputError(
                f"{path}: initializer {tensor.name!r} points its external data at "
                f"{location!r}, outside the model's folder; refusing to follow it"
            )


def _element_count(dims, path: Path, name: str) -> int:
    if any(int(d) < 0 for d in dims):
        raise InputError(f"{path}: tensor {name!r} declares a negative dimension {list(dims)}")
    count = math.prod(int(d) for d in dims) if len(dims) else 1
    if count > MAX_TENSOR_ELEMENTS:
        raise InputError(
            f"{path}: tensor {name!r} declares {count:.3g} elements (shape {list(dims)}); "
            "the file is corrupt or not a real model"
        )
    return count


def _check_inline_size(tensor, count: int, path: Path) -> None:
    """A tensor whose raw bytes disagree with its shape is a corrupt file."""
    if tensor.data_location == EXTERNAL:
        return
    held = tensor.raw_size
    item = ITEM_SIZES.get(tensor.data_type)
    if held is None or item is None:
        return
    if held != count * item:
        raise InputError(
            f"{path}: initializer {tensor.name!r} declares shape {list(tensor.dims)} "
            f"({count:,} elements) but holds {held:,} bytes; the file is corrupt"
        )


def _facts(model: Model, path: Path) -> ModelFacts:
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    sparse = {s.values.name or s.indices.name: s for s in graph.sparse_initializer}
    constants = _constant_values(graph)

    counts = {}
    for name, tensor in initializers.items():
        counts[name] = _element_count(tensor.dims, path, name)
        _check_inline_size(tensor, counts[name], path)
    quantized_weights = {
        name
        for node in graph.node
        for position, name in enumerate(node.input)
        if (node.op_type, position) in QUANTIZED_WEIGHT_INPUTS
    }
    parameters = {
        name: counts[name]
        for name, t in initializers.items()
        if len(t.dims) >= 1 and (t.data_type in FLOATING or name in quantized_weights)
    }
    for name, s in sparse.items():
        if s.values.data_type in FLOATING:
            parameters[name] = _element_count(s.values.dims, path, name)

    layers: list[LayerFacts] = []
    claimed: set[str] = set()
    shared: dict[str, int] = defaultdict(int)
    node_layers: dict[int, LayerFacts] = {}
    for index, node in enumerate(graph.node):
        layer_name = node.name or f"{node.op_type}_{index}"
        if node.op_type == "Dropout":
            layers.append(_dropout_layer(node, layer_name, model, initializers, constants))
            node_layers[index] = layers[-1]
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
            node_layers[index] = layers[-1]
    _link_layers(graph, node_layers)

    unused = [name for name in parameters if name not in claimed]
    for name in unused:
        layers.append(LayerFacts(name, "UnusedInitializer", parameters[name], 0, inputs=[]))

    notes = []
    if shared:
        notes.append(
            f"{len(shared)} initializer(s) feed several nodes (weight tying); each is counted once"
        )
    if unused:
        notes.append(f"{len(unused)} initializer(s) feed no node; counted as non-trainable")
    if quantized_weights & set(parameters):
        notes.append("integer weights of quantized operators are counted as parameters")
    producer = model.producer_name or ""
    training_graph = _training_evidence(model)
    dropout_visible = _dropout_visibility(layers, producer, training_graph)
    optimizer = _optimizer(model, initializers, constants)
    details = {
        "ir_version": int(model.ir_version),
        "opsets": {(o.domain or "ai.onnx"): int(o.version) for o in model.opset_import},
        "graph_name": graph.name,
    }
    exporter = EXPORTERS.get(producer.lower())
    if exporter:
        details["exporter"] = exporter
    if training_graph:
        details["training_graph"] = training_graph
    external = sum(1 for t in graph.initializer if t.data_location == EXTERNAL)
    if external:
        details["external_data_tensors"] = external
        notes.append(
            f"{external} initializer(s) keep their data in external files; "
            "counted from their shapes, the files were not read"
        )
    return ModelFacts(
        framework="onnx",
        source=str(path),
        format="onnx",
        layers=layers,
        provenance=Provenance(
            producer=producer,
            producer_version=model.producer_version or "",
            details=details,
        ),
        optimizer=optimizer,
        dropout_visible=dropout_visible,
        input_shapes=_input_shapes(graph, set(initializers)),
        notes=notes,
    )


def _link_layers(graph, node_layers: dict[int, LayerFacts]) -> None:
    """Each listed layer's inputs: the listed nodes whose outputs reach it through nodes that
    are not listed (activations, reshapes, constants); graph inputs and initializers: none.
    One pass in node order (ONNX requires nodes sorted so that producers come first)."""
    reach: dict[str, tuple[str, ...]] = {}  # tensor -> listed layers it is computed from
    for index, node in enumerate(graph.node):
        sources: list[str] = []
        for name in node.input:
            sources += [s for s in reach.get(name, ()) if s not in sources]
        layer = node_layers.get(index)
        if layer is not None:
            layer.inputs = sources
            carried: tuple[str, ...] = (layer.name,)
        else:
            carried = tuple(sources)
        for name in node.output:
            reach[name] = carried


def _training_evidence(model) -> str:
    """Why the graph is a training-mode export (keeps Dropout), or '' when nothing says so."""
    if len(model.training_info):
        return "the model carries ONNX training information (training_info)"
    for node in model.graph.node:
        if node.domain == TRAINING_DOMAIN:
            return f"the graph holds the training operator {node.op_type}"
        if node.op_type == "BatchNormalization":
            mode = next((a.i for a in node.attribute if a.name == "training_mode"), 0)
            if mode or sum(1 for name in node.output if name) > 1:
                return "BatchNormalization runs in training mode"
        if node.domain == ORT_DOMAIN and node.op_type.endswith("Grad"):
            return f"the graph computes gradients ({node.op_type})"
    return ""


def _dropout_visibility(layers, producer: str, training_graph: str) -> bool | Unknown:
    if any(layer.is_dropout for layer in layers) or training_graph:
        return True
    if producer.lower().startswith(DROPOUT_STRIPPING_PRODUCERS):
        exporter = EXPORTERS.get(producer.lower(), producer)
        return Unknown(
            f"unknown from an inference export: {producer} removes Dropout when {exporter} "
            "exports a model in inference mode, and nothing in this graph shows a "
            "training-mode export",
            "Check the training-side artifact instead (the PyTorch checkpoint or TorchScript "
            "file, the .keras file), or export with Dropout kept "
            "(torch.onnx.export(..., training=torch.onnx.TrainingMode.PRESERVE) on a model in "
            "train() mode).",
        )
    return True


def _constant_values(graph) -> dict[str, object]:
    """Outputs of Constant nodes, for reading Dropout ratios and learning rates."""
    values = {}
    for node in graph.node:
        if node.op_type != "Constant" or not node.output:
            continue
        for attribute in node.attribute:
            try:
                if attribute.name == "value" and attribute.t.data_location != EXTERNAL:
                    values[node.output[0]] = tensor_values(attribute.t)
                elif attribute.name == "value_float":
                    values[node.output[0]] = attribute.f
            except Exception:  # a malformed constant: its value stays unknown
                continue
    return values


def _scalar(name: str, initializers, constants) -> float | None:
    """The value of a scalar initializer or constant, or None when it is not in the file."""
    try:
        if name in initializers:
            tensor = initializers[name]
            if tensor.data_location == EXTERNAL:
                return None  # external data is never read
            value = tensor_values(tensor)
        elif name in constants:
            value = constants[name]
        else:
            return None
        result = float(value.reshape(-1)[0]) if hasattr(value, "reshape") else float(value)
    except Exception:  # a damaged scalar: its value stays unknown
        return None
    return result if math.isfinite(result) else None


def _dropout_layer(node, name: str, model, initializers, constants) -> LayerFacts:
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    rate: float | None = 0.5
    if opset < 12:
        for attribute in node.attribute:
            if attribute.name == "ratio":
                rate = attribute.f
    elif len(node.input) > 1 and node.input[1]:
        rate = _scalar(node.input[1], initializers, constants)  # None: computed at run time
    if rate is not None and not (0.0 <= rate <= 1.0):
        rate = None
    return LayerFacts(name, "Dropout", dropout_rate=None if rate is None else round(rate, 6))


def _float32(value: float) -> float:
    """A float32 attribute as the decimal it was written as (0.009999999776 -> 0.01)."""
    return float(f"{value:.7g}") if math.isfinite(value) else value


def _attributes(node) -> dict[str, object]:
    values = {}
    for attribute in node.attribute:
        try:
            values[attribute.name] = attribute_value(attribute)
        except ValueError:
            continue
    return values


def _optimizer(model, initializers, constants) -> OptimizerFacts | Unknown:
    """Weight decay from ONNX training operators, when the file holds any."""
    graphs = [model.graph] + [
        g for info in model.training_info for g in (info.algorithm, info.initialization)
    ]
    for graph in graphs:
        known = {**initializers, **{t.name: t for t in graph.initializer}}
        for node in graph.node:
            facts = _optimizer_node(node, known, constants)
            if facts is not None:
                return facts
    return NO_OPTIMIZER


def _optimizer_node(node, initializers, constants) -> OptimizerFacts | None:
    attributes = _attributes(node)
    lr = _scalar(node.input[0], initializers, constants) if node.input else None
    lr = None if lr is None else _float32(lr)

    def number(key: str, default: float = 0.0) -> float:
        value = attributes.get(key, default)
        if isinstance(value, list):
            value = max((float(v) for v in value), default=default)
        try:
            return _float32(float(value))
        except (TypeError, ValueError):
            return default

    if node.domain == TRAINING_DOMAIN and node.op_type in ("Adam", "Adagrad", "Momentum"):
        source = f"ONNX training operator {node.op_type} ({TRAINING_DOMAIN})"
        post = number("norm_coefficient_post") if node.op_type == "Adam" else 0.0
        coupled = number("norm_coefficient")
        if post > 0:
            return OptimizerFacts("AdamW", lr, post, True, source + ": norm_coefficient_post")
        kind = {"Momentum": "SGD"}.get(node.op_type, node.op_type)
        details = {}
        if node.op_type == "Momentum":
            details = {
                "momentum": number("beta"),
                "nesterov": attributes.get("mode") == b"nesterov",
            }
        return OptimizerFacts(
            kind,
            lr,
            coupled,
            False if coupled > 0 else None,
            source + ": norm_coefficient",
            details=details,
        )
    if node.domain == ORT_DOMAIN:
        source = f"onnxruntime training operator {node.op_type}"
        if node.op_type == "AdamWOptimizer":
            return OptimizerFacts("AdamW", lr, number("weight_decay"), True, source)
        if node.op_type in ("AdamOptimizer", "LambOptimizer"):
            kind = "Adam" if node.op_type == "AdamOptimizer" else "LAMB"
            return OptimizerFacts(kind, lr, number("lambda"), True, source + ": lambda")
        if node.op_type in ("SGDOptimizer", "SGDOptimizerV2"):
            return OptimizerFacts("SGD", lr, 0.0, None, source)
    return None


def _optimizer_from_ort_artifacts(facts: ModelFacts, path: Path) -> None:
    """onnxruntime-training artifacts keep the optimizer in a sibling optimizer_model.onnx."""
    sibling = path.parent / ORT_OPTIMIZER_FILE
    if path.name == ORT_OPTIMIZER_FILE or not sibling.is_file():
        return
    try:
        model = read_model(sibling)
    except InputError:
        return
    initializers = {t.name: t for t in model.graph.initializer}
    optimizer = _optimizer(model, initializers, _constant_values(model.graph))
    if isinstance(optimizer, OptimizerFacts):
        optimizer.source += (
            f", from {sibling.name} next to the model (onnxruntime-training artifacts)"
        )
        facts.optimizer = optimizer
        facts.provenance.details["optimizer_file"] = str(sibling)


def _input_shapes(graph, initializer_names: set[str]) -> dict[str, list[int | str]]:
    shapes: dict[str, list[int | str]] = {}
    for value in graph.input:
        if value.name in initializer_names:
            continue
        shapes[value.name] = [
            d.dim_value if d.dim_value is not None else d.dim_param or "?" for d in value.dims
        ]
    return shapes
