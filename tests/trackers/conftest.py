"""Sweeps written by the real trackers, and a real MLflow tracking server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.builders.sweep_curves import blend, curve
from tests.trackers.stores import Trial, journal, write_mlflow, write_optuna, write_wandb


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def two_trials() -> list[Trial]:
    """One trial that overfits and one that does not (and ends better)."""
    return [
        Trial("overfits", {"dropout": 0.0, "lr": 0.01, "batch_size": 32}, curve("diverging")),
        Trial("healthy", {"dropout": 0.5, "lr": 0.01, "batch_size": 32}, curve("healthy", seed=1)),
    ]


@pytest.fixture(scope="session")
def best_overfits() -> list[Trial]:
    """The overfitting trial still ends below the other one: it is the sweep's best."""
    return [
        Trial("overfits", {"dropout": 0.0, "weight_decay": 0.0}, curve("diverging")),
        Trial("underfits", {"dropout": 0.5, "weight_decay": 0.1}, curve("underfit", seed=1)),
    ]


@pytest.fixture(scope="session")
def dropout_sweep() -> list[Trial]:
    """Ten trials whose overfitting shrinks as dropout grows (learning rate is noise)."""
    rates = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5]
    lrs = [0.003, 0.01, 0.001, 0.03, 0.003, 0.001, 0.03, 0.01, 0.003, 0.01]
    return [
        Trial(f"t{i}", {"dropout": rate, "lr": lr}, blend(rate, seed=i))
        for i, (rate, lr) in enumerate(zip(rates, lrs, strict=True))
    ]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory) -> str:
    """``mlflow server`` on 127.0.0.1 with a SQLite backend, stopped after the session."""
    pytest.importorskip("mlflow")
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{root / 'server.db'}",
        "--default-artifact-root",
        str(root / "artifacts"),
        "--workers",
        "1",
    ]
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
        start_new_session=True,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(Path(root / "server.log").read_text()[-2000:])
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)
        log.close()


# -- stores written by the trackers themselves (each once per session) ---------------------


@pytest.fixture(scope="session")
def file_store(tmp_path_factory, two_trials):
    pytest.importorskip("mlflow")
    root = tmp_path_factory.mktemp("mlflow-files") / "mlruns"
    write_mlflow(root.as_uri(), two_trials)
    return root


@pytest.fixture(scope="session")
def sql_store(tmp_path_factory, two_trials):
    pytest.importorskip("mlflow")
    path = tmp_path_factory.mktemp("mlflow-sql") / "mlflow.db"
    write_mlflow(f"sqlite:///{path}", two_trials)
    return path


@pytest.fixture(scope="session")
def optuna_db(tmp_path_factory, two_trials, best_overfits):
    pytest.importorskip("optuna")
    path = tmp_path_factory.mktemp("optuna") / "optuna.db"
    write_optuna(f"sqlite:///{path}", "two", two_trials)
    write_optuna(f"sqlite:///{path}", "best-overfits", best_overfits, train_attr="per_step")
    return path


@pytest.fixture(scope="session")
def journal_file(tmp_path_factory, two_trials):
    pytest.importorskip("optuna")
    path = tmp_path_factory.mktemp("optuna-journal") / "journal.log"
    write_optuna(journal(path), "two", two_trials)
    return path


@pytest.fixture(scope="session")
def wandb_dir(tmp_path_factory, two_trials):
    pytest.importorskip("wandb")
    return write_wandb(tmp_path_factory.mktemp("wandb-runs"), two_trials)
