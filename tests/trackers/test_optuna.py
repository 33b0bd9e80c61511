"""Optuna: studies in SQLite and in a journal file, written by study.optimize."""

from __future__ import annotations

import sys

import pytest

from overfitlint.errors import InputError
from overfitlint.loaders.trackers import detect_tracker, load_tracker

pytest.importorskip("optuna")


def _check(sweep, trials):
    assert sweep.kind == "optuna" and sweep.direction == "minimize"
    assert sweep.objective_name == "val_loss"
    assert [run.source for run in sweep.runs] == ["trial 0", "trial 1"]
    for run, trial in zip(sweep.runs, trials, strict=True):
        assert run.params == trial.params and run.state == "finished"
        curves = run.curves
        assert (curves.loss.train, curves.loss.val, curves.axis) == (
            "train_loss",
            "val_loss",
            "epoch",
        )
        assert curves.val_loss.values.tolist() == trial.curves["val_loss"]
        assert curves.train_loss.values.tolist() == trial.curves["train_loss"]
        assert run.objective == trial.curves["val_loss"][-1]


def test_sqlite_study_with_the_training_curve_in_a_user_attribute(optuna_db, two_trials):
    assert detect_tracker(optuna_db) == "optuna-sqlite"
    sweep = load_tracker(f"sqlite:///{optuna_db}", study="two")
    _check(sweep, two_trials)
    assert sweep.best_run is sweep.runs[1] and sweep.runs[1].is_best
    assert sweep.runs[0].meta == {"dropout": 0.0, "lr": 0.01, "batch_size": 32}


def test_training_curve_from_one_attribute_per_step(optuna_db, best_overfits):
    sweep = load_tracker(optuna_db, study="best-overfits")
    _check(sweep, best_overfits)
    assert sweep.best_run is sweep.runs[0]


def test_journal_file(journal_file, two_trials):
    assert detect_tracker(journal_file) == "optuna-journal"
    before = journal_file.read_bytes()
    _check(load_tracker(journal_file), two_trials)
    assert journal_file.read_bytes() == before


def test_a_file_of_several_studies_needs_a_name(optuna_db):
    with pytest.raises(InputError) as error:
        load_tracker(optuna_db)
    assert "2 Optuna studies (two, best-overfits); pick one with --study NAME" in str(error.value)
    with pytest.raises(InputError) as error:
        load_tracker(optuna_db, study="three")
    text = str(error.value)
    assert "no Optuna study named 'three'; studies: two, best-overfits" in text
    assert "\n" not in text


def test_a_missing_extra_is_one_line_naming_it(optuna_db, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    with pytest.raises(InputError) as error:
        load_tracker(optuna_db, study="two")
    assert "pip install 'overfitlint[optuna]'" in str(error.value)
    assert "\n" not in str(error.value)
