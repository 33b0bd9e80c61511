"""Keras weights through h5py, without TensorFlow: ``.keras`` archives (their stored
``model.weights.h5`` member is opened in place), Keras 3 ``.weights.h5`` files and Keras 2/3
``.h5`` models (``model_weights`` group, ``model_config`` attribute).

A layer's class and trainable flag come from the model config (``config.json`` or the
``model_config`` attribute), its kernel from the first variable (Keras 3) or the dataset named
``kernel`` / ``embeddings`` (``.h5``). Only hard links are followed; external links, soft links,
virtual datasets and datasets with external storage are never opened. A contiguous,
uncompressed dataset is memory-mapped at its file offset; a chunked or compressed one is read
whole, one layer at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from overfitlint.errors import InputError
from overfitlint.readers.archive import open_zip
from overfitlint.spectra.tensors.archive import MemberFile, stored_offset
from overfitlint.spectra.tensors.record import WeightTensor, is_float_dtype, kind_from_class

KERNEL_NAMES = ("kernel", "kernel:0", "embeddings", "embeddings:0")
CONFIG_LIMIT = 64 << 20


def _layer_configs(config: Any) -> dict[str, tuple[str, bool]]:
    """Layer name -> (class name, trainable), nested models and wrappers included."""
    found: dict[str, tuple[str, bool]] = {}

    def visit(node: Any, parent_trainable: bool) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item, parent_trainable)
            return
        if not isinstance(node, dict):
            return
        inner = node.get("config")
        if isinstance(node.get("class_name"), str) and isinstance(inner, dict):
            trainable = parent_trainable and inner.get("trainable", True) is not False
            name = inner.get("name")
            if isinstance(name, str):
                found.setdefault(name, (node["class_name"], trainable))
            for value in inner.values():
                visit(value, trainable)
            return
        for value in node.values():
            visit(value, parent_trainable)

    visit(config, True)
    return found


def _hard_children(group: Any) -> Iterator[tuple[str, Any]]:
    import h5py

    for name in group:
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.HardLink):
            yield name, group[name]


def _array(dataset: Any, path: Path, base_offset: int) -> np.ndarray | None:
    if dataset.is_virtual or dataset.id.get_create_plist().get_external_count() > 0:
        return None
    if not is_float_dtype(dataset.dtype):
        return None
    offset = dataset.id.get_offset()
    plist = dataset.id.get_create_plist()
    if offset is not None and dataset.chunks is None and plist.get_nfilters() == 0:
        return np.memmap(
            path, dtype=dataset.dtype, mode="r", offset=base_offset + offset, shape=dataset.shape
        )
    return dataset[()]


def _keras3_weights(
    handle: Any, path: Path, base_offset: int, layers: dict[str, tuple[str, bool]]
) -> Iterator[WeightTensor]:
    import h5py

    def visit(group: Any, trail: str) -> Iterator[WeightTensor]:
        for name, child in _hard_children(group):
            if not isinstance(child, h5py.Group):
                continue
            if name == "vars":
                yield from _keras3_layer(child, trail)
            else:
                yield from visit(child, f"{trail}/{name}" if trail else name)

    def _keras3_layer(variables: Any, trail: str) -> Iterator[WeightTensor]:
        group_name = trail.rsplit("/", 1)[-1]
        user_name = variables.attrs.get("name", group_name)
        user_name = user_name.decode() if isinstance(user_name, bytes) else str(user_name)
        class_name, trainable = layers.get(user_name, (group_name, None))
        link = variables.get("0", getlink=True)
        if not isinstance(link, h5py.HardLink) or not isinstance(variables["0"], h5py.Dataset):
            return
        kind = kind_from_class(class_name, tuple(variables["0"].shape))
        if kind is None:
            return
        array = _array(variables["0"], path, base_offset)
        if array is not None:
            yield WeightTensor(
                user_name, kind, array, trainable=trainable if layers else None, kernel_first=True
            )

    yield from visit(handle, "")


def _keras_h5_weights(
    group: Any, path: Path, layers: dict[str, tuple[str, bool]]
) -> Iterator[WeightTensor]:
    import h5py

    for layer_name, layer_group in _hard_children(group):
        if not isinstance(layer_group, h5py.Group):
            continue
        kernels: list[tuple[str, Any]] = []
        layer_group.visititems(
            lambda name, obj, found=kernels: (
                found.append((name, obj))
                if isinstance(obj, h5py.Dataset) and name.rsplit("/", 1)[-1] in KERNEL_NAMES
                else None
            )
        )
        class_name, trainable = layers.get(layer_name, (layer_name, None))
        for inner, dataset in kernels:
            if _reaches_outside(layer_group, inner):
                continue
            kind = kind_from_class(class_name, tuple(dataset.shape))
            if kind is None:
                continue
            array = _array(dataset, path, 0)
            if array is not None:
                name = layer_name if len(kernels) == 1 else f"{layer_name}/{inner}"
                yield WeightTensor(
                    name, kind, array, trainable=trainable if layers else None, kernel_first=True
                )


def _reaches_outside(group: Any, inner: str) -> bool:
    """True when any step of ``inner`` below ``group`` is not a hard link."""
    import h5py

    node = group
    for part in inner.split("/"):
        if not isinstance(node.get(part, getlink=True), h5py.HardLink):
            return True
        node = node[part]
    return False


def _open_h5(source: Any, path: Path) -> Any:
    import h5py

    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable HDF5 file ({exc})") from None


def read_keras_h5(path: Path) -> Iterator[WeightTensor]:
    with _open_h5(path, path) as handle:
        if "model_weights" in handle or "model_config" in handle.attrs:
            raw = handle.attrs.get("model_config")
            readable = isinstance(raw, str | bytes) and len(raw) < CONFIG_LIMIT
            config = json.loads(raw) if readable else {}
            group = handle.get("model_weights", handle)
            yield from _keras_h5_weights(group, path, _layer_configs(config))
        else:
            yield from _keras3_weights(handle, path, 0, {})


def read_keras_archive(path: Path) -> Iterator[WeightTensor]:
    archive = open_zip(path, "Keras archive")
    try:
        try:
            info = archive.getinfo("model.weights.h5")
        except KeyError:
            raise InputError(f"{path}: the Keras archive holds no model.weights.h5") from None
        layers: dict[str, tuple[str, bool]] = {}
        if "config.json" in archive.namelist():
            config_info = archive.getinfo("config.json")
            if config_info.file_size > CONFIG_LIMIT:
                raise InputError(f"{path}: config.json is {config_info.file_size:,} bytes")
            try:
                layers = _layer_configs(json.loads(archive.read(config_info)))
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
                raise InputError(f"{path}: config.json is not valid JSON ({exc})") from None
        offset = stored_offset(archive, info, path)
    finally:
        archive.close()
    member = MemberFile(path, offset, info.file_size)
    try:
        with _open_h5(member, path) as handle:
            yield from _keras3_weights(handle, path, offset, layers)
    finally:
        member.close()
