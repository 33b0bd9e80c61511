"""Weights & Biases: offline runs written by wandb.init / run.log, read from the .wandb log."""

from __future__ import annotations

import pytest

from overfitlint.errors import InputError
from overfitlint.loaders.trackers import detect_tracker, load_tracker

pytest.importorskip("wandb")


def test_every_run_of_a_wandb_folder(wandb_dir, two_trials):
    assert detect_tracker(wandb_dir) == "wandb"
    assert detect_tracker(wandb_dir.parent) == "wandb"
    sweep = load_tracker(wandb_dir)
    runs = {run.name: run for run in sweep.runs}
    assert set(runs) == {"overfits", "healthy"}
    assert sweep.best_run is runs["healthy"]
    overfits = runs["overfits"]
    assert overfits.state == "finished"
    assert overfits.params == {"dropout": 0.0, "lr": 0.01, "batch_size": 32}
    assert overfits.meta == {"dropout": 0.0, "lr": 0.01, "batch_size": 32}
    curves = overfits.curves
    assert (curves.loss.train, curves.loss.val, curves.axis) == ("train/loss", "val/loss", "epoch")
    assert curves.val_loss.values.tolist() == two_trials[0].curves["val_loss"]
    assert curves.val_loss.epochs.tolist() == list(range(30))
    # ranked by the summary: the last logged value
    assert overfits.objective == two_trials[0].curves["val_loss"][-1]


def test_one_run_folder_and_run_id(wandb_dir):
    folder = sorted(wandb_dir.glob("offline-run-*"))[0]
    assert detect_tracker(folder) == "wandb"
    sweep = load_tracker(folder)
    assert len(sweep.runs) == 1 and folder.name.endswith(sweep.runs[0].source)
    run_id = sweep.runs[0].source
    assert load_tracker(wandb_dir, run_id=run_id).runs[0].source == run_id


def test_a_cut_log_is_read_up_to_the_cut(wandb_dir, tmp_path, two_trials):
    folder = sorted(wandb_dir.glob("offline-run-*"))[0]
    log = next(folder.glob("run-*.wandb"))
    copy = tmp_path / folder.name
    copy.mkdir()
    data = log.read_bytes()
    (copy / log.name).write_bytes(data[: len(data) * 2 // 3])
    run = load_tracker(copy).runs[0]
    assert run.state == "running"
    assert 0 < len(run.curves.val_loss) < 30
    assert any("read up to it" in note for note in run.notes)


def test_a_run_without_history_is_one_line(tmp_path):
    import wandb

    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            "WANDB_MODE": "offline",
            "WANDB_DIR": str(tmp_path),
            "WANDB_SILENT": "true",
        }.items():
            patch.setenv(key, value)
        wandb.init(project="empty", config={"dropout": 0.2}, dir=str(tmp_path)).finish()
        wandb.teardown()
    with pytest.raises(InputError) as error:
        load_tracker(tmp_path / "wandb")
    assert "logged no metrics" in str(error.value) and "\n" not in str(error.value)
