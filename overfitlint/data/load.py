"""``load_data``: one data set from one or two paths, whatever its format."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa

from overfitlint.data.arrays import DataArrays
from overfitlint.data.budget import DataBudget, Deadline
from overfitlint.data.detect import sniff
from overfitlint.data.facts import DataFacts, SplitInfo
from overfitlint.data.hf import HFSplits, image_bytes, read_hf
from overfitlint.data.images import (
    THUMB_FEATURES,
    guess_mode,
    image_arrays,
    image_split,
    read_image_folders,
    split_folders,
)
from overfitlint.data.npz import read_npz
from overfitlint.data.table_files import parquet_columns, read_csv, read_parquet
from overfitlint.data.tables import (
    TableData,
    TablePart,
    build_arrays,
    encode_labels,
    feature_columns,
    parts_by_split_column,
    pick_label,
    pick_split_column,
    whole_part,
)
from overfitlint.errors import InputError

TABLE_FORMATS = ("csv", "parquet")
_TRAIN_WORDS = {"train", "training", "tr"}
_VAL_WORDS = {"val", "valid", "validation", "dev", "eval", "test"}


def load_data(
    paths: list[Path],
    *,
    label: str | None = None,
    split_column: str | None = None,
    budget: DataBudget | None = None,
) -> DataFacts:
    """Read a data set: one npz, one CSV/Parquet file with a split column, an image folder or a
    datasets folder; or two CSV/Parquet files or two class folders (train, then val)."""
    budget = budget or DataBudget()
    paths = [Path(p) for p in paths]
    if not paths or len(paths) > 2:
        raise InputError(
            f"give one data set (a file with a split column, an npz, a folder) or two files "
            f"(train, val); got {len(paths)} paths"
        )
    deadline = budget.deadline()
    notes: list[str] = []
    kinds = [sniff(p) for p in paths]
    if len(paths) == 2:
        return _load_pair(paths, kinds, label, budget, deadline, notes)
    path, kind = paths[0], kinds[0]
    if kind == "npz":
        arrays, data_kind, features, classes, task, source_rows = read_npz(path, budget, notes)
        return _facts(
            str(path),
            "npz",
            data_kind,
            task,
            None,
            arrays,
            features,
            classes,
            source_rows,
            {"train": str(path), "val": str(path)},
            notes,
        )
    if kind in TABLE_FORMATS:
        return _load_table_file(path, kind, label, split_column, budget, deadline, notes)
    if kind == "hf-datasets":
        return _load_hf(path, label, split_column, budget, deadline, notes)
    if kind == "image-folder":
        folders = split_folders(path)
        assert folders is not None
        if "val" not in folders:
            notes.append(f"{path}: no val folder: the test folder is used as val")
            folders["val"] = folders["test"]
        elif "test" in folders:
            notes.append(f"{path}: the test folder is ignored (val is used)")
        return _load_images(str(path), folders, budget, deadline, notes)
    raise InputError(
        f"{path}: one class folder is one split; give the training and validation folders, "
        "or their parent with train/ and val/ inside"
    )


def _facts(
    source: str,
    fmt: str,
    kind: str,
    task: str,
    label: str | None,
    arrays: DataArrays,
    features: list[str],
    classes: list[str],
    source_rows: dict[str, int],
    sources: dict[str, str],
    notes: list[str],
) -> DataFacts:
    splits = {
        name: SplitInfo(name, arrays.split(name).rows, source_rows[name], sources[name])
        for name in ("train", "val")
    }
    return DataFacts(
        source=source,
        format=fmt,
        kind=kind,
        task=task,
        label=label,
        splits=splits,
        features=features,
        classes=classes,
        notes=notes,
        arrays=arrays,
    )


def _ordered(paths: list[Path], notes: list[str]) -> list[Path]:
    def words(path: Path) -> set[str]:
        return set(re.split(r"[^a-z]+", path.stem.lower()))

    first, second = words(paths[0]), words(paths[1])
    if first & _VAL_WORDS and second & _TRAIN_WORDS and not first & _TRAIN_WORDS:
        notes.append(f"{paths[1]} taken as train and {paths[0]} as val (by their names)")
        return [paths[1], paths[0]]
    if not (first & _TRAIN_WORDS and second & _VAL_WORDS):
        notes.append(f"{paths[0]} taken as train and {paths[1]} as val (in the order given)")
    return paths


def _load_pair(
    paths: list[Path],
    kinds: list[str],
    label: str | None,
    budget: DataBudget,
    deadline: Deadline,
    notes: list[str],
) -> DataFacts:
    if all(k == "image-split" for k in kinds):
        train, val = _ordered(paths, notes)
        source = f"{train} + {val}"
        return _load_images(source, {"train": train, "val": val}, budget, deadline, notes)
    if not all(k in TABLE_FORMATS for k in kinds):
        raise InputError(
            f"two paths must be two tables (CSV or Parquet: train, val) or two class folders; "
            f"got {kinds[0]} and {kinds[1]}"
        )
    ordered = _ordered(paths, notes)
    kind_of = dict(zip(paths, kinds, strict=True))
    tables = [_read_table(p, kind_of[p], budget.max_rows, budget, deadline, notes) for p in ordered]
    (train_table, train_total), (val_table, val_total) = tables
    label = pick_label(train_table.column_names, label, str(ordered[0]))
    if label not in val_table.column_names:
        raise InputError(
            f"{ordered[1]}: no label column {label!r} (the training file has it); the columns "
            f"are: {', '.join(val_table.column_names)}"
        )
    features = feature_columns(train_table.schema, {label}, notes, str(ordered[0]))
    missing = [name for name in features if name not in val_table.column_names]
    if missing:
        raise InputError(f"{ordered[1]}: lacks the training columns {', '.join(missing[:10])}")
    train = whole_part(train_table, f"{ordered[0]}", budget, notes, len(features), train_total)
    val = whole_part(val_table, f"{ordered[1]}", budget, notes, len(features), val_total)
    data = _arrays(f"{ordered[0]} + {ordered[1]}", train, val, label, features)
    fmt = kinds[0] if kinds[0] == kinds[1] else "+".join(kinds)
    return _table_facts(f"{ordered[0]} + {ordered[1]}", fmt, label, data, train, val, notes)


def _arrays(
    source: str,
    train: TablePart,
    val: TablePart,
    label: str,
    features: list[str],
    label_names: list[str] | None = None,
) -> TableData:
    """The tables' arrays; columns whose types do not agree between the splits: one line."""
    try:
        return build_arrays(train, val, label=label, features=features, label_names=label_names)
    except pa.ArrowException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{source}: the columns cannot be read as numbers or classes ({first})"
        ) from None


def _read_table(
    path: Path, kind: str, row_cap: int, budget: DataBudget, deadline: Deadline, notes: list[str]
) -> tuple[pa.Table, int]:
    if kind == "parquet":
        return read_parquet(path, row_cap, budget, notes)
    return read_csv(path, row_cap, budget, deadline, notes)


def _table_facts(
    source: str,
    fmt: str,
    label: str,
    data: TableData,
    train: TablePart,
    val: TablePart,
    notes: list[str],
) -> DataFacts:
    return _facts(
        source,
        fmt,
        "table",
        data.task,
        label,
        data.arrays,
        data.features,
        data.classes,
        {"train": train.source_rows, "val": val.source_rows},
        {"train": train.source, "val": val.source},
        notes,
    )


def _load_table_file(
    path: Path,
    kind: str,
    label: str | None,
    split_column: str | None,
    budget: DataBudget,
    deadline: Deadline,
    notes: list[str],
) -> DataFacts:
    source = str(path)
    if kind == "parquet":  # fail on a missing column before reading any data
        columns = parquet_columns(path)
        pick_split_column(columns, split_column, source)
        pick_label(columns, label, source)
    table, _ = _read_table(path, kind, 2 * budget.max_rows, budget, deadline, notes)
    split = pick_split_column(table.column_names, split_column, source)
    label = pick_label(table.column_names, label, source)
    features = feature_columns(table.schema, {label, split}, notes, source)
    train, val = parts_by_split_column(table, split, source, budget, notes, len(features))
    data = _arrays(source, train, val, label, features)
    return _table_facts(source, kind, label, data, train, val, notes)


def _load_images(
    source: str,
    folders: dict[str, Path],
    budget: DataBudget,
    deadline: Deadline,
    notes: list[str],
) -> DataFacts:
    arrays, classes, source_rows = read_image_folders(folders, budget, deadline, notes)
    sources = {role: str(folders[role]) for role in ("train", "val")}
    return _facts(
        source,
        "image-folder",
        "images",
        "classification",
        None,
        arrays,
        list(THUMB_FEATURES),
        classes,
        source_rows,
        sources,
        notes,
    )


def _load_hf(
    path: Path,
    label: str | None,
    split_column: str | None,
    budget: DataBudget,
    deadline: Deadline,
    notes: list[str],
) -> DataFacts:
    hf = read_hf(path, budget, budget.max_rows, notes)
    source = str(path)
    first = next(iter(hf.tables.values()))
    label = pick_label(first.column_names, label, source)
    if "all" in hf.tables:
        split = pick_split_column(first.column_names, split_column, source)
        exclude = {label, split, *hf.image_columns}
        features = [] if hf.image_columns else feature_columns(first.schema, exclude, notes, source)
        train, val = parts_by_split_column(first, split, source, budget, notes, len(features) or 1)
    else:
        exclude = {label, *hf.image_columns}
        features = [] if hf.image_columns else feature_columns(first.schema, exclude, notes, source)
        train = whole_part(
            hf.tables["train"], f"{source} (train)", budget, notes, 1, hf.source_rows["train"]
        )
        val = whole_part(
            hf.tables["val"], f"{source} (val)", budget, notes, 1, hf.source_rows["val"]
        )
    names = hf.class_names.get(label)
    if hf.image_columns:
        return _hf_images(source, hf, label, names, train, val, budget, deadline, notes)
    data = _arrays(source, train, val, label, features, names)
    return _table_facts(source, "hf-datasets", label, data, train, val, notes)


def _hf_images(
    source: str,
    hf: HFSplits,
    label: str,
    names: list[str] | None,
    train: TablePart,
    val: TablePart,
    budget: DataBudget,
    deadline: Deadline,
    notes: list[str],
) -> DataFacts:
    column = hf.image_columns[0]
    if len(hf.image_columns) > 1:
        notes.append(f"{source}: image column {column!r} read; {hf.image_columns[1:]} ignored")
    y_train, y_val, classes, task = encode_labels(train, val, label, names)
    if task != "classification":
        raise InputError(f"{source}: label {label!r} of an image data set must name classes")
    splits = {}
    mode = None
    for role, part, y in (("train", train, y_train), ("val", val, y_val)):
        table = part.table if part.rows is None else part.table.take(part.rows)
        blobs = image_bytes(table, column)
        missing = sum(b is None for b in blobs)
        if missing:
            notes.append(f"{source} ({role}): {missing:,} images stored as paths only, skipped")
        keep = np.array([b is not None for b in blobs], dtype=bool)
        names = [f"{role}[{int(i)}]" for i in np.asarray(part.ids)[keep]]
        sources: list[str | bytes] = [b for b in blobs if b is not None]
        mode = mode or guess_mode(sources)
        title = f"{source} ({role})"
        splits[role] = image_split(names, sources, y[keep], mode, budget, deadline, title, notes)
    arrays = image_arrays(splits["train"], splits["val"], mode or "RGB")
    return _facts(
        source,
        "hf-datasets",
        "images",
        task,
        label,
        arrays,
        list(THUMB_FEATURES),
        classes,
        {"train": train.source_rows, "val": val.source_rows},
        {"train": train.source, "val": val.source},
        notes,
    )
