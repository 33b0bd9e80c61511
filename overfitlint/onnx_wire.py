"""The parts of an ONNX model the loader reads, decoded from the protobuf wire format.

No ``import onnx`` (it costs more than reading a 100 MB model this way) and no tensor bytes:
the file is memory-mapped and walked field by field with ``protowire``; a tensor whose
serialized form is larger than ``SMALL_TENSOR_BYTES`` keeps its name, shape, type and where
its data lives, and only the *size* of its ``raw_data``. Small tensors (dropout ratios,
learning rates, other scalars) are decoded whole.

The classes are named after the ONNX messages (onnx/onnx.proto) and their attributes after
the proto fields, holding only the fields the loader reads; a field of an unexpected wire type
is skipped, as protobuf keeps it as an unknown field. Every length is checked against the
buffer (``protowire.WireError`` for a corrupt or hostile file).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from overfitlint import protowire as wire

SMALL_TENSOR_BYTES = 4096
"""Tensors serialized in at most this many bytes are decoded whole."""
EXTERNAL = 1  # TensorProto.DataLocation
# AttributeProto.AttributeType
FLOAT, INT, STRING, TENSOR, FLOATS, INTS, STRINGS = 1, 2, 3, 4, 6, 7, 8
# TensorProto.DataType -> numpy dtype of raw_data, and the typed field holding the values
NUMPY_TYPES = {
    1: "<f4",
    2: "u1",
    3: "i1",
    4: "<u2",
    5: "<i2",
    6: "<i4",
    7: "<i8",
    9: "?",
    10: "<f2",
    11: "<f8",
    12: "<u4",
    13: "<u8",
    16: "<u2",  # bfloat16: the upper half of a float32
}
INT32_DATA_TYPES = {2, 3, 4, 5, 6, 9, 10, 16}
"""Types whose values (or bit patterns) TensorProto keeps in ``int32_data``."""
FLOAT_DATA, INT32_DATA, INT64_DATA, RAW_DATA, DOUBLE_DATA, UINT64_DATA = 4, 5, 7, 9, 10, 11
DATA_FIELDS = (FLOAT_DATA, INT32_DATA, INT64_DATA, RAW_DATA, DOUBLE_DATA, UINT64_DATA)
"""TensorProto fields holding its values (raw bytes, or packed typed numbers)."""
_FLOAT32 = struct.Struct("<f")


@dataclass
class StringStringEntry:
    key: str = ""
    value: str = ""


@dataclass
class Tensor:
    dims: list[int] = field(default_factory=list)
    data_type: int = 0
    name: str = ""
    raw_data: bytes = b""
    """Empty for a large tensor: its bytes are not read (``raw_size`` says how many)."""
    raw_size: int | None = None
    """Bytes in ``raw_data`` as the file has them; None: the field is absent."""
    float_data: list[float] = field(default_factory=list)
    int32_data: list[int] = field(default_factory=list)
    int64_data: list[int] = field(default_factory=list)
    double_data: list[float] = field(default_factory=list)
    uint64_data: list[int] = field(default_factory=list)
    external_data: list[StringStringEntry] = field(default_factory=list)
    data_location: int = 0
    data_spans: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Where the values lie in the buffer, by field number (``DATA_FIELDS``) as ``(start,
    end)``, for a large tensor too: the last one of each field, as the file has it."""


@dataclass
class SparseTensor:
    values: Tensor = field(default_factory=Tensor)
    indices: Tensor = field(default_factory=Tensor)


@dataclass
class Attribute:
    name: str = ""
    type: int = 0
    f: float = 0.0
    i: int = 0
    s: bytes = b""
    t: Tensor = field(default_factory=Tensor)
    floats: list[float] = field(default_factory=list)
    ints: list[int] = field(default_factory=list)
    strings: list[bytes] = field(default_factory=list)


@dataclass
class Node:
    input: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    name: str = ""
    op_type: str = ""
    attribute: list[Attribute] = field(default_factory=list)
    domain: str = ""


@dataclass
class Dimension:
    dim_value: int | None = None
    """None: the field is absent (a symbolic or unknown dimension)."""
    dim_param: str = ""


@dataclass
class ValueInfo:
    name: str = ""
    dims: list[Dimension] = field(default_factory=list)
    """``type.tensor_type.shape.dim`` (empty for anything but a tensor with a shape)."""


@dataclass
class Graph:
    node: list[Node] = field(default_factory=list)
    name: str = ""
    initializer: list[Tensor] = field(default_factory=list)
    input: list[ValueInfo] = field(default_factory=list)
    sparse_initializer: list[SparseTensor] = field(default_factory=list)


@dataclass
class TrainingInfo:
    initialization: Graph = field(default_factory=Graph)
    algorithm: Graph = field(default_factory=Graph)


@dataclass
class OperatorSetId:
    domain: str = ""
    version: int = 0


@dataclass
class Model:
    ir_version: int = 0
    opset_import: list[OperatorSetId] = field(default_factory=list)
    producer_name: str = ""
    producer_version: str = ""
    graph: Graph | None = None
    training_info: list[TrainingInfo] = field(default_factory=list)


# -- decoding ------------------------------------------------------------------------------


def _signed(value: int) -> int:
    """An int64/int32 varint as protobuf writes negatives (two's complement, 64 bits)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _text(buf, item: wire.Field) -> str:
    return wire.string(buf, item)


def _varints(buf, item: wire.Field) -> list[int]:
    """A repeated integer field: one varint, or a packed run of them."""
    if item.wire_type == wire.VARINT:
        return [_signed(item.value)]
    values, position = [], item.value
    while position < item.end:
        value, position = wire.read_varint(buf, position, item.end)
        values.append(_signed(value))
    return values


def _fixed(buf, item: wire.Field, code: str, size: int, wire_type: int) -> list[float]:
    """A repeated float/double field: one value, or a packed run of them."""
    if item.wire_type == wire_type:
        return list(struct.unpack_from(code, buf, item.value))
    count = (item.end - item.value) // size
    return list(struct.unpack_from(f"<{count}{code[-1]}", buf, item.value))


def read_model(buf) -> Model:
    model = Model()
    for item in wire.fields(buf):
        number, kind = item.number, item.wire_type
        if number == 1 and kind == wire.VARINT:
            model.ir_version = _signed(item.value)
        elif number == 8 and kind == wire.LENGTH:
            model.opset_import.append(_opset(buf, item))
        elif number == 2 and kind == wire.LENGTH:
            model.producer_name = _text(buf, item)
        elif number == 3 and kind == wire.LENGTH:
            model.producer_version = _text(buf, item)
        elif number == 7 and kind == wire.LENGTH:
            model.graph = _graph(buf, item, model.graph)
        elif number == 20 and kind == wire.LENGTH:
            model.training_info.append(_training_info(buf, item))
    return model


def _opset(buf, message: wire.Field) -> OperatorSetId:
    opset = OperatorSetId()
    for item in wire.fields(buf, message.value, message.end):
        if item.number == 1 and item.wire_type == wire.LENGTH:
            opset.domain = _text(buf, item)
        elif item.number == 2 and item.wire_type == wire.VARINT:
            opset.version = _signed(item.value)
    return opset


def _training_info(buf, message: wire.Field) -> TrainingInfo:
    info = TrainingInfo()
    for item in wire.fields(buf, message.value, message.end):
        if item.number == 1 and item.wire_type == wire.LENGTH:
            info.initialization = _graph(buf, item, info.initialization)
        elif item.number == 2 and item.wire_type == wire.LENGTH:
            info.algorithm = _graph(buf, item, info.algorithm)
    return info


def _graph(buf, message: wire.Field, graph: Graph | None) -> Graph:
    """A GraphProto; a message field given twice merges (repeated fields append)."""
    graph = graph if graph is not None else Graph()
    for item in wire.fields(buf, message.value, message.end):
        number = item.number
        if item.wire_type != wire.LENGTH:
            continue
        if number == 1:
            graph.node.append(_node(buf, item))
        elif number == 2:
            graph.name = _text(buf, item)
        elif number == 5:
            graph.initializer.append(_tensor(buf, item))
        elif number == 11:
            graph.input.append(_value_info(buf, item))
        elif number == 15:
            graph.sparse_initializer.append(_sparse(buf, item))
    return graph


def _node(buf, message: wire.Field) -> Node:
    node = Node()
    for item in wire.fields(buf, message.value, message.end):
        if item.wire_type != wire.LENGTH:
            continue
        number = item.number
        if number == 1:
            node.input.append(_text(buf, item))
        elif number == 2:
            node.output.append(_text(buf, item))
        elif number == 3:
            node.name = _text(buf, item)
        elif number == 4:
            node.op_type = _text(buf, item)
        elif number == 5:
            node.attribute.append(_attribute(buf, item))
        elif number == 7:
            node.domain = _text(buf, item)
    return node


def _attribute(buf, message: wire.Field) -> Attribute:
    attribute = Attribute()
    for item in wire.fields(buf, message.value, message.end):
        number, kind = item.number, item.wire_type
        if number == 1 and kind == wire.LENGTH:
            attribute.name = _text(buf, item)
        elif number == 20 and kind == wire.VARINT:
            attribute.type = _signed(item.value)
        elif number == 2 and kind == wire.FIXED32:
            attribute.f = _FLOAT32.unpack_from(buf, item.value)[0]
        elif number == 3 and kind == wire.VARINT:
            attribute.i = _signed(item.value)
        elif number == 4 and kind == wire.LENGTH:
            attribute.s = bytes(buf[item.value : item.end])
        elif number == 5 and kind == wire.LENGTH:
            attribute.t = _tensor(buf, item)
        elif number == 7 and kind in (wire.FIXED32, wire.LENGTH):
            attribute.floats += _fixed(buf, item, "<f", 4, wire.FIXED32)
        elif number == 8 and kind in (wire.VARINT, wire.LENGTH):
            attribute.ints += _varints(buf, item)
        elif number == 9 and kind == wire.LENGTH:
            attribute.strings.append(bytes(buf[item.value : item.end]))
    return attribute


def _tensor(buf, message: wire.Field) -> Tensor:
    tensor = Tensor()
    small = message.end - message.value <= SMALL_TENSOR_BYTES
    for item in wire.fields(buf, message.value, message.end):
        number, kind = item.number, item.wire_type
        if kind == wire.LENGTH and number in DATA_FIELDS:
            tensor.data_spans[number] = (item.value, item.end)
        if number == 1 and kind in (wire.VARINT, wire.LENGTH):
            tensor.dims += _varints(buf, item)
        elif number == 2 and kind == wire.VARINT:
            tensor.data_type = _signed(item.value)
        elif number == 8 and kind == wire.LENGTH:
            tensor.name = _text(buf, item)
        elif number == 9 and kind == wire.LENGTH:
            tensor.raw_size = item.end - item.value
            if small:
                tensor.raw_data = bytes(buf[item.value : item.end])
        elif number == 13 and kind == wire.LENGTH:
            tensor.external_data.append(_entry(buf, item))
        elif number == 14 and kind == wire.VARINT:
            tensor.data_location = _signed(item.value)
        elif not small:
            continue  # the values of a large tensor are never read
        elif number == 4 and kind in (wire.FIXED32, wire.LENGTH):
            tensor.float_data += _fixed(buf, item, "<f", 4, wire.FIXED32)
        elif number == 5 and kind in (wire.VARINT, wire.LENGTH):
            tensor.int32_data += _varints(buf, item)
        elif number == 7 and kind in (wire.VARINT, wire.LENGTH):
            tensor.int64_data += _varints(buf, item)
        elif number == 10 and kind in (wire.FIXED64, wire.LENGTH):
            tensor.double_data += _fixed(buf, item, "<d", 8, wire.FIXED64)
        elif number == 11 and kind in (wire.VARINT, wire.LENGTH):
            tensor.uint64_data += [v % (1 << 64) for v in _varints(buf, item)]
    return tensor


def _entry(buf, message: wire.Field) -> StringStringEntry:
    entry = StringStringEntry()
    for item in wire.fields(buf, message.value, message.end):
        if item.number == 1 and item.wire_type == wire.LENGTH:
            entry.key = _text(buf, item)
        elif item.number == 2 and item.wire_type == wire.LENGTH:
            entry.value = _text(buf, item)
    return entry


def _sparse(buf, message: wire.Field) -> SparseTensor:
    sparse = SparseTensor()
    for item in wire.fields(buf, message.value, message.end):
        if item.number == 1 and item.wire_type == wire.LENGTH:
            sparse.values = _tensor(buf, item)
        elif item.number == 2 and item.wire_type == wire.LENGTH:
            sparse.indices = _tensor(buf, item)
    return sparse


def _value_info(buf, message: wire.Field) -> ValueInfo:
    """A ValueInfoProto: its name and ``type.tensor_type.shape.dim``."""
    info = ValueInfo()
    for item in wire.fields(buf, message.value, message.end):
        if item.wire_type != wire.LENGTH:
            continue
        if item.number == 1:
            info.name = _text(buf, item)
        elif item.number == 2:
            for shape in _path(buf, item, (1, 2)):  # TypeProto.tensor_type, Tensor.shape
                info.dims = [
                    _dimension(buf, dim)
                    for dim in wire.fields(buf, shape.value, shape.end)
                    if dim.number == 1 and dim.wire_type == wire.LENGTH
                ]
    return info


def _path(buf, message: wire.Field, numbers: tuple[int, ...]) -> list[wire.Field]:
    """The sub-messages reached by following field ``numbers`` (each may occur repeatedly:
    a message field given twice merges, the last one's repeated fields win here)."""
    found = [message]
    for number in numbers:
        found = [
            item
            for parent in found
            for item in wire.fields(buf, parent.value, parent.end)
            if item.number == number and item.wire_type == wire.LENGTH
        ]
    return found[-1:]


def _dimension(buf, message: wire.Field) -> Dimension:
    dimension = Dimension()
    for item in wire.fields(buf, message.value, message.end):
        if item.number == 1 and item.wire_type == wire.VARINT:  # oneof value: the last wins
            dimension.dim_value, dimension.dim_param = _signed(item.value), ""
        elif item.number == 2 and item.wire_type == wire.LENGTH:
            dimension.dim_value, dimension.dim_param = None, _text(buf, item)
    return dimension


# -- values --------------------------------------------------------------------------------


def tensor_values(tensor: Tensor) -> np.ndarray:
    """The values of a small tensor, flat (as ``onnx.numpy_helper.to_array`` would give them,
    reshaped); ValueError when the tensor holds no values of a numeric type or not as many as
    its shape says."""
    dtype = NUMPY_TYPES.get(tensor.data_type)
    if dtype is None or tensor.data_location == EXTERNAL:
        raise ValueError(f"tensor {tensor.name!r}: no readable values")
    if tensor.raw_size is not None:
        if len(tensor.raw_data) != tensor.raw_size:
            raise ValueError(f"tensor {tensor.name!r}: its bytes were not read")
        values = np.frombuffer(tensor.raw_data, dtype=dtype)
    elif tensor.data_type in INT32_DATA_TYPES:
        numbers = np.asarray(tensor.int32_data, dtype=np.int64)
        halves = tensor.data_type in (10, 16)  # float16 and bfloat16: the bits, in an int32
        values = numbers.astype(np.uint16).view(dtype) if halves else numbers.astype(dtype)
    elif tensor.data_type == 1:
        values = np.asarray(tensor.float_data, dtype=np.float32)
    elif tensor.data_type == 7:
        values = np.asarray(tensor.int64_data, dtype=np.int64)
    elif tensor.data_type == 11:
        values = np.asarray(tensor.double_data, dtype=np.float64)
    else:
        values = np.asarray(tensor.uint64_data, dtype=np.uint64).astype(dtype)
    if tensor.data_type == 16:  # bfloat16 bits -> float32
        values = (values.astype(np.uint32) << 16).view(np.float32)
    count = int(np.prod(tensor.dims)) if tensor.dims else 1
    if values.size != count:
        raise ValueError(f"tensor {tensor.name!r}: {values.size} values for shape {tensor.dims}")
    return values


def attribute_value(attribute: Attribute) -> Any:
    """The value of an attribute by its declared type (``onnx.helper.get_attribute_value``);
    ValueError for a type the loader does not read."""
    kind = attribute.type
    if kind == FLOAT:
        return attribute.f
    if kind == INT:
        return attribute.i
    if kind == STRING:
        return attribute.s
    if kind == TENSOR:
        return attribute.t
    if kind == FLOATS:
        return list(attribute.floats)
    if kind == INTS:
        return list(attribute.ints)
    if kind == STRINGS:
        return list(attribute.strings)
    raise ValueError(f"attribute {attribute.name!r}: type {kind} is not read")
