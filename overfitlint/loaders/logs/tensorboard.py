"""TensorBoard event files: a run folder (searched for event files) or one file.

Events are decoded with the ``tensorboard`` package's own protobuf classes
(``tensorboard.compat.proto.event_pb2``) and tensor decoder, so both the legacy
``simple_value`` scalars (PyTorch's SummaryWriter, TF1) and TF2's tensor scalars
(Keras' TensorBoard callback, ``tf.summary.scalar``) are read. The records around
them follow TFRecord framing (length, masked CRC-32C, payload, masked CRC-32C); they
are walked here directly and every CRC is checked, because TensorBoard's
``EventFileLoader`` without TensorFlow walks them ~25x slower (a pure-Python CRC
and a read call per field) and its ``EventAccumulator`` downsamples scalars.
Importing this module never imports TensorFlow.

Series are named by tag, prefixed with the run's sub-folder when the folder holds
several (Keras writes ``train/`` and ``validation/``: ``validation/epoch_loss``).
The x axis is the step; it is an epoch when the tags say so (Keras' ``epoch_*``
tags are written per epoch) or when an ``epoch`` tag maps steps to epochs
(Lightning, Hugging Face).
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path

import numpy as np

from overfitlint.curves import Curves, Series
from overfitlint.errors import InputError
from overfitlint.formats import crc32c_python, event_files, masked_crc
from overfitlint.loaders.logs.metric_names import choose_pairs, is_learning_rate
from overfitlint.loaders.logs.table import select_run

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")


def _crc32c_function():
    try:
        import google_crc32c

        if google_crc32c.implementation == "c":
            return google_crc32c.value
    except ImportError:
        pass
    return crc32c_python


def _records(data: bytes, crc) -> tuple[list[bytes], str | None]:
    """Payloads of the records, and what stopped the walk early (None at a clean end)."""
    records = []
    position, size = 0, len(data)
    unpack64, unpack32 = _U64.unpack_from, _U32.unpack_from
    while position < size:
        if position + 12 > size:
            return records, f"cut short at byte {position}"
        (length,) = unpack64(data, position)
        if masked_crc(data[position : position + 8], crc) != unpack32(data, position + 8)[0]:
            return records, f"a damaged record header at byte {position}"
        start = position + 12
        end = start + length
        if end + 4 > size:
            return records, f"cut short at byte {position}"
        payload = data[start:end]
        if masked_crc(payload, crc) != unpack32(data, end)[0]:
            return records, f"a damaged record at byte {position}"
        records.append(payload)
        position = end + 4
    return records, None


def _read_records(file: Path, crc) -> tuple[list[bytes], str | None]:
    """The file's records, walked over a memory map: a huge (or sparse) event file is never
    read into memory whole, and a damaged start stops the walk at once."""
    try:
        with file.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                return [], None
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _records(data, crc)
    except (OSError, ValueError) as exc:
        raise InputError(f"{file}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def load_tensorboard(
    path: Path, train_metric: str | None = None, val_metric: str | None = None
) -> Curves:
    try:
        from tensorboard.compat.proto import event_pb2
        from tensorboard.util import tensor_util
    except ImportError:
        raise InputError(
            f"{path}: reading TensorBoard event files needs the tensorboard package; "
            "pip install 'overfitlint[tensorboard]'"
        ) from None
    files = event_files(path)
    if not files:
        raise InputError(f"{path}: no TensorBoard event files in this folder")
    crc = _crc32c_function()
    root = path if path.is_dir() else path.parent
    runs = sorted({f.parent for f in files})
    prefix = len(runs) > 1
    notes: list[str] = []
    tags: dict[str, dict[str, list]] = {}
    plugin_of: dict[str, str] = {}
    parse = event_pb2.Event.FromString
    for index, file in enumerate(files):
        records, stopped = _read_records(file, crc)
        if stopped:
            if not records and index == 0 and len(files) == 1:
                raise InputError(f"{file}: not a readable TensorBoard event file ({stopped})")
            notes.append(f"{file.name}: {stopped}; the {len(records)} records before it are read")
        run = file.parent.relative_to(root).as_posix() if prefix else ""
        for number, payload in enumerate(records, start=1):
            try:
                event = parse(payload)
            except Exception:
                notes.append(f"{file.name}: record {number} is not a TensorBoard event; skipped")
                continue
            if not event.HasField("summary"):
                continue
            for value in event.summary.value:
                name = f"{run}/{value.tag}" if run and run != "." else value.tag
                if value.HasField("metadata") and value.metadata.plugin_data.plugin_name:
                    plugin_of.setdefault(name, value.metadata.plugin_data.plugin_name)
                kind = value.WhichOneof("value")
                if kind == "simple_value":
                    number_value = value.simple_value
                elif kind == "tensor" and plugin_of.get(name, "scalars") == "scalars":
                    try:
                        array = tensor_util.make_ndarray(value.tensor)
                    except Exception:
                        continue
                    if array.size != 1 or array.dtype.kind not in "fiu":
                        continue
                    number_value = float(array.reshape(-1)[0])
                else:
                    continue
                bucket = tags.setdefault(name, {"x": [], "v": [], "f": [], "r": []})
                bucket["x"].append(event.step)
                bucket["v"].append(number_value)
                bucket["f"].append(index)
                bucket["r"].append(number)
    if not tags:
        raise InputError(f"{path}: the event files hold no scalar values (no tags to judge)")
    return _curves(path, files, tags, notes, train_metric, val_metric)


def _curves(path, files, tags, notes, train_metric, val_metric) -> Curves:
    pairing = choose_pairs(list(tags), str(path), train_metric, val_metric)
    notes.extend(pairing.notes)
    series: dict[str, Series] = {}
    reordered = []
    for name, bucket in tags.items():
        x = np.asarray(bucket["x"], dtype=np.float64)
        records = np.asarray(bucket["r"], dtype=np.int64)
        origins = np.asarray(bucket["f"], dtype=np.int64)
        values = np.asarray(bucket["v"], dtype=np.float64)
        tag_notes: list[str] = []
        try:
            rows, _ = select_run(x, records, [], path, tag_notes)
        except InputError:  # steps shuffled: TensorBoard itself just sorts them
            rows = np.arange(x.size)
            tag_notes.append("shuffled")
        if tag_notes:
            reordered.append(name)
        x, values, records, origins = x[rows], values[rows], records[rows], origins[rows]
        # one value per step: the last one logged (TensorBoard shows the same)
        order = np.argsort(x, kind="stable")
        x, values, records, origins = x[order], values[order], records[order], origins[order]
        last = np.concatenate((x[1:] != x[:-1], [True]))
        series[name] = Series(
            name, x[last], values[last], np.zeros(int(last.sum()), np.int64), origins[last]
        )
    if reordered:
        notes.append(
            f"steps go back in {', '.join(reordered[:4])}{' ...' if len(reordered) > 4 else ''}"
            ": a resumed run replaces the later steps, a restart from the first step starts "
            "a new run and the last run is judged"
        )
    for name, parts in pairing.derived.items():
        series[name] = _summed(name, [series[p] for p in parts])
    axis = _axis(series, [n for n in (pairing.loss.train, pairing.loss.val) if n], notes)
    lr = next((n for n in series if is_learning_rate(n)), None)
    return Curves(
        source=str(path),
        format="tensorboard",
        series=series,
        loss=pairing.loss,
        accuracy=pairing.accuracy,
        notes=notes,
        axis=axis,
        lr=lr,
        sources=[str(f) for f in files],
    )


def _summed(name: str, parts: list[Series]) -> Series:
    common = parts[0].epochs
    for part in parts[1:]:
        common = np.intersect1d(common, part.epochs)
    values = np.zeros(common.size)
    origins = None
    for part in parts:
        index = np.searchsorted(part.epochs, common)
        values += part.values[index]
        origins = part.origins[index] if part.origins is not None else None
    return Series(name, common, values, np.zeros(common.size, np.int64), origins)


def _axis(series: dict[str, Series], judged: list[str], notes: list[str]) -> str:
    names = list(series)
    if judged and all(n.rsplit("/", 1)[-1].startswith("epoch_") for n in judged):
        notes.append("Keras epoch_* tags: the step is the epoch")
        return "epoch"
    epoch_tag = next((n for n in names if n.rsplit("/", 1)[-1].lower() == "epoch"), None)
    if epoch_tag is None:
        return "step"
    steps, epochs = series[epoch_tag].epochs, series[epoch_tag].values
    if steps.size < 2 or np.any(np.diff(epochs) < 0):
        return "step"
    for name, item in series.items():
        if name == epoch_tag:
            continue
        item.epochs = np.interp(item.epochs, steps, epochs)
    del series[epoch_tag]
    notes.append(f"steps are placed on epochs with the {epoch_tag!r} tag")
    return "epoch"
