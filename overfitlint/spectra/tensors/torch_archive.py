"""PyTorch zip archives (``torch.save`` state dicts and checkpoints, Lightning ``.ckpt``, whole
pickled modules, TorchScript) read without torch and without running anything.

``data.pkl`` is parsed by the data unpickler the model loaders use
(``overfitlint.readers.torch_pickle``); each tensor it describes becomes a numpy view (offset,
size, stride) onto the memory-mapped ``data/<key>`` member that holds its storage, so a layer's
bytes are read only when its spectrum is taken.

Which tensors are layer weights: where the pickle names the module class (a pickled
``nn.Module``, TorchScript), the ``weight`` of a Linear/Conv1d/Conv2d/Embedding-like class, as
WeightWatcher's PyTorch iterator picks them; in a state dict, WeightWatcher's state-dict rule
(``.weight`` entries by rank). A checkpoint's model weights are taken from its ``state_dict`` /
``model_state_dict`` / ``model`` entry; optimizer moments (same shapes) are never read as layers.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from overfitlint.errors import InputError
from overfitlint.readers.archive import open_zip, read_member
from overfitlint.readers.torch_pickle import MAX_PICKLE, StandIn, TensorRef, unpickle
from overfitlint.spectra.tensors.archive import map_bytes, stored_offset
from overfitlint.spectra.tensors.record import (
    WeightTensor,
    is_adapter,
    kind_from_class,
    select_state_dict,
)

MODEL_KEYS = ("state_dict", "model_state_dict", "model", "module", "net", "network")
NOT_MODEL = ("optim", "scheduler", "lr_sched", "scaler", "loops", "callbacks")
MAX_DEPTH = 200
# the storage dtypes whose spectra are taken: (numpy dtype, raw bfloat16 bit patterns)
FLOAT_STORAGES: dict[str, tuple[Any, bool]] = {
    "float64": (np.float64, False),
    "float32": (np.float32, False),
    "float16": (np.float16, False),
    "bfloat16": (np.uint16, True),
}


@dataclass
class FoundTensor:
    path: str
    tensor: TensorRef
    owner: str | None
    """Class of the module that holds it (pickled modules, TorchScript); None in a state dict."""


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _walk(obj: Any, path: str, found: list[FoundTensor], seen: set[int], depth: int) -> None:
    if depth > MAX_DEPTH or id(obj) in seen:
        return
    if isinstance(obj, TensorRef):
        found.append(FoundTensor(path, obj, None))
        return
    if isinstance(obj, dict | list | tuple | StandIn):
        seen.add(id(obj))
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(key, str | int):
                _walk(value, _join(path, key), found, seen, depth + 1)
    elif isinstance(obj, list | tuple):
        for index, value in enumerate(obj):
            _walk(value, _join(path, index), found, seen, depth + 1)
    elif isinstance(obj, StandIn):
        _walk_stand_in(obj, path, found, seen, depth)


def _walk_stand_in(
    obj: StandIn, path: str, found: list[FoundTensor], seen: set[int], depth: int
) -> None:
    state = obj.state
    if isinstance(state.get("_parameters"), dict):
        # a pickled nn.Module: its parameters, then its submodules by name
        for name, value in state["_parameters"].items():
            if isinstance(value, TensorRef):
                found.append(FoundTensor(_join(path, name), value, obj.full_name))
        modules = state.get("_modules")
        for name, child in (modules if isinstance(modules, dict) else {}).items():
            _walk(child, _join(path, name), found, seen, depth + 1)
        return
    if obj.full_name.startswith("__torch__."):
        # a TorchScript module: attributes by name, tensors owned by this class
        for name, value in state.items():
            if isinstance(value, TensorRef):
                found.append(FoundTensor(_join(path, name), value, obj.full_name))
            else:
                _walk(value, _join(path, name), found, seen, depth + 1)
        return
    for part in (state, obj.set_items, obj.appended):
        if part:
            _walk(part, path, found, seen, depth + 1)


def _model_part(top: Any) -> Any:
    if not isinstance(top, dict):
        return top
    for key in MODEL_KEYS:
        if isinstance(top.get(key), dict | StandIn):
            return top[key]
    return {
        key: value
        for key, value in top.items()
        if not (isinstance(key, str) and any(word in key.lower() for word in NOT_MODEL))
    }


def _select(found: list[FoundTensor]) -> list[tuple[FoundTensor, str, str]]:
    floating = [
        item
        for item in found
        if item.tensor.storage is not None and item.tensor.storage.dtype in FLOAT_STORAGES
    ]
    chosen: list[tuple[FoundTensor, str, str]] = []
    by_path = {item.path: item for item in floating if item.owner is None}
    for key, layer, kind in select_state_dict(
        [(item.path, item.tensor.shape) for item in floating if item.owner is None]
    ):
        chosen.append((by_path[key], layer, kind))
    for item in floating:
        if item.owner is None or not item.path.endswith("weight") or is_adapter(item.path):
            continue
        if item.path != "weight" and not item.path.endswith(".weight"):
            continue
        kind = kind_from_class(item.owner, item.tensor.shape)
        if kind is not None:
            chosen.append((item, item.path[: -len("weight")].rstrip("."), kind))
    return chosen


class TorchArchive:
    """An open PyTorch zip; ``weights()`` yields the layer weights one at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.archive = open_zip(path, "PyTorch archive")
        names = self.archive.namelist()
        pickles = [name for name in names if name.endswith("data.pkl") and name.count("/") == 1]
        if not pickles:
            self.archive.close()
            raise InputError(f"{path}: a zip archive without data.pkl is no PyTorch archive")
        self.prefix = pickles[0].split("/", 1)[0]
        self.torchscript = any(name.startswith(f"{self.prefix}/code/") for name in names)
        order = f"{self.prefix}/byteorder"
        if order in names and self.archive.read(order).strip() not in (b"little", b""):
            self.archive.close()
            raise InputError(f"{path}: a big-endian PyTorch archive; re-save it on this machine")
        try:
            data = read_member(self.archive, pickles[0], path, MAX_PICKLE)
        except InputError:
            self.archive.close()
            raise
        self.top = unpickle(data, f"{path} ({pickles[0]})")
        self._storages: dict[str, np.ndarray] = {}

    def close(self) -> None:
        self.archive.close()

    def _storage(self, key: str, dtype: Any, numel: int) -> np.ndarray:
        name = f"{self.prefix}/data/{key}"
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise InputError(f"{self.path}: the archive has no storage member {name}") from None
        item = np.dtype(dtype).itemsize
        if info.file_size < numel * item:
            raise InputError(
                f"{self.path}: storage {name} holds {info.file_size:,} bytes, fewer than the "
                f"{numel * item:,} its tensors need; the file is damaged"
            )
        offset = stored_offset(self.archive, info, self.path)
        return map_bytes(self.path, offset, numel * item).view(dtype)

    def array(self, tensor: TensorRef) -> np.ndarray:
        storage = tensor.storage
        assert storage is not None  # _select keeps tensors with a storage only
        shape, stride = tensor.shape, tensor.stride
        if len(shape) != len(stride) or any(v < 0 for v in (*stride, tensor.offset)):
            raise InputError(
                f"{self.path}: a tensor record with a malformed offset, size or stride; "
                "the file is damaged"
            )
        dtype = np.dtype(FLOAT_STORAGES[storage.dtype][0])
        numel = storage.numel
        base = self._storage(storage.key, dtype, numel)
        extent = tensor.offset + sum((n - 1) * s for n, s in zip(shape, stride, strict=True))
        if any(n == 0 for n in shape):
            return np.zeros(shape, dtype=dtype)
        if extent >= numel:
            raise InputError(
                f"{self.path}: a tensor reaches past the end of its storage "
                f"{storage.key}; the file is damaged"
            )
        return np.lib.stride_tricks.as_strided(
            base[tensor.offset :],
            shape=shape,
            strides=tuple(s * dtype.itemsize for s in stride),
            writeable=False,
        )

    def weights(self) -> Iterator[WeightTensor]:
        found: list[FoundTensor] = []
        _walk(_model_part(self.top), "", found, set(), 0)
        for item, layer, kind in _select(found):
            tensor = item.tensor
            trainable = tensor.requires_grad if (tensor.parameter or self.torchscript) else None
            yield WeightTensor(
                layer,
                kind,
                self.array(tensor),
                trainable=trainable,
                bfloat16=FLOAT_STORAGES[tensor.storage.dtype][1],
            )


def read_torch_archive(path: Path) -> Iterator[WeightTensor]:
    try:
        archive = TorchArchive(path)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{path}: not a readable PyTorch archive ({exc})") from None
    try:
        yield from archive.weights()
    finally:
        archive.close()
