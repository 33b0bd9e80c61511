"""MLflow's file store (``mlruns/``), read by hand.

Why not ``MlflowClient``: MLflow 3 refuses to open a file store unless
``MLFLOW_ALLOW_FILE_STORE=true`` is set (the backend is in maintenance mode), and its reader
parses every YAML file and metric line in Python, several times slower than reading the
files with numpy (benchmarks/bench_trackers.py). The layout is stable and simple:

    mlruns/<experiment id>/meta.yaml                       name, lifecycle_stage
    mlruns/<experiment id>/<run id>/meta.yaml              run_name, status, lifecycle_stage
    mlruns/<experiment id>/<run id>/metrics/<key>          "timestamp value step" per line
    mlruns/<experiment id>/<run id>/params/<key>           the value as text
    mlruns/<experiment id>/<run id>/tags/<key>             the value as text

Metric keys with a ``/`` are sub-folders (``metrics/val/loss``). YAML is read with the safe
loader only (a run's meta.yaml, whose four fields MLflow writes as plain scalars, is read
line by line; see ``read_run_meta``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from overfitlint.errors import InputError
from overfitlint.loaders.trackers.mlflow_runs import (
    PARENT_TAG,
    RUN_TAGS,
    RawRun,
    pick_experiment,
    to_sweep,
)
from overfitlint.loaders.trackers.run import MetricPoints, Sweep, parse_param

MAX_META_BYTES = 1 << 16
RUN_META_KEYS = frozenset({"run_id", "run_name", "status", "lifecycle_stage"})
NOT_PLAIN = tuple("'\"{[|>&*!")


def _yaml_loader():
    try:
        import yaml
    except ImportError as exc:
        raise InputError(
            "reading an MLflow file store needs PyYAML: pip install 'overfitlint[mlflow]'"
        ) from exc
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader), yaml


def read_meta(path: Path) -> dict[str, Any]:
    """A meta.yaml as a dict (empty when missing or not a mapping)."""
    try:
        text = path.read_bytes()[:MAX_META_BYTES].decode("utf-8", errors="replace")
    except OSError:
        return {}
    loader, yaml = _yaml_loader()
    try:
        data = yaml.load(text, Loader=loader)  # the safe loader: plain data only
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _head(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            return handle.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return ""


def is_run_folder(path: Path) -> bool:
    return (path / "meta.yaml").is_file() and "run_id:" in _head(path / "meta.yaml")


def is_experiment_folder(path: Path) -> bool:
    meta = path / "meta.yaml"
    head = _head(meta) if meta.is_file() else ""
    return "experiment_id:" in head and "run_id:" not in head


def is_file_store(path: Path) -> bool:
    """An ``mlruns/`` root, an experiment folder or a run folder."""
    if not path.is_dir():
        return False
    if is_run_folder(path) or is_experiment_folder(path):
        return True
    return any(is_experiment_folder(child) for child in _subfolders(path))


def _subfolders(path: Path) -> list[Path]:
    try:
        return sorted(child for child in path.iterdir() if child.is_dir())
    except OSError:
        return []


def load_file_store(
    path: Path,
    *,
    experiment: str | None = None,
    run_id: str | None = None,
    train_metric: str | None = None,
    val_metric: str | None = None,
) -> Sweep:
    if is_run_folder(path):
        run = _read_run(path)
        if run is None:
            raise InputError(f"{path}: this MLflow run is deleted")
        if not run.metrics:
            raise InputError(f"{path}: this MLflow run logged no metrics (metrics/ is empty)")
        name = read_meta(path.parent / "meta.yaml").get("name", path.parent.name)
        return to_sweep(
            [run],
            kind_source=str(path),
            experiment=str(name),
            fmt="mlflow-files",
            train_metric=train_metric,
            val_metric=val_metric,
        )
    if is_experiment_folder(path):
        experiments = {path.name: str(read_meta(path / "meta.yaml").get("name", path.name))}
        folders = {path.name: path}
    else:
        folders = {child.name: child for child in _subfolders(path) if is_experiment_folder(child)}
        experiments = {
            exp_id: str(read_meta(folder / "meta.yaml").get("name", exp_id))
            for exp_id, folder in folders.items()
        }
    run_folders = {
        exp_id: [child for child in _subfolders(folder) if (child / "meta.yaml").is_file()]
        for exp_id, folder in folders.items()
    }
    if run_id is not None:
        for runs in run_folders.values():
            for folder in runs:
                if folder.name == run_id:
                    return load_file_store(folder, train_metric=train_metric, val_metric=val_metric)
        raise InputError(f"{path}: no run {run_id!r} in this MLflow file store")
    with_runs = {exp_id for exp_id, runs in run_folders.items() if runs}
    chosen = pick_experiment(experiments, with_runs, experiment, str(path))
    raw = [run for run in map(_read_run, run_folders.get(chosen, [])) if run is not None]
    return to_sweep(
        raw,
        kind_source=str(path),
        experiment=experiments[chosen],
        fmt="mlflow-files",
        train_metric=train_metric,
        val_metric=val_metric,
    )


def _read_run(folder: Path) -> RawRun | None:
    """The run in ``folder``; None when it is deleted (MLflow's trash)."""
    meta = read_run_meta(folder / "meta.yaml")
    if meta.get("lifecycle_stage") == "deleted":
        return None
    base = str(folder)
    metrics, sources = _read_metrics(os.path.join(base, "metrics"))
    params = {key: parse_param(value) for key, value in _read_values(base, "params").items()}
    name = str(meta.get("run_name") or "")
    tags = _read_values(base, "tags", only=RUN_TAGS if not name else (PARENT_TAG,))
    return RawRun(
        run_id=str(meta.get("run_id") or folder.name),
        name=name,
        status=str(meta.get("status", "")),
        params=params,
        tags=tags,
        metrics=metrics,
        sources=sources,
    )


def read_run_meta(path: Path) -> dict[str, Any]:
    """The fields of a run's meta.yaml this reader uses. MLflow writes them as plain
    top-level ``key: value`` lines, read as such (a thousand runs' worth of full YAML
    parsing costs more than their metrics); a value that is not plain (quoted, a flow or
    block collection, a tag or anchor) sends the file through the safe YAML loader."""
    try:
        text = path.read_bytes()[:MAX_META_BYTES].decode("utf-8", errors="replace")
    except OSError:
        return {}
    found: dict[str, Any] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep or key not in RUN_META_KEYS:
            continue
        value = value.strip()
        if value[:1] in NOT_PLAIN:
            return read_meta(path)
        found[key] = value
    return found


def _files(root: str, prefix: str = "") -> list[tuple[str, str]]:
    """(key, file) for every file below ``root``, sorted; the key is the path below it
    (``val/loss`` for a metric logged as "val/loss")."""
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.is_dir():
            found += _files(entry.path, f"{prefix}{entry.name}/")
        elif entry.is_file():
            found.append((prefix + entry.name, entry.path))
    return found


def _read_values(base: str, folder: str, only: tuple[str, ...] = ()) -> dict[str, str]:
    root = os.path.join(base, folder)
    listed = [(key, os.path.join(root, key)) for key in only] if only else _files(root)
    values = {}
    for key, item in listed:
        try:
            with open(item, "rb") as handle:
                values[key] = handle.read().decode("utf-8", errors="replace").strip()
        except OSError:
            continue
    return values


def _read_metrics(root: str) -> tuple[dict[str, MetricPoints], list[str]]:
    metrics: dict[str, MetricPoints] = {}
    sources: list[str] = []
    for key, item in _files(root):
        try:
            with open(item, "rb") as handle:
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            continue
        rows = _metric_rows(text, item)
        if rows is None:
            continue
        points = MetricPoints(origin=len(sources))
        points.x = rows[:, 2] if rows.shape[1] == 3 else np.arange(rows.shape[0], dtype=float)
        points.values = rows[:, 1]
        points.lines = np.arange(1, rows.shape[0] + 1)
        metrics[key] = points
        sources.append(item)
    return metrics, sources


def _metric_rows(text: str, item: str) -> np.ndarray | None:
    """The file's rows as numbers, one row per line (None: an empty file)."""
    stripped = text.strip()
    if not stripped:
        return None
    width = len(stripped.split("\n", 1)[0].split())
    count = stripped.count("\n") + 1
    if width not in (2, 3):
        raise InputError(f"{item}:1: not an MLflow metric line (expected 'timestamp value step')")
    try:
        numbers = np.fromstring(stripped, sep=" ")  # the C text parser numpy has
    except ValueError:  # a token that is not a number
        numbers = np.zeros(0)
    if numbers.size != count * width:
        raise InputError(f"{item}: a line is not 'timestamp value step' numbers")
    return numbers.reshape(count, width)
