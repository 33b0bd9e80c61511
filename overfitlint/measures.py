"""Measurements on learning curves (vectorised numpy). Judging happens in the checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from overfitlint.curves import Series


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each point and the ``window - 1`` points before it (fewer at the start)."""
    window = max(1, int(window))
    sums = np.cumsum(np.concatenate(([0.0], values)))
    ends = np.arange(1, values.shape[0] + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


@dataclass(frozen=True)
class Divergence:
    """How far a validation curve has risen past its best point."""

    points: int
    best_index: int
    best_epoch: float
    best_value: float
    final_value: float
    smoothed_min_index: int
    points_past_min: int
    rise_pct: float
    """Prechelt's generalization loss GL at the last point, on the smoothed curve."""
    onset_index: int | None
    """First point past the best from which the raw curve stays above the onset level."""
    train_change_pct: float | None
    """Relative change of the training metric from the best epoch to the end."""

    @property
    def epochs_past_best(self) -> int:
        return self.points - 1 - self.best_index

    @property
    def share_past_best(self) -> float:
        return self.epochs_past_best / self.points


def measure_divergence(
    val: Series,
    train: Series | None,
    *,
    smoothing: int,
    onset_rise_pct: float,
    lower_is_better: bool = True,
) -> Divergence | None:
    """Measure a validation curve (finite points only); None when it has no points."""
    val = val.finite()
    if len(val) == 0:
        return None
    sign = 1.0 if lower_is_better else -1.0
    values = sign * val.values
    smoothed = trailing_mean(values, smoothing)
    best_index = int(np.argmin(values))
    min_index = int(np.argmin(smoothed))
    gl = generalization_loss(smoothed, smoothed[min_index])
    raw_gl = generalization_loss(values, values[best_index])
    not_above = np.nonzero(raw_gl <= onset_rise_pct)[0]
    onset = int(not_above[-1]) + 1 if not_above.size else None
    if onset is not None and onset >= len(val):
        onset = None
    return Divergence(
        points=len(val),
        best_index=best_index,
        best_epoch=float(val.epochs[best_index]),
        best_value=float(val.values[best_index]),
        final_value=float(val.values[-1]),
        smoothed_min_index=min_index,
        points_past_min=len(val) - 1 - min_index,
        rise_pct=float(gl[-1]),
        onset_index=onset,
        train_change_pct=_change_since(train, float(val.epochs[best_index]), sign),
    )


def generalization_loss(values: np.ndarray, best: float) -> np.ndarray:
    """GL = 100 * (value / best - 1) for a positive best; relative to |best| otherwise."""
    scale = abs(best) if abs(best) > 1e-12 else max(float(np.ptp(values)), 1e-12)
    return 100.0 * (values - best) / scale


def _change_since(train: Series | None, epoch: float, sign: float) -> float | None:
    """Percent change of the training metric from ``epoch`` to its last finite point."""
    if train is None:
        return None
    train = train.finite()
    after = train.epochs >= epoch
    if np.count_nonzero(after) < 2:
        return None
    values = sign * train.values[after]
    start, end = float(values[0]), float(values[-1])
    return 100.0 * (end - start) / max(abs(start), 1e-12)
