"""An out-of-sample check of the probe's memorised-weights judgement (``probe_confirm_*``).

    python -m benchmarks.verdict.probe_check [--keep DIR]

The thresholds were chosen on the verdict benchmark's own runs (``--data``), so this trains
runs the benchmark does not hold: Keras models on fresh seeds, some built to overfit and some
not, labelled by their held-out truth exactly as the benchmark labels its runs. Each model is
then checked **alone** with its data (``check model.keras --samples N --data data.npz``): with
no log, only the probe's held-out measurement can make the verdict ``overfitting``. The table
says, per run, the truth, the measured training and validation accuracy, and the gate's exit.
About 6 minutes on 2 cores; nothing is kept unless ``--keep DIR`` (run again with the same DIR
to check the trained runs without training them again).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.verdict.evaluate import ROOT, write_data
from benchmarks.verdict.make_runs import QUIET
from benchmarks.verdict.specs import clean, digits, noisy, tenclass

CHECKS: dict[str, dict] = {
    "noisy_mlp_80": {"data": noisy(101), "hidden": [128, 128], "epochs": 80},
    "noisy_small_dropout": {"data": noisy(102), "hidden": [64], "dropout": 0.3, "epochs": 40},
    "clean_dropout_restore": {
        "data": clean(103),
        "hidden": [64, 64],
        "dropout": 0.3,
        "epochs": 40,
        "early_stopping": {"patience": 5, "restore": True},
    },
    "digits_noise_120": {
        "data": digits(104, train=300, val=200, noise=0.15),
        "hidden": [128, 128],
        "epochs": 120,
    },
    "digits_plain_30": {"data": digits(105), "hidden": [64], "dropout": 0.2, "epochs": 30},
    "tenclass_wide_150": {"data": tenclass(106), "hidden": [256, 256], "epochs": 150},
    "clean_l2_60": {"data": clean(107, train=1000), "hidden": [128, 128], "l2": 1e-3, "epochs": 60},
    "noisy_restore_p5": {
        "data": noisy(108),
        "hidden": [128, 128],
        "epochs": 80,
        "early_stopping": {"patience": 5, "restore": True},
    },
    "digits_noise_restore_p10": {
        "data": digits(109, train=400, val=200, noise=0.2),
        "hidden": [128, 128],
        "epochs": 80,
        "early_stopping": {"patience": 10, "restore": True},
    },
    "noisy_deep_200": {"data": noisy(110, train=200), "hidden": [256, 256, 256], "epochs": 200},
}


def _train(folder: Path) -> None:
    """The worker (its own process, TensorFlow only): train every check into ``folder``."""
    from benchmarks.verdict import train_keras

    home = Path.cwd()
    for name, spec in CHECKS.items():
        run = folder / name
        run.mkdir(parents=True, exist_ok=True)
        try:
            extra = {"csv": "training.log", "writer": "keras", "description": name}
            result = train_keras.train(name, {**spec, **extra}, run)
        finally:
            os.chdir(home)
        (run / "result.json").write_text(json.dumps({"truth": result["truth"]}))


def _check(run: Path, spec: dict) -> dict:
    write_data(spec, run)
    samples = str(spec["data"]["train"])
    completed = subprocess.run(
        [sys.executable, "-m", "overfitlint", "check", "model.keras", "--samples", samples,
         "--data", "data.npz", "--probe-budget", "60", "--format", "json", "--no-report"],
        cwd=run, env={**os.environ, **QUIET, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    report = json.loads(completed.stdout)
    metrics = (report["run"].get("probe") or {}).get("probes", {}).get("heldout", {})
    measured = metrics.get("metrics", {})
    return {
        "exit": completed.returncode,
        "verdict": report["verdict"]["status"],
        "train_accuracy": measured.get("train_accuracy"),
        "val_accuracy": measured.get("val_accuracy"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.verdict.probe_check")
    parser.add_argument(
        "--keep", type=Path, help="train into DIR and keep it (a DIR already trained: check only)"
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker:
        _train(options.worker)
        return
    with tempfile.TemporaryDirectory(prefix="probe-check-") as scratch:
        folder = (options.keep or Path(scratch)).resolve()
        trained = all((folder / name / "result.json").is_file() for name in CHECKS)
        if not trained:
            subprocess.run(
                [sys.executable, "-m", "benchmarks.verdict.probe_check", "--worker", str(folder)],
                cwd=ROOT, env={**os.environ, **QUIET}, check=True,
            )  # fmt: skip
        right = counted = 0
        print(f"{'run':<28} {'truth':<10} {'train acc':>9} {'val acc':>8} {'exit':>4}  verdict")
        for name, spec in CHECKS.items():
            truth = json.loads((folder / name / "result.json").read_text())["truth"]
            got = _check(folder / name, spec)
            accuracies = [
                f"{100 * v:.1f}" if v is not None else "-"
                for v in (got["train_accuracy"], got["val_accuracy"])
            ]
            if truth in ("healthy", "overfit"):
                counted += 1
                right += got["exit"] == (1 if truth == "overfit" else 0)
            print(
                f"{name:<28} {truth:<10} {accuracies[0]:>9} {accuracies[1]:>8} "
                f"{got['exit']:>4}  {got['verdict']}"
            )
        print(f"gate right on {right} of {counted} labelled runs (borderline runs not counted)")


if __name__ == "__main__":
    main()
