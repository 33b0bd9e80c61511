"""MLflow: the file store, the SQLite store and a tracking server, written by mlflow itself."""

from __future__ import annotations

import sqlite3

import pytest

from overfitlint.errors import InputError
from overfitlint.loaders.trackers import detect_tracker, load_tracker
from tests.trackers.conftest import free_port
from tests.trackers.stores import write_mlflow

pytest.importorskip("mlflow")


def _by_name(sweep):
    return {run.name: run for run in sweep.runs}


def _check_two(sweep, two_trials):
    runs = _by_name(sweep)
    assert set(runs) == {"overfits", "healthy"}
    healthy, overfits = runs["healthy"], runs["overfits"]
    assert sweep.best_run is healthy and healthy.is_best and not overfits.is_best
    assert healthy.state == "finished"
    assert healthy.params == {"dropout": 0.5, "lr": 0.01, "batch_size": 32}
    assert healthy.meta == {"dropout": 0.5, "lr": 0.01, "batch_size": 32}
    curves = overfits.curves
    assert (curves.loss.train, curves.loss.val, curves.axis) == ("train_loss", "val_loss", "epoch")
    assert curves.val_loss.values.tolist() == two_trials[0].curves["val_loss"]
    assert curves.val_loss.epochs.tolist() == list(range(30))
    assert overfits.objective == two_trials[0].curves["val_loss"][-1]


def test_file_store_root_experiment_and_run_folders(file_store, two_trials):
    assert detect_tracker(file_store) == "mlflow-files"
    sweep = load_tracker(file_store)
    _check_two(sweep, two_trials)
    assert sweep.kind == "mlflow" and sweep.objective_name == "val_loss"
    # every point remembers its file line
    val = _by_name(sweep)["overfits"].curves.val_loss
    assert val.lines.tolist() == list(range(1, 31))
    run = _by_name(sweep)["overfits"]
    assert run.curves.source_of(val, 0).endswith("metrics/val_loss")
    experiment = next(p for p in file_store.iterdir() if (p / run.source).is_dir())
    assert len(load_tracker(experiment).runs) == 2
    one = load_tracker(experiment / run.source)
    assert [r.source for r in one.runs] == [run.source]
    assert load_tracker(file_store, run_id=run.source).runs[0].name == "overfits"


def test_sqlite_store_by_path_and_url(sql_store, two_trials):
    assert detect_tracker(sql_store) == "mlflow-sqlite"
    assert detect_tracker(f"sqlite:///{sql_store}") == "mlflow-sqlite"
    _check_two(load_tracker(sql_store), two_trials)
    _check_two(load_tracker(f"sqlite:///{sql_store}", experiment="sweep"), two_trials)
    run = _by_name(load_tracker(sql_store))["healthy"]
    assert [r.name for r in load_tracker(sql_store, run_id=run.source).runs] == ["healthy"]


def test_steps_are_placed_on_epochs_by_the_epoch_metric(tmp_path, two_trials):
    path = tmp_path / "steps.db"
    write_mlflow(f"sqlite:///{path}", two_trials[:1], step_scale=50)
    curves = load_tracker(path).runs[0].curves
    assert curves.axis == "epoch"
    assert curves.val_loss.epochs.tolist() == list(range(30))
    assert any("'epoch' metric" in note for note in curves.notes)


def test_tracking_server(mlflow_server, two_trials):
    write_mlflow(mlflow_server, two_trials, experiment="served")
    assert detect_tracker(mlflow_server) == "mlflow-server"
    sweep = load_tracker(mlflow_server, experiment="served", timeout=60)  # a loaded machine
    _check_two(sweep, two_trials)
    run = _by_name(sweep)["overfits"]
    one = load_tracker(mlflow_server, run_id=run.source, timeout=60)
    assert [r.name for r in one.runs] == ["overfits"]
    with pytest.raises(InputError, match=r"no experiment named 'nope'; experiments: .*served"):
        load_tracker(mlflow_server, experiment="nope", timeout=60)


def test_check_a_tracking_server(mlflow_server, cli):
    result = cli(
        "check", mlflow_server, "--experiment", "served", "--timeout", "60",
        "--format", "json", "--no-report",
    )  # fmt: skip
    assert result.code == 1, result.stderr
    verdicts = {r["trial"]["name"]: r["verdict"]["status"] for r in result.json()["runs"]}
    assert verdicts == {"overfits": "overfitting", "healthy": "healthy"}


def _one_line(error: pytest.ExceptionInfo) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


def test_unreachable_server_is_one_line_within_the_timeout():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(InputError) as error:
        load_tracker(url, timeout=2)
    assert "unreachable" in _one_line(error)


def test_sqlite_file_that_is_neither_store(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    assert detect_tracker(path) is None
    with pytest.raises(InputError) as error:
        load_tracker(path)
    assert "neither an MLflow nor an Optuna store" in _one_line(error)


def test_run_without_metrics(tmp_path):
    import mlflow

    root = tmp_path / "mlruns"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
        mlflow.set_tracking_uri(root.as_uri())
        try:
            mlflow.set_experiment("empty")
            with mlflow.start_run() as run:
                mlflow.log_param("dropout", 0.1)
        finally:
            mlflow.set_tracking_uri(None)
    folder = next(root.glob(f"*/{run.info.run_id}"))
    with pytest.raises(InputError) as error:
        load_tracker(folder)
    assert "logged no metrics" in _one_line(error)


def test_several_experiments_need_a_name(tmp_path, two_trials):
    path = tmp_path / "mlruns"
    write_mlflow(path.as_uri(), two_trials[:1], experiment="a")
    write_mlflow(path.as_uri(), two_trials[1:], experiment="b")
    with pytest.raises(InputError) as error:
        load_tracker(path)
    assert "2 experiments hold runs (a, b); pick one with --experiment NAME" in _one_line(error)
    assert [r.name for r in load_tracker(path, experiment="b").runs] == ["healthy"]
