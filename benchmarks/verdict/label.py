"""``label.json``: what a run is, the truth measured on its held-out set, and how to check it."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.verdict import truth

FIELDS = (
    "name",
    "framework",
    "writer",
    "description",
    "truth",
    "curve_diverges",
    "best_epoch_logged",
    "kept_epoch",
    "expected_gate",
    "metric_improving",
    "evaluations",
    "args",
    "folder_args",
    "heldout",
    "logged_val",
    "notes",
)
TRUTHS = ("overfit", "healthy", "borderline")
# how the integrity test reads the logged validation loss back with plain csv/json
READERS = ("csv", "json-lists", "json-records", "json-lines", "trainer-state", "tensorboard")


@dataclass
class Measured:
    """What a trainer measured, one entry per validation point of the log."""

    log_epochs: list[float]  # the epoch of each validation point, as the log numbers it
    log_val: list[float]  # the logged validation loss (small validation set)
    heldout_loss: list[float]  # the same weights on the large held-out set
    train_loss: list[float]  # the same weights on the whole training set
    heldout_accuracy: list[float] | None = None
    kept: int | None = None  # index of the evaluation whose weights ship
    extra: dict = field(default_factory=dict)


def kept_index(heldout_loss: Sequence[float], file_loss: float) -> int:
    """Which evaluation's weights a model file holds: the one whose held-out loss it repeats."""
    gaps = [abs(value - file_loss) / max(abs(value), 1e-12) for value in heldout_loss]
    best = min(range(len(gaps)), key=gaps.__getitem__)
    if gaps[best] > 1e-4:
        raise RuntimeError(
            f"the saved weights' held-out loss {file_loss:.6g} matches no evaluation "
            f"(nearest {heldout_loss[best]:.6g} at index {best})"
        )
    return best


MODEL_SUFFIXES = (".keras", ".h5", ".pt", ".pth", ".ckpt", ".onnx", ".safetensors")


def single_model_folder(folder: Path) -> list[str] | None:
    """``["."]`` when the run folder holds exactly one model file (an unambiguous folder form)."""
    models = [p for p in folder.rglob("*") if p.is_file() and p.name.endswith(MODEL_SUFFIXES)]
    return ["."] if len(models) == 1 else None


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 6)


def build(
    *,
    name: str,
    framework: str,
    writer: str,
    description: str,
    measured: Measured,
    args: list[str],
    logged_val: dict,
    folder_args: list[str] | None = None,
    notes: str = "",
) -> dict:
    m = measured
    if not (len(m.log_epochs) == len(m.log_val) == len(m.heldout_loss) == len(m.train_loss)):
        raise ValueError(f"{name}: the measured series differ in length")
    best_logged = truth.argmin(m.log_val)
    diverges = truth.curve_diverges(m.heldout_loss, m.train_loss)
    kept = len(m.heldout_loss) - 1 if m.kept is None else m.kept
    verdict = truth.shipped_truth(m.heldout_loss, kept, best_logged)
    heldout = {
        "epochs": [_number(e) for e in m.log_epochs],
        "val_loss_large": [round(v, 6) for v in m.heldout_loss],
        "train_loss": [round(v, 6) for v in m.train_loss],
        "minimum_epoch": _number(m.log_epochs[truth.argmin(m.heldout_loss)]),
        "kept_rise_pct": round(100 * truth.rise(m.heldout_loss, kept), 2),
        "end_rise_pct": round(100 * truth.rise(m.heldout_loss, len(m.heldout_loss) - 1), 2),
    }
    improving = None
    if m.heldout_accuracy is not None:
        heldout["accuracy_large"] = [round(v, 5) for v in m.heldout_accuracy]
        improving = truth.metric_improving(m.heldout_loss, m.heldout_accuracy)
    heldout.update(m.extra)
    label = {
        "name": name,
        "framework": framework,
        "writer": writer,
        "description": description,
        "truth": verdict,
        "curve_diverges": diverges,
        "best_epoch_logged": _number(m.log_epochs[best_logged]),
        "kept_epoch": _number(m.log_epochs[kept]),
        "expected_gate": "fail" if verdict == "overfit" else "pass",
        "metric_improving": improving,
        "evaluations": len(m.log_val),
        "args": args,
        "folder_args": folder_args,
        "heldout": heldout,
        "logged_val": logged_val,
        "notes": notes,
    }
    if not all(math.isfinite(v) for v in m.heldout_loss):
        raise ValueError(f"{name}: a held-out loss is not finite")
    return label


def write(folder: Path, label: dict) -> None:
    (folder / "label.json").write_text(json.dumps(label, indent=1) + "\n")


def read(folder: Path) -> dict:
    return json.loads((folder / "label.json").read_text())
