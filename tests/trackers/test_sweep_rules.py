"""OFL601-603 on sweeps written by Optuna, and the replayed pruners against Optuna's own."""

from __future__ import annotations

import math

import numpy as np
import pytest

from overfitlint import api
from overfitlint.catalogue import load_catalogue
from overfitlint.checks.sweep import trial_outcome
from overfitlint.checks.sweep_measures import (
    halving_savings,
    median_pruner_savings,
    rank_biserial,
    spearman,
)
from overfitlint.engine.evaluate import resolve_thresholds
from overfitlint.facts import Facts
from overfitlint.loaders.trackers import load_tracker
from overfitlint.settings import RuleConfig
from overfitlint.sweeps import sweep_view
from tests.builders.sweep_curves import blend
from tests.trackers.stores import Trial, enqueue, journal, write_optuna

optuna = pytest.importorskip("optuna")


def _sweep(tmp_path, trials, name="s"):
    path = tmp_path / "journal.log"
    write_optuna(journal(path), name, trials)
    return load_tracker(path, study=name)


def judge_sweep(sweep):
    return api.judge(Facts(sweep=sweep))


def _codes(result):
    return {finding.code: finding for finding in result.findings}


def test_the_best_trial_overfits(tmp_path, best_overfits):
    sweep = _sweep(tmp_path, best_overfits)
    finding = _codes(judge_sweep(sweep))["OFL601"]
    assert finding.severity == "error"
    assert "trial 0" in finding.message and "overfit value" in finding.message
    assert finding.evidence_value("objective_epoch") == 29
    assert finding.evidence_value("best_epoch") == 10
    assert finding.location.epoch == 29


def test_a_healthy_best_trial_is_not_flagged(tmp_path, two_trials):
    result = judge_sweep(_sweep(tmp_path, two_trials))
    assert "OFL601" not in _codes(result)
    assert "not enough trials" in _codes(result)["OFL603"].message


@pytest.fixture(scope="module")
def dropout_study(tmp_path_factory, dropout_sweep):
    path = tmp_path_factory.mktemp("dropout") / "journal.log"
    write_optuna(journal(path), "dropout", dropout_sweep)
    return load_tracker(path, study="dropout")


def test_compute_past_best_and_what_regularises(dropout_study):
    findings = _codes(judge_sweep(dropout_study))
    compute = findings["OFL602"]
    assert compute.evidence_value("trials") == 10
    assert compute.evidence_value("share_past_best") > 25
    assert compute.evidence_value("earlystopping_saved") > 0
    assert "EarlyStopping(patience=5) would have saved" in compute.message
    effects = findings["OFL603"]
    assert effects.evidence_value("supported") == ["dropout"]
    assert "higher dropout goes with a smaller generalization gap" in effects.message
    assert "lr" not in effects.evidence_value("supported")


def test_the_sweep_view(dropout_study):
    view = sweep_view(dropout_study)
    assert len(view) == 10
    first = view[0]
    assert first["best_epoch"] == 10 and first["diverging"] is True
    assert len(first["x"]) == 30 and first["params"] == {"dropout": 0.0, "lr": 0.003}
    assert view[-1]["diverging"] is False and first["gap"] > view[-1]["gap"]


def _real_pruned_lengths(tmp_path, trials, pruner):
    study = optuna.create_study(pruner=pruner, sampler=optuna.samplers.RandomSampler(seed=0))
    enqueue(study, trials)

    def objective(trial):
        spec = trials[trial.number]
        trial.suggest_categorical("dropout", sorted(t.params["dropout"] for t in trials))
        for epoch, value in enumerate(spec.curves["val_loss"]):
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    study.optimize(objective, n_trials=len(trials))
    return [len(t.intermediate_values) for t in study.trials]


@pytest.mark.parametrize("kind", ["median", "halving"])
def test_replayed_pruners_cut_where_optunas_own_do(tmp_path, kind):
    trials = [
        Trial(f"t{i}", {"dropout": rate}, blend(rate, seed=i))
        for i, rate in enumerate([0.5, 0.1, 0.3, 0.0, 0.4, 0.2, 0.45, 0.05, 0.35, 0.15])
    ]
    if kind == "median":
        pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=4)
    else:
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    lengths = _real_pruned_lengths(tmp_path, trials, pruner)
    limits = resolve_thresholds(load_catalogue(), RuleConfig())["OFL301"]  # the defaults
    sweep = _sweep(tmp_path, trials)
    outcomes = [trial_outcome(run.curves, limits) for run in sweep.runs]
    if kind == "median":
        savings = median_pruner_savings(outcomes, 3, 4, None)
    else:
        savings = halving_savings(outcomes, 1, 3, None)
    assert savings.saved == sum(30 - n for n in lengths) > 0
    assert savings.stopped == [i for i, n in enumerate(lengths) if n < 30]


def test_effect_sizes_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    x = rng.normal(size=12)
    y = 0.7 * x + rng.normal(size=12)
    rho, p = spearman(x, y)
    assert math.isclose(rho, stats.spearmanr(x, y).statistic, rel_tol=1e-9)
    assert math.isclose(p, stats.spearmanr(x, y).pvalue, abs_tol=0.03)
    group = x > 0
    r, _ = rank_biserial(y, group)
    u = stats.mannwhitneyu(y[group], y[~group]).statistic
    assert math.isclose(r, 2 * u / (group.sum() * (~group).sum()) - 1, rel_tol=1e-9)


def test_the_sweep_view_draws_at_most_200_points_and_keeps_the_best(tmp_path):
    long = blend(0.0, epochs=500)
    sweep = _sweep(tmp_path, [Trial("long", {"dropout": 0.0}, long)])
    (entry,) = sweep_view(sweep)
    assert 190 <= len(entry["x"]) == len(entry["y"]) <= 200
    assert entry["x"][0] == 0 and entry["x"][-1] == 499
    assert max(long["val_loss"]) in entry["y"]  # the shared downsampler keeps the extremes
    best = int(np.argmin(long["val_loss"]))
    assert entry["best_epoch"] == best and best in entry["x"]
    assert entry["y"][entry["x"].index(best)] == entry["best_value"] == min(long["val_loss"])
