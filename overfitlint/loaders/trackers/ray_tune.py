"""Ray Tune experiment folders (``~/ray_results/<exp>/`` or any ``storage_path``), read as files.

Per trial folder: ``result.json`` (one JSON object per reported result, x =
``training_iteration``), else ``progress.csv``; ``params.json`` (the trial's config);
``error.txt`` when it failed. ``experiment_state-*.json`` beside them, when present, gives
each trial's status and the metric the experiment optimised (``_metric``). No Ray import
and nothing unpickled (``tuner.pkl``, ``params.pkl`` are never opened). A trial is ranked
by the last value of that metric, Ray's ``get_best_result(scope="last")``; the mode is not
stored outside pickles, so it follows the metric's name (``*acc*`` is maximised).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from overfitlint.errors import InputError
from overfitlint.loaders.logs.metric_names import higher_is_better
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

RESULT_FILES = ("result.json", "progress.csv")
# keys Ray adds to every result: not metrics
RESERVED = frozenset(
    {
        "timestamp",
        "checkpoint_dir_name",
        "done",
        "training_iteration",
        "trial_id",
        "date",
        "time_this_iter_s",
        "time_total_s",
        "pid",
        "hostname",
        "node_ip",
        "config",
        "time_since_restore",
        "iterations_since_restore",
        "timesteps_total",
        "episodes_total",
        "timesteps_since_restore",
        "experiment_id",
        "experiment_tag",
        "should_checkpoint",
        "warmup_time",
    }
)
STATUS = {
    "TERMINATED": "finished",
    "ERROR": "failed",
    "RUNNING": "running",
    "PENDING": "running",
    "PAUSED": "running",
}
MAX_STATE_BYTES = 1 << 26


def is_trial_folder(path: Path) -> bool:
    return (path / "params.json").is_file() and any((path / f).is_file() for f in RESULT_FILES)


def trial_folders(path: Path) -> list[Path]:
    if not path.is_dir():
        return []
    if is_trial_folder(path):
        return [path]
    try:
        return sorted(
            child for child in path.iterdir() if child.is_dir() and is_trial_folder(child)
        )
    except OSError:
        return []


def load_ray(
    path: Path,
    *,
    run_id: str | None = None,
    train_metric: str | None = None,
    val_metric: str | None = None,
) -> Sweep:
    folders = trial_folders(path)
    if not folders:
        raise InputError(f"{path}: no Ray Tune trial folder (params.json with result.json)")
    state = _experiment_state(path) if len(folders) > 1 or folders[0] != path else {}
    statuses = state.get("statuses", {})
    if run_id is not None:
        folders = [f for f in folders if run_id in (f.name, _trial_id(f))]
        if not folders:
            raise InputError(f"{path}: no Ray Tune trial {run_id!r} here")
    read = [_trial(folder, statuses, train_metric, val_metric) for folder in folders]
    _mark_stopped(read)
    runs = [run for run, _ in read]
    if len(runs) == 1 and runs[0].curves is None:
        raise InputError(f"{folders[0]}: this Ray Tune trial reported no metrics")
    require_runs(runs, str(path), "Ray Tune trials")
    notes: list[str] = []
    metric = state.get("metric")
    if not metric or not any(run.curves and metric in run.curves.series for run in runs):
        metric = objective_metric(runs)
    named = None
    if metric and state.get("metric"):
        named = "maximize" if higher_is_better(metric) else "minimize"
    best, direction = rank_runs(runs, metric, named)
    if metric:
        notes.append(
            f"trials are ranked by the last reported {metric} ({direction}: the mode is "
            "read from the name, Ray keeps it only in pickles)"
        )
    return Sweep("ray", str(path), runs, best, direction, notes, metric)


def _trial_id(folder: Path) -> str:
    try:
        with (folder / "result.json").open("rb") as handle:
            first = json.loads(handle.readline(1 << 20) or b"{}")
        return str(first.get("trial_id", ""))
    except (OSError, ValueError):
        return ""


def _experiment_state(path: Path) -> dict[str, Any]:
    """{"statuses": {relative_logdir: status}, "metric": name} from the newest state file."""
    files = sorted(path.glob("experiment_state-*.json"))
    if not files or files[-1].stat().st_size > MAX_STATE_BYTES:
        return {}
    try:
        data = json.loads(files[-1].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    statuses = {}
    for entry in data.get("trial_data", []) if isinstance(data, dict) else []:
        try:
            trial = json.loads(entry[0])
        except (TypeError, ValueError, IndexError, KeyError):
            continue
        if isinstance(trial, dict) and "relative_logdir" in trial:
            statuses[str(trial["relative_logdir"])] = str(trial.get("status", ""))
    runner = data.get("runner_data", {}) if isinstance(data, dict) else {}
    metric = runner.get("_metric") if isinstance(runner, dict) else None
    return {"statuses": statuses, "metric": metric if isinstance(metric, str) else None}


def _trial(
    folder: Path, statuses: dict[str, str], train_metric: str | None, val_metric: str | None
) -> tuple[TrackedRun, int]:
    """The trial and the last training iteration it reported."""
    notes: list[str] = []
    params = _params(folder, notes)
    rows, source = _rows(folder, notes)
    metrics: dict[str, MetricPoints] = {}
    done = False
    last_iteration = 0.0
    trial_id = folder.name
    for line, row in rows:
        x = row.get("training_iteration")
        if not isinstance(x, int | float):
            continue
        last_iteration = max(last_iteration, float(x))
        done = done or row.get("done") is True
        trial_id = str(row.get("trial_id") or trial_id)
        for key, value in row.items():
            if key in RESERVED or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            metrics.setdefault(key, MetricPoints()).add(float(x), float(value), line)
    curves = curves_or_note(
        metrics,
        notes,
        source=str(source),
        fmt="ray-tune",
        params=params,
        train_metric=train_metric,
        val_metric=val_metric,
    )
    status = statuses.get(folder.name)
    if (folder / "error.txt").is_file() or status == "ERROR":
        state = "failed"
    elif status in STATUS:
        state = STATUS[status]
    else:  # no experiment state: a trial whose last result says done has finished
        state = "finished" if done else "running"
    run = TrackedRun(
        trial_id, folder.name, params, curves, state, notes=notes, meta=known_params(params)
    )
    return run, int(last_iteration)


def _mark_stopped(read: list[tuple[TrackedRun, int]]) -> None:
    """A trial that finished at fewer iterations than the longest one was stopped early (by a
    scheduler such as ASHA, or a stopper): Ray marks both TERMINATED."""
    longest = max(iterations for _, iterations in read)
    for run, iterations in read:
        if run.state == "finished" and iterations < longest:
            run.state = "pruned"
            run.notes.append(
                f"stopped at iteration {iterations} of the {longest} the longest trial ran "
                "(a scheduler or stopper ended it, or its own stop condition)"
            )


def _params(folder: Path, notes: list[str]) -> dict[str, Any]:
    try:
        data = json.loads((folder / "params.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        notes.append("params.json is not readable JSON")
        return {}
    return _flatten(data) if isinstance(data, dict) else {}


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}/"))
        elif isinstance(value, bool | int | str) or value is None:
            flat[name] = value
        elif isinstance(value, float):
            flat[name] = value if math.isfinite(value) else str(value)
    return flat


def _rows(folder: Path, notes: list[str]) -> tuple[list[tuple[int, dict[str, Any]]], Path]:
    """(file line, result) for every result the trial reported, and the file read."""
    results = folder / "result.json"
    if results.is_file():
        rows = []
        with results.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    notes.append(f"{results.name}:{number}: not JSON (a line being written?)")
                    break
                if isinstance(row, dict):
                    rows.append((number, row))
        return rows, results
    progress = folder / "progress.csv"
    try:
        with progress.open(newline="", encoding="utf-8", errors="replace") as handle:
            reader = csv.DictReader(handle)
            rows = [(number, _typed(row)) for number, row in enumerate(reader, start=2)]
    except (OSError, csv.Error) as exc:
        raise InputError(f"{progress}: not a readable CSV file: {exc}") from exc
    return rows, progress


def _typed(row: dict[str, str]) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    for key, text in row.items():
        if key is None or text in (None, ""):
            continue
        if text in ("True", "False"):
            typed[key] = text == "True"
            continue
        try:
            typed[key] = float(text)
        except ValueError:
            typed[key] = text
    return typed
