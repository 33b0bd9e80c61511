"""Write sweeps with the trackers' own libraries: each trial replays a curve from
tests/builders/sweep_curves.py through the library's logging API."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Trial:
    name: str
    params: dict[str, Any]
    curves: dict[str, list[float]]


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def write_mlflow(
    uri: str, trials: list[Trial], experiment: str = "sweep", step_scale: int = 1
) -> None:
    """``mlflow.log_metrics`` once per epoch; ``step_scale`` > 1 logs steps (``step = epoch *
    step_scale``) with an ``epoch`` metric, as Lightning's MLFlowLogger does."""
    import mlflow

    with _env(MLFLOW_ALLOW_FILE_STORE="true"):
        previous = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri(uri)
        try:
            mlflow.set_experiment(experiment)
            for trial in trials:
                with mlflow.start_run(run_name=trial.name):
                    mlflow.log_params(trial.params)
                    for epoch in range(len(trial.curves["val_loss"])):
                        row = {key: values[epoch] for key, values in trial.curves.items()}
                        if step_scale > 1:
                            row["epoch"] = epoch
                        mlflow.log_metrics(row, step=epoch * step_scale)
        finally:
            mlflow.set_tracking_uri(previous)


def write_wandb(folder: Path, trials: list[Trial]) -> Path:
    """Offline runs under ``folder/wandb``; ``wandb.log`` once per epoch."""
    import wandb

    with _env(
        WANDB_MODE="offline",
        WANDB_DIR=str(folder),
        WANDB_SILENT="true",
        WANDB_DISABLE_GIT="true",
        WANDB_CONSOLE="off",
    ):
        for trial in trials:
            run = wandb.init(project="sweep", name=trial.name, config=trial.params, dir=str(folder))
            for epoch in range(len(trial.curves["val_loss"])):
                row = {
                    f"{key.split('_')[0]}/loss": values[epoch]
                    for key, values in trial.curves.items()
                }
                run.log({**row, "epoch": epoch})
            run.finish()
        wandb.teardown()  # the service writes the logs after finish() returns: wait for it
    return folder / "wandb"


def optuna_objective(trials: list[Trial], train_attr: str = "list"):
    """An objective that replays trial k's curves: ``trial.report`` per epoch, the training
    curve stored as a user attribute (``list``: one list; ``per_step``: one per step)."""

    choices = {name: sorted({t.params[name] for t in trials}) for name in trials[0].params}

    def objective(trial) -> float:
        spec = trials[trial.number]
        for name, values in choices.items():
            trial.suggest_categorical(name, values)  # the enqueued value
        train, val = spec.curves["train_loss"], spec.curves["val_loss"]
        for epoch, value in enumerate(val):
            trial.report(value, epoch)
            if train_attr == "list":
                trial.set_user_attr("train_loss", train[: epoch + 1])
            else:
                trial.set_user_attr(f"train_loss_step_{epoch}", train[epoch])
        return val[-1]

    return objective


def write_optuna(storage, study_name: str, trials: list[Trial], train_attr: str = "list") -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction="minimize",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    study.set_metric_names(["val_loss"])
    enqueue(study, trials)
    study.optimize(optuna_objective(trials, train_attr), n_trials=len(trials))


def enqueue(study, trials: list[Trial]) -> None:
    """Trial k runs with trial k's params (the objective replays its curves)."""
    for trial in trials:
        study.enqueue_trial(trial.params)


def journal(path: Path):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(path)))
