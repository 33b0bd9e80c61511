"""ONNX initializers, inline or external, memory-mapped where they lie.

The model file is memory-mapped and decoded by ``overfitlint.onnx_wire`` (the loader's wire
reader: ModelProto.graph -> GraphProto.initializer -> TensorProto, with where each tensor's
values lie in the file), so an inline tensor's ``raw_data`` becomes a numpy view
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
from pathlib import Path

import numpy as np

from overfitlint import onnx_wire
from overfitlint import protowire as wire
from overfitlint.errors import InputError
from overfitlint.onnx_wire import DOUBLE_DATA, FLOAT_DATA, INT32_DATA, RAW_DATA, Tensor
from overfitlint.spectra.tensors.record import WeightTensor, is_adapter, kind_from_shape

# TensorProto.DataType -> (numpy dtype, bfloat16 bit patterns)
FLOAT_TYPES = {1: (np.float32, False), 10: (np.float16, False), 11: (np.float64, False),
               16: (np.uint16, True)}  # fmt: skip
MAX_ELEMENTS = 1 << 40


def _external_array(tensor: Tensor, model: Path, dtype: np.dtype, count: int) -> np.ndarray:
    external = {entry.key: entry.value for entry in tensor.external_data}
    location = external.get("location", "")
    folder = model.parent.resolve()
    target = (folder / location).resolve()
    if not location or Path(location).is_absolute() or not target.is_relative_to(folder):
        raise InputError(
            f"{model}: initializer {tensor.name!r} keeps its data at {location!r}, outside the "
            "model's folder; refusing to read it"
        )
    try:
        offset = int(external.get("offset", "0") or 0)
        length = int(external.get("length", "0") or 0) or count * dtype.itemsize
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
    tensor: Tensor, buf: memoryview, dtype: np.dtype, bf16: bool, count: int
) -> np.ndarray:
    if RAW_DATA in tensor.data_spans:
        a, b = tensor.data_spans[RAW_DATA]
        if b - a != count * dtype.itemsize:
            raise InputError(f"raw data of {tensor.name!r} does not match its shape")
        return np.frombuffer(buf[a:b], dtype=dtype)
    if tensor.data_type in (1, 11):
        a, b = tensor.data_spans.get(FLOAT_DATA if tensor.data_type == 1 else DOUBLE_DATA, (0, 0))
        values = np.frombuffer(buf[a:b], dtype=np.dtype(dtype).newbyteorder("<"))
    else:  # float16 / bfloat16 bit patterns stored one per int32 varint
        a, b = tensor.data_spans.get(INT32_DATA, (0, 0))
        patterns = []
        pos = a
        while pos < b:
            value, pos = wire.read_varint(buf, pos, b)
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
    except wire.WireError as exc:
        raise InputError(
            f"{path}: not a readable ONNX model ({exc}); is the file truncated?"
        ) from None


def _weights(path: Path, buf: memoryview) -> Iterator[WeightTensor]:
    graph = onnx_wire.read_model(buf).graph
    for tensor in graph.initializer if graph is not None else ():
        if tensor.data_type not in FLOAT_TYPES or is_adapter(tensor.name):
            continue
        kind = kind_from_shape(tensor.name, tuple(tensor.dims))
        if kind is None:
            continue
        count = math.prod(tensor.dims)
        if count > MAX_ELEMENTS or min(tensor.dims) < 0:
            raise InputError(
                f"{path}: initializer {tensor.name!r} declares shape {tensor.dims}; not a model"
            )
        dtype_spec, bf16 = FLOAT_TYPES[tensor.data_type]
        dtype = np.dtype(dtype_spec)
        if tensor.data_location == onnx_wire.EXTERNAL:
            flat = _external_array(tensor, path, dtype, count)
        else:
            try:
                flat = _inline_array(tensor, buf, dtype, bf16, count)
            except InputError as exc:
                raise InputError(f"{path}: {exc}") from None
        layer = tensor.name[: -len(".weight")] if tensor.name.endswith(".weight") else tensor.name
        yield WeightTensor(layer, kind, flat.reshape(tensor.dims), bfloat16=bf16)
