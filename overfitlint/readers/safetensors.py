"""safetensors files: each tensor's dtype, shape and byte range from the JSON header alone.

The format is an 8-byte little-endian header length, a JSON header
(``{name: {dtype, shape, data_offsets}, "__metadata__": {...}}``), then the raw
bytes. Only the header is read here (no framework, no tensor bytes); every entry is
checked against the file (offsets inside the data, sizes that match the shape).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overfitlint.errors import InputError
from overfitlint.readers import MAX_TENSOR_ELEMENTS

MAX_HEADER = 100 << 20  # the reference implementation's own limit
ITEM_BITS = {
    "F64": 64,
    "F32": 32,
    "F16": 16,
    "BF16": 16,
    "F8_E4M3": 8,
    "F8_E5M2": 8,
    "F8_E8M0": 8,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "F4": 4,
    "I64": 64,
    "I32": 32,
    "I16": 16,
    "I8": 8,
    "U64": 64,
    "U32": 32,
    "U16": 16,
    "U8": 8,
    "BOOL": 8,
    "C64": 64,
}


@dataclass(frozen=True)
class Entry:
    """One tensor of the file: ``begin`` and ``end`` are offsets into the data section."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def floating(self) -> bool:
        return self.dtype.startswith(("F", "BF"))


@dataclass(frozen=True)
class Header:
    entries: list[Entry]
    """In the header's order."""
    data_start: int
    """File offset of the data section."""
    metadata: dict[str, Any] = field(default_factory=dict)


def read_header(path: Path) -> Header:
    """The checked header of a safetensors file."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise InputError(f"{path}: truncated safetensors file (no header length)")
            length = int.from_bytes(prefix, "little")
            if length > MAX_HEADER or length > size - 8:
                raise InputError(
                    f"{path}: safetensors header claims {length:,} bytes in a "
                    f"{size:,}-byte file; the file is truncated or not safetensors"
                )
            raw = handle.read(length)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{path}: the safetensors header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise InputError(f"{path}: the safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    data_size = size - 8 - length
    entries = [_entry(path, name, entry, data_size) for name, entry in header.items()]
    return Header(entries, 8 + length, metadata if isinstance(metadata, dict) else {})


def _entry(path: Path, name: str, entry: Any, data_size: int) -> Entry:
    if not isinstance(entry, dict):
        raise InputError(f"{path}: safetensors entry {name!r} is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in ITEM_BITS:
        raise InputError(f"{path}: tensor {name!r} has an unknown dtype {dtype!r}")
    if (
        not isinstance(shape, list)
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
        or not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
    ):
        raise InputError(f"{path}: tensor {name!r} has a malformed shape or data_offsets")
    count = math.prod(shape) if shape else 1
    if count > MAX_TENSOR_ELEMENTS:
        raise InputError(f"{path}: tensor {name!r} declares shape {shape}; the file is corrupt")
    begin, end = offsets
    expected = math.ceil(count * ITEM_BITS[dtype] / 8)
    if not 0 <= begin <= end <= data_size or end - begin != expected:
        raise InputError(
            f"{path}: tensor {name!r} (shape {shape}, {dtype}) does not fit its data "
            f"offsets {offsets}; the file is truncated or corrupt"
        )
    return Entry(name, dtype, tuple(shape), begin, end)
