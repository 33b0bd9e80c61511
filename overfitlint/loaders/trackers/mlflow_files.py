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
loader only.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from overfitlint.errors import InputError
from overfitlint.loaders.trackers.mlflow_runs import RawRun, pick_experiment, to_sweep
from overfitlint.loaders.trackers.run import MetricPoints, Sweep, parse_param

MAX_META_BYTES = 1 << 16


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
    meta = read_meta(folder / "meta.yaml")
    if meta.get("lifecycle_stage") == "deleted":
        return None
    metrics, sources = _read_metrics(folder / "metrics")
    params = {key: parse_param(value) for key, value in _read_values(folder / "params").items()}
    tags = _read_values(folder / "tags")
    return RawRun(
        run_id=str(meta.get("run_id") or folder.name),
        name=str(meta.get("run_name") or ""),
        status=str(meta.get("status", "")),
        params=params,
        tags=tags,
        metrics=metrics,
        sources=sources,
    )


def _files(root: Path) -> list[tuple[str, Path]]:
    """(key, file) for every file below ``root``; the key is the path below it."""
    if not root.is_dir():
        return []
    found = []
    for item in sorted(root.rglob("*")):
        if item.is_file():
            found.append((item.relative_to(root).as_posix(), item))
    return found


def _read_values(root: Path) -> dict[str, str]:
    values = {}
    for key, item in _files(root):
        try:
            values[key] = item.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
    return values


def _read_metrics(root: Path) -> tuple[dict[str, MetricPoints], list[str]]:
    metrics: dict[str, MetricPoints] = {}
    sources: list[str] = []
    for key, item in _files(root):
        try:
            text = item.read_text(encoding="utf-8", errors="replace")
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
        sources.append(str(item))
    return metrics, sources


def _metric_rows(text: str, item: Path) -> np.ndarray | None:
    """The file's rows as numbers, one row per line (None: an empty file)."""
    stripped = text.strip()
    if not stripped:
        return None
    width = len(stripped.split("\n", 1)[0].split())
    count = stripped.count("\n") + 1
    if width not in (2, 3):
        raise InputError(f"{item}:1: not an MLflow metric line (expected 'timestamp value step')")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # reports where parsing stopped
        numbers = np.fromstring(stripped, sep=" ")  # the C text parser numpy has
    if numbers.size != count * width:
        raise InputError(f"{item}: a line is not 'timestamp value step' numbers")
    return numbers.reshape(count, width)
