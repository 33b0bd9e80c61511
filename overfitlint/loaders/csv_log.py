"""CSV training logs: Keras CSVLogger and plain CSV with named metric columns.

Every value remembers its 1-based line in the file, so that a finding can point
at ``logs.csv:23``. Empty and ``NA`` cells are missing (validation did not run
that epoch: no point); ``nan`` and ``inf`` are real non-finite values; any other
text in a metric column is an error naming the line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from overfitlint.curves import Curves, Series
from overfitlint.errors import InputError
from overfitlint.loaders.metric_names import choose_pairs

MISSING = {"", "na", "n/a", "none", "null"}
EPOCH_COLUMNS = ("epoch", "epochs")
DELIMITERS = (",", ";", "\t")


def decode_text(data: bytes, path: Path) -> str:
    if b"\x00" in data[:8192]:
        raise InputError(f"{path}: binary data, not a text log")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the log as UTF-8"
        ) from None


def load_csv_log(
    path: Path, data: bytes, train_metric: str | None = None, val_metric: str | None = None
) -> Curves:
    text = decode_text(data, path)
    if not text.strip():
        raise InputError(f"{path}: the log is empty")
    first_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = max(DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header, header_line = [cell.strip() for cell in row], reader.line_num
            else:
                rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from None
    if header is None:
        raise InputError(f"{path}: the log has no header row")
    if not rows:
        raise InputError(f"{path}: the log has a header ({', '.join(header)}) but no rows")
    _check_header(header, path, header_line)

    lines = np.array([line for line, _ in rows], dtype=np.int64)
    columns = {name: _column(rows, index, name, path) for index, name in enumerate(header)}
    columns = {name: column for name, column in columns.items() if column is not None}
    notes: list[str] = []
    epoch_name = next((n for n in header if n.lower() in EPOCH_COLUMNS), None)
    if epoch_name not in columns:
        epochs = np.arange(len(rows), dtype=np.float64)
        notes.append("no epoch column: rows are taken as epochs 0, 1, 2, ...")
    else:
        epochs, present = columns[epoch_name]
        if not (present & np.isfinite(epochs)).all():
            bad = int(np.nonzero(~(present & np.isfinite(epochs)))[0][0])
            raise InputError(f"{path}:{lines[bad]}: the epoch column has an empty or bad cell")
    metrics = [n for n in header if n != epoch_name and n in columns]
    loss, accuracy = choose_pairs(metrics, str(path), train_metric, val_metric)
    series = {}
    for name in metrics:
        values, present = columns[name]
        series[name] = Series(name, epochs[present], values[present], lines[present])
    return Curves(
        source=str(path),
        format="keras-csvlogger" if epoch_name == "epoch" else "csv",
        series=series,
        loss=loss,
        accuracy=accuracy,
        notes=notes,
    )


def _check_header(header: list[str], path: Path, line: int) -> None:
    seen = set()
    for name in header:
        if not name:
            raise InputError(f"{path}:{line}: the header has an empty column name")
        if name.lower() in seen:
            raise InputError(f"{path}:{line}: the header names column {name!r} twice")
        seen.add(name.lower())


def _column(rows, index: int, name: str, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """The column as floats and a mask of present cells; None when no cell is a number."""
    values = np.full(len(rows), np.nan)
    present = np.zeros(len(rows), dtype=bool)
    first_text: tuple[int, str] | None = None
    numbers = 0
    for position, (line, cells) in enumerate(rows):
        cell = cells[index].strip() if index < len(cells) else ""
        if cell.lower() in MISSING:
            continue
        present[position] = True
        try:
            values[position] = float(cell)
            numbers += 1
        except ValueError:
            if first_text is None:
                first_text = (line, cell)
    if first_text is not None:
        if numbers == 0:
            return None  # a text column such as a run name: not a metric
        line, cell = first_text
        raise InputError(f"{path}:{line}: column {name!r} holds {cell[:40]!r}, not a number")
    return values, present
