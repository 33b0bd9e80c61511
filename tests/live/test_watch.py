"""Watch's O(1) statistics against what OFL301 computes on the whole curve: the smoothed
minimum is the same point, and the pre-test never says no where the rule says yes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from benchmarks.curves import synthetic
from overfitlint.catalogue import load_catalogue
from overfitlint.checks.divergence import judge_divergence
from overfitlint.curves import Curves, MetricPair, Series
from overfitlint.engine import resolve_thresholds
from overfitlint.live.watch import Watch
from overfitlint.measures import measure_divergence
from overfitlint.settings import RuleConfig


def _limits(**overrides):
    rules = RuleConfig(thresholds={"OFL301": overrides})
    return resolve_thresholds(load_catalogue(), rules)["OFL301"]


def _curves(train: np.ndarray, val: np.ndarray) -> Curves:
    epochs = np.arange(val.size, dtype=np.float64)
    lines = np.zeros(val.size, dtype=np.int64)
    series = {
        "loss": Series("loss", epochs, train, lines),
        "val_loss": Series("val_loss", epochs, val, lines),
    }
    return Curves("synthetic", "live", series, MetricPair("loss", "val_loss"))


def _prefix(curves: Curves, size: int) -> Curves:
    cut = {
        name: Series(name, s.epochs[:size], s.values[:size], s.lines[:size])
        for name, s in curves.series.items()
    }
    return replace(curves, series=cut)


@pytest.mark.parametrize("limits", [_limits(), _limits(smoothing=3, patience=3, min_z=3.0)])
def test_the_pretest_never_misses_a_divergence(limits):
    checked = diverging = 0
    for curve in synthetic.curves(1):
        curves = _curves(curve.train, curve.val)
        watch = Watch(limits)
        for size in range(1, curve.val.size + 1):
            watch.add(float(curve.val[size - 1]))
            prefix = _prefix(curves, size)
            measured = measure_divergence(
                prefix.val_loss,
                None,
                smoothing=limits["smoothing"],
                onset_rise_pct=limits["onset_rise"],
                tail=limits["patience"],
            )
            assert watch.smoothed_min()[1] == measured.smoothed_min_index
            verdict = judge_divergence(prefix, limits)
            if verdict is not None and verdict.diverging:
                diverging += 1
                assert watch.may_diverge(), (curve.name, size)
            checked += 1
    assert diverging > 100  # the curves do diverge, often
    assert checked > 2000


def test_higher_is_better_metrics_are_watched_the_other_way():
    watch = Watch(_limits(), lower_is_better=False)
    accuracy = [0.5, 0.6, 0.7, 0.65, 0.6, 0.55]
    best = [watch.add(a) for a in accuracy]
    assert best == [True, True, True, False, False, False]
    assert watch.best_index == 2 and watch.steady  # a steady fall of accuracy is a rise
