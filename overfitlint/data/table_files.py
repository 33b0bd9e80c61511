"""CSV and Parquet files, read with pyarrow within the budget."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pv
import pyarrow.parquet as pq

from overfitlint.data.budget import DataBudget, Deadline
from overfitlint.errors import InputError


def check_size(path: Path, budget: DataBudget) -> None:
    size = path.stat().st_size
    if size > budget.max_file_bytes:
        raise InputError(
            f"{path}: {size:,} bytes is over the data budget of {budget.max_file_bytes:,} bytes"
        )


def read_parquet(
    path: Path, row_cap: int, budget: DataBudget, notes: list[str]
) -> tuple[pa.Table, int]:
    """The table (evenly spread row groups when it holds more than ``row_cap`` rows) and the
    number of rows in the file."""
    check_size(path, budget)
    try:
        parquet = pq.ParquetFile(path)
        total = parquet.metadata.num_rows
        groups = parquet.metadata.num_row_groups
        if total <= row_cap or groups <= 1:
            table = parquet.read()
        else:
            per_group = total / groups
            wanted = max(1, min(groups, int(row_cap // per_group)))
            chosen = sorted({round(i * (groups - 1) / max(wanted - 1, 1)) for i in range(wanted)})
            table = parquet.read_row_groups(chosen)
            notes.append(
                f"{path}: read {len(chosen)} of {groups} row groups, evenly spread "
                f"({table.num_rows:,} of {total:,} rows; row cap {row_cap:,})"
            )
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
    return table, total


def parquet_columns(path: Path) -> list[str]:
    try:
        return pq.read_schema(path).names
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None


def read_csv(
    path: Path, row_cap: int, budget: DataBudget, deadline: Deadline, notes: list[str]
) -> tuple[pa.Table, int]:
    """The first ``row_cap`` rows (streamed; a note when the file holds more)."""
    check_size(path, budget)
    batches = []
    rows = 0
    stopped = ""
    try:
        reader = pv.open_csv(path, read_options=pv.ReadOptions(block_size=1 << 22))
        schema = reader.schema
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if rows >= row_cap:
                stopped = f"row cap {row_cap:,}"
                break
            if deadline.passed():
                stopped = f"time budget {deadline.seconds:g} s"
                break
        more = rows > row_cap or (bool(stopped) and _has_more(reader))
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV file ({_first_line(exc)})") from None
    table = pa.Table.from_batches(batches, schema=schema)
    if more:
        table = table.slice(0, min(rows, row_cap))
        notes.append(
            f"{path}: read the first {table.num_rows:,} rows only ({stopped}); the file holds more"
        )
    return table, table.num_rows


def _has_more(reader: pv.CSVStreamingReader) -> bool:
    try:
        reader.read_next_batch()
    except StopIteration:
        return False
    return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
