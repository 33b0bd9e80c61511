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

import codecs
import csv
import itertools
import json
import re
from dataclasses import dataclass
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
from overfitlint.loaders.logs.json_log import flatten
from overfitlint.loaders.logs.table import Column, Table

FAST_MIN_BYTES = 4 << 20
"""Smaller logs are read row by row: importing pyarrow would cost more than it saves."""
MAX_TEXT_VALUES = 4096
HEAD_BYTES = 1 << 16
"""The header (or the first JSON line) must end within the first this many bytes."""
BLOCK_BYTES = 16 << 20
TAIL_BYTES = 4096
MAX_HEADER_SEARCH = 64
"""Lines searched for the header (blank lines before it are skipped, as csv_log does)."""
UTF8_BOM = b"\xef\xbb\xbf"
HEX = re.compile(rb"0[xX]")
SPLITLINES_BREAKS = (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e")
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


@dataclass(frozen=True)
class _Scan:
    """What one pass over the file's bytes showed."""

    ascii: bool
    rows: int
    """Lines from the body's start to its end (the file line of every row, when no line is
    blank)."""
    quoted: bool
    """A quote after the header."""
    hexadecimal: bool
    """``0x`` or ``0X`` after the header (pyarrow reads 0x10 as 16; ``float()`` refuses it)."""
    line_breaks: bool
    """A character ``str.splitlines`` breaks lines at besides CR and LF."""


def read_columnar(path: Path, size: int, min_bytes: int = FAST_MIN_BYTES) -> Table | None:
    """The table of a big, regular CSV or JSON-lines log of ``size`` bytes; None: read it row
    by row. The file is streamed, never held in memory whole."""
    if size < min_bytes:
        return None
    try:
        import pyarrow
    except ImportError:
        return None
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
        start = _text_start(head)
        if head[start : start + 1] == b"{":
            return _json_lines(path, head, start)
        if head[start:].lstrip()[:1] in (b"{", b"["):
            return None  # JSON after blank lines, or one JSON document: json_log reads it
        return _csv(path, head, start)
    except (_Irregular, InputError, OSError, pyarrow.ArrowException, ValueError, RecursionError):
        return None


def _text_start(head: bytes) -> int:
    """Where the text begins (after a UTF-8 byte order mark)."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:8192]:
        raise _Irregular  # UTF-16 or binary: csv_log decides what to say
    return len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0


def _scan(path: Path, body_start: int, lines_before: int) -> _Scan:
    """One pass over the file in blocks: it is UTF-8 (csv_log names the byte where it is not)
    with LF or CRLF line ends, and how many lines the body from ``body_start`` has (trailing
    line ends left out), ``lines_before`` being the line ends before it."""
    newlines = returns = pairs = 0
    quoted = hexadecimal = line_breaks = False
    decoder = None
    last = b""
    tail = b""
    offset = 0
    with path.open("rb") as handle:
        while block := handle.read(BLOCK_BYTES):
            if decoder is not None or not block.isascii():
                decoder = decoder or codecs.getincrementaldecoder("utf-8")()
                decoder.decode(block)
            newlines += block.count(b"\n")
            if b"\r" in block:
                returns += block.count(b"\r")
                pairs += block.count(b"\r\n")
            pairs += last == b"\r" and block[:1] == b"\n"
            body = max(0, body_start - offset)
            quoted = quoted or block.find(b'"', body) >= 0
            hexadecimal = hexadecimal or _has_hex(block, body, last if offset > body_start else b"")
            line_breaks = line_breaks or any(byte in block for byte in SPLITLINES_BREAKS)
            tail = (tail + block[-TAIL_BYTES:])[-TAIL_BYTES:]
            last = block[-1:]
            offset += len(block)
    if decoder is not None:
        decoder.decode(b"", final=True)
    if returns != pairs:
        raise _Irregular  # CR-only or mixed line ends: csv_log counts their lines
    ends = tail[len(tail.rstrip(b"\r\n")) :]
    if len(ends) == len(tail) or offset - len(ends) <= body_start:
        raise _Irregular  # no rows (or a tail of nothing but line ends)
    rows = newlines - lines_before - ends.count(b"\n") + 1
    return _Scan(decoder is None, rows, quoted, hexadecimal, line_breaks)


def _has_hex(block: bytes, start: int, before: bytes) -> bool:
    """A possible hexadecimal number in ``block`` from ``start`` (``before``: the byte before
    the block, when it belongs to the body). One-byte searches first: they are fast."""
    if not any(block.find(letter, start) >= 0 for letter in (b"x", b"X")):
        return False
    return (before == b"0" and block[:1] in (b"x", b"X")) or HEX.search(block, start) is not None


def _line(head: bytes, start: int) -> tuple[str, int]:
    """The text of the line starting at ``start`` (without its line end) and where the next
    line starts."""
    end = head.find(b"\n", start)
    if end < 0:
        raise _Irregular  # a header and nothing after it, or a line longer than the head
    return head[start:end].rstrip(b"\r").decode("utf-8"), end + 1


def _source(path: Path, position: int):
    import pyarrow as pa

    source = pa.OSFile(str(path))
    source.seek(position)
    return source


def _fill(batches, count: int, rows: int) -> list[Column]:
    """Every column of the record ``batches``, as float64 and present cells, into arrays made
    once for the ``rows`` the scan counted (more or fewer rows: the file is not regular)."""
    values = [np.empty(rows) for _ in range(count)]
    present: list[np.ndarray | None] = [None] * count
    position = 0
    for batch in batches:
        size = batch.num_rows
        if position + size > rows:
            raise _Irregular
        for index, column in enumerate(batch.columns):
            values[index][position : position + size] = column.to_numpy(zero_copy_only=False)
            if column.null_count:
                if present[index] is None:
                    present[index] = np.ones(rows, dtype=bool)
                valid = column.is_valid().to_numpy(zero_copy_only=False)
                present[index][position : position + size] = valid
        position += size
    if position != rows:
        raise _Irregular  # blank lines inside: their line numbers are the row readers' to count
    return [
        Column(v, p if p is not None else np.ones(rows, dtype=bool))
        for v, p in zip(values, present, strict=True)
    ]


# -- CSV -------------------------------------------------------------------------------------


def _csv(path: Path, head: bytes, start: int) -> Table:
    from pyarrow import csv as arrow_csv

    delimiter = _delimiter(head, start)
    raw, header_line, body_start = _header(head, start, delimiter)
    header = check_header(raw, path, header_line)
    if len(raw) < 2:
        raise _Irregular  # one column: csv_log skips its blank cells as blank lines
    scan = _scan(path, body_start, header_line)
    if scan.quoted or scan.hexadecimal:
        raise _Irregular  # quoted cells (csv_log's quoting rules) or hexadecimal numbers
    names = [f"c{index}" for index in range(len(raw))]
    read = {
        "read_options": arrow_csv.ReadOptions(column_names=names),
        "parse_options": arrow_csv.ParseOptions(delimiter=delimiter, newlines_in_values=False),
    }
    convert = {"null_values": NULL_MARKERS, "true_values": [], "false_values": []}
    try:  # every column a number: streamed into float64 arrays
        as_numbers = {name: "float64" for name in names}
        options = arrow_csv.ConvertOptions(**convert, column_types=as_numbers)
        reader = arrow_csv.open_csv(_source(path, body_start), **read, convert_options=options)
        read_columns: list[Column | None] = list(_fill(reader, len(names), scan.rows))
    except ValueError as exc:  # pyarrow.ArrowInvalid: a column of text
        if "conversion error" not in str(exc):
            raise
        read_columns = _csv_with_text(path, body_start, read, convert, delimiter, scan.rows)
    columns: dict[str, Column] = {}
    for index, column in enumerate(read_columns):
        if index >= len(header):  # a trailing delimiter: an unnamed column that must be empty
            if column is not None and column.present.any():
                raise _Irregular
            continue
        if column is not None:
            columns[header[index]] = column
    lines = np.arange(header_line + 1, header_line + 1 + scan.rows, dtype=np.int64)
    result = Table(path, "csv", columns, lines)
    identify(result, header)
    return result


def _csv_with_text(path, body_start, read, convert, delimiter, rows) -> list[Column | None]:
    """The columns of a file with text in some column: types inferred, then the columns that
    are not numbers read again as strings and judged by their distinct values."""
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    options = arrow_csv.ConvertOptions(**convert)
    table = arrow_csv.read_csv(_source(path, body_start), **read, convert_options=options)
    if table.num_rows != rows:
        raise _Irregular
    names = table.column_names
    text = [name for name in names if not _is_numeric(table.column(name).type)]
    as_text = {name: pa.string() for name in text}
    options = arrow_csv.ConvertOptions(**convert, include_columns=text, column_types=as_text)
    texts = arrow_csv.read_csv(_source(path, body_start), **read, convert_options=options)
    return [
        _csv_text(texts.column(name), delimiter) if name in text else _numbers(table.column(name))
        for name in names
    ]


def _delimiter(head: bytes, start: int) -> str:
    """csv_log's choice: the most frequent of , ; and tab on the first line."""
    first = start
    while first < len(head) and head[first] in b"\r\n":
        first += 1
    end = head.find(b"\n", first)
    if end < 0:
        raise _Irregular
    line = head[first:end].decode("utf-8")
    return max(DELIMITERS, key=line.count)


def _header(head: bytes, start: int, delimiter: str) -> tuple[list[str], int, int]:
    """The header's cells (stripped), its 1-based line and where the rows begin."""
    position = start
    for number in range(1, MAX_HEADER_SEARCH + 1):
        text, position = _line(head, position)
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


def _json_lines(path: Path, head: bytes, start: int) -> Table:
    import pyarrow as pa
    from pyarrow import json as arrow_json

    first_line, _ = _line(head, start)
    first = json.loads(first_line)
    if not isinstance(first, dict):
        raise _Irregular
    scan = _scan(path, start, 0)
    if not scan.ascii or scan.line_breaks or scan.rows < 2:
        raise _Irregular  # json_log numbers lines as str.splitlines() does
    flat = flatten(first)
    registered = [key for key, value in flat.items() if _registers(value)]
    columns: dict[str, Column] = {}
    numbers = all(value is None or _is_number(value) for value in first.values())
    if numbers:  # flat numbers: streamed into float64 arrays, every key named on line 1
        schema = pa.schema([(key, pa.float64()) for key in registered])
        options = arrow_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
        try:
            reader = arrow_json.open_json(_source(path, start), parse_options=options)
            columns = dict(zip(registered, _fill(reader, len(registered), scan.rows), strict=True))
        except ValueError:  # pyarrow.ArrowInvalid: a key or a value line 1 does not show
            numbers = False
    if not numbers:
        table = arrow_json.read_json(_source(path, start))
        if table.num_rows != scan.rows:
            raise _Irregular
        for name, column in _flattened(table):
            kind = column.type
            if _is_numeric(kind):
                columns[name] = _numbers(column)
            elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
                read = _json_text(column)
                if read is not None:
                    columns[name] = read
            # booleans, lists and deeper objects are no numbers: json_log leaves them out
    if [k for k in registered if k in columns] != list(columns) or not set(columns) <= set(
        registered
    ):
        raise _Irregular  # a key first seen after line 1: json_log orders keys by appearance
    lines = np.arange(1, scan.rows + 1, dtype=np.int64)
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


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _registers(value: Any) -> bool:
    """json_log makes a column of a key when it sees a number, null or string in it."""
    return value is None or isinstance(value, str) or _is_number(value)


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
