"""CSV training logs: Keras CSVLogger, Lightning metrics.csv, fastai, Ultralytics,
pandas ``to_csv`` of ``history.history``, and plain CSV with named metric columns.

Every value remembers its 1-based line in the file, so that a finding can point
at ``logs.csv:23``. Empty and ``NA`` cells are missing (validation did not run
that epoch: no point); ``nan`` and ``inf`` are real non-finite values; any other
text in a metric column is an error naming the line (a column of text only, such
as a run name or fastai's ``time``, is not a metric and is left out).
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

import numpy as np

from overfitlint.curves import Curves
from overfitlint.errors import InputError
from overfitlint.loaders.logs.table import Column, Table, to_curves
from overfitlint.measures import median

MISSING = ("", "na", "n/a", "nan%", "none", "null", "-")
DELIMITERS = (",", ";", "\t")
DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+([eE][+-]?\d+)?$")
csv.field_size_limit(1 << 24)


def decode_text(data: bytes, path: Path) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a UTF-16 byte order mark (Windows tools)
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{path}: not valid UTF-16 text; save the log as UTF-8") from None
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
    return to_curves(read_csv_table(path, decode_text(data, path)), train_metric, val_metric)


def read_csv_table(path: Path, text: str) -> Table:
    if not text.strip():
        raise InputError(f"{path}: the log is empty")
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first_line.count)
    fast = _read_plain_numbers(path, text, delimiter)
    if fast is not None:
        return fast
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    header_line = 0
    rows: list[list[str]] = []
    lines: list[int] = []
    breaks: list[int] = []
    try:
        for row in reader:
            if header is None:
                if not any(cell.strip() for cell in row):
                    continue
                header, header_line = [cell.strip() for cell in row], reader.line_num
                continue
            if len(row) <= 1 and not (row and row[0].strip()):
                continue  # a blank line
            if row[0].strip() == header[0] and [cell.strip() for cell in row] == header:
                breaks.append(len(rows))  # a second header: another log appended
                continue
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from None
    if header is None:
        raise InputError(f"{path}: the log has no header row")
    if not rows:
        raise InputError(f"{path}: the log has a header ({', '.join(header)}) but no rows")
    header = check_header(header, path, header_line)
    line_array = np.asarray(lines, dtype=np.int64)
    cells = _rectangle(rows, len(header), line_array, path)
    notes: list[str] = []
    columns: dict[str, Column] = {}
    for index, name in enumerate(header):
        column = _column(cells[index], name, line_array, path, delimiter, notes)
        if column is not None:
            columns[name] = column
    table = Table(path, "csv", columns, line_array, notes=notes, run_breaks=breaks)
    if breaks:
        notes.append(
            f"the header is repeated at line(s) "
            f"{', '.join(str(int(line_array[b]) - 1) for b in breaks if b < line_array.size)}"
            ": each header starts another run"
        )
    identify(table, header)
    return table


def _read_plain_numbers(path: Path, text: str, delimiter: str) -> Table | None:
    """The fast path: an unquoted, rectangular file of numbers, parsed by numpy in one go.

    Anything else (quotes, blank or short rows, empty/NA cells, text) returns None and
    is read row by row with the csv module.
    """
    if '"' in text:
        return None
    lines = text.splitlines()
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    end = len(lines)
    while end > start and not lines[end - 1].strip():
        end -= 1
    header = [cell.strip() for cell in lines[start].split(delimiter)]
    rows = end - start - 1
    width = len(header)
    if rows < 1 or any(not name for name in header):
        return None
    body = delimiter.join(lines[start + 1 : end])
    if body.count(delimiter) != rows * width - 1 or (width == 1 and "\n" in body):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.fromstring(body, dtype=np.float64, sep=delimiter)
    except ValueError:
        return None
    if values.size != rows * width:
        return None
    header = check_header(header, path, start + 1)
    matrix = values.reshape(rows, width)
    present = np.ones(rows, dtype=bool)
    columns = {name: Column(matrix[:, index].copy(), present) for index, name in enumerate(header)}
    lines_array = np.arange(start + 2, start + 2 + rows, dtype=np.int64)
    table = Table(path, "csv", columns, lines_array)
    identify(table, header)
    return table


def check_header(header: list[str], path: Path, line: int) -> list[str]:
    seen = set()
    named = []
    for position, name in enumerate(header):
        if not name:
            if position == 0:
                name = ""  # pandas writes its index as an unnamed first column
            elif position == len(header) - 1:
                continue  # a trailing delimiter
            else:
                raise InputError(f"{path}:{line}: the header has an empty column name")
        if name.lower() in seen:
            raise InputError(f"{path}:{line}: the header names column {name!r} twice")
        seen.add(name.lower())
        named.append(name)
    return named


def _rectangle(rows: list[list[str]], width: int, lines: np.ndarray, path: Path):
    """Columns of cells; short rows are padded with empty cells, long ones refused."""
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    if (lengths != width).any():
        long = np.nonzero(lengths > width)[0]
        for position in long:
            extra = rows[position][width:]
            if any(cell.strip() for cell in extra):
                raise InputError(
                    f"{path}:{int(lines[position])}: {int(lengths[position])} cells but the "
                    f"header names {width} columns; the rows do not match the header"
                )
        rows = [(r + [""] * (width - len(r)))[:width] for r in rows]
    return list(zip(*rows, strict=True))


def _column(
    cells: tuple[str, ...],
    name: str,
    lines: np.ndarray,
    path: Path,
    delimiter: str,
    notes: list[str],
) -> Column | None:
    """The column as floats and a mask of present cells; None when no cell is a number."""
    try:
        values = np.asarray(cells, dtype=np.float64)
        return Column(values, np.ones(values.shape[0], dtype=bool))
    except ValueError:
        pass
    text = np.char.lower(np.char.strip(np.asarray(cells, dtype=np.str_)))
    missing = np.isin(text, MISSING)
    values = np.full(text.shape[0], np.nan)
    candidates = text[~missing]
    try:
        values[~missing] = candidates.astype(np.float64)
        return Column(values, ~missing)
    except ValueError:
        pass
    parsed = np.full(candidates.shape[0], np.nan)
    ok = np.zeros(candidates.shape[0], dtype=bool)
    comma = delimiter != ","
    for position, cell in enumerate(candidates.tolist()):
        try:
            parsed[position] = float(cell)
            ok[position] = True
        except ValueError:
            if comma and DECIMAL_COMMA.match(cell):
                parsed[position] = float(cell.replace(",", "."))
                ok[position] = True
    if not ok.any():
        return None  # a text column such as a run name or a duration: not a metric
    if not ok.all():
        bad = int(np.nonzero(~ok)[0][0])
        line = int(lines[~missing][bad])
        cell = candidates[bad]
        raise InputError(f"{path}:{line}: column {name!r} holds {cell[:40]!r}, not a number")
    if comma and any(DECIMAL_COMMA.match(c) for c in candidates.tolist()[:50]):
        notes.append(f"column {name!r} uses decimal commas")
    values[~missing] = parsed
    return Column(values, ~missing)


def identify(table: Table, header: list[str]) -> None:
    """Name the tool that wrote the file, and apply what that tool's layout implies."""
    lowered = [h.lower() for h in header]
    names = set(lowered)
    columns = table.columns
    if header and header[0] == "" and "" in columns:
        index = columns.pop("")
        if np.array_equal(index.values, np.arange(table.rows)):
            columns["epoch"] = index
            table.notes.append("the unnamed first column (a pandas index) is taken as the epoch")
        table.format = "pandas-csv"
    if any(h.startswith("train/") and h.endswith("_loss") for h in lowered) and any(
        h.startswith("metrics/") for h in lowered
    ):
        table.format = "ultralytics-results"
        table.ignore = tuple(h for h in header if h.lower() == "time")
    elif lowered[:3] == ["epoch", "train_loss", "valid_loss"]:
        table.format = "fastai-csv"
        table.unmarked_metrics_are_validation = True
        table.notes.append(
            "fastai log: metrics without train/valid in their name (accuracy, error_rate) "
            "are validation metrics"
        )
    elif "epoch" in names and "step" in names:
        table.format = "lightning-csv"
        table.per_step = True
        _read_hparams(table)
    elif lowered and lowered[0] == "epoch":
        table.format = "keras-csvlogger" if "loss" in names else "csv"


def _read_hparams(table: Table) -> None:
    """Lightning writes hparams.yaml beside metrics.csv: keep what it says, plainly."""
    path = table.path.parent / "hparams.yaml"
    if not path.is_file():
        return
    from overfitlint.loaders.logs.hparams import read_hparams
    from overfitlint.paths import find_root, is_inside

    if not is_inside(path, find_root(table.path)):
        table.notes.append("hparams.yaml beside the log links outside the repository: not read")
        return

    hparams, note = read_hparams(path)
    if note:
        table.notes.append(note)
    if not hparams:
        return
    table.meta["hparams"] = hparams
    table.notes.append(f"hparams.yaml beside the log: {', '.join(sorted(hparams)[:8])}")
    batch = hparams.get("batch_size")
    step = table.find(("step",))
    epoch = table.find(("epoch",))
    if isinstance(batch, int) and batch > 0 and step and epoch:
        steps_per_epoch = _steps_per_epoch(table.columns[epoch], table.columns[step])
        if steps_per_epoch:
            table.samples = steps_per_epoch * batch
            table.samples_basis = (
                f"{steps_per_epoch} steps per epoch in metrics.csv x batch_size {batch} in "
                "hparams.yaml (an upper bound: the last batch may be smaller)"
            )


def _steps_per_epoch(epoch: Column, step: Column) -> int | None:
    ok = epoch.present & step.present & np.isfinite(epoch.values) & np.isfinite(step.values)
    e, s = epoch.values[ok], step.values[ok]
    if e.size < 2:
        return None
    order = np.argsort(e, kind="stable")
    e, s = e[order], s[order]
    firsts = np.flatnonzero(np.concatenate(([True], e[1:] != e[:-1])))
    if firsts.size < 2:
        return None
    ends = np.maximum.reduceat(s, firsts)  # the last step of each epoch
    per_epoch = np.diff(ends)
    typical = median(per_epoch)
    return round(typical) if typical > 0 else None
