"""The verdict benchmark's runs are intact: labels valid, files present, labels consistent.

Only the benchmark's own integrity: nothing is trained, and the checker is not run.
Each run's logged validation loss is read back here with plain csv/json (TensorBoard
event files with their protobuf records) and must agree with its label.
"""

from __future__ import annotations

import csv
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from benchmarks.verdict import truth
from benchmarks.verdict.evaluate import SPLIT, write_data
from benchmarks.verdict.label import FIELDS, MODEL_SUFFIXES, READERS, TRUTHS
from benchmarks.verdict.specs import RUNS as SPECS

RUNS = Path(__file__).resolve().parents[2] / "benchmarks" / "verdict" / "runs"
FOLDERS = sorted(p for p in RUNS.iterdir() if p.is_dir()) if RUNS.is_dir() else []
VALUE_FLAGS = {"--samples", "--augmentation", "--weight-decay", "--train-metric", "--val-metric"}
MAX_MODEL_BYTES = 1.5 * 2**20
MAX_TOTAL_BYTES = 25 * 2**20


def _label(folder: Path) -> dict:
    return json.loads((folder / "label.json").read_text())


def _paths(args: list[str]) -> list[str]:
    """The file and folder arguments of a check (flags and their values left out)."""
    paths, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("--"):
            skip = arg in VALUE_FLAGS
        else:
            paths.append(arg)
    return paths


# -- reading the logged validation loss back --------------------------------------------------


def _number(text: str) -> float:
    return float(text)


def _csv(path: Path, epoch_key: str, key: str) -> tuple[list[float], list[float]]:
    with path.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get(key) not in (None, "")]
    return [_number(r[epoch_key]) for r in rows], [_number(r[key]) for r in rows]


def _json_lists(path: Path, epoch_key: str | None, key: str) -> tuple[list, list]:
    data = json.loads(path.read_text())
    values = data
    for part in key.split("/"):
        values = values[part]
    epochs = data[epoch_key] if epoch_key else list(range(len(values)))
    return epochs, values


def _records(rows: list[dict], epoch_key: str, key: str) -> tuple[list, list]:
    kept = [r for r in rows if r.get(key) is not None]
    return [r[epoch_key] for r in kept], [r[key] for r in kept]


def _trainer_state(path: Path, epoch_key: str, key: str) -> tuple[list, list]:
    """Evaluations logged during training: those after the closing summary entry are not."""
    history = json.loads(path.read_text())["log_history"]
    end = next((i for i, e in enumerate(history) if "train_runtime" in e), len(history))
    return _records(history[:end], epoch_key, key)


def _tensorboard(folder: Path, tag: str) -> tuple[list, list]:
    """Scalars of one tag from TFRecord event files: (length, crc, Event proto, crc) records."""
    from tensorboard.compat.proto import event_pb2

    points: dict[int, float] = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack_from("<Q", data, offset)
            event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
            offset += 12 + length + 4
            for value in event.summary.value:
                if value.tag != tag:
                    continue
                if value.HasField("tensor"):
                    tensor = value.tensor
                    number = (
                        tensor.float_val[0]
                        if tensor.float_val
                        else struct.unpack("<f", tensor.tensor_content[:4])[0]
                    )
                else:
                    number = value.simple_value
                points[event.step] = float(number)
    steps = sorted(points)
    return steps, [points[s] for s in steps]


def _logged(folder: Path, source: dict) -> tuple[list, list]:
    path = folder / source["file"]
    reader, key, epoch_key = source["reader"], source["key"], source.get("epoch")
    if reader == "csv":
        return _csv(path, epoch_key, key)
    if reader == "json-lists":
        return _json_lists(path, epoch_key, key)
    if reader == "json-records":
        return _records(json.loads(path.read_text()), epoch_key, key)
    if reader == "json-lines":
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return _records(rows, epoch_key, key)
    if reader == "trainer-state":
        return _trainer_state(path, epoch_key, key)
    return _tensorboard(path, key)


# -- the tests --------------------------------------------------------------------------------


def test_enough_labelled_runs_of_every_framework():
    labels = [_label(f) for f in FOLDERS]
    counted = [label for label in labels if label["truth"] in ("healthy", "overfit")]
    assert len(counted) >= 36
    frameworks = {label["framework"] for label in counted}
    assert frameworks == {"keras", "torch", "lightning", "transformers"}
    for kind in ("healthy", "overfit"):
        assert sum(label["truth"] == kind for label in counted) >= 12, kind


def test_every_run_of_the_specs_is_made_and_no_other():
    assert [f.name for f in FOLDERS] == sorted(SPECS)


def test_the_runs_stay_small():
    files = [p for p in RUNS.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < MAX_TOTAL_BYTES
    models = [p for p in files if p.name.endswith(MODEL_SUFFIXES)]
    assert models
    too_big = [str(p.relative_to(RUNS)) for p in models if p.stat().st_size >= MAX_MODEL_BYTES]
    assert not too_big


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_label_matches_the_schema(folder: Path):
    label = _label(folder)
    assert list(label) == list(FIELDS)
    assert label["name"] == folder.name
    assert label["framework"] in ("keras", "torch", "lightning", "transformers")
    assert all(isinstance(label[k], str) and label[k] for k in ("writer", "description"))
    assert label["truth"] in TRUTHS
    assert label["curve_diverges"] in (True, False, None)
    assert label["metric_improving"] in (True, False, None)
    assert label["expected_gate"] == ("fail" if label["truth"] == "overfit" else "pass")
    assert isinstance(label["evaluations"], int) and label["evaluations"] >= 3
    assert label["args"] and all(isinstance(a, str) for a in label["args"])
    assert label["folder_args"] is None or all(isinstance(a, str) for a in label["folder_args"])
    assert label["logged_val"]["reader"] in READERS
    held = label["heldout"]
    assert len(held["epochs"]) == len(held["val_loss_large"]) == label["evaluations"]
    assert len(held["train_loss"]) == label["evaluations"]
    assert all(math.isfinite(v) for v in held["val_loss_large"])
    assert label["kept_epoch"] in held["epochs"]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_arguments_name_existing_files(folder: Path):
    label = _label(folder)
    for arg in _paths(label["args"]) + _paths(label["folder_args"] or []):
        assert (folder / arg).exists(), arg
    assert (folder / label["logged_val"]["file"]).exists()


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_best_epoch_is_the_minimum_of_the_log(folder: Path):
    label = _label(folder)
    epochs, values = _logged(folder, label["logged_val"])
    assert len(values) == label["evaluations"]
    assert [round(float(e), 4) for e in epochs] == pytest.approx(label["heldout"]["epochs"])
    best = min(range(len(values)), key=lambda i: float(values[i]))
    assert float(epochs[best]) == pytest.approx(label["best_epoch_logged"], abs=1e-4)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_truth_follows_from_the_held_out_numbers(folder: Path):
    label = _label(folder)
    held = label["heldout"]
    epochs = held["epochs"]
    kept = epochs.index(label["kept_epoch"])
    best = epochs.index(label["best_epoch_logged"])
    assert truth.shipped_truth(held["val_loss_large"], kept, best) == label["truth"]
    diverges = truth.curve_diverges(held["val_loss_large"], held["train_loss"])
    assert diverges == label["curve_diverges"]


DATA_RUNS = [f for f in FOLDERS if "set" in (SPECS.get(f.name, {}).get("data") or {})]


@pytest.mark.parametrize("folder", DATA_RUNS[:: max(1, len(DATA_RUNS) // 8)], ids=lambda p: p.name)
def test_the_data_form_writes_the_split_the_run_was_trained_on(folder: Path, tmp_path: Path):
    """``--data``: the split regenerated from the spec has the run's sample count."""
    assert write_data(SPECS[folder.name], tmp_path)
    with np.load(tmp_path / "data.npz") as arrays:
        assert sorted(arrays.files) == sorted(SPLIT)
        assert len(arrays["x_train"]) == len(arrays["y_train"]) > 0
        assert len(arrays["x_val"]) == len(arrays["y_val"]) > 0
        args = _label(folder)["args"]
        if "--samples" in args:
            assert len(arrays["x_train"]) == int(args[args.index("--samples") + 1])
