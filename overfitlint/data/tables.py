"""Arrow tables (CSV, Parquet, a ``datasets`` folder) to the arrays the measurements read.

Columnar: every column is converted once by pyarrow and gathered by numpy; nothing loops over
rows in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overfitlint.data.arrays import MISSING_CLASS, DataArrays, SplitArrays
from overfitlint.data.budget import DataBudget
from overfitlint.data.parallel import each
from overfitlint.errors import InputError

LABEL_COLUMNS = ("label", "labels", "target", "class", "y")
SPLIT_COLUMNS = ("split", "subset")
ID_COLUMNS = frozenset({"", "id", "idx", "index", "row_id", "unnamed: 0", "__index_level_0__"})
"""Columns that number the rows: left out of the features (they make every row unique)."""
TRAIN_VALUES = frozenset({"train", "training", "tr"})
VAL_VALUES = frozenset({"val", "valid", "validation", "dev", "eval", "evaluation"})
TEST_VALUES = frozenset({"test", "testing"})
MAX_INT_CLASSES = 1000
MAX_FLOAT_CLASSES = 100
SAMPLE_SEED = 0


@dataclass
class TablePart:
    """The rows of one split: a table and which of its rows (None: all), with their names."""

    table: pa.Table
    rows: np.ndarray | None
    ids: np.ndarray
    source_rows: int
    source: str

    @property
    def size(self) -> int:
        return len(self.ids)


@dataclass
class TableData:
    arrays: DataArrays
    features: list[str]
    classes: list[str]
    task: str


def pick_label(columns: list[str], label: str | None, source: str) -> str:
    return _pick_column(
        columns,
        label,
        LABEL_COLUMNS,
        "label",
        source,
        f"no label column (looked for {', '.join(LABEL_COLUMNS)}); name it with --label COLUMN",
    )


def pick_split_column(columns: list[str], split_column: str | None, source: str) -> str:
    return _pick_column(
        columns,
        split_column,
        SPLIT_COLUMNS,
        "split",
        source,
        "one file needs a split column (split or subset, with values train and "
        "val/validation/test): name it with --split-column COLUMN, or give the training and "
        "validation files",
    )


def _pick_column(
    columns: list[str],
    given: str | None,
    usual: tuple[str, ...],
    what: str,
    source: str,
    none_found: str,
) -> str:
    """The column the user named, else the first whose lower-case name is a ``usual`` one;
    a named column that is missing, or none found, is one line that lists the columns."""
    if given is not None:
        if given not in columns:
            raise InputError(
                f"{source}: no {what} column {given!r}; the columns are: {', '.join(columns)}"
            )
        return given
    for name in columns:
        if name.lower() in usual:
            return name
    raise InputError(f"{source}: {none_found}; the columns are: {', '.join(columns)}")


def capped_rows(
    rows: np.ndarray, name: str, features: int, budget: DataBudget, notes: list[str]
) -> np.ndarray:
    """``rows`` or a random sample of them within the row and cell caps (with a note)."""
    cap = min(budget.max_rows, max(1, budget.max_cells // max(features, 1)))
    if len(rows) <= cap:
        return rows
    rng = np.random.default_rng(SAMPLE_SEED)
    kept = np.sort(rng.choice(len(rows), size=cap, replace=False))
    notes.append(
        f"{name}: measured a random sample of {cap:,} of {len(rows):,} rows (row cap "
        f"{budget.max_rows:,}, cell cap {budget.max_cells:,}; seed {SAMPLE_SEED})"
    )
    return rows[kept]


def _split_codes(column: pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """The distinct split names (trimmed, lower case) and each row's index into them (-1:
    null); only the distinct values are handled as text."""
    if pa.types.is_dictionary(column.type):
        column = column.unify_dictionaries()
        encoded = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    else:
        encoded = pc.cast(column, pa.string()).combine_chunks().dictionary_encode()
    names = ["" if v is None else str(v).strip().lower() for v in encoded.dictionary.to_pylist()]
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    return names, codes


def parts_by_split_column(
    table: pa.Table,
    column: str,
    source: str,
    budget: DataBudget,
    notes: list[str],
    features: int,
) -> tuple[TablePart, TablePart]:
    names, codes = _split_codes(table.column(column))
    groups = {
        role: [i for i, name in enumerate(names) if name in wanted]
        for role, wanted in (("train", TRAIN_VALUES), ("val", VAL_VALUES), ("test", TEST_VALUES))
    }
    rows = {role: np.flatnonzero(np.isin(codes, ids)) for role, ids in groups.items()}
    if len(rows["val"]) == 0 and len(rows["test"]):
        notes.append(f"{source}: no 'val' rows in column {column!r}: the 'test' rows are used")
        rows["val"], rows["test"] = rows["test"], rows["val"]
    elif len(rows["test"]):
        notes.append(f"{source}: {len(rows['test']):,} 'test' rows ignored (val rows are used)")
    known = {i for ids in groups.values() for i in ids}
    other = sorted(name for i, name in enumerate(names) if i not in known)
    ignored = int(len(codes) - sum(len(r) for r in rows.values()))
    if ignored:
        notes.append(
            f"{source}: {ignored:,} rows ignored whose {column!r} is "
            f"{', '.join(repr(v) for v in other[:5]) or 'empty'}"
        )
    for role in ("train", "val"):
        if len(rows[role]) == 0:
            raise InputError(
                f"{source}: column {column!r} has no {role} rows (values found: "
                f"{', '.join(repr(v) for v in names[:10]) or 'none'})"
            )
    parts = []
    for role in ("train", "val"):
        kept = capped_rows(rows[role], f"{source} ({role})", features, budget, notes)
        parts.append(TablePart(table, kept, kept, len(rows[role]), source))
    return parts[0], parts[1]


def whole_part(
    table: pa.Table,
    source: str,
    budget: DataBudget,
    notes: list[str],
    features: int,
    source_rows: int | None = None,
) -> TablePart:
    everything = np.arange(table.num_rows)
    kept = capped_rows(everything, source, features, budget, notes)
    rows = None if len(kept) == table.num_rows else kept
    return TablePart(table, rows, kept, source_rows or table.num_rows, source)


def feature_columns(
    schema: pa.Schema, exclude: set[str], notes: list[str], source: str
) -> list[str]:
    kept, ids, unusable = [], [], []
    for field in schema:
        if field.name in exclude:
            continue
        if field.name.strip().lower() in ID_COLUMNS:
            ids.append(field.name)
        elif _usable(field.type):
            kept.append(field.name)
        else:
            unusable.append(f"{field.name} ({field.type})")
    if ids:
        notes.append(f"{source}: row-number columns left out of the features: {', '.join(ids)}")
    if unusable:
        notes.append(f"{source}: columns of a type not measured: {', '.join(unusable)}")
    if not kept:
        raise InputError(
            f"{source}: no feature columns besides the label; columns: {', '.join(schema.names)}"
        )
    return kept


def _usable(kind: pa.DataType) -> bool:
    return (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_temporal(kind)
        or _is_text(kind)
    )


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        return _is_text(kind.value_type)
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _float64(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_temporal(kind):
        column = pc.cast(column, pa.int64())
    elif pa.types.is_dictionary(kind):
        column = pc.cast(column, kind.value_type)
    if not pa.types.is_float64(column.type):
        column = pc.cast(column, pa.float64())
    return column


def _gather(values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return values if rows is None else values[rows]


def _fill(column: pa.ChunkedArray, rows: np.ndarray | None, out: np.ndarray) -> None:
    """Write the float64 values of ``column`` at the (sorted) ``rows`` into ``out``, a chunk
    at a time: each chunk is a zero-copy view, gathered straight into ``out``."""
    lengths = [len(chunk) for chunk in column.chunks]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    if rows is None:
        for k, chunk in enumerate(column.chunks):
            out[offsets[k] : offsets[k + 1]] = chunk.to_numpy(zero_copy_only=False)
        return
    bounds = np.searchsorted(rows, offsets)
    for k, chunk in enumerate(column.chunks):
        low, high = bounds[k], bounds[k + 1]
        if low < high:
            values = chunk.to_numpy(zero_copy_only=False)
            np.take(values, rows[low:high] - offsets[k], out=out[low:high], mode="clip")


def build_arrays(
    train: TablePart,
    val: TablePart,
    *,
    label: str,
    features: list[str],
    label_names: list[str] | None = None,
) -> TableData:
    """``label_names``: names of integer class codes (a ``datasets`` ClassLabel)."""
    x_train = np.empty((train.size, len(features)), dtype=np.float64, order="F")
    x_val = np.empty((val.size, len(features)), dtype=np.float64, order="F")
    categorical = np.zeros(len(features), dtype=bool)
    for j, name in enumerate(features):
        t_col, v_col = train.table.column(name), val.table.column(name)
        if _is_text(t_col.type) or _is_text(v_col.type):
            categorical[j] = True
            t_codes, v_codes = _shared_codes(
                pc.cast(t_col, pa.string()), pc.cast(v_col, pa.string()), train, val
            )
            x_train[:, j], x_val[:, j] = t_codes, v_codes
    numeric = [(j, name) for j, name in enumerate(features) if not categorical[j]]

    def fill(split: tuple[TablePart, np.ndarray]) -> None:
        part, x = split
        for j, name in numeric:
            _fill(_float64(part.table.column(name)), part.rows, x[:, j])

    each(fill, [(train, x_train), (val, x_val)])
    y_train, y_val, classes, task = encode_labels(train, val, label, label_names)
    arrays = DataArrays(
        train=SplitArrays(x_train, y_train, train.ids),
        val=SplitArrays(x_val, y_val, val.ids),
        categorical=categorical,
    )
    return TableData(arrays, list(features), classes, task)


def _shared_codes(
    t_col: pa.ChunkedArray, v_col: pa.ChunkedArray, train: TablePart, val: TablePart
) -> tuple[np.ndarray, np.ndarray]:
    """Dictionary codes over both splits (one code per distinct text), nulls as NaN."""
    if t_col is v_col or train.table is val.table:
        codes = _codes(t_col)
        return _gather(codes, train.rows), _gather(codes, val.rows)
    codes = _codes(pa.chunked_array(t_col.chunks + v_col.chunks, type=pa.string()))
    return _gather(codes[: len(t_col)], train.rows), _gather(codes[len(t_col) :], val.rows)


def _codes(column: pa.ChunkedArray) -> np.ndarray:
    encoded = column.combine_chunks().dictionary_encode()
    return pc.cast(encoded.indices, pa.float64()).to_numpy(zero_copy_only=False)


def _take(column: pa.ChunkedArray, rows: np.ndarray | None) -> pa.ChunkedArray:
    return column if rows is None else column.take(pa.array(rows))


def encode_labels(
    train: TablePart, val: TablePart, label: str, label_names: list[str] | None
) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    t_col = _take(train.table.column(label), train.rows)
    v_col = _take(val.table.column(label), val.rows)
    if pa.types.is_dictionary(t_col.type):
        t_col, v_col = pc.cast(t_col, t_col.type.value_type), pc.cast(v_col, v_col.type.value_type)
    kind = t_col.type
    if not (_usable(kind) and not pa.types.is_temporal(kind)):
        raise InputError(
            f"{train.source}: label column {label!r} is {kind}: not a class or a number"
        )
    both = pa.chunked_array(t_col.chunks + pc.cast(v_col, kind).chunks, type=kind)
    if pa.types.is_floating(kind):
        both = pc.if_else(pc.is_nan(both), pa.scalar(None, kind), both)
    encoded = both.combine_chunks().dictionary_encode()
    dictionary = encoded.dictionary
    if _regression(kind, dictionary):
        values = pc.cast(both, pa.float64()).to_numpy(zero_copy_only=False)
        return values[: len(t_col)], values[len(t_col) :], [], "regression"
    order = np.argsort(np.asarray(dictionary.to_numpy(zero_copy_only=False)), kind="stable")
    remap = np.empty(len(order), dtype=np.int64)
    remap[order] = np.arange(len(order))
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], MISSING_CLASS)
    values = dictionary.to_pylist()
    classes = [_class_name(values[i], label_names) for i in order]
    return codes[: len(t_col)], codes[len(t_col) :], classes, "classification"


def _regression(kind: pa.DataType, dictionary: pa.Array) -> bool:
    if pa.types.is_integer(kind):
        return len(dictionary) > MAX_INT_CLASSES
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        values = np.asarray(pc.cast(dictionary, pa.float64()).to_numpy(zero_copy_only=False))
        return len(values) > MAX_FLOAT_CLASSES or bool(np.any(values != np.round(values)))
    return False


def _class_name(value: object, label_names: list[str] | None) -> str:
    if label_names is not None and isinstance(value, int) and 0 <= value < len(label_names):
        return label_names[value]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
