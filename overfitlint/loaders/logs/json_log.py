"""JSON training logs.

- Hugging Face ``trainer_state.json``: ``log_history`` entries (``loss``,
  ``eval_loss``, ``epoch``, ``step``), plus the batch size and steps that give the
  number of training samples.
- Keras ``history.history`` dumped with ``json.dump``, and the dict of lists that
  hand-written PyTorch loops save (nested ``{"train": {"loss": [...]}}`` too).
- A list of per-epoch objects, and JSON lines (one object per line).

Every point keeps the line where its entry starts in the file.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from pathlib import Path
from typing import Any

import numpy as np

from overfitlint.curves import Curves
from overfitlint.errors import InputError
from overfitlint.loaders.logs.table import Column, Table, to_curves

_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")
HF_SUMMARY_KEYS = ("train_runtime", "train_samples_per_second", "total_flos")
HF_META = (
    "train_batch_size",
    "num_train_epochs",
    "max_steps",
    "global_step",
    "logging_steps",
    "eval_steps",
    "save_steps",
    "best_metric",
    "best_global_step",
    "best_model_checkpoint",
)


def load_json_log(
    path: Path, text: str, train_metric: str | None = None, val_metric: str | None = None
) -> Curves:
    return to_curves(read_json_table(path, text), train_metric, val_metric)


def looks_like_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")


def read_json_table(path: Path, text: str) -> Table:
    lines = _LineIndex(text)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if _is_json_lines(text):
            return _json_lines(path, text)
        raise InputError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply to be a training log") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise InputError(f"{path}: not a usable JSON log ({str(exc)[:80]})") from None
    start = _WS.match(text).end()
    if isinstance(document, dict) and isinstance(document.get("log_history"), list):
        return _trainer_state(path, text, document, lines, start)
    if isinstance(document, dict):
        if isinstance(document.get("history"), dict):
            position = _member_position(text, start, "history")
            return _lists(path, text, document["history"], lines, position, document)
        frame = _pandas_frame(document)
        if frame is not None:
            return frame(path, text, document, lines, start)
        return _lists(path, text, document, lines, start, None)
    if isinstance(document, list) and document and all(isinstance(d, dict) for d in document):
        rows = list(_elements(text, start))
        return _rows_table(path, "json-rows", [d for d, _ in rows], [lines(p) for _, p in rows])
    raise InputError(
        f"{path}: JSON that is not a training log (expected trainer_state.json, a dict of "
        "metric lists, or a list of per-epoch objects)"
    )


# -- pandas DataFrame.to_json() ---------------------------------------------------------------


def _row_keys(keys) -> bool:
    return bool(keys) and all(isinstance(k, str) and k.lstrip("-").isdigit() for k in keys)


def _pandas_frame(document: dict):
    """The reader of a ``DataFrame.to_json()`` layout (a dict of dicts keyed by row index:
    orient "columns", the default, or orient "index"), or None for any other dict."""
    values = list(document.values())
    if not values or not all(isinstance(v, dict) for v in values):
        return None
    if all(_row_keys(list(v)) for v in values):
        return _pandas_columns
    if _row_keys(list(document)):
        return _pandas_index
    return None


def _pandas_columns(path: Path, text: str, document: dict, lines, start: int) -> Table:
    """{"loss": {"0": 0.9, "1": 0.8}, ...}: one dict per column, keyed by the row index."""
    index = sorted({int(k) for column in document.values() for k in column})
    rows = [{name: column.get(str(i)) for name, column in document.items()} for i in index]
    table = _rows_table(path, "pandas-json", rows, [lines(start)] * len(rows))
    table.notes.append("a pandas DataFrame.to_json() layout: rows in the order of their index")
    return table


def _pandas_index(path: Path, text: str, document: dict, lines, start: int) -> Table:
    """{"0": {"loss": 0.9, ...}, "1": {...}}: one dict per row, keyed by the row index."""
    members = dict(_members(text, start))
    order = sorted(document, key=int)
    rows = [document[k] for k in order]
    table = _rows_table(path, "pandas-json", rows, [lines(members.get(k, start)) for k in order])
    table.notes.append("a pandas DataFrame.to_json(orient='index') layout: one object per row")
    return table


# -- locating values in the text ---------------------------------------------------------


class _LineIndex:
    """1-based line of a character offset."""

    def __init__(self, text: str) -> None:
        self.newlines = [m.start() for m in re.finditer("\n", text)] if "\n" in text else []

    def __call__(self, position: int) -> int:
        return bisect_right(self.newlines, position - 1) + 1 if self.newlines else 1


def _skip(text: str, position: int) -> int:
    return _WS.match(text, position).end()


def _members(text: str, position: int):
    """(key, value offset) of each member of the object starting at ``position``."""
    position = _skip(text, position + 1)
    if text[position] == "}":
        return
    while True:
        key, position = _DECODER.raw_decode(text, position)
        position = _skip(text, position)
        position = _skip(text, position + 1)  # the colon
        yield key, position
        _, position = _DECODER.raw_decode(text, position)
        position = _skip(text, position)
        if text[position] != ",":
            return
        position = _skip(text, position + 1)


def _elements(text: str, position: int):
    """(value, offset) of each element of the array starting at ``position``."""
    position = _skip(text, position + 1)
    if text[position] == "]":
        return
    while True:
        value, end = _DECODER.raw_decode(text, position)
        yield value, position
        position = _skip(text, end)
        if text[position] != ",":
            return
        position = _skip(text, position + 1)


def _member_position(text: str, start: int, key: str) -> int:
    found = start
    for name, position in _members(text, start):
        if name == key:
            found = position
    return found


# -- formats -------------------------------------------------------------------------------


def _trainer_state(path: Path, text: str, state: dict, lines: _LineIndex, start: int) -> Table:
    position = _member_position(text, start, "log_history")
    entries = [(e, lines(p)) for e, p in _elements(text, position) if isinstance(e, dict)]
    notes = []
    summaries = [i for i, (e, _) in enumerate(entries) if any(k in e for k in HF_SUMMARY_KEYS)]
    if summaries:
        last = summaries[-1]
        after = [line for e, line in entries[last + 1 :] if "eval_loss" in e]
        notes.append(
            f"the summary entry at line {entries[last][1]} (train_runtime, train_loss = the "
            "mean over the whole run) is not a point of the curve"
        )
        if after:
            notes.append(
                f"the evaluation after training at line(s) {', '.join(map(str, after))} (a "
                "trainer.evaluate() of the final or best weights) is not a point of the curve"
            )
        entries = [
            (e, line)
            for i, (e, line) in enumerate(entries[: last + 1])
            if not any(k in e for k in HF_SUMMARY_KEYS)
        ]
    if not entries:
        raise InputError(f"{path}: trainer_state.json has an empty log_history")
    table = _rows_table(
        path, "hf-trainer-state", [e for e, _ in entries], [ln for _, ln in entries]
    )
    table.notes[:0] = notes
    table.per_step = True  # several train-loss logs may round to one epoch value
    table.evaluations_marked = True
    _resumed_by_step(table)
    meta = {k: _plain(state[k]) for k in HF_META if k in state}
    table.meta.update(meta)
    _hf_samples(table, state)
    return table


def _resumed_by_step(table: Table) -> None:
    """A resumed run whose epoch counter starts again while the global step goes on: the step
    orders the points (one run), not the epoch (which would split it)."""
    epoch, step = table.columns.get("epoch"), table.columns.get("step")
    if epoch is None or step is None or not step.present.all() or not epoch.present.all():
        return
    if not (np.diff(epoch.values) < 0).any() or (np.diff(step.values) < 0).any():
        return
    restart = int(np.argmax(np.diff(epoch.values) < 0)) + 1
    del table.columns["epoch"]
    table.step_name = "step"
    table.notes.append(
        f"the epoch counter starts again at line {int(table.lines[restart])} while the global "
        "step goes on (a resumed run): points are placed by step"
    )


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return value[:200]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if isinstance(value, bool | int | float) or value is None else str(value)[:200]


def _hf_samples(table: Table, state: dict) -> None:
    """Samples per epoch: steps per epoch x batch size. The Trainer's ``epoch`` is
    ``global_step / steps per epoch`` (fractional when a run stops mid-epoch), which is exact;
    ``max_steps / num_train_epochs`` only where there is no epoch (``num_train_epochs`` is
    rounded up when the run was given a fraction of an epoch)."""
    batch = state.get("train_batch_size")
    if not (isinstance(batch, int) and batch > 0):
        return
    step, epoch = state.get("global_step"), state.get("epoch")
    steps, epochs = state.get("max_steps"), state.get("num_train_epochs")
    if _positive(step) and _positive(epoch) and isinstance(step, int):
        per_epoch = max(1, round(step / epoch))
        basis = f"global_step {step} / epoch {epoch:.4g} = {per_epoch} steps per epoch"
    elif _positive(steps) and _positive(epochs) and isinstance(steps, int):
        per_epoch = math.ceil(steps / epochs)
        basis = f"max_steps {steps} / num_train_epochs {epochs:g} = {per_epoch} steps per epoch"
    else:
        return
    table.samples = per_epoch * batch
    table.samples_basis = (
        f"{basis} x train_batch_size {batch} in trainer_state.json (assumes no gradient "
        "accumulation and one process; the last batch may be smaller)"
    )


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _lists(
    path: Path, text: str, data: dict, lines: _LineIndex, start: int, wrapper: dict | None
) -> Table:
    flat: dict[str, tuple[list, int]] = {}
    for key, position in _members(text, start):
        value = data.get(key)
        if isinstance(value, list):
            flat[key] = (value, position)
        elif isinstance(value, dict):
            for inner, inner_position in _members(text, position):
                if isinstance(value.get(inner), list):
                    flat[f"{key}/{inner}"] = (value[inner], inner_position)
    numeric = {k: v for k, v in flat.items() if any(_is_number(x) for x in v[0])}
    if not numeric:
        raise InputError(
            f"{path}: JSON without metric lists; keys: {', '.join(list(data)[:12]) or 'none'}"
        )
    lengths = {k: len(v[0]) for k, v in numeric.items()}
    rows = max(lengths.values())
    notes = []
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k} {n}" for k, n in lengths.items())
        notes.append(
            f"the lists differ in length ({shown}): item i of each list is taken as epoch i"
        )
    columns: dict[str, Column] = {}
    line_of_row = np.ones(rows, dtype=np.int64)
    longest = max(numeric, key=lambda k: lengths[k])
    for key, (values, position) in numeric.items():
        column = _to_column(key, values, rows, path)
        if column is not None:
            columns[key] = column
        if key == longest and "\n" in text:
            item_lines = [lines(p) for _, p in _elements(text, position)]
            line_of_row[: len(item_lines)] = item_lines
    is_keras = "loss" in columns or wrapper is not None
    table = Table(path, "keras-history-json" if is_keras else "json-lists", columns, line_of_row)
    table.notes.extend(notes)
    if wrapper is not None and isinstance(wrapper.get("params"), dict):
        table.meta.update({k: _plain(v) for k, v in wrapper["params"].items() if k != "verbose"})
    return table


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> float | None:
    if _is_number(value):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _to_column(key: str, values: list, rows: int, path: Path, lines=None) -> Column | None:
    array = np.full(rows, np.nan)
    present = np.zeros(rows, dtype=bool)
    bad = None
    for index, value in enumerate(values):
        if value is None:
            continue
        number = _number(value)
        if number is None:
            if bad is None:
                bad = index
            continue
        array[index] = number
        present[index] = True
    if bad is not None:
        if not present.any():
            return None
        where = f"{path}:{lines[bad]}" if lines is not None else str(path)
        raise InputError(
            f"{where}: {key!r} holds {str(values[bad])[:40]!r}, not a number (item {bad})"
        )
    return Column(array, present)


def _flatten(entry: dict) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in entry.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                flat[f"{key}/{inner}"] = inner_value
        else:
            flat[str(key)] = value
    return flat


def _rows_table(path: Path, fmt: str, entries: list[dict], lines: list[int]) -> Table:
    flat = [_flatten(e) for e in entries]
    keys: dict[str, None] = {}
    for entry in flat:
        for key, value in entry.items():
            if key not in keys and (_is_number(value) or value is None or isinstance(value, str)):
                keys[key] = None
    line_array = np.asarray(lines, dtype=np.int64)
    columns: dict[str, Column] = {}
    for key in keys:
        values = [entry.get(key) for entry in flat]
        column = _to_column(key, values, len(flat), path, line_array)
        if column is not None:
            columns[key] = column
    return Table(path, fmt, columns, line_array)


def _is_json_lines(text: str) -> bool:
    starts = [line.lstrip()[:1] for line in text.splitlines()[:5] if line.strip()]
    return len(starts) >= 2 and all(s == "{" for s in starts)


def _json_lines(path: Path, text: str) -> Table:
    entries, lines = [], []
    raw_lines = text.splitlines()
    last = max((i for i, line in enumerate(raw_lines) if line.strip()), default=-1)
    notes = []
    for index, line in enumerate(raw_lines):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            if index == last:
                notes.append(f"the last line ({index + 1}) is cut short and is left out")
                continue
            raise InputError(f"{path}:{index + 1}: not a JSON object on this line") from None
        if not isinstance(entry, dict):
            raise InputError(f"{path}:{index + 1}: a JSON line must be an object")
        entries.append(entry)
        lines.append(index + 1)
    if not entries:
        raise InputError(f"{path}: no JSON objects in the file")
    table = _rows_table(path, "json-lines", entries, lines)
    table.notes.extend(notes)
    return table
