"""What the three MLflow readers (file store, SQLite store, tracking server) share: a run as
read, turned into a ``TrackedRun``, and the runs of one experiment into a ``Sweep``.

MLflow has no chosen best run: a runs table sorted by the validation metric shows the run
whose *last* logged value is best, so that value is each run's objective.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

# mlflow.entities.RunStatus: the file store writes the number, the SQL store the name
STATUS = {
    "1": "running",
    "2": "running",
    "3": "finished",
    "4": "failed",
    "5": "failed",
    "RUNNING": "running",
    "SCHEDULED": "running",
    "FINISHED": "finished",
    "FAILED": "failed",
    "KILLED": "failed",
}
PARENT_TAG = "mlflow.parentRunId"
NAME_TAG = "mlflow.runName"
RUN_TAGS = (NAME_TAG, PARENT_TAG)
"""The tags the readers use: a run's name and, for nested runs, its parent."""


@dataclass
class RawRun:
    run_id: str
    name: str
    status: str
    params: dict[str, Any]
    tags: dict[str, str]
    metrics: dict[str, MetricPoints]
    sources: list[str] = field(default_factory=list)
    """Files the metrics were read from (the file store), in ``MetricPoints.origin`` order."""


def pick_experiment(
    experiments: dict[str, str], with_runs: set[str], wanted: str | None, where: str
) -> str:
    """The id of the experiment to judge. ``experiments``: {id: name}."""
    if wanted is not None:
        for exp_id, name in experiments.items():
            if wanted in (name, exp_id):
                return exp_id
        names = ", ".join(sorted(experiments.values())) or "none"
        raise InputError(f"{where}: no experiment named {wanted!r}; experiments: {names}")
    candidates = [exp_id for exp_id in experiments if exp_id in with_runs]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputError(f"{where}: no MLflow runs found")
    names = ", ".join(sorted(experiments[c] for c in candidates))
    raise InputError(
        f"{where}: {len(candidates)} experiments hold runs ({names}); pick one with "
        "--experiment NAME"
    )


def to_sweep(
    raw_runs: list[RawRun],
    *,
    kind_source: str,
    experiment: str,
    fmt: str,
    train_metric: str | None = None,
    val_metric: str | None = None,
) -> Sweep:
    notes: list[str] = []
    parents = {run.tags[PARENT_TAG] for run in raw_runs if PARENT_TAG in run.tags}
    kept = [run for run in raw_runs if not (run.run_id in parents and not run.metrics)]
    if len(kept) < len(raw_runs):
        notes.append(
            f"{len(raw_runs) - len(kept)} parent run(s) without metrics are not trials; "
            "their child runs are"
        )
    runs = [_tracked(run, fmt, train_metric, val_metric) for run in kept]
    require_runs(runs, kind_source, "MLflow runs")
    metric = objective_metric(runs)
    best, direction = rank_runs(runs, metric)
    if metric:
        notes.append(
            f"runs are ranked by the last logged {metric} ({direction}), as MLflow's runs "
            "table sorts them"
        )
    return Sweep(
        kind="mlflow",
        source=f"{kind_source} (experiment {experiment})",
        runs=runs,
        best_run=best,
        direction=direction,
        notes=notes,
        objective_name=metric,
    )


def _tracked(raw: RawRun, fmt: str, train_metric: str | None, val_metric: str | None):
    notes: list[str] = []
    curves = curves_or_note(
        raw.metrics,
        notes,
        source=raw.run_id,
        fmt=fmt,
        params=raw.params,
        sources=raw.sources or None,
        train_metric=train_metric,
        val_metric=val_metric,
    )
    if curves is None and not notes:
        notes.append("no metric logged")
    return TrackedRun(
        source=raw.run_id,
        name=raw.name or raw.tags.get(NAME_TAG, ""),
        params=raw.params,
        curves=curves,
        state=STATUS.get(str(raw.status), "running"),
        notes=notes,
        meta=known_params(raw.params),
    )
