"""safetensors files: parameter names and shapes from the JSON header alone.

The format is an 8-byte little-endian header length, a JSON header
(``{name: {dtype, shape, data_offsets}, "__metadata__": {...}}``), then the raw
bytes. Only the header is read (no framework, no tensor bytes); every entry is
checked against the file (offsets inside the data, sizes that match the shape).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from overfitlint.errors import InputError
from overfitlint.facts import ModelFacts, Provenance, Unknown
from overfitlint.loaders.models.named_tensors import MAX_TENSOR_ELEMENTS, NamedTensor, group_layers

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
FRAMEWORKS = {"pt": "pytorch", "tf": "tensorflow", "flax": "flax", "np": "numpy", "mlx": "mlx"}


def read_header(path: Path) -> tuple[dict, int]:
    """The parsed header and the size of the data section."""
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
    return header, size - 8 - length


def tensors(path: Path) -> tuple[list[NamedTensor], dict]:
    header, data_size = read_header(path)
    metadata = header.pop("__metadata__", None)
    found = []
    for name, entry in header.items():
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
        floating = dtype.startswith(("F", "BF"))
        found.append(NamedTensor(name, tuple(shape), floating, (begin, end, tuple(shape))))
    return found, metadata if isinstance(metadata, dict) else {}


def load_safetensors(path: Path) -> ModelFacts:
    found, metadata = tensors(path)
    if not found:
        raise InputError(f"{path}: the safetensors file holds no tensors")
    layers, notes = group_layers(found)
    framework = FRAMEWORKS.get(str(metadata.get("format", "")), "safetensors")
    details = {k: str(v)[:200] for k, v in list(metadata.items())[:20]}
    return ModelFacts(
        framework=framework,
        source=str(path),
        format="safetensors",
        layers=layers,
        provenance=Provenance(producer="safetensors", details={"metadata": details}),
        optimizer=Unknown(
            "a safetensors file holds tensors only, no optimizer",
            "Check the training checkpoint (torch.save with the optimizer's state_dict), "
            "or pass --weight-decay VALUE.",
        ),
        dropout_visible=Unknown(
            "a safetensors file holds parameters only, no architecture: dropout cannot be seen",
            "Check the model itself (TorchScript, torch.export .pt2, .keras), or a factory "
            f"that builds it: overfitlint check mypkg.models:build_model --weights {path}",
        ),
        notes=notes,
    )
