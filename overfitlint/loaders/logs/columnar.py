"""Big text logs read column by column: pyarrow's CSV and JSON readers, straight into numpy.

For a log of millions of rows the row-by-row readers (``csv_log``, ``json_log``) spend seconds
in Python; pyarrow parses the same bytes in C on every core. It is an extra
(``pip install 'overfitlint[fast]'``): without it, or for a file under ``FAST_MIN_BYTES``, the
row-by-row readers read everything.

Only a *regular* file takes this path, one this reader can read exactly as the row-by-row
readers do; any other returns None and is read by them, so what a log yields (values, missing
cells, line numbers, notes, errors) never depends on the path it took. Regular means:

- UTF-8 (a byte order mark allowed), LF or CRLF line endings, no blank line after the header,
  so that the file line of every row is the header's line plus its position;
- CSV: no quote after the header, every row as wide as the header, cells that are numbers,
  missing markers (``NA``, empty...) or, in a column of text, at most ``MAX_TEXT_VALUES``
  distinct strings (a run name, a timestamp column of few values); no decimal commas;
- JSON lines: ASCII, one object per line from the first line on, whose keys (one level of
  nesting flattened to ``outer/inner``, as ``json_log`` does) all appear in the first line.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from overfitlint.errors import InputError
from overfitlint.loaders.logs.csv_log import (
    DECIMAL_COMMA,
    DELIMITERS,
    MISSING,
    check_header,
    identify,
)
from overfitlint.loaders.logs.table import Column, Table

FAST_MIN_BYTES = 4 << 20
"""Smaller logs are read row by row: importing pyarrow would cost more than it saves."""
MAX_TEXT_VALUES = 4096
MAX_HEADER_SEARCH = 64
"""Lines searched for the header (blank lines before it are skipped, as csv_log does)."""
UTF8_BOM = b"\xef\xbb\xbf"
HEX = re.compile(rb"0[xX]")
LINE_BREAKS_OF_SPLITLINES = re.compile(rb"[\x0b\x0c\x1c-\x1e]")
"""ASCII characters that ``str.splitlines`` (which numbers JSON lines) also breaks lines at."""
NULL_MARKERS = sorted(
    {
        "".join(chars)
        for marker in MISSING
        for chars in itertools.product(*((c.lower(), c.upper()) for c in marker))
    }
)
"""Every spelling of a missing cell whatever its case (csv_log compares them lowercased)."""


class _Irregular(Exception):
    """The file is not one this reader reads exactly: the row-by-row readers read it."""


def read_columnar(path: Path, data: bytes, min_bytes: int = FAST_MIN_BYTES) -> Table | None:
    """The table of a big, regular CSV or JSON-lines log; None: read it row by row."""
    if len(data) < min_bytes:
        return None
    try:
        import pyarrow
    except ImportError:
        return None
    try:
        start = _text_start(data)
        if data[start : start + 1] == b"{":
            return _json_lines(path, data, start)
        if data[start : start + 1] == b"[":
            return None
        return _csv(path, data, start)
    except (_Irregular, InputError, pyarrow.ArrowException, ValueError, RecursionError):
        return None


def _text_start(data: bytes) -> int:
    """Where the text begins (after a UTF-8 byte order mark), once it is known to be UTF-8
    text with LF or CRLF line ends."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:8192]:
        raise _Irregular  # UTF-16 or binary: csv_log decides what to say
    if not data.isascii():
        data.decode("utf-8-sig")  # not UTF-8: raises, and csv_log names the byte
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        raise _Irregular  # CR-only or mixed line ends
    return len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0


def _body_end(data: bytes, start: int) -> int:
    end = len(data)
    while end > start and data[end - 1] in b"\r\n":
        end -= 1
    return end


def _rows_expected(data: bytes, start: int, end: int) -> int:
    return data.count(b"\n", start, end) + 1


def _line(data: bytes, start: int) -> tuple[str, int]:
    """The text of the line starting at ``start`` (without its line end) and where the next
    line starts."""
    end = data.find(b"\n", start)
    if end < 0:
        raise _Irregular  # a header and nothing after it
    return data[start:end].rstrip(b"\r").decode("utf-8"), end + 1


# -- CSV -------------------------------------------------------------------------------------


def _csv(path: Path, data: bytes, start: int) -> Table:
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    delimiter = _delimiter(data, start)
    raw, header_line, body_start = _header(data, start, delimiter)
    header = check_header(raw, path, header_line)
    body_end = _body_end(data, body_start)
    if body_end <= body_start or data.find(b'"', body_start, body_end) >= 0:
        raise _Irregular  # no rows, or quoted cells: csv_log's rules for them
    if _has_hex(data, body_start, body_end):
        raise _Irregular  # pyarrow reads 0x10 as 16; Python's float() refuses it
    if len(raw) < 2:
        raise _Irregular  # one column: csv_log skips its blank cells as blank lines
    names = [f"c{index}" for index in range(len(raw))]
    body = pa.py_buffer(memoryview(data)[body_start:body_end])
    read = {
        "read_options": arrow_csv.ReadOptions(column_names=names),
        "parse_options": arrow_csv.ParseOptions(delimiter=delimiter, newlines_in_values=False),
    }
    convert = {"null_values": NULL_MARKERS, "true_values": [], "false_values": []}
    table = arrow_csv.read_csv(body, **read, convert_options=arrow_csv.ConvertOptions(**convert))
    rows = table.num_rows
    if rows != _rows_expected(data, body_start, body_end):
        raise _Irregular  # blank lines inside: their line numbers are csv_log's to count
    text_columns = [name for name in names if not _is_numeric(table.column(name).type)]
    if text_columns:
        as_text = {name: pa.string() for name in text_columns}
        convert.update(include_columns=text_columns, column_types=as_text)
        text_table = arrow_csv.read_csv(
            body, **read, convert_options=arrow_csv.ConvertOptions(**convert)
        )
    columns: dict[str, Column] = {}
    for index, name in enumerate(names):
        column = (
            _csv_text(text_table.column(name), delimiter)
            if name in text_columns
            else _numbers(table.column(name))
        )
        if index >= len(header):  # a trailing delimiter: an unnamed column that must be empty
            if column is not None and column.present.any():
                raise _Irregular
            continue
        if column is not None:
            columns[header[index]] = column
    lines = np.arange(header_line + 1, header_line + 1 + rows, dtype=np.int64)
    result = Table(path, "csv", columns, lines)
    identify(result, header)
    return result


def _has_hex(data: bytes, start: int, end: int) -> bool:
    """Whether a cell may be a hexadecimal number (one-byte searches first: they are fast)."""
    return any(
        data.find(letter, start, end) >= 0 and HEX.search(data, start, end) is not None
        for letter in (b"x", b"X")
    )


def _delimiter(data: bytes, start: int) -> str:
    """csv_log's choice: the most frequent of , ; and tab on the first line."""
    first = start
    while first < len(data) and data[first] in b"\r\n":
        first += 1
    end = data.find(b"\n", first)
    if end < 0:
        raise _Irregular
    line = data[first:end].decode("utf-8")
    return max(DELIMITERS, key=line.count)


def _header(data: bytes, start: int, delimiter: str) -> tuple[list[str], int, int]:
    """The header's cells (stripped), its 1-based line and where the rows begin."""
    position = start
    for number in range(1, MAX_HEADER_SEARCH + 1):
        text, position = _line(data, position)
        try:
            row = next(csv.reader([text], delimiter=delimiter, strict=True), [])
        except csv.Error:
            raise _Irregular from None
        if any(cell.strip() for cell in row):
            if text.count('"') % 2:
                raise _Irregular  # a quoted header cell that spans lines
            return [cell.strip() for cell in row], number, position
    raise _Irregular


def _is_numeric(kind: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_null(kind)


def _numbers(column: Any) -> Column:
    import pyarrow as pa

    count = len(column)
    if pa.types.is_null(column.type):
        return Column(np.full(count, np.nan), np.zeros(count, dtype=bool))
    values = column.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    if column.null_count == 0:
        return Column(values, np.ones(count, dtype=bool))
    present = column.is_valid().to_numpy(zero_copy_only=False)
    return Column(values, present)


def _distinct(column: Any) -> tuple[list[str], np.ndarray]:
    """The distinct strings of a text column and each cell's index into them (-1: null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    distinct = pc.unique(column.drop_null())
    if len(distinct) > MAX_TEXT_VALUES:
        raise _Irregular  # many different strings: csv_log reads them one by one
    codes = pc.index_in(column, value_set=distinct)
    codes = pc.fill_null(codes, -1).cast(pa.int64()).to_numpy(zero_copy_only=False)
    return distinct.to_pylist(), codes


def _csv_text(column: Any, delimiter: str) -> Column | None:
    """csv_log's reading of a column that is not all numbers: missing markers, numbers, and a
    column with no number at all is text (not a metric); a mix of numbers and text is an error
    that csv_log reports with its line."""
    strings, codes = _distinct(column)
    table = np.full(len(strings) + 1, np.nan)  # the last slot: a null cell
    missing = np.ones(len(strings) + 1, dtype=bool)
    bad = False
    for index, text in enumerate(strings):
        cell = text.strip().lower()
        if cell in MISSING:
            continue
        try:
            table[index] = float(cell)
            missing[index] = False
        except ValueError:
            if delimiter != "," and DECIMAL_COMMA.match(cell):
                raise _Irregular from None  # decimal commas: csv_log reads and notes them
            bad = True
    numbers = ~missing[:-1]
    if bad:
        if numbers.any():
            raise _Irregular  # a number column holding text: csv_log names the line
        return None
    return Column(table[codes], ~missing[codes])


# -- JSON lines ------------------------------------------------------------------------------


def _json_lines(path: Path, data: bytes, start: int) -> Table:
    import pyarrow as pa
    from pyarrow import json as arrow_json

    if not data.isascii() or LINE_BREAKS_OF_SPLITLINES.search(data):
        raise _Irregular
    first_line, _ = _line(data, start)
    first = json.loads(first_line)
    if not isinstance(first, dict):
        raise _Irregular
    end = _body_end(data, start)
    table = arrow_json.read_json(pa.py_buffer(memoryview(data)[start:end]))
    rows = table.num_rows
    if rows < 2 or rows != _rows_expected(data, start, end):
        raise _Irregular  # blank lines: json_log numbers lines as splitlines() does
    columns: dict[str, Column] = {}
    for name, column in _flattened(table):
        kind = column.type
        if _is_numeric(kind):
            columns[name] = _numbers(column)
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            read = _json_text(column)
            if read is not None:
                columns[name] = read
        # booleans, lists and deeper objects are no numbers: json_log leaves them out too
    registered = [key for key, value in _flatten(first).items() if _registers(value)]
    if [k for k in registered if k in columns] != list(columns) or not set(columns) <= set(
        registered
    ):
        raise _Irregular  # a key first seen after line 1: json_log orders keys by appearance
    lines = np.arange(1, rows + 1, dtype=np.int64)
    return Table(path, "json-lines", columns, lines)


def _flattened(table: Any) -> list[tuple[str, Any]]:
    """(name, column) with one level of objects flattened to ``outer/inner``."""
    import pyarrow as pa

    found: list[tuple[str, Any]] = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_struct(field.type):
            if column.null_count:
                raise _Irregular  # an object missing (or null) on some line: json_log may
                # make a column of the null, which no object column here has
            for index, inner in enumerate(field.type):
                found.append((f"{field.name}/{inner.name}", _child(column, index)))
        else:
            found.append((field.name, column))
    names = [name for name, _ in found]
    if len(set(names)) != len(names):
        raise _Irregular  # "a/b" written both nested and flat
    return found


def _child(column: Any, index: int) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pa.chunked_array(
        [pc.struct_field(chunk, [index]) for chunk in column.chunks],
        type=column.type[index].type,
    )


def _flatten(entry: dict) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in entry.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                flat[f"{key}/{inner}"] = inner_value
        else:
            flat[str(key)] = value
    return flat


def _registers(value: Any) -> bool:
    """json_log makes a column of a key when it sees a number, null or string in it."""
    return (
        value is None
        or isinstance(value, str)
        or (isinstance(value, int | float) and not isinstance(value, bool))
    )


def _json_text(column: Any) -> Column | None:
    """json_log's reading of strings: ``float(text)`` or not a number."""
    strings, codes = _distinct(column)
    table = np.full(len(strings) + 1, np.nan)
    parsed = np.zeros(len(strings) + 1, dtype=bool)
    for index, text in enumerate(strings):
        try:
            table[index] = float(text)
            parsed[index] = True
        except ValueError:
            pass
    if not parsed[:-1].all():
        if parsed[:-1].any():
            raise _Irregular  # json_log reports the first string that is no number
        return None
    return Column(table[codes], parsed[codes])
