"""safetensors: the checked JSON header (``overfitlint.readers.safetensors``) gives each
tensor's dtype, shape and byte range; the bytes are memory-mapped (numpy.memmap), so no
framework is needed and only the layer being analysed is paged in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from overfitlint.readers.safetensors import read_header
from overfitlint.spectra.tensors.record import WeightTensor, select_state_dict

# integer, boolean and 8-bit tensors are no layer weights we analyse
DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def read_safetensors(path: Path) -> Iterator[WeightTensor]:
    header = read_header(path)
    entries = {entry.name: entry for entry in header.entries if entry.dtype in DTYPES}
    in_file_order = sorted(entries.values(), key=lambda entry: entry.begin)
    selected = select_state_dict([(entry.name, entry.shape) for entry in in_file_order])
    for key, layer, kind in selected:
        entry = entries[key]
        dtype, offset = DTYPES[entry.dtype], header.data_start + entry.begin
        array = (
            np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=entry.shape)
            if entry.end > entry.begin
            else np.zeros(entry.shape, dtype=dtype)
        )
        yield WeightTensor(layer, kind, array, bfloat16=entry.dtype == "BF16")
