"""Integrity of the public-log benchmark (benchmarks/curves/public): files, labels, splits.

No detector accuracy is asserted here. The labelled best epoch is checked against a small reader
written for this test with the standard library only, so a label cannot drift from its file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from pathlib import Path

import pytest

PUBLIC = Path(__file__).resolve().parents[2] / "benchmarks" / "curves" / "public"
LABELS = json.loads((PUBLIC / "labels.json").read_text())
VAL_COLUMNS = ("val_loss", "valid_loss", "validation_loss", "val_loss_epoch", "Valid MSE")
TRAIN_COLUMNS = ("train_loss", "train_loss_epoch", "train_loss_step", "loss", "Train loss")


def _number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_bytes().decode("utf-8").replace("\r", "\n")
    rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text)) if row]
    return rows[0], rows[1:]


def _trainer_state(path: Path) -> list[tuple[float, float]]:
    points = []
    for entry in json.loads(path.read_text())["log_history"]:
        if "train_runtime" in entry:  # the closing summary; an evaluate() after it is no point
            break
        if "eval_loss" in entry:
            points.append((entry["epoch"], entry["eval_loss"]))
    return points


def _ultralytics(path: Path) -> list[tuple[float, float]]:
    head, rows = _rows(path)
    val = [i for i, name in enumerate(head) if name.startswith("val/") and name.endswith("_loss")]
    epoch = head.index("epoch")
    return [(float(row[epoch]), sum(float(row[i]) for i in val)) for row in rows]


def _lightning(path: Path) -> list[tuple[float, float]]:
    head, rows = _rows(path)
    epoch = head.index("epoch")
    val = head.index(next(name for name in VAL_COLUMNS if name in head))
    train = [head.index(name) for name in TRAIN_COLUMNS if name in head]
    trained = [_number(r[epoch]) for r in rows if any(_number(r[i]) is not None for i in train)]
    last = max(e for e in trained if e is not None)
    points: dict[float, float] = {}
    for row in rows:
        at, value = _number(row[epoch]), _number(row[val])
        if at is not None and value is not None and at <= last:  # not a validate() after fit()
            points.setdefault(at, value)
    return sorted(points.items())


def _table(path: Path) -> list[tuple[float, float]]:
    head, rows = _rows(path)
    names = [n for n in VAL_COLUMNS if n in head] or ["val_loss"]
    val = head.index(names[0]) if names[0] in head else None
    epoch = head.index("epoch") if "epoch" in head else None
    points = []
    for index, row in enumerate(rows):
        at = _number(row[epoch]) if epoch is not None else float(index)
        if points and at <= points[-1][0]:  # fit() appended again: the last run counts
            points = []
        points.append((at, _number(row[val]) if val is not None else None))
    return [(at, value) for at, value in points if value is not None]


def _json_lists(path: Path) -> list[tuple[float, float]]:
    values = json.loads(path.read_text())["val_loss"]
    return [(float(i), v) for i, v in enumerate(values)]


def validation(case: dict) -> list[tuple[float, float]]:
    path = PUBLIC / case["case"] / case["file"]
    if case["tool"] == "hf":
        return _trainer_state(path)
    if case["tool"] == "ultralytics":
        return _ultralytics(path)
    if case["tool"] == "lightning":
        return _lightning(path)
    if case["tool"] == "keras-json":
        return _json_lists(path)
    return _table(path)


def test_every_label_names_an_existing_file_from_a_public_repository():
    assert len(LABELS) >= 60
    assert len({case["case"] for case in LABELS}) == len(LABELS)
    for case in LABELS:
        assert (PUBLIC / case["case"] / case["file"]).is_file(), case["case"]
        assert case["url"].startswith(f"https://github.com/{case['repo']}/blob/"), case["case"]
        assert case["path"].endswith(case["file"]), case["case"]


def test_labels_are_one_of_three():
    assert {case["label"] for case in LABELS} <= {"overfit", "healthy", "borderline"}


@pytest.mark.parametrize("case", LABELS, ids=[case["case"] for case in LABELS])
def test_best_epoch_is_the_logged_minimum(case):
    points = validation(case)
    assert len(points) == case["evaluations"]
    if not points:
        assert case["best_epoch"] is None
        return
    best = min(range(len(points)), key=lambda i: points[i][1])  # the first minimum if tied
    assert points[best][0] == pytest.approx(case["best_epoch"])


def test_splits_are_fixed_by_the_name_and_balanced():
    for case in LABELS:
        odd = hashlib.md5(case["case"].encode()).digest()[0] % 2
        assert case["split"] == ("held-out" if odd else "tune"), case["case"]
    held_out = sum(case["split"] == "held-out" for case in LABELS)
    assert abs(held_out - (len(LABELS) - held_out)) <= 10
