"""MLflow's SQL store in a SQLite file (``mlflow.db``), read with one query per table.

Why not ``MlflowClient``: its SQL store asks for each run's history of each metric in a
query of its own, through the ORM; for a sweep of a thousand runs that is thousands of
queries, where one query of all metric rows into numpy does the same work
(benchmarks/bench_trackers.py). The tables read are ``experiments``, ``runs``,
``metrics`` (key, value, step, is_nan), ``params`` and ``tags``. The file is opened
read-only.
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import numpy as np

from overfitlint.errors import InputError
from overfitlint.loaders.trackers.mlflow_runs import RUN_TAGS, RawRun, pick_experiment, to_sweep
from overfitlint.loaders.trackers.run import MetricPoints, Sweep, parse_param
from overfitlint.loaders.trackers.sqlite_file import connect_read_only


def load_sql_store(
    path: Path,
    *,
    experiment: str | None = None,
    run_id: str | None = None,
    train_metric: str | None = None,
    val_metric: str | None = None,
) -> Sweep:
    where = str(path)
    with connect_read_only(path) as db:
        try:
            experiments = {
                str(exp_id): str(name)
                for exp_id, name in db.execute(
                    "SELECT experiment_id, name FROM experiments WHERE lifecycle_stage = 'active'"
                )
            }
            if run_id is not None:
                found = db.execute(
                    "SELECT experiment_id FROM runs WHERE run_uuid = ?", (run_id,)
                ).fetchone()
                if found is None:
                    raise InputError(f"{where}: no run {run_id!r} in this MLflow store")
                chosen = str(found[0])
            else:
                with_runs = {
                    str(row[0])
                    for row in db.execute(
                        "SELECT DISTINCT experiment_id FROM runs WHERE lifecycle_stage = 'active'"
                    )
                }
                chosen = pick_experiment(experiments, with_runs, experiment, where)
            raw = _read_runs(db, chosen, run_id)
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{where}: cannot read the MLflow tables: {exc}") from exc
    if run_id is not None and not raw[0].metrics:
        raise InputError(f"{where}: MLflow run {run_id} logged no metrics")
    return to_sweep(
        raw,
        kind_source=where,
        experiment=experiments.get(chosen, chosen),
        fmt="mlflow-sqlite",
        train_metric=train_metric,
        val_metric=val_metric,
    )


def _read_runs(db: sqlite3.Connection, experiment_id: str, run_id: str | None) -> list[RawRun]:
    if run_id is not None:
        run_filter, args = "r.run_uuid = ?", (run_id,)
    else:
        run_filter, args = "r.experiment_id = ? AND r.lifecycle_stage = 'active'", (experiment_id,)
    runs = {
        uuid: RawRun(uuid, name or "", status or "", {}, {}, {})
        for uuid, name, status in db.execute(
            f"SELECT r.run_uuid, r.name, r.status FROM runs r WHERE {run_filter} "
            "ORDER BY r.start_time, r.run_uuid",
            args,
        )
    }
    for uuid, key, value in db.execute(
        "SELECT t.run_uuid, t.key, t.value FROM params t JOIN runs r "
        f"ON r.run_uuid = t.run_uuid WHERE {run_filter}",
        args,
    ):
        runs[uuid].params[key] = parse_param("" if value is None else str(value))
    for uuid, key, value in db.execute(  # only the tags the reader uses
        "SELECT t.run_uuid, t.key, t.value FROM tags t JOIN runs r "
        f"ON r.run_uuid = t.run_uuid WHERE {run_filter} AND t.key IN (?, ?)",
        (*args, *RUN_TAGS),
    ):
        runs[uuid].tags[key] = "" if value is None else str(value)
    others = db.execute(f"SELECT COUNT(*) FROM runs r WHERE NOT ({run_filter})", args).fetchone()[0]
    select = "SELECT m.run_uuid, m.key, m.step, m.timestamp, m.value, m.is_nan FROM metrics m"
    if others:
        rows = db.execute(
            f"{select} JOIN runs r ON r.run_uuid = m.run_uuid WHERE {run_filter}", args
        ).fetchall()
    else:  # every run of the store is wanted: no join
        rows = db.execute(select).fetchall()
    _add_metrics(runs, rows)
    return list(runs.values())


def _add_metrics(runs: dict[str, RawRun], rows: list[tuple]) -> None:
    """Split all metric rows into one series per run and key: runs and keys numbered with a
    dict, one numeric sort (the latest value of a step last), no per-row Python code."""
    if not rows:
        return
    uuids, keys, steps, stamps, values, is_nan = zip(*rows, strict=True)
    run_names, key_names = list(dict.fromkeys(uuids)), list(dict.fromkeys(keys))
    run_code = {name: code for code, name in enumerate(run_names)}
    key_code = {name: code for code, name in enumerate(key_names)}
    n = len(uuids)
    group = np.fromiter(map(run_code.__getitem__, uuids), np.int64, n) * len(key_names)
    group += np.fromiter(map(key_code.__getitem__, keys), np.int64, n)
    step = np.asarray(steps, dtype=np.float64)
    value = np.asarray(values, dtype=np.float64)
    value[np.asarray(is_nan, dtype=bool)] = np.nan
    order = np.lexsort((np.asarray(stamps, dtype=np.float64), step, group))
    group, step, value = group[order], step[order], value[order]
    starts = np.concatenate(([0], np.nonzero(np.diff(group))[0] + 1, [n])).tolist()
    for start, end in itertools.pairwise(starts):
        run, key = divmod(int(group[start]), len(key_names))
        if run_names[run] in runs:
            runs[run_names[run]].metrics[key_names[key]] = MetricPoints(
                step[start:end], value[start:end]
            )
