"""Train the benchmark's runs and write each into ``runs/<name>/`` as its framework writes it.

    python -m benchmarks.verdict.make_runs [--only NAME ...] [--force]

A run whose folder already holds a ``label.json`` is kept unless ``--force``. Each
framework trains in its own process (TensorFlow and torchvision do not share one),
one thread each; the runs and their settings are in ``specs.py``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.verdict import label
from benchmarks.verdict.specs import RUNS

HERE = Path(__file__).resolve().parent
RUNS_DIR = HERE / "runs"
ROOT = HERE.parent.parent
TRAINERS = {
    "keras": "benchmarks.verdict.train_keras",
    "torch": "benchmarks.verdict.train_torch",
    "lightning": "benchmarks.verdict.train_lightning",
    "transformers": "benchmarks.verdict.train_hf",
}
QUIET = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "CUDA_VISIBLE_DEVICES": "",
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "PYTHONWARNINGS": "ignore",
}


def _train_here(framework: str, names: list[str]) -> None:
    """The worker: train ``names`` (all of one framework) in this process."""
    trainer = importlib.import_module(TRAINERS[framework])
    home = Path.cwd()
    for name in names:
        folder = RUNS_DIR / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        started = time.perf_counter()
        try:
            result = trainer.train(name, RUNS[name], folder)
        finally:
            os.chdir(home)
        label.write(folder, result)
        print(
            f"{name:<34} {result['truth']:<10} kept {result['kept_epoch']!s:>5} "
            f"best {result['best_epoch_logged']!s:>5} diverges {result['curve_diverges']!s:<5} "
            f"rise@kept {result['heldout']['kept_rise_pct']:6.1f}% "
            f"({time.perf_counter() - started:.1f} s)",
            flush=True,
        )


def _pending(only: list[str], force: bool) -> list[str]:
    unknown = sorted(set(only) - set(RUNS))
    if unknown:
        raise SystemExit(f"unknown run(s): {', '.join(unknown)}; known: {', '.join(RUNS)}")
    names = only or list(RUNS)
    return [n for n in names if force or not (RUNS_DIR / n / "label.json").is_file()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.verdict.make_runs")
    parser.add_argument("--only", action="append", default=[], metavar="NAME")
    parser.add_argument("--force", action="store_true", help="train again runs already made")
    parser.add_argument("--worker", choices=sorted(TRAINERS), help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    only = [n for item in options.only for n in item.split(",") if n]
    if options.worker:
        _train_here(options.worker, only)
        return
    started = time.perf_counter()
    pending = _pending(only, options.force)
    env = {**os.environ, **QUIET}
    for framework in TRAINERS:
        names = [n for n in pending if RUNS[n]["framework"] == framework]
        if not names:
            continue
        command = [sys.executable, "-m", "benchmarks.verdict.make_runs", "--worker", framework]
        subprocess.run([*command, "--only", ",".join(names)], cwd=ROOT, env=env, check=True)
    print(f"{len(pending)} run(s) made in {time.perf_counter() - started:.0f} s")
    stale = sorted(p.name for p in RUNS_DIR.iterdir() if p.is_dir() and p.name not in RUNS)
    if stale:
        print(f"folders of runs that specs.py no longer has (remove them): {', '.join(stale)}")


if __name__ == "__main__":
    main()
