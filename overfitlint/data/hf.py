"""Hugging Face ``datasets`` folders written by ``save_to_disk`` (Arrow files + JSON).

Read with ``datasets.load_from_disk``, which maps the Arrow files and parses JSON: no dataset
script is ever looked for or run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overfitlint.data.budget import DataBudget

VAL_SPLITS = ("validation", "valid", "val", "dev", "eval")


def is_hf_folder(path: Path) -> bool:
    return (path / "dataset_dict.json").is_file() or (
        (path / "state.json").is_file() and (path / "dataset_info.json").is_file()
    )


@dataclass
class HFSplits:
    """Tables of the train and val splits (or one table with a split column)."""

    tables: dict[str, pa.Table]
    source_rows: dict[str, int]
    class_names: dict[str, list[str]]
    """ClassLabel names by column."""
    image_columns: list[str]


def _folder_bytes(path: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(path, followlinks=False):
        for name in filenames:
            file = Path(dirpath) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def read_hf(path: Path, budget: DataBudget, row_cap: int, notes: list[str]) -> HFSplits:
    from overfitlint.errors import InputError

    try:
        import datasets
    except ImportError:
        raise InputError(
            f"{path}: a datasets folder is read with the datasets package: "
            "pip install 'overfitlint[data]'"
        ) from None
    size = _folder_bytes(path)
    if size > budget.max_file_bytes:
        raise InputError(
            f"{path}: {size:,} bytes is over the data budget of {budget.max_file_bytes:,} bytes"
        )
    datasets.disable_progress_bars()
    try:
        loaded = datasets.load_from_disk(str(path))
    except (
        FileNotFoundError,
        ValueError,
        KeyError,
        OSError,
        json.JSONDecodeError,
        pa.ArrowException,
    ) as exc:
        raise InputError(f"{path}: not a readable datasets folder ({exc})") from None
    if isinstance(loaded, datasets.DatasetDict):
        chosen = _choose_splits(path, list(loaded), notes)
        parts = {role: loaded[name] for role, name in chosen.items()}
    else:
        parts = {"all": loaded}
    tables, source_rows = {}, {}
    for role, dataset in parts.items():
        source_rows[role] = len(dataset)
        cap = row_cap * (2 if role == "all" else 1)
        if len(dataset) > cap:
            rng = np.random.default_rng(0)
            keep = np.sort(rng.choice(len(dataset), size=cap, replace=False))
            dataset = dataset.select(keep)
            notes.append(
                f"{path} ({role}): measured a random sample of {cap:,} of "
                f"{source_rows[role]:,} rows (row cap; seed 0)"
            )
        tables[role] = dataset.with_format("arrow")[:]
    features: dict[str, Any] = next(iter(parts.values())).features
    class_names = {
        name: list(feature.names)
        for name, feature in features.items()
        if isinstance(feature, datasets.ClassLabel)
    }
    images = [name for name, f in features.items() if isinstance(f, datasets.Image)]
    return HFSplits(tables, source_rows, class_names, images)


def _choose_splits(path: Path, names: list[str], notes: list[str]) -> dict[str, str]:
    from overfitlint.errors import InputError

    if "train" not in names:
        raise InputError(f"{path}: no 'train' split; the splits are: {', '.join(names)}")
    val = next((n for n in VAL_SPLITS if n in names), "test" if "test" in names else None)
    if val is None:
        raise InputError(
            f"{path}: no validation split (validation, val or test); the splits are: "
            f"{', '.join(names)}"
        )
    ignored = sorted(set(names) - {"train", val})
    notes.append(
        f"{path}: splits 'train' and {val!r} as train and val"
        + (f"; ignored {', '.join(ignored)}" if ignored else "")
    )
    return {"train": "train", "val": val}


def image_bytes(table: pa.Table, column: str) -> list[bytes | None]:
    """The encoded bytes of an Image column (struct of bytes and path); None where only a path
    is stored (such paths are never opened: they may point anywhere)."""
    values = table.column(column)
    if pa.types.is_struct(values.type):
        values = pc.struct_field(values, "bytes")
    return values.to_pylist()
