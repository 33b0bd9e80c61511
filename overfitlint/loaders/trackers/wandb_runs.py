"""Weights & Biases run folders (``wandb/``, ``wandb/offline-run-*``, ``wandb/run-*``), offline.

The history is in the run's ``run-<id>.wandb`` transaction log, read with the wandb
package's own record reader (``wandb.sdk.internal.datastore.DataStore``) and protobuf
classes (``wandb_internal_pb2.Record``): the run record (config, display name, sweep id),
config updates, every ``history`` row (``_step`` and the logged keys, values as JSON),
summary updates and the exit record (the exit code). ``files/config.yaml`` and
``files/wandb-summary.json`` beside it, written by online runs, fill in what the log lacks.
Nothing is sent anywhere; no login. A run is ranked by the summary value of its validation
metric (what a W&B sweep ranks by), else its last value.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from overfitlint.errors import InputError
from overfitlint.loaders.trackers.run import (
    MetricPoints,
    Sweep,
    TrackedRun,
    curves_or_note,
    known_params,
    objective_metric,
    rank_runs,
    require_runs,
)

HEADER = b":W&B"
RUN_PREFIXES = ("offline-run-", "run-")
MAX_SIDE_FILE = 1 << 22


def run_log(folder: Path) -> Path | None:
    """The ``run-*.wandb`` file of a run folder, if it has one."""
    try:
        logs = sorted(folder.glob("run-*.wandb"))
    except OSError:
        return None
    return logs[0] if logs else None


def is_wandb_log(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == HEADER
    except OSError:
        return False


def run_folders(path: Path) -> list[Path]:
    """The run folders ``path`` names: itself, or every run below a ``wandb/`` folder."""
    if not path.is_dir():
        return []
    if run_log(path) is not None:
        return [path]
    roots = [path, path / "wandb"]
    found = []
    for root in roots:
        if not root.is_dir():
            continue
        for child in sorted(root.iterdir()):
            if child.is_dir() and child.name.startswith(RUN_PREFIXES) and run_log(child):
                found.append(child)
        if found:
            return found
    return found


def _datastore():
    try:
        from wandb.proto import wandb_internal_pb2
        from wandb.sdk.internal import datastore
    except ImportError as exc:
        raise InputError(
            "reading a W&B run needs the wandb package (its record reader): "
            "pip install 'overfitlint[wandb]'"
        ) from exc
    return datastore, wandb_internal_pb2


def load_wandb(
    path: Path,
    *,
    run_id: str | None = None,
    train_metric: str | None = None,
    val_metric: str | None = None,
) -> Sweep:
    folders = run_folders(path)
    if run_id is not None:
        folders = [f for f in folders if f.name.endswith(f"-{run_id}")]
        if not folders:
            raise InputError(f"{path}: no W&B run {run_id!r} here")
    if not folders:
        raise InputError(f"{path}: no W&B run folder (offline-run-*/ or run-*/ with a .wandb log)")
    notes: list[str] = []
    read = [_read_run(folder, train_metric, val_metric) for folder in folders]
    runs = [run for run, _ in read]
    if len(runs) == 1 and runs[0].curves is None:
        raise InputError(f"{folders[0]}: this W&B run logged no metrics (no history rows)")
    require_runs(runs, str(path), "W&B runs")
    metric = objective_metric(runs)
    for run, summary in read:
        value = summary.get(metric) if metric else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            run.objective = float(value)
    best, direction = rank_runs(runs, metric)
    sweeps = {run.meta.get("sweep_id") for run in runs} - {None, ""}
    if len(sweeps) > 1:
        notes.append(f"the runs belong to {len(sweeps)} W&B sweeps: {', '.join(sorted(sweeps))}")
    if metric:
        notes.append(f"runs are ranked by their summary {metric} ({direction})")
    return Sweep("wandb", str(path), runs, best, direction, notes, metric)


def _read_run(
    folder: Path, train_metric: str | None, val_metric: str | None
) -> tuple[TrackedRun, dict[str, Any]]:
    """The run and its summary (the last value W&B keeps of each key)."""
    log = run_log(folder)
    assert log is not None
    unreadable = None
    try:
        records, cut = _records(log)
    except InputError as exc:  # one unreadable log (a run just starting) leaves the others
        if len(run_folders(folder.parent)) <= 1:
            raise
        records, cut, unreadable = [], None, str(exc)
    config: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    metrics: dict[str, MetricPoints] = {}
    name, run_id, sweep_id, exit_code = "", folder.name.rsplit("-", 1)[-1], "", None
    for kind, record in records:
        if kind == "run":
            run_id = record.run_id or run_id
            name = record.display_name or name
            sweep_id = record.sweep_id or sweep_id
            _apply(config, record.config.update)
        elif kind == "config":
            _apply(config, record.update)
        elif kind == "history":
            _history_row(record, metrics)
        elif kind == "summary":
            _apply(summary, record.update)
        elif kind == "exit":
            exit_code = record.exit_code
    _fill_from_side_files(folder, config, summary)
    params = {k: v for k, v in _flatten(config).items() if not k.startswith("_wandb")}
    notes = [f"{log.name}: {cut}; read up to it"] if cut else []
    if unreadable:
        notes.append(unreadable)
    curves = curves_or_note(
        metrics,
        notes,
        source=str(folder),
        fmt="wandb",
        params=params,
        sources=[str(log)],
        train_metric=train_metric,
        val_metric=val_metric,
    )
    if exit_code is None:
        state = "running"
        notes.append("no exit record: the run is still running or was killed")
    else:
        state = "finished" if exit_code == 0 else "failed"
    meta = known_params(params)
    if sweep_id:
        meta["sweep_id"] = sweep_id
    return TrackedRun(run_id, name, params, curves, state, notes=notes, meta=meta), summary


def _records(log: Path) -> tuple[list[tuple[str, Any]], str | None]:
    """Every record of the log, and what stopped the reading early (a cut or damage)."""
    datastore, pb = _datastore()
    store = datastore.DataStore()
    # open_for_scan opens the file for writing too; scan it read-only instead
    handle = log.open("rb")
    store._fp, store._fname, store._index = handle, str(log), 0
    store._size_bytes, store._opened_for_scan = log.stat().st_size, True
    records: list[tuple[str, Any]] = []
    cut = None
    with handle:
        try:
            store._read_header()
        except Exception as exc:
            raise InputError(f"{log}: not a W&B transaction log ({exc})") from exc
        while True:
            try:
                data = store.scan_data()
            except Exception as exc:
                cut = f"damaged or cut record at byte {store._index} ({exc})"
                break
            if data is None:
                break
            record = pb.Record()
            try:
                record.ParseFromString(data)
            except Exception as exc:
                cut = f"a record that does not decode at byte {store._index} ({exc})"
                break
            kind = record.WhichOneof("record_type")
            if kind:
                records.append((kind, getattr(record, kind)))
    return records, cut


def _key(item) -> str:
    return ".".join(item.nested_key) if item.nested_key else item.key


def _decode(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _apply(target: dict[str, Any], items) -> None:
    for item in items:
        target[_key(item)] = _decode(item.value_json)


def _history_row(record, metrics: dict[str, MetricPoints]) -> None:
    row = {_key(item): _decode(item.value_json) for item in record.item}
    step = row.get("_step", record.step.num)
    if not isinstance(step, int | float):
        return
    for key, value in row.items():
        if key.startswith("_"):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            continue
        if isinstance(value, str):  # JSON has no NaN: wandb writes "NaN", "Infinity"
            if value not in ("NaN", "Infinity", "-Infinity"):
                continue
            value = float(value.replace("Infinity", "inf"))
        metrics.setdefault(key, MetricPoints()).add(float(step), float(value))


def _fill_from_side_files(folder: Path, config: dict[str, Any], summary: dict[str, Any]) -> None:
    files = folder / "files"
    config_file, summary_file = files / "config.yaml", files / "wandb-summary.json"
    if config_file.is_file() and config_file.stat().st_size <= MAX_SIDE_FILE:
        try:
            import yaml

            loaded = yaml.safe_load(config_file.read_text(encoding="utf-8", errors="replace"))
        except Exception:
            loaded = None
        if isinstance(loaded, dict):
            for key, entry in loaded.items():
                value = (
                    entry.get("value") if isinstance(entry, dict) and "value" in entry else entry
                )
                config.setdefault(str(key), value)
    if summary_file.is_file() and summary_file.stat().st_size <= MAX_SIDE_FILE:
        loaded = _decode(summary_file.read_text(encoding="utf-8", errors="replace"))
        if isinstance(loaded, dict):
            for key, value in loaded.items():
                summary.setdefault(str(key), value)


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, float) and not math.isfinite(value):
            flat[name] = str(value)
        elif isinstance(value, bool | int | float | str) or value is None:
            flat[name] = value
        elif isinstance(value, list) and len(value) <= 16:
            flat[name] = str(value)
    return flat
