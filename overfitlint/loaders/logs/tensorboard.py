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
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from overfitlint.curves import Curves, Series
from overfitlint.errors import InputError
from overfitlint.formats import MASK_DELTA, crc32c_python, event_files
from overfitlint.loaders.logs.metric_names import choose_pairs, is_learning_rate
from overfitlint.loaders.logs.table import select_run

_HEADER = struct.Struct("<QI")  # a record's length and the masked CRC-32C of those 8 bytes
_U32 = struct.Struct("<I")


def _crc32c_function():
    try:
        import google_crc32c

        if google_crc32c.implementation == "c":
            return google_crc32c.value
    except ImportError:
        pass
    return crc32c_python


@dataclass
class _Scalars:
    """Every scalar read so far, one entry per value, in file order: typed columns (8 bytes a
    value), not a Python object per point."""

    tags: dict[str, int] = field(default_factory=dict)
    """Series name -> its number, in the order the series first appear."""
    tag: array = field(default_factory=lambda: array("q"))
    step: array = field(default_factory=lambda: array("q"))
    value: array = field(default_factory=lambda: array("d"))
    record: array = field(default_factory=lambda: array("q"))
    """The 1-based record number of each value in its file."""
    files: list[int] = field(default_factory=list)
    """How many values were read once each file was done."""
    plugin_of: dict[str, str] = field(default_factory=dict)


def _scan(data, crc, parse, prefix: str, scalars: _Scalars, skipped: list[int]):
    """Walk the records of one file (every CRC checked), parse each as an ``Event`` and keep
    its scalar values. Returns the number of records read and what stopped the walk early
    (None at a clean end); ``skipped`` gets the numbers of records that are not events."""
    from tensorboard.util import tensor_util

    unpack_header, unpack32 = _HEADER.unpack_from, _U32.unpack_from
    tags, plugin_of = scalars.tags, scalars.plugin_of
    add_tag, add_step = scalars.tag.append, scalars.step.append
    add_value, add_record = scalars.value.append, scalars.record.append
    position, size, number = 0, len(data), 0
    while position < size:
        if position + 12 > size:
            return number, f"cut short at byte {position}"
        length, expected = unpack_header(data, position)
        value = crc(data[position : position + 8])  # masked as TFRecord masks it
        if (((value >> 15) | (value << 17)) + MASK_DELTA) & 0xFFFFFFFF != expected:
            return number, f"a damaged record header at byte {position}"
        start = position + 12
        end = start + length
        if end + 4 > size:
            return number, f"cut short at byte {position}"
        payload = data[start:end]
        value = crc(payload)
        if (((value >> 15) | (value << 17)) + MASK_DELTA) & 0xFFFFFFFF != unpack32(data, end)[0]:
            return number, f"a damaged record at byte {position}"
        position = end + 4
        number += 1
        try:
            event = parse(payload)
        except Exception:
            skipped.append(number)
            continue
        if event.WhichOneof("what") != "summary":
            continue
        step = event.step
        for value in event.summary.value:
            name = prefix + value.tag
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
            index = tags.get(name)
            if index is None:
                index = tags[name] = len(tags)
            add_tag(index)
            add_step(step)
            add_value(number_value)
            add_record(number)
    return number, None


def _read_file(file: Path, crc, parse, prefix: str, scalars: _Scalars, skipped: list[int]):
    """``_scan`` over a memory map of the file: a huge (or sparse) event file is never read
    into memory whole, and a damaged start stops the walk at once."""
    try:
        with file.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                return 0, None
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _scan(data, crc, parse, prefix, scalars, skipped)
    except (OSError, ValueError) as exc:
        raise InputError(f"{file}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def load_tensorboard(
    path: Path, train_metric: str | None = None, val_metric: str | None = None
) -> Curves:
    try:
        from tensorboard.compat.proto import event_pb2
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
    scalars = _Scalars()
    parse = event_pb2.Event.FromString
    for index, file in enumerate(files):
        run = file.parent.relative_to(root).as_posix() if prefix else ""
        skipped: list[int] = []
        records, stopped = _read_file(
            file, crc, parse, f"{run}/" if run and run != "." else "", scalars, skipped
        )
        scalars.files.append(len(scalars.value))
        if stopped:
            if not records and index == 0 and len(files) == 1:
                raise InputError(f"{file}: not a readable TensorBoard event file ({stopped})")
            notes.append(f"{file.name}: {stopped}; the {records} records before it are read")
        notes.extend(
            f"{file.name}: record {number} is not a TensorBoard event; skipped"
            for number in skipped
        )
    if not scalars.tags:
        raise InputError(f"{path}: the event files hold no scalar values (no tags to judge)")
    return _curves(path, files, _by_tag(scalars), notes, train_metric, val_metric)


def _by_tag(scalars: _Scalars) -> dict[str, dict[str, np.ndarray]]:
    """The values of each series: x (step), v (value), f (file), r (record), in file order."""
    tag = np.frombuffer(scalars.tag, dtype=np.int64)
    step = np.frombuffer(scalars.step, dtype=np.int64).astype(np.float64)
    value = np.frombuffer(scalars.value, dtype=np.float64)
    record = np.frombuffer(scalars.record, dtype=np.int64)
    ends = np.asarray(scalars.files, dtype=np.int64)
    file = np.repeat(np.arange(ends.size), np.diff(ends, prepend=0))
    order = np.argsort(tag, kind="stable")
    bounds = np.searchsorted(tag[order], np.arange(len(scalars.tags) + 1))
    by_tag = {}
    for name, index in scalars.tags.items():
        rows = order[bounds[index] : bounds[index + 1]]
        by_tag[name] = {"x": step[rows], "v": value[rows], "f": file[rows], "r": record[rows]}
    return by_tag


def _curves(path, files, tags, notes, train_metric, val_metric) -> Curves:
    pairing = choose_pairs(list(tags), str(path), train_metric, val_metric)
    notes.extend(pairing.notes)
    series: dict[str, Series] = {}
    reordered = []
    for name, bucket in tags.items():
        x, records, origins, values = bucket["x"], bucket["r"], bucket["f"], bucket["v"]
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
