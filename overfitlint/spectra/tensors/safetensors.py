"""safetensors: the JSON header gives each tensor's dtype, shape and byte range; the bytes are
memory-mapped (numpy.memmap), so no framework is needed and only the layer being analysed is
paged in."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from overfitlint.errors import InputError
from overfitlint.spectra.tensors.record import WeightTensor, select_state_dict

MAX_HEADER = 100 << 20
DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def _header(path: Path) -> tuple[dict, int]:
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            prefix = handle.read(8)
            length = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
            if length < 2 or length > MAX_HEADER or length > size - 8:
                raise InputError(f"{path}: not a safetensors file (bad header length)")
            raw = handle.read(length)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{path}: the safetensors header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise InputError(f"{path}: the safetensors header is not a JSON object")
    return header, 8 + length


def read_safetensors(path: Path) -> Iterator[WeightTensor]:
    header, data_start = _header(path)
    header.pop("__metadata__", None)
    data_size = path.stat().st_size - data_start
    entries: dict[str, tuple[str, tuple[int, ...], int, int]] = {}
    for key, entry in header.items():
        if not isinstance(entry, dict):
            raise InputError(f"{path}: safetensors entry {key!r} is not an object")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in DTYPES:
            continue  # integer, boolean and 8-bit tensors are no layer weights we analyse
        if (
            not isinstance(shape, list)
            or not all(isinstance(d, int) and d >= 0 for d in shape)
            or not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) for o in offsets)
        ):
            raise InputError(f"{path}: safetensors entry {key!r} has a malformed shape or offsets")
        begin, end = offsets
        item = np.dtype(DTYPES[dtype]).itemsize
        if not 0 <= begin <= end <= data_size or end - begin != math.prod(shape) * item:
            raise InputError(
                f"{path}: tensor {key!r} claims bytes {begin}-{end} that do not fit its shape "
                f"{shape} or the file; the file is truncated or damaged"
            )
        entries[key] = (dtype, tuple(shape), begin, end)
    in_file_order = sorted(entries, key=lambda key: entries[key][2])
    selected = select_state_dict([(key, entries[key][1]) for key in in_file_order])
    for key, layer, kind in selected:
        dtype, shape, begin, end = entries[key]
        array = (
            np.memmap(path, dtype=DTYPES[dtype], mode="r", offset=data_start + begin, shape=shape)
            if end > begin
            else np.zeros(shape, dtype=DTYPES[dtype])
        )
        yield WeightTensor(layer, kind, array, bfloat16=dtype == "BF16")
