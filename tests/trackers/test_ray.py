"""Ray Tune: an experiment run by tune.Tuner on a local one-CPU Ray instance."""

from __future__ import annotations

import json

import pytest

from overfitlint.errors import InputError
from overfitlint.loaders.trackers import detect_tracker, load_tracker

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_experiment(tmp_path_factory, two_trials):
    """The first trial overfits and the second does not."""
    from ray import tune

    storage = tmp_path_factory.mktemp("ray_results")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        for name, trials in (("exp", two_trials),):
            curves = [trial.curves for trial in trials]

            def trainable(config, curves=curves):
                replay = curves[config["trial"]]
                for epoch, (train, val) in enumerate(
                    zip(replay["train_loss"], replay["val_loss"], strict=True)
                ):
                    tune.report({"train_loss": train, "val_loss": val, "epoch": epoch})

            space = {
                "trial": tune.grid_search(list(range(len(trials)))),
                "dropout": tune.sample_from(
                    lambda spec, t=trials: t[spec.config["trial"]].params["dropout"]
                ),
            }
            tune.Tuner(
                trainable,
                param_space=space,
                tune_config=tune.TuneConfig(metric="val_loss", mode="min"),
                run_config=tune.RunConfig(storage_path=str(storage), name=name, verbose=0),
            ).fit()
    finally:
        ray.shutdown()
    return storage


def test_an_experiment_folder(ray_experiment, two_trials):
    folder = ray_experiment / "exp"
    assert detect_tracker(folder) == "ray"
    sweep = load_tracker(folder)
    assert sweep.kind == "ray" and sweep.objective_name == "val_loss"
    by_trial = {run.params["trial"]: run for run in sweep.runs}
    assert set(by_trial) == {0, 1}
    overfits, healthy = by_trial[0], by_trial[1]
    assert sweep.best_run is healthy
    assert overfits.state == healthy.state == "finished"
    assert overfits.params["dropout"] == 0.0 and overfits.meta == {"dropout": 0.0}
    curves = overfits.curves
    assert (curves.loss.train, curves.loss.val, curves.axis) == ("train_loss", "val_loss", "epoch")
    assert curves.val_loss.values.tolist() == two_trials[0].curves["val_loss"]
    assert curves.val_loss.epochs.tolist() == list(range(30))
    assert curves.val_loss.lines.tolist() == list(range(1, 31))  # result.json lines
    assert overfits.objective == two_trials[0].curves["val_loss"][-1]


def test_check_an_experiment_folder(ray_experiment, cli):
    result = cli("check", ray_experiment / "exp", "--format", "json", "--no-report")
    assert result.code == 1, result.stderr
    document = result.json()
    verdicts = {run["params"]["trial"]: run["verdict"]["status"] for run in document["runs"]}
    assert verdicts == {0: "overfitting", 1: "healthy"}
    assert document["sweep"]["sweep"]["kind"] == "ray"


def test_a_trial_folder_and_progress_csv(ray_experiment, tmp_path, two_trials):
    trial = next(
        p
        for p in sorted((ray_experiment / "exp").iterdir())
        if (p / "params.json").is_file()
        and json.loads((p / "params.json").read_text())["trial"] == 0
    )
    one = load_tracker(trial)
    assert len(one.runs) == 1
    copy = tmp_path / trial.name
    copy.mkdir()
    for name in ("params.json", "progress.csv"):
        (copy / name).write_bytes((trial / name).read_bytes())
    curves = load_tracker(copy).runs[0].curves
    assert curves.val_loss.values.tolist() == two_trials[0].curves["val_loss"]


def test_a_folder_without_trials_is_one_line(tmp_path):
    (tmp_path / "trial").mkdir()
    (tmp_path / "trial" / "params.json").write_text("{}")
    (tmp_path / "trial" / "result.json").write_text("")
    with pytest.raises(InputError) as error:
        load_tracker(tmp_path / "trial")
    assert "reported no metrics" in str(error.value) and "\n" not in str(error.value)
