"""ONNX initializers, inline or external, memory-mapped where they lie.

The model file is memory-mapped and walked as protobuf wire data (ModelProto.graph ->
GraphProto.initializer -> TensorProto), so an inline tensor's ``raw_data`` becomes a numpy view
onto the file and no tensor is copied until its layer is analysed. External data is mapped from
its file, which must lie inside the model's folder (a location that is absolute, climbs out with
``..`` or resolves through a link to somewhere else is refused). Which initializers are layer
weights follows WeightWatcher's ONNX iterator: every floating 2-D (dense) or 4-D (convolution)
initializer; overfitlint adds 3-D ones as 1-D convolutions. Initializers of subgraphs (If/Loop
bodies) and sparse initializers are not read.
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from overfitlint.errors import InputError
from overfitlint.spectra.tensors.record import WeightTensor, is_adapter, kind_from_shape

MODEL_GRAPH = 7
GRAPH_INITIALIZER = 5
T_DIMS, T_TYPE, T_FLOAT, T_INT32, T_NAME, T_RAW, T_DOUBLE, T_EXTERNAL, T_LOCATION = (
    1,
    2,
    4,
    5,
    8,
    9,
    10,
    13,
    14,
)
# TensorProto.DataType -> (numpy dtype, bfloat16 bit patterns)
FLOAT_TYPES = {1: (np.float32, False), 10: (np.float16, False), 11: (np.float64, False),
               16: (np.uint16, True)}  # fmt: skip
EXTERNAL = 1
MAX_ELEMENTS = 1 << 40


class WireError(Exception):
    pass


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise WireError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: memoryview, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value or payload start, payload end) of each field."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, wire, value, pos
        elif wire == 1:
            yield number, wire, pos, pos + 8
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise WireError("a field runs past its message")
            yield number, wire, pos, pos + length
            pos += length
        elif wire == 5:
            yield number, wire, pos, pos + 4
            pos += 4
        else:
            raise WireError(f"wire type {wire}")
    if pos != end:
        raise WireError("a message runs past its end")


@dataclass
class _Initializer:
    name: str = ""
    dims: list[int] = field(default_factory=list)
    data_type: int = 0
    raw: tuple[int, int] | None = None
    packed: dict[int, tuple[int, int]] = field(default_factory=dict)
    external: dict[str, str] = field(default_factory=dict)
    location: int = 0


def _parse_initializer(buf: memoryview, start: int, end: int) -> _Initializer:
    tensor = _Initializer()
    for number, wire, a, b in _fields(buf, start, end):
        if number == T_DIMS and wire == 0:
            tensor.dims.append(a)
        elif number == T_DIMS and wire == 2:
            pos = a
            while pos < b:
                value, pos = _varint(buf, pos)
                tensor.dims.append(value)
        elif number == T_TYPE and wire == 0:
            tensor.data_type = a
        elif number == T_NAME and wire == 2:
            tensor.name = bytes(buf[a:b]).decode("utf-8", errors="replace")
        elif number == T_RAW and wire == 2:
            tensor.raw = (a, b)
        elif number in (T_FLOAT, T_DOUBLE, T_INT32) and wire == 2:
            tensor.packed[number] = (a, b)
        elif number == T_EXTERNAL and wire == 2:
            entry = {n: bytes(buf[x:y]).decode("utf-8", "replace") for n, w, x, y in
                     _fields(buf, a, b) if w == 2}  # fmt: skip
            tensor.external[entry.get(1, "")] = entry.get(2, "")
        elif number == T_LOCATION and wire == 0:
            tensor.location = a
    return tensor


def _initializers(buf: memoryview) -> Iterator[_Initializer]:
    for number, wire, a, b in _fields(buf, 0, len(buf)):
        if number == MODEL_GRAPH and wire == 2:
            for g_number, g_wire, x, y in _fields(buf, a, b):
                if g_number == GRAPH_INITIALIZER and g_wire == 2:
                    yield _parse_initializer(buf, x, y)


def _external_array(tensor: _Initializer, model: Path, dtype: np.dtype, count: int) -> np.ndarray:
    location = tensor.external.get("location", "")
    folder = model.parent.resolve()
    target = (folder / location).resolve()
    if not location or Path(location).is_absolute() or not target.is_relative_to(folder):
        raise InputError(
            f"{model}: initializer {tensor.name!r} keeps its data at {location!r}, outside the "
            "model's folder; refusing to read it"
        )
    try:
        offset = int(tensor.external.get("offset", "0") or 0)
        length = int(tensor.external.get("length", "0") or 0) or count * dtype.itemsize
        size = target.stat().st_size
    except ValueError:
        raise InputError(f"{model}: initializer {tensor.name!r} has a malformed offset") from None
    except OSError as exc:
        raise InputError(
            f"{model}: external data {location!r} of {tensor.name!r}: {exc.strerror}"
        ) from None
    if length != count * dtype.itemsize or offset < 0 or offset + length > size:
        raise InputError(
            f"{model}: external data of {tensor.name!r} ({length:,} bytes at {offset:,} in "
            f"{location}) does not fit its shape or the file"
        )
    return np.memmap(target, dtype=dtype, mode="r", offset=offset, shape=(count,))


def _inline_array(
    tensor: _Initializer, buf: memoryview, dtype: np.dtype, bf16: bool, count: int
) -> np.ndarray:
    if tensor.raw is not None:
        a, b = tensor.raw
        if b - a != count * dtype.itemsize:
            raise InputError(f"raw data of {tensor.name!r} does not match its shape")
        return np.frombuffer(buf[a:b], dtype=dtype)
    if tensor.data_type in (1, 11):
        a, b = tensor.packed.get(T_FLOAT if tensor.data_type == 1 else T_DOUBLE, (0, 0))
        values = np.frombuffer(buf[a:b], dtype=np.dtype(dtype).newbyteorder("<"))
    else:  # float16 / bfloat16 bit patterns stored one per int32 varint
        a, b = tensor.packed.get(T_INT32, (0, 0))
        patterns = []
        pos = a
        while pos < b:
            value, pos = _varint(buf, pos)
            patterns.append(value)
        values = np.asarray(patterns, dtype=np.uint16)
        values = values if bf16 else values.view(np.float16)
    if values.size != count:
        raise InputError(f"the data of {tensor.name!r} does not match its shape")
    return values


def read_onnx(path: Path) -> Iterator[WeightTensor]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    with handle:
        try:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot map the file ({exc})") from None
    # the map outlives the file handle; it is unmapped when the last view of it is freed
    try:
        yield from _weights(path, memoryview(mapped))
    except WireError as exc:
        raise InputError(
            f"{path}: not a readable ONNX model ({exc}); is the file truncated?"
        ) from None


def _weights(path: Path, buf: memoryview) -> Iterator[WeightTensor]:
    for tensor in _initializers(buf):
        if tensor.data_type not in FLOAT_TYPES or is_adapter(tensor.name):
            continue
        kind = kind_from_shape(tensor.name, tuple(tensor.dims))
        if kind is None:
            continue
        count = math.prod(tensor.dims)
        if count > MAX_ELEMENTS:
            raise InputError(f"{path}: initializer {tensor.name!r} declares {count:,} elements")
        dtype_spec, bf16 = FLOAT_TYPES[tensor.data_type]
        dtype = np.dtype(dtype_spec)
        if tensor.location == EXTERNAL:
            flat = _external_array(tensor, path, dtype, count)
        else:
            try:
                flat = _inline_array(tensor, buf, dtype, bf16, count)
            except InputError as exc:
                raise InputError(f"{path}: {exc}") from None
        layer = tensor.name[: -len(".weight")] if tensor.name.endswith(".weight") else tensor.name
        yield WeightTensor(layer, kind, flat.reshape(tensor.dims), bfloat16=bf16)
