"""One table shape for every text log, and the repairs every log needs.

A format reader (CSV, JSON, JSON lines) turns a file into a ``Table``: numeric
columns with a mask of present cells and the file line of every row. ``to_curves``
then does, in one place and the same way for every format, what real logs need
and says what it did in ``Curves.notes``:

- rows whose epoch goes back: a resumed run (``append=True`` after loading a
  checkpoint) replaces the rows from that epoch on; a restart at the first epoch
  is a new run, and the last run is the one judged;
- a header repeated inside the file (two logs concatenated) starts a new run;
- validation-only rows after the last training row that repeat an epoch's
  validation, or come after the last epoch, are an evaluation after training,
  not a point of the curve;
- several rows for one epoch are merged: per-step values (Lightning) are
  averaged, repeated full rows keep the later one;
- the validation loss split into parts (Ultralytics) is summed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from overfitlint.curves import Curves, MetricPair, Series
from overfitlint.errors import InputError
from overfitlint.loaders.logs.metric_names import choose_pairs, is_learning_rate, parse_name

EPOCH_NAMES = ("epoch", "epochs")
STEP_NAMES = ("step", "global_step", "iteration", "iter", "steps", "batch")
MAX_REORDERS = 3
"""More restarts than this (and more than a tenth of the rows) is a shuffled log."""


@dataclass
class Column:
    values: np.ndarray
    """float64; NaN where the cell is missing (and where the file says nan)."""
    present: np.ndarray
    """bool: the cell holds a number (nan and inf included)."""


@dataclass
class Table:
    path: Path
    format: str
    columns: dict[str, Column]
    lines: np.ndarray
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    samples: int | None = None
    samples_basis: str | None = None
    run_breaks: list[int] = field(default_factory=list)
    """Row positions where the file starts a new run (a repeated header)."""
    per_step: bool = False
    """Metrics may be logged several times per epoch (average them)."""
    evaluations_marked: bool = False
    """The file marks the end of training itself (HF's summary entry): every validation
    row before it is a point, and nothing is guessed about rows after the last train row."""
    unmarked_metrics_are_validation: bool = False
    epoch_name: str | None = None
    step_name: str | None = None
    ignore: tuple[str, ...] = ()
    """Columns that are not metrics (timings, counters)."""

    @property
    def rows(self) -> int:
        return int(self.lines.shape[0])

    def find(self, names: tuple[str, ...]) -> str | None:
        lowered = {name.lower(): name for name in self.columns}
        return next((lowered[n] for n in names if n in lowered), None)


def lines_span(lines: np.ndarray) -> str:
    return f"lines {int(lines[0])}-{int(lines[-1])}" if lines.size > 1 else f"line {lines[0]}"


def to_curves(table: Table, train_metric: str | None, val_metric: str | None) -> Curves:
    if table.rows == 0:
        raise InputError(f"{table.path}: the log has no rows")
    path = table.path
    epoch_name = table.epoch_name or table.find(EPOCH_NAMES)
    step_name = table.step_name or table.find(STEP_NAMES)
    skip = {epoch_name, step_name, *table.ignore}
    metric_names = [n for n in table.columns if n not in skip]
    pairing = choose_pairs(
        metric_names,
        str(path),
        train_metric,
        val_metric,
        unmarked_metrics_are_validation=table.unmarked_metrics_are_validation,
    )
    notes = [*table.notes, *pairing.notes]
    columns = dict(table.columns)
    for name, parts in pairing.derived.items():
        values = np.sum([columns[p].values for p in parts], axis=0)
        present = np.logical_and.reduce([columns[p].present for p in parts])
        columns[name] = Column(np.where(present, values, np.nan), present)
        metric_names.append(name)

    axis = "epoch"
    usable = np.ones(table.rows, dtype=bool)
    if epoch_name is not None:
        x, present = columns[epoch_name].values, columns[epoch_name].present
        empty = ~present
        if (present & ~np.isfinite(x)).any():
            line = int(table.lines[np.argmax(present & ~np.isfinite(x))])
            raise InputError(f"{path}:{line}: the epoch column has a bad cell")
        if empty.any():
            per_step = [n for n in table.columns if parse_name(n).step_level]
            logged = [n for n in table.columns if n not in (epoch_name, step_name)]
            only_steps = all(
                not table.columns[n].present[empty].any() for n in logged if n not in per_step
            )
            if empty.all() or not only_steps:
                line = int(table.lines[np.argmax(empty)])
                raise InputError(f"{path}:{line}: the epoch column has an empty cell")
            usable = ~empty
            notes.append(
                f"{int(empty.sum())} row(s) without an epoch (e.g. line "
                f"{int(table.lines[np.argmax(empty)])}: values logged per step) are not points"
            )
    elif step_name is not None and columns[step_name].present.all():
        x = columns[step_name].values
        axis = "step"
        notes.append(f"no epoch column: points are placed by {step_name!r}")
    else:
        x = np.arange(table.rows, dtype=np.float64)
        notes.append("no epoch column: rows are taken as epochs 0, 1, 2, ...")

    train_names = [n for n in (pairing.loss.train, _acc(pairing, "train")) if n]
    val_names = [n for n in (pairing.loss.val, _acc(pairing, "val")) if n]
    train_values = None
    if train_names:
        train_column = columns[train_names[0]]
        train_values = np.where(train_column.present, train_column.values, np.nan)
    rows: np.ndarray | None  # the rows that make the curve, in order; None: every row
    if usable.all():
        picked, x_used = select_run(x, table.lines, table.run_breaks, path, notes, train_values)
        if x_used is x and picked.size == x.size:  # one run, in order: no row is left out
            rows = None
        else:
            rows, x = picked, x_used
    else:
        index = np.nonzero(usable)[0]
        breaks = [int(np.searchsorted(index, b)) for b in table.run_breaks]
        picked, x_used = select_run(
            x[index], table.lines[index], breaks, path, notes,
            None if train_values is None else train_values[index],
        )  # fmt: skip
        rows = index[picked]
        x = x.copy()
        x[index] = x_used
    if not table.evaluations_marked:
        rows = _drop_evaluations(rows, x, columns, train_names, val_names, table.lines, notes)
    x_rows = _take(x, rows)
    groups, first_of_group = _groups(x_rows)
    if groups is not None and not table.per_step:
        repeated = x_rows[first_of_group][np.bincount(groups) > 1]
        shown = ", ".join(_fmt(v) for v in repeated[:5])
        notes.append(
            f"{axis} {shown}{' ...' if repeated.size > 5 else ''} appear(s) on more than one "
            "row: the later row is used"
        )
    series: dict[str, Series] = {}
    averaged = []
    row_lines = _take(table.lines, rows)
    for name in metric_names:
        column = columns[name]
        built, was_averaged = _series(
            name, x_rows, column, rows, row_lines, groups, first_of_group, table.per_step
        )
        if built is not None:
            series[name] = built
            if was_averaged:
                averaged.append(name)
    if averaged:
        notes.append(
            f"{', '.join(averaged)} logged several times per {axis}: the values of each "
            f"{axis} are averaged"
        )
    if not series:
        raise InputError(f"{path}: no metric column holds a number")
    pairing.loss = _drop_empty(pairing.loss, series, notes)
    _note_epoch_base(x_rows, axis, epoch_name, notes)
    lr = next((n for n in metric_names if is_learning_rate(n) and n in series), None)
    return Curves(
        source=str(path),
        format=table.format,
        series=series,
        loss=pairing.loss,
        accuracy=pairing.accuracy,
        notes=notes,
        axis=axis,
        lr=lr,
        samples=table.samples,
        samples_basis=table.samples_basis,
        meta=dict(table.meta),
        sources=[str(path)],
    )


def _acc(pairing, side: str) -> str | None:
    return getattr(pairing.accuracy, side) if pairing.accuracy else None


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _drop_empty(loss: MetricPair, series: dict[str, Series], notes: list[str]) -> MetricPair:
    """A loss column without a single number (validation that never ran) is no curve."""
    train, val = loss.train, loss.val
    for name in (train, val):
        if name and name not in series:
            notes.append(f"column {name!r} holds no number (never logged): it is not a curve")
    return MetricPair(
        train if train in series else None, val if val in series else None, loss.lower_is_better
    )


def _note_epoch_base(x: np.ndarray, axis: str, epoch_name: str | None, notes: list[str]) -> None:
    if axis == "epoch" and epoch_name is not None and x.size and x[0] == 1:
        notes.append("epochs are numbered from 1, as in the file")


def _continues(train: np.ndarray | None, before: int, after: int) -> bool:
    """A restart whose training loss picks up where the run before it ended (another fit()
    call on the same model), rather than starting again from an untrained model."""
    if train is None:
        return False
    end, start = float(train[before]), float(train[after])
    return bool(np.isfinite(end) and np.isfinite(start) and start <= 1.1 * end)


def _check_order(x: np.ndarray, lines: np.ndarray, path: Path) -> None:
    backward = np.nonzero(x[1:] < x[:-1])[0] + 1
    if backward.size > max(MAX_REORDERS, x.size // 10):
        shown = ", ".join(str(int(lines[i])) for i in backward[:3])
        raise InputError(
            f"{path}: the epochs are out of order ({backward.size} steps back, at lines "
            f"{shown} ...); sort the log by epoch, or split it into one file per run"
        )


def select_run(
    x: np.ndarray,
    lines: np.ndarray,
    breaks: list[int],
    path: Path,
    notes: list[str],
    train: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the run to judge, and the x values: resumed epochs replace,
    restarts start anew, and fit() calls that continue one model are numbered on."""
    starts = set(np.nonzero(x[1:] < x[:-1])[0] + 1) | set(breaks)
    if not starts:
        return np.arange(x.size), x
    _check_order(x, lines, path)
    x = x.copy()
    chained = 0
    first = x[0]
    bounds = sorted(starts - set(breaks))
    for position, start in enumerate(bounds):
        end = bounds[position + 1] if position + 1 < len(bounds) else x.size
        restarted = x[start] <= first  # the counter starts again, not a resume mid-run
        if restarted and x[start] <= x[start - 1] and _continues(train, start - 1, start):
            step = 1.0 if start < 2 else max(float(x[start - 1] - x[start - 2]), 1.0)
            x[start:end] += x[start - 1] + step - x[start]
            chained += 1
    if chained:
        notes.append(
            f"the epoch counter restarts {chained} time(s) but the training loss goes on where "
            "it stopped (fit() called again on the same model): the rows are kept in file order "
            "and numbered on"
        )
    starts = set(np.nonzero(x[1:] < x[:-1])[0] + 1) | set(breaks)
    if not starts:
        return np.arange(x.size), x
    bounds = [0, *sorted(starts), x.size]
    current = np.arange(bounds[0], bounds[1])
    earlier_runs: list[np.ndarray] = []
    for start, end in itertools.pairwise(bounds[1:]):
        segment = np.arange(start, end)
        if segment.size == 0:
            continue
        begin = x[start]
        if start in breaks or current.size == 0 or begin <= x[current[0]]:
            if current.size:
                earlier_runs.append(current)
            current = segment
        else:
            kept = current[x[current] < begin]
            replaced = current[x[current] >= begin]
            notes.append(
                f"resumed run: {'epoch' if begin == int(begin) else 'point'} {_fmt(begin)} "
                f"starts again at line {int(lines[start])}; the later rows replace "
                f"{replaced.size} earlier row(s) from there on"
            )
            current = np.concatenate([kept, segment])
    if earlier_runs:
        spans = "; ".join(lines_span(lines[run]) for run in earlier_runs)
        notes.append(
            f"the file holds {len(earlier_runs) + 1} runs (the counter restarts); the last "
            f"run ({lines_span(lines[current])}) is judged, earlier runs ignored ({spans})"
        )
    return current, x


def _take(array: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return array if rows is None else array[rows]


def _drop_evaluations(
    rows: np.ndarray | None,
    x: np.ndarray,
    columns: dict[str, Column],
    train_names: list[str],
    val_names: list[str],
    lines: np.ndarray,
    notes: list[str],
) -> np.ndarray | None:
    """Drop validation-only rows after training that are not a regular epoch's validation."""
    count = x.size if rows is None else rows.size
    if not train_names or not val_names or count < 2:
        return rows
    has_train = np.logical_or.reduce([_take(columns[n].present, rows) for n in train_names])
    if not has_train.any():
        return rows
    last_train = int(np.nonzero(has_train)[0][-1])
    after = (
        last_train
        + 1
        + np.nonzero(
            np.logical_or.reduce(
                [_take(columns[n].present, rows)[last_train + 1 :] for n in val_names]
            )
        )[0]
    )
    if after.size == 0:
        return rows
    has_val = np.logical_or.reduce([_take(columns[n].present, rows) for n in val_names])
    x_rows = _take(x, rows)
    last_train_x = x_rows[last_train]
    seen_val_x = set(np.unique(x_rows[: last_train + 1][has_val[: last_train + 1]]).tolist())
    keep = np.ones(count, dtype=bool)
    dropped = []
    for position in after.tolist():
        point = float(x_rows[position])
        if point > last_train_x or point in seen_val_x:
            keep[position] = False
            dropped.append(int(lines[position if rows is None else rows[position]]))
        else:
            seen_val_x.add(point)
    if dropped:
        notes.append(
            f"validation-only row(s) after training at line(s) {', '.join(map(str, dropped))} "
            "(an evaluation after training, e.g. of the restored best weights) are not "
            "points of the curve"
        )
        return np.nonzero(keep)[0] if rows is None else rows[keep]
    return rows


def _groups(x_rows: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Group ids of equal x values (rows are in x order now), or None when all differ."""
    if x_rows.size < 2 or not (x_rows[1:] == x_rows[:-1]).any():
        return None, None
    new = np.concatenate(([True], x_rows[1:] != x_rows[:-1]))
    return np.cumsum(new) - 1, np.nonzero(new)[0]


def _series(
    name: str,
    x_rows: np.ndarray,
    column: Column,
    rows: np.ndarray | None,
    row_lines: np.ndarray,
    groups: np.ndarray | None,
    first_of_group: np.ndarray | None,
    per_step: bool,
) -> tuple[Series | None, bool]:
    present = _take(column.present, rows)
    if not present.any():
        return None, False
    values = _take(column.values, rows)
    if groups is None:
        if present.all():  # the arrays are shared, not copied: a log of millions of rows
            return Series(name, x_rows, values, row_lines), False
        return Series(name, x_rows[present], values[present], row_lines[present]), False
    g = groups[present]
    v = values[present]
    ln = row_lines[present]
    count = np.bincount(g, minlength=first_of_group.size)
    has = count > 0
    # the last present row of each group gives the line (and the value, for full rows)
    last = np.zeros(first_of_group.size, dtype=np.int64)
    last[g] = np.arange(g.size)  # later assignments win: the last row of each group
    if per_step and (count > 1).any():
        sums = np.bincount(g, weights=v, minlength=first_of_group.size)
        merged = sums[has] / count[has]
        averaged = True
    else:
        merged = v[last[has]]
        averaged = False
    epochs = x_rows[first_of_group][has]
    return Series(name, epochs, merged, ln[last[has]]), averaged
