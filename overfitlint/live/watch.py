"""What a live monitor keeps about the validation curve between epochs, in O(1) per point,
and OFL301's cheap pre-test.

OFL301 (``checks.divergence.judge_divergence``) reads a whole curve: run every epoch, it
would cost O(n) per epoch, O(n^2) per run. ``Watch`` keeps what the rule's decision hinges
on, updated per point in constant time:

- the logged best (the first minimum), the points since it, and whether every point since
  it rose steadily (within ``short_max_dip``), as the short-run and steady-rise routes read it;
- the minimum of the *smoothed* curve, smoothed exactly as ``measures.smooth`` smooths the
  whole curve (a running median then a running mean over ``smoothing`` points, h = half of
  it): a point's smoothed value depends on the 2h points either side, so it is final once 2h
  later points exist, and each epoch smooths only the last 4h + 1 points;
- prefix sums (the mean of the last ``patience`` points), the range of the values, and the
  curve's noise (``measures.noise_sigma``), refreshed whenever the curve has grown by a
  quarter (amortised O(1)).

``may_diverge`` is true whenever OFL301 could flag the curve now: it tests the conditions of
the rule's three routes that these numbers decide exactly (points past the minimum, the rise
of the end level over it, the onset level, a steady rise) and the noise test with the cached
noise at half its threshold (slack for a noise estimate up to 2x stale). Where it says no,
the rule says no (up to floating-point rounding); where it says yes, the rule decides.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from overfitlint.live.history import Column
from overfitlint.measures import noise_sigma, smooth

NOISE_SLACK = 0.5
"""The noise test is passed at this fraction of ``min_z`` (the cached noise may be stale)."""
NOISE_REFRESH = 1.25
"""The noise is measured again once the curve has grown by this factor."""
TINY = 1e-12


def odd(window: int) -> int:
    """The smoothing window as ``measure_divergence`` uses it."""
    window = max(1, int(window))
    return window if window % 2 else window + 1


class Watch:
    """Statistics of one validation curve (finite points, lower is better after ``sign``)."""

    def __init__(self, limits: Mapping[str, Any], lower_is_better: bool = True) -> None:
        self.limits = limits
        self.sign = 1.0 if lower_is_better else -1.0
        self.window = odd(limits["smoothing"])
        self.reach = 2 * (self.window // 2)
        """How many later points a smoothed value depends on."""
        self.values = Column()
        self.prefix = Column()
        self.prefix.append(0.0)
        self.best_index = -1
        self.best_value = math.inf
        self.last_dip = -1
        """The last point that fell more than ``short_max_dip`` below the one before."""
        self.low_after_best = math.inf
        """The lowest point logged after the best."""
        self.low, self.high = math.inf, -math.inf
        self.final_min = (math.inf, -1)
        """The lowest smoothed value that later points can no longer change, and its index."""
        self.tail_min = (math.inf, -1)
        self.last_smoothed = math.nan
        self.sigma = 0.0
        self.sigma_at = 0

    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def after_best(self) -> int:
        return self.count - 1 - self.best_index

    @property
    def steady(self) -> bool:
        """Every point after the logged best at or above the one before (within the dip)."""
        return self.last_dip <= self.best_index

    def add(self, value: float) -> bool:
        """Add a finite point; True when it is a new logged best."""
        v = self.sign * value
        n = self.count
        if n:
            before = self.values.view()[n - 1]
            if v < before - abs(before) * self.limits["short_max_dip"] / 100.0:
                self.last_dip = n
        self.values.append(v)
        self.prefix.append(self.prefix.view()[-1] + v)
        self.low, self.high = min(self.low, v), max(self.high, v)
        improved = v < self.best_value
        if improved:
            self.best_index, self.best_value = n, v
            self.low_after_best = math.inf
        else:
            self.low_after_best = min(self.low_after_best, v)
        self._smooth_tail()
        if self.count >= NOISE_REFRESH * self.sigma_at or self.count < 32:
            self.sigma = noise_sigma(self.values.view())
            self.sigma_at = self.count
        return improved

    def _smooth_tail(self) -> None:
        n = self.count
        start = max(0, n - (2 * self.reach + 1))
        tail = smooth(self.values.view()[start:], self.window)
        final = n - 1 - self.reach
        if final >= 0 and tail[final - start] < self.final_min[0]:
            self.final_min = (float(tail[final - start]), final)
        first = max(0, final + 1)
        provisional = tail[first - start :]
        if provisional.size:
            at = int(np.argmin(provisional))
            self.tail_min = (float(provisional[at]), first + at)
        else:
            self.tail_min = (math.inf, -1)
        self.last_smoothed = float(tail[-1])

    def smoothed_min(self) -> tuple[float, int]:
        """The minimum of the smoothed curve and its first index, as ``np.argmin`` finds it."""
        return self.final_min if self.final_min[0] <= self.tail_min[0] else self.tail_min

    def _mean_last(self, k: int) -> float:
        sums = self.prefix.view()
        return float((sums[-1] - sums[-1 - k]) / k)

    def _noise_allows(self, rise: float, standard_errors: float) -> bool:
        """Could the noise test pass? ``rise`` over ``standard_errors`` noise sigmas."""
        if self.sigma <= 0:
            return rise > 0
        return rise / (self.sigma * standard_errors) >= NOISE_SLACK * self.limits["min_z"]

    def _steady_rise(self, min_rise: float) -> bool:
        best = self.best_value
        rise = 100.0 * (self.values.view()[-1] - best) / max(abs(best), TINY)
        return (
            self.after_best >= self.limits["short_min_after"] and rise >= min_rise and (self.steady)
        )

    def _stays_above(self, min_rise: float) -> bool:
        """Every point after the best at least ``min_rise`` percent above it."""
        margin = abs(self.best_value) * min_rise / 100.0
        return (
            self.after_best >= self.limits["short_min_after"]
            and self.low_after_best - self.best_value >= margin
        )

    def may_diverge(self) -> bool:
        """Could OFL301 call the curve diverging now? (False: it cannot.)"""
        limits, n = self.limits, self.count
        if n < limits["short_min_points"] or self.best_index < 0:
            return False
        if n < limits["min_epochs"]:
            return self._steady_rise(limits["short_min_rise"]) or self._stays_above(
                limits["short_min_rise"]
            )
        if self.after_best < limits["patience"] and self._steady_rise(limits["min_rise"]):
            rise = self.values.view()[-1] - self.best_value
            if self._noise_allows(rise, math.sqrt(2.0)):
                return True
        return self._smoothed_may_diverge()

    def _smoothed_may_diverge(self) -> bool:
        limits, n = self.limits, self.count
        level, index = self.smoothed_min()
        past = n - 1 - index
        if past < limits["patience"]:
            return False
        if abs(level) <= TINY:
            return True  # the rule scales by the curve's range here: let it decide
        scale = abs(level)
        k = max(1, min(int(limits["patience"]), past))
        end = self._mean_last(k)
        if 100.0 * (end - level) / scale < limits["min_rise"]:
            return False
        if 100.0 * (self.last_smoothed - level) / scale <= limits["onset_rise"]:
            return False  # no onset: the smoothed curve ends within onset_rise of its minimum
        return self._noise_allows(end - level, math.sqrt(1.0 / k + 1.0 / min(self.window, n)))
