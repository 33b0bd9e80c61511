"""Measurements across the runs of a sweep (the 6xx rules judge them).

- ``TrialOutcome``: one trial's best point (the logged minimum), its points past it, its
  generalization gap at the end and OFL301's judgement of its curve;
- ``patience_savings``, ``median_pruner_savings``, ``halving_savings``: the points (epochs
  or steps) a stopping rule would have cut, replayed on the logged curves;
- ``spearman``, ``rank_biserial`` and ``permutation_p``: effect sizes of a
  hyperparameter on an outcome, with an exact-enough p-value from permutations.

Trials are compared point by point: the k-th validation point of one trial with the k-th of
another (Optuna compares intermediate values at the same step; a sweep's trials report at
the same steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from overfitlint.curves import Curves
from overfitlint.measures import simulate_early_stopping

if TYPE_CHECKING:
    from overfitlint.checks.divergence import DivergenceVerdict

PERMUTATIONS = 2000


@dataclass(frozen=True)
class TrialOutcome:
    values: np.ndarray
    """The finite validation values, in the metric's own sign."""
    epochs: np.ndarray
    lower_is_better: bool
    best_index: int
    """The logged best (minimum, or maximum for a higher-is-better metric)."""
    gap: float | None
    """Validation minus training over the last points (training minus validation for a
    higher-is-better metric): positive when validation is worse. None: no training curve."""
    verdict: DivergenceVerdict | None
    """OFL301's judgement (None: too short to judge)."""

    @property
    def points(self) -> int:
        return int(self.values.size)

    @property
    def points_past_best(self) -> int:
        return self.points - 1 - self.best_index

    @property
    def diverging(self) -> bool:
        return bool(self.verdict is not None and self.verdict.diverging)

    @property
    def rise_pct(self) -> float | None:
        return None if self.verdict is None else float(self.verdict.rise.rise_pct)

    def oriented(self) -> np.ndarray:
        """Values where lower is better, whatever the metric."""
        return self.values if self.lower_is_better else -self.values


def end_gap(curves: Curves, tail: int) -> float | None:
    """Validation minus training loss over the last ``tail`` points (sign-adjusted)."""
    train, val = curves.train_loss, curves.val_loss
    if train is None or val is None:
        return None
    train, val = train.finite(), val.finite()
    if len(train) == 0 or len(val) == 0:
        return None
    k = max(1, tail)
    gap = float(val.values[-k:].mean() - train.values[-k:].mean())
    return gap if curves.loss.lower_is_better else -gap


# -- stopping rules replayed ------------------------------------------------------------------


@dataclass(frozen=True)
class Savings:
    """What a stopping rule would have cut from a sweep."""

    saved: int
    """Points not run."""
    total: int
    stopped: list[int]
    """Indices (into the outcomes given) of the trials it would have cut short."""
    best_kept: bool
    """The sweep's best trial would have run to its best point."""
    kept_values: list[float]
    """Per trial, the best value it reaches before it is cut (the metric's own sign)."""

    @property
    def share(self) -> float:
        return self.saved / self.total if self.total else 0.0


def _savings(outcomes: list[TrialOutcome], lengths: list[int], best: int | None) -> Savings:
    total = sum(o.points for o in outcomes)
    saved = sum(o.points - n for o, n in zip(outcomes, lengths, strict=True))
    stopped = [i for i, (o, n) in enumerate(zip(outcomes, lengths, strict=True)) if n < o.points]
    kept = []
    for outcome, n in zip(outcomes, lengths, strict=True):
        reached = outcome.oriented()[:n]
        value = float(reached.min())
        kept.append(value if outcome.lower_is_better else -value)
    best_kept = best is None or lengths[best] > outcomes[best].best_index
    return Savings(saved, total, stopped, best_kept, kept)


def patience_savings(outcomes: list[TrialOutcome], patience: int, best: int | None) -> Savings:
    """EarlyStopping(patience) on every trial (the best weights restored)."""
    lengths = []
    for outcome in outcomes:
        stop = simulate_early_stopping(outcome.oriented(), patience).stop_index
        lengths.append(outcome.points if stop is None else stop + 1)
    return _savings(outcomes, lengths, best)


def median_pruner_savings(
    outcomes: list[TrialOutcome], n_startup_trials: int, n_warmup_steps: int, best: int | None
) -> Savings:
    """Optuna's MedianPruner replayed in trial order: a trial stops at the first point (past
    the warm-up) where its best value so far is worse than the median of the completed
    trials' values at that point; the trials it stops do not count as completed."""
    completed: list[np.ndarray] = []
    lengths = []
    for outcome in outcomes:
        values = outcome.oriented()
        length = values.size
        if len(completed) >= n_startup_trials:
            running_best = np.minimum.accumulate(values)
            for index in range(n_warmup_steps, values.size):
                others = [c[index] for c in completed if c.size > index]
                if others and running_best[index] > float(np.median(others)):
                    length = index + 1
                    break
        lengths.append(length)
        if length == values.size:
            completed.append(values)
    return _savings(outcomes, lengths, best)


def halving_savings(
    outcomes: list[TrialOutcome], min_resource: int, reduction_factor: int, best: int | None
) -> Savings:
    """Optuna's SuccessiveHalvingPruner replayed in trial order: at each rung (the point
    numbered ``min_resource * reduction_factor**k``, counting from 0 as Optuna counts steps)
    a trial goes on only if its value there is within the best 1/``reduction_factor`` of the
    values every trial so far had there, itself included."""
    rungs: dict[int, list[float]] = {}
    lengths = []
    eta = max(2, int(reduction_factor))
    for outcome in outcomes:
        values = outcome.oriented()
        length = values.size
        step = max(1, int(min_resource))
        while step < values.size:
            value = float(values[step])
            competing = sorted([*rungs.get(step, []), value])
            rungs.setdefault(step, []).append(value)
            if value > competing[max(0, len(competing) // eta - 1)]:
                length = step + 1
                break
            step *= eta
        lengths.append(length)
    return _savings(outcomes, lengths, best)


# -- association of a hyperparameter with an outcome ------------------------------------------


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank."""
    order = np.argsort(values, kind="stable")
    ranked = np.empty(values.size, dtype=np.float64)
    ranked[order] = np.arange(1, values.size + 1)
    unique, inverse = np.unique(values, return_inverse=True)
    if unique.size < values.size:
        sums = np.bincount(inverse, weights=ranked)
        counts = np.bincount(inverse)
        ranked = (sums / counts)[inverse]
    return ranked


def _permuted(n: int, seed: int) -> np.ndarray:
    """``PERMUTATIONS`` shuffles of 0..n-1, one per row (fixed seed: the same p every run)."""
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((PERMUTATIONS, n)), axis=1)


def _p_value(observed: float, permuted: np.ndarray) -> float:
    if not math.isfinite(observed):
        return math.nan
    hits = int(np.count_nonzero(np.abs(permuted) >= abs(observed) - 1e-12))
    return (hits + 1) / (PERMUTATIONS + 1)


def spearman(x: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """Spearman's rho (Pearson correlation of the ranks) and its two-sided permutation
    p-value; nan when either side is constant."""
    rx, ry = ranks(np.asarray(x, float)), ranks(np.asarray(y, float))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = math.sqrt(float((rx * rx).sum() * (ry * ry).sum()))
    if denominator == 0:
        return math.nan, math.nan
    rho = float((rx * ry).sum() / denominator)
    shuffled = ry[_permuted(ry.size, seed)] @ rx / denominator
    return rho, _p_value(rho, shuffled)


def rank_biserial(values: np.ndarray, group: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """Rank-biserial correlation of ``values`` between ``group`` True and False (+1 when every
    value of the True group is above every value of the False group), and its two-sided
    permutation p-value."""
    values, group = np.asarray(values, float), np.asarray(group, bool)
    n1, n0 = int(group.sum()), int((~group).sum())
    if n1 == 0 or n0 == 0 or np.ptp(values) == 0:
        return math.nan, math.nan
    r = ranks(values)
    offset = n1 * (n1 + 1) / 2.0

    def effect(rank_sums: np.ndarray) -> np.ndarray:
        return 2.0 * (rank_sums - offset) / (n1 * n0) - 1.0

    observed = float(effect(np.asarray(r[group].sum())))
    shuffled = effect(group[_permuted(group.size, seed)].astype(float) @ r)
    return observed, _p_value(observed, shuffled)
