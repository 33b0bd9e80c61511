"""Training logs: which loader reads a file, decided by its content.

- TensorBoard: a folder holding event files, or a file that starts with a TFRecord
  header (a length and its masked CRC-32C).
- JSON (first character ``{`` or ``[``): trainer_state.json, Keras history, dict of
  lists, a list of objects, or JSON lines.
- Anything else that is text: CSV (Keras, Lightning, fastai, Ultralytics, pandas,
  plain), the separator taken from the header line.

Several log files in one check: each file is its own run (k-fold folds, separate
experiments) and is judged on its own, except a file that *continues* the one given
before it: its first epoch lies after the previous file's first epoch and no later
than one past its last (a run resumed into a new file, e.g. Lightning's
``version_1/metrics.csv``). Such a file is joined to the previous one in the order
given (its points replace the earlier file's from its first epoch on), and a note
says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from overfitlint.curves import Curves, Series
from overfitlint.errors import InputError
from overfitlint.facts import SampleCount
from overfitlint.formats import TENSORBOARD, Detected
from overfitlint.measures import median
from overfitlint.settings import LoadHints

MAX_LOG_BYTES = 4 << 30


def load_log(detected: Detected, hints: LoadHints) -> Curves:
    path = detected.path
    if detected.format == TENSORBOARD:
        from overfitlint.loaders.logs.tensorboard import load_tensorboard

        return load_tensorboard(path, hints.train_metric, hints.val_metric)
    from overfitlint.loaders.logs.columnar import read_columnar
    from overfitlint.loaders.logs.table import to_curves

    try:
        size = path.stat().st_size
        if size > MAX_LOG_BYTES:
            raise InputError(f"{path}: {size:,} bytes is too large for a training log")
        table = read_columnar(path, size)
        if table is not None:
            return to_curves(table, hints.train_metric, hints.val_metric)
        with path.open("rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    from overfitlint.loaders.logs.csv_log import decode_text

    text = decode_text(data, path)
    if not text.strip():
        raise InputError(f"{path}: the log is empty")
    from overfitlint.loaders.logs.json_log import load_json_log, looks_like_json

    if looks_like_json(text):
        return load_json_log(path, text, hints.train_metric, hints.val_metric)
    from overfitlint.loaders.logs.csv_log import read_csv_table

    return to_curves(read_csv_table(path, text), hints.train_metric, hints.val_metric)


def combine_logs(curves: list[Curves]) -> list[Curves]:
    """Join files that continue the one before them (a run resumed into a new file)."""
    joined: list[Curves] = []
    for item in curves:
        if joined and _continues(joined[-1], item):
            joined[-1] = _join(joined[-1], item)
        else:
            joined.append(item)
    return joined


def _range(curves: Curves) -> tuple[float, float] | None:
    anchor = curves.val_loss or curves.train_loss
    if anchor is None or len(anchor) == 0:
        return None
    return float(anchor.epochs[0]), float(anchor.epochs[-1])


def _continues(before: Curves, after: Curves) -> bool:
    if (before.loss.train, before.loss.val) != (after.loss.train, after.loss.val):
        return False
    if before.axis != after.axis:
        return False
    first, second = _range(before), _range(after)
    if first is None or second is None:
        return False
    spacing = 1.0
    anchor = before.val_loss or before.train_loss
    if anchor is not None and len(anchor) > 1:
        spacing = median(np.diff(anchor.epochs))
    return first[0] < second[0] <= first[1] + spacing


def _join(before: Curves, after: Curves) -> Curves:
    start = _range(after)[0]
    sources = list(before.sources or [before.source])
    offset = len(sources)
    sources.extend(after.sources or [after.source])
    series: dict[str, Series] = {}
    for name in dict.fromkeys([*before.series, *after.series]):
        parts = []
        old = before.series.get(name)
        if old is not None:
            keep = old.epochs < start
            origins = old.origins if old.origins is not None else np.zeros(len(old), np.int64)
            parts.append((old.epochs[keep], old.values[keep], old.lines[keep], origins[keep]))
        new = after.series.get(name)
        if new is not None:
            origins = new.origins if new.origins is not None else np.zeros(len(new), np.int64)
            parts.append((new.epochs, new.values, new.lines, origins + offset))
        epochs, values, lines, origins = (np.concatenate(p) for p in zip(*parts, strict=True))
        series[name] = Series(name, epochs, values, lines, origins)
    replaced = int(np.count_nonzero((before.val_loss or before.train_loss).epochs >= start))
    notes = [
        *before.notes,
        *(f"{Path(after.source).name}: {note}" for note in after.notes),
        f"{after.source} continues {before.source} from {after.axis} {start:g} (a resumed "
        f"run); joined in the order given, replacing {replaced} earlier point(s)",
    ]
    return Curves(
        source=after.source,
        format=before.format if before.format == after.format else "mixed",
        series=series,
        loss=before.loss,
        accuracy=before.accuracy or after.accuracy,
        notes=notes,
        axis=before.axis,
        lr=before.lr or after.lr,
        samples=after.samples or before.samples,
        samples_basis=after.samples_basis or before.samples_basis,
        meta={**before.meta, **after.meta},
        sources=sources,
    )


def sample_count(curves: list[Curves], given: int | None) -> SampleCount | None:
    """``--samples`` when given, else the count the first log that tells implies; each log
    that implies a count says so in its notes (and whether it was used)."""
    chosen = SampleCount(given, "--samples") if given is not None else None
    for item in curves:
        if item.samples is None:
            continue
        if chosen is None:
            chosen = SampleCount(item.samples, item.source, item.samples_basis or "")
            item.notes.append(
                f"{item.samples:,} training samples per epoch ({item.samples_basis}); used as "
                "--samples since none was given"
            )
        elif chosen.value != item.samples:
            item.notes.append(
                f"the log implies {item.samples:,} training samples per epoch "
                f"({item.samples_basis}); {chosen.value:,} ({chosen.source}) is used"
            )
    return chosen
