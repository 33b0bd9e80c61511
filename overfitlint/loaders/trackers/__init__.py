"""Runs where they live: experiment trackers and hyperparameter studies, read as sweeps.

``detect_tracker`` tells a store apart by its content (never its name): an MLflow file store
(``meta.yaml`` files of experiments and runs), a SQLite file whose tables are MLflow's or
Optuna's, an Optuna journal file, a W&B run folder (a ``run-*.wandb`` log with the W&B
header), a Ray Tune experiment folder, or an MLflow tracking server URL. ``load_tracker``
reads it into a ``Sweep``.
"""

from __future__ import annotations

from pathlib import Path

from overfitlint.errors import InputError
from overfitlint.loaders.trackers import mlflow_files, optuna_study, ray_tune, wandb_runs
from overfitlint.loaders.trackers.mlflow_rest import DEFAULT_TIMEOUT, is_url
from overfitlint.loaders.trackers.run import Sweep, TrackedRun
from overfitlint.loaders.trackers.sqlite_file import is_sqlite, path_of_url, store_kind

KINDS = (
    "mlflow-files",
    "mlflow-sqlite",
    "mlflow-server",
    "optuna-sqlite",
    "optuna-journal",
    "wandb",
    "ray",
)

__all__ = ["KINDS", "Sweep", "TrackedRun", "detect_tracker", "load_tracker"]


def _as_path(source: str | Path) -> Path:
    if isinstance(source, Path):
        return source
    from_url = path_of_url(source)
    return from_url if from_url is not None else Path(source)


def detect_tracker(source: str | Path) -> str | None:
    """One of ``KINDS``, or None when ``source`` is not a tracker store."""
    if isinstance(source, str) and is_url(source):
        return "mlflow-server"
    path = _as_path(source)
    if path.is_file():
        if is_sqlite(path):
            try:
                kind = store_kind(path)
            except InputError:
                return None
            return f"{kind}-sqlite" if kind else None
        if optuna_study.is_journal(path):
            return "optuna-journal"
        if wandb_runs.is_wandb_log(path):
            return "wandb"
        return None
    if not path.is_dir():
        return None
    if wandb_runs.run_folders(path):
        return "wandb"
    if mlflow_files.is_file_store(path):
        return "mlflow-files"
    if ray_tune.trial_folders(path):
        return "ray"
    return None


def load_tracker(
    source: str | Path,
    *,
    experiment: str | None = None,
    run_id: str | None = None,
    study: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    train_metric: str | None = None,
    val_metric: str | None = None,
) -> Sweep:
    """The sweep in ``source``. ``experiment`` (MLflow), ``run_id`` (MLflow, W&B, Ray) and
    ``study`` (Optuna) pick one where the store holds several; ``timeout`` bounds each
    request to a tracking server."""
    kind = detect_tracker(source)
    path = _as_path(source)
    if kind is None:
        if path.is_file() and is_sqlite(path):
            raise InputError(
                f"{path}: a SQLite file that is neither an MLflow nor an Optuna store "
                "(no experiments/runs/metrics or studies/trials tables)"
            )
        if not path.exists():
            raise InputError(f"{source}: no such file or folder")
        raise InputError(
            f"{path}: not an experiment tracker store (MLflow mlruns/ or SQLite, W&B wandb/, "
            "Optuna SQLite or journal, Ray Tune experiment folder)"
        )
    pick = {"train_metric": train_metric, "val_metric": val_metric}
    if kind == "mlflow-server":
        from overfitlint.loaders.trackers.mlflow_rest import load_server

        return load_server(
            str(source), experiment=experiment, run_id=run_id, timeout=timeout, **pick
        )
    if kind == "mlflow-sqlite":
        from overfitlint.loaders.trackers.mlflow_sql import load_sql_store

        return load_sql_store(path, experiment=experiment, run_id=run_id, **pick)
    if kind == "mlflow-files":
        return mlflow_files.load_file_store(path, experiment=experiment, run_id=run_id, **pick)
    if kind in ("optuna-sqlite", "optuna-journal"):
        return optuna_study.load_optuna(path, kind.split("-")[1], study=study)
    if kind == "wandb":
        folder = path.parent if path.is_file() else path
        return wandb_runs.load_wandb(folder, run_id=run_id, **pick)
    return ray_tune.load_ray(path, run_id=run_id, **pick)
