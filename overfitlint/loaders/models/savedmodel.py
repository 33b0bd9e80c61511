"""TensorFlow SavedModel folders, read as data (TensorFlow is not needed).

``saved_model.pb`` is walked at the protobuf wire level (overfitlint's own
walker, the file memory-mapped): nothing is loaded or run and no variable value
is read. Its object graph lists every variable with its name, shape, dtype and
trainable flag; the serving signature gives the input shapes. Keras 2
(tf.keras) also writes ``keras_metadata.pb`` with the full model config (layers,
dropout rates, regularizers, the compiled optimizer); it is interpreted like a
``.keras`` config. A SavedModel exported for serving (Keras 3 ``model.export``)
keeps no layer configuration: dropout and the optimizer are then unknown.
"""

from __future__ import annotations

import json
import math
import mmap
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overfitlint import protowire as wire
from overfitlint.errors import InputError
from overfitlint.facts import LayerFacts, ModelFacts, Provenance, Unknown
from overfitlint.loaders.models import keras as keras_model
from overfitlint.readers import MAX_TENSOR_ELEMENTS

MAX_PB = 2 << 30  # protobuf's own limit
# tensorflow DataType codes of floating types: float, double, bfloat16, half
FLOATING = {1, 2, 14, 19}
NOT_MODEL = {"optimizer", "_optimizer", "keras_api", "_compiled_trainable_state"}
DEFAULT_NAME = re.compile(r"Variable(_\d+)?(:\d+)?")
# field numbers (tensorflow/core/protobuf/{saved_model,meta_graph,saved_object_graph}.proto)
SAVED_MODEL_META_GRAPHS = 2
META_INFO, META_SIGNATURES, META_OBJECT_GRAPH = 1, 5, 7
INFO_TAGS, INFO_TF_VERSION = 4, 5
GRAPH_NODES = 1
OBJECT_CHILDREN, OBJECT_VARIABLE = 1, 7
REF_NODE_ID, REF_LOCAL_NAME = 1, 2
VAR_DTYPE, VAR_SHAPE, VAR_TRAINABLE, VAR_NAME = 1, 2, 3, 6
SHAPE_DIM, SHAPE_UNKNOWN_RANK, DIM_SIZE = 2, 3, 1
SIGNATURE_INPUTS, TENSOR_INFO_SHAPE = 1, 3


@dataclass
class SavedNode:
    children: list[tuple[int, str]] = field(default_factory=list)
    variable: tuple[str, int, tuple[int, ...] | None, bool] | None = None  # name, dtype, shape


@dataclass
class MetaGraph:
    tags: list[str] = field(default_factory=list)
    tensorflow_version: str = ""
    nodes: list[SavedNode] = field(default_factory=list)
    inputs: dict[str, list[int | str]] = field(default_factory=dict)


def load_savedmodel(path: Path) -> ModelFacts:
    pb = path / "saved_model.pb"
    if not pb.is_file():
        raise InputError(
            f"{path}: a SavedModel in text format (saved_model.pbtxt) is not read; "
            "save it in the binary format"
        )
    size = pb.stat().st_size
    if size > MAX_PB:
        raise InputError(f"{pb}: {size:,} bytes, larger than a protobuf can be")
    if size == 0:
        raise InputError(f"{pb}: empty file; not a SavedModel")
    try:
        with pb.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            graphs = _meta_graphs(buf)
    except wire.WireError as exc:
        raise InputError(f"{pb}: not a readable SavedModel ({exc}); is it truncated?") from None
    except OSError as exc:
        raise InputError(f"{pb}: cannot read: {exc.strerror}") from None
    if not graphs:
        raise InputError(f"{pb}: the SavedModel holds no MetaGraph")
    meta = next((m for m in graphs if "serve" in m.tags), graphs[0])
    variables, merged = _variables(meta.nodes, path)
    keras_root = _keras_metadata(path / "keras_metadata.pb")
    if keras_root is not None and isinstance(keras_root.get("config"), dict):
        facts = _keras_facts(path, keras_root, variables)
    else:
        facts = _plain_facts(path, variables)
    if merged:
        facts.notes.append(
            f"{merged} variable(s) appear twice in the object graph under one name; counted once"
        )
    facts.input_shapes = meta.inputs
    facts.provenance.details["tags"] = meta.tags
    facts.provenance.details["tensorflow_version"] = meta.tensorflow_version
    return facts


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _shape(buf, item: wire.Field) -> tuple[int, ...] | None:
    dims = []
    for part in wire.fields(buf, item.value, item.end):
        if part.number == SHAPE_UNKNOWN_RANK and part.wire_type == wire.VARINT and part.value:
            return None
        if part.number == SHAPE_DIM and part.wire_type == wire.LENGTH:
            size = 0
            for dim in wire.fields(buf, part.value, part.end):
                if dim.number == DIM_SIZE and dim.wire_type == wire.VARINT:
                    size = _signed(dim.value)
            dims.append(size)
    return tuple(dims)


def _meta_graphs(buf) -> list[MetaGraph]:
    graphs = []
    for item in wire.fields(buf):
        if item.number != SAVED_MODEL_META_GRAPHS or item.wire_type != wire.LENGTH:
            continue
        meta = MetaGraph()
        for part in wire.fields(buf, item.value, item.end):
            if part.wire_type != wire.LENGTH:
                continue
            if part.number == META_INFO:
                for info in wire.fields(buf, part.value, part.end):
                    if info.number == INFO_TAGS and info.wire_type == wire.LENGTH:
                        meta.tags.append(wire.string(buf, info))
                    elif info.number == INFO_TF_VERSION and info.wire_type == wire.LENGTH:
                        meta.tensorflow_version = wire.string(buf, info)
            elif part.number == META_OBJECT_GRAPH:
                meta.nodes = _object_nodes(buf, part)
            elif part.number == META_SIGNATURES:
                _signature_inputs(buf, part, meta)
        graphs.append(meta)
    return graphs


def _object_nodes(buf, graph: wire.Field) -> list[SavedNode]:
    nodes = []
    for item in wire.fields(buf, graph.value, graph.end):
        if item.number != GRAPH_NODES or item.wire_type != wire.LENGTH:
            continue
        node = SavedNode()
        for part in wire.fields(buf, item.value, item.end):
            if part.wire_type != wire.LENGTH:
                continue
            if part.number == OBJECT_CHILDREN:
                node_id, name = -1, ""
                for ref in wire.fields(buf, part.value, part.end):
                    if ref.number == REF_NODE_ID and ref.wire_type == wire.VARINT:
                        node_id = ref.value
                    elif ref.number == REF_LOCAL_NAME and ref.wire_type == wire.LENGTH:
                        name = wire.string(buf, ref)
                node.children.append((node_id, name))
            elif part.number == OBJECT_VARIABLE:
                name, dtype, dims, trainable = "", 0, (), False
                for var in wire.fields(buf, part.value, part.end):
                    if var.number == VAR_DTYPE and var.wire_type == wire.VARINT:
                        dtype = var.value
                    elif var.number == VAR_SHAPE and var.wire_type == wire.LENGTH:
                        dims = _shape(buf, var)
                    elif var.number == VAR_TRAINABLE and var.wire_type == wire.VARINT:
                        trainable = bool(var.value)
                    elif var.number == VAR_NAME and var.wire_type == wire.LENGTH:
                        name = wire.string(buf, var)
                node.variable = (name, dtype, dims, trainable)
        nodes.append(node)
    return nodes


def _signature_inputs(buf, entry: wire.Field, meta: MetaGraph) -> None:
    """signature_def is a map<string, SignatureDef>: read serving_default's inputs."""
    key, value = "", None
    for part in wire.fields(buf, entry.value, entry.end):
        if part.number == 1 and part.wire_type == wire.LENGTH:
            key = wire.string(buf, part)
        elif part.number == 2 and part.wire_type == wire.LENGTH:
            value = part
    if key != "serving_default" or value is None:
        return
    for item in wire.fields(buf, value.value, value.end):
        if item.number != SIGNATURE_INPUTS or item.wire_type != wire.LENGTH:
            continue
        name, dims = "", None
        for part in wire.fields(buf, item.value, item.end):
            if part.number == 1 and part.wire_type == wire.LENGTH:
                name = wire.string(buf, part)
            elif part.number == 2 and part.wire_type == wire.LENGTH:
                for info in wire.fields(buf, part.value, part.end):
                    if info.number == TENSOR_INFO_SHAPE and info.wire_type == wire.LENGTH:
                        dims = _shape(buf, info)
        if name and dims is not None:
            meta.inputs[name] = [d if d >= 0 else "?" for d in dims]


def _variables(nodes: list[SavedNode], path: Path):
    """(name, shape, trainable) of every floating variable reachable outside the optimizer."""
    if not nodes:
        return [], 0
    seen_nodes = {0}
    queue = [0]
    found = []
    names: set[tuple[str, tuple[int, ...]]] = set()
    merged = 0
    while queue:
        node = nodes[queue.pop(0)]
        if node.variable is not None:
            name, dtype, dims, trainable = node.variable
            if dtype in FLOATING:
                if dims is None or any(d < 0 for d in dims):
                    raise InputError(f"{path}: variable {name!r} has an unknown shape")
                if math.prod(dims) > MAX_TENSOR_ELEMENTS:
                    raise InputError(f"{path}: variable {name!r} declares shape {list(dims)}")
                key = (name, dims)
                if name and not DEFAULT_NAME.fullmatch(name) and key in names:
                    merged += 1
                else:
                    names.add(key)
                    found.append((name, dims, trainable))
        for node_id, local_name in node.children:
            if local_name in NOT_MODEL or node_id in seen_nodes:
                continue
            if not 0 <= node_id < len(nodes):
                raise InputError(f"{path}: the object graph points at a missing node")
            seen_nodes.add(node_id)
            queue.append(node_id)
    return found, merged


def _keras_metadata(path: Path) -> dict[str, Any] | None:
    """The root object's metadata JSON from keras_metadata.pb (tf.keras SavedModels)."""
    if not path.is_file() or path.stat().st_size > MAX_PB:
        return None
    data = path.read_bytes()
    try:
        for node in wire.fields(data):
            if node.number != 1 or node.wire_type != wire.LENGTH:
                continue
            fields = {
                f.number: f
                for f in wire.fields(data, node.value, node.end)
                if f.wire_type == wire.LENGTH
            }
            node_path = wire.string(data, fields[3]) if 3 in fields else ""
            if node_path == "root" and 5 in fields:
                root = json.loads(wire.string(data, fields[5]))
                return root if isinstance(root, dict) else None
    except (wire.WireError, json.JSONDecodeError, RecursionError):
        return None
    return None


def _keras_facts(path: Path, root: dict[str, Any], variables) -> ModelFacts:
    model = keras_model.KerasModel(path, "savedmodel")
    model.model_config = {"class_name": root.get("class_name", "Model"), "config": root["config"]}
    training = root.get("training_config")
    if isinstance(training, dict) and training.get("optimizer_config"):
        model.optimizer_config = training["optimizer_config"]
        model.compiled = True
    for name, dims, trainable in variables:
        parts = [p for p in name.split("/") if p]
        leaf = parts[-1].split(":")[0] if parts else name
        model.weights.append(
            keras_model.Weight([*reversed(parts[:-1])], leaf, dims, trainable=trainable)
        )
    facts = keras_model.to_facts(model)
    facts.framework = "tensorflow"
    facts.provenance.details["keras_metadata"] = True
    return facts


def _plain_facts(path: Path, variables) -> ModelFacts:
    layers: dict[str, LayerFacts] = {}
    for name, dims, trainable in variables:
        prefix = name.rsplit("/", 1)[0] if "/" in name else "(root)"
        entry = layers.setdefault(prefix, LayerFacts(prefix, "Variables"))
        count = math.prod(dims) if dims else 1
        entry.params += count
        if trainable:
            entry.trainable_params += count
    return ModelFacts(
        framework="tensorflow",
        source=str(path),
        format="savedmodel",
        layers=list(layers.values()),
        provenance=Provenance(producer="tensorflow"),
        optimizer=Unknown(
            "a SavedModel keeps the optimizer's variables but not its settings",
            "Check the .keras file of the model (it records the compiled optimizer), "
            "or pass --weight-decay VALUE.",
        ),
        dropout_visible=Unknown(
            "a SavedModel exported for serving keeps no layer configuration: dropout "
            "cannot be seen",
            "Check the .keras file of the model (model.save('model.keras')) instead.",
        ),
        notes=["no Keras metadata: layers are variable-name prefixes"],
    )
