"""Measurements on learning curves (vectorised numpy). Judging happens in the checks.

Every measure works on "points": the finite values of one series in log order.
Curves are compared lower-is-better; a higher-is-better metric is negated first.

The divergence measure follows Prechelt (1998): the generalization loss
GL(t) = 100 * (E_va(t) / E_opt - 1), the training progress
P_k(t) = 1000 * (mean of the last k training losses / their minimum - 1), their
quotient PQ = GL / P_k, and UP_s (the validation error rose at the end of s
successive strips of k epochs). Real logs are noisy, so E_va is a smoothed curve
(a running median, which ignores single spikes, then a running mean), E_opt its
minimum, and the rise at the end is also compared with the noise of the curve
(a z score), so that a noisy plateau is not read as a rise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from overfitlint.curves import Series

MAD_TO_SIGMA = 1.4826


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each point and the ``window - 1`` points before it (fewer at the start)."""
    window = max(1, int(window))
    sums = np.cumsum(np.concatenate(([0.0], values)))
    ends = np.arange(1, values.shape[0] + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def centered_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean over a centred window of ``window`` points (odd; fewer at the ends)."""
    half = max(0, int(window) // 2)
    n = values.shape[0]
    sums = np.cumsum(np.concatenate(([0.0], values)))
    if n <= 2 * half + 1:
        index = np.arange(n)
        starts = np.maximum(0, index - half)
        ends = np.minimum(n, index + half + 1)
        return (sums[ends] - sums[starts]) / (ends - starts)
    out = np.empty(n, dtype=np.float64)
    width = 2 * half + 1
    out[half : n - half] = (sums[width:] - sums[: n + 1 - width]) / width  # whole windows
    for index in (*range(half), *range(n - half, n)):  # the ends: the part of the window inside
        start, end = max(0, index - half), min(n, index + half + 1)
        out[index] = (sums[end] - sums[start]) / (end - start)
    return out


MEDIAN_BLOCK = 1 << 20
"""Values per block of the running median: bounds its working memory on long curves."""


def median(values: np.ndarray) -> float:
    """``np.median`` of a 1-D array, by partition (NaN if any value is NaN)."""
    n = values.shape[0]
    if n == 0 or np.isnan(values).any():
        return float("nan")
    middle = n // 2
    if n % 2:
        return float(np.partition(values, middle)[middle])
    low, high = np.partition(values, (middle - 1, middle))[middle - 1 : middle + 1]
    return float((low + high) / 2.0)


def centered_median(values: np.ndarray, window: int) -> np.ndarray:
    """Running median over a centred window (the ends repeat the edge values)."""
    half = max(0, int(window) // 2)
    if half == 0 or values.shape[0] < 3:
        return values.astype(np.float64, copy=True)
    padded = np.concatenate((np.repeat(values[:1], half), values, np.repeat(values[-1:], half)))
    n, width = values.shape[0], 2 * half + 1
    out = np.empty(n, dtype=np.float64)
    step = max(1, MEDIAN_BLOCK // width)
    for start in range(0, n, step):
        end = min(n, start + step)
        if width in (3, 5):  # min/max over whole arrays: the middle value, exactly
            lanes = [padded[start + k : end + k] for k in range(width)]
            out[start:end] = _median_of_3(*lanes) if width == 3 else _median_of_5(*lanes)
        else:
            windows = sliding_window_view(padded[start : end + width - 1], width)
            out[start:end] = np.partition(windows, half, axis=1)[:, half]
    return out


def _median_of_3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))


def _median_of_5(a, b, c, d, e) -> np.ndarray:
    """The median of five: the median of ``e`` and the middle two of the pairs (a, b), (c, d)."""
    low = np.maximum(np.minimum(a, b), np.minimum(c, d))
    high = np.minimum(np.maximum(a, b), np.maximum(c, d))
    return _median_of_3(e, low, high)


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """A running median (drops lone spikes), then a running mean (averages the noise)."""
    if window <= 1:
        return values.astype(np.float64, copy=True)
    return centered_mean(centered_median(values, window), window)


def _robust_sd(values: np.ndarray) -> float:
    return float(MAD_TO_SIGMA * median(np.abs(values - median(values))))


def noise_sigma(values: np.ndarray) -> float:
    """Point-to-point noise: robust spread of second differences (blind to linear trends).

    Validation losses also wander slowly from epoch to epoch (autocorrelated noise),
    which this does not see on short curves; the z thresholds of the rules are set
    on real and autocorrelated synthetic curves to allow for it.
    """
    if values.shape[0] < 5:
        return 0.0
    return _robust_sd(np.diff(values, 2)) / np.sqrt(6.0)


MAX_TREND_POINTS = 1500


def mann_kendall_z(values: np.ndarray) -> float:
    """Mann-Kendall z of an upward trend (no ties correction; long series thinned evenly)."""
    n = values.shape[0]
    if n < 3:
        return 0.0
    if n > MAX_TREND_POINTS:
        values = values[np.linspace(0, n - 1, MAX_TREND_POINTS).astype(np.int64)]
        n = MAX_TREND_POINTS
    s = 0.0
    for i in range(n - 1):  # row by row: no n x n matrix (sums of integers: exact)
        s += float(np.sign(values[i + 1 :] - values[i]).sum())
    variance = n * (n - 1) * (2 * n + 5) / 18.0
    if s == 0:
        return 0.0
    return (s - np.sign(s)) / np.sqrt(variance)


def generalization_loss(values: np.ndarray, best: float) -> np.ndarray:
    """GL = 100 * (value / best - 1) for a positive best; relative to |best| otherwise."""
    scale = abs(best) if abs(best) > 1e-12 else max(float(np.ptp(values)), 1e-12)
    return 100.0 * (values - best) / scale


@dataclass(frozen=True)
class Divergence:
    """How far a validation curve has risen past its best point."""

    points: int
    best_index: int
    """The best raw point near the smoothed minimum (the checkpoint to keep)."""
    best_epoch: float
    best_value: float
    final_value: float
    smoothed_min_index: int
    smoothed_best: float
    """The smoothed curve at its best point (in the metric's own sign)."""
    end_level: float
    """The mean of the last points (in the metric's own sign)."""
    points_past_min: int
    rise_pct: float
    """Prechelt's GL at the end: the mean of the last points over the smoothed minimum."""
    rise_from_best_pct: float
    """The mean of the last points over the best raw value, in percent (what a reader sees)."""
    rise_z: float
    """The same rise in units of its standard error (noise of the curve)."""
    noise_pct: float
    """Point-to-point noise of the curve, in percent of the best value."""
    sigma: float
    """The same noise in the metric's units (``noise_sigma`` of the points)."""
    trend_z: float
    """Mann-Kendall trend statistic of the raw points from the smoothed minimum on."""
    onset_index: int | None
    """First point past the minimum from which the smoothed curve stays above onset level."""
    train_change_pct: float | None
    """Relative change of the training metric from the best epoch to the end."""
    progress: float | None
    """Prechelt's training progress P_k at the end (per mille)."""
    up_strips: int
    """Prechelt's UP: successive strips at the end whose last value rose."""
    x_span: float
    x_past_best: float

    @property
    def epochs_past_best(self) -> int:
        return self.points - 1 - self.best_index

    @property
    def share_past_best(self) -> float:
        if self.x_span > 0:
            return min(1.0, self.x_past_best / self.x_span)
        return self.epochs_past_best / self.points

    @property
    def pq(self) -> float | None:
        if self.progress is None or self.progress <= 0:
            return None
        return self.rise_pct / self.progress


def measure_divergence(
    val: Series,
    train: Series | None,
    *,
    smoothing: int,
    onset_rise_pct: float,
    tail: int = 5,
    lower_is_better: bool = True,
    train_lower_is_better: bool | None = None,
) -> Divergence | None:
    """Measure a validation curve (finite points only); None when it has no points."""
    val = val.finite()
    n = len(val)
    if n == 0:
        return None
    sign = 1.0 if lower_is_better else -1.0
    values = sign * val.values
    window = _odd(smoothing)
    smoothed = smooth(values, window)
    min_index = int(np.argmin(smoothed))
    low = max(0, min_index - window // 2)
    best_index = low + int(np.argmin(values[low : min_index + window // 2 + 1]))
    past = n - 1 - min_index
    k = max(1, min(int(tail), past)) if past else 1
    end_level = float(values[-k:].mean())
    best_level = float(smoothed[min_index])
    scale = abs(best_level) if abs(best_level) > 1e-12 else max(float(np.ptp(values)), 1e-12)
    rise = 100.0 * (end_level - best_level) / scale
    sigma = noise_sigma(values)
    around = min(window, n)
    standard_error = sigma * np.sqrt(1.0 / k + 1.0 / around)
    if standard_error > 0:
        z = (end_level - best_level) / standard_error
    else:
        z = np.inf if end_level > best_level else 0.0
    gl = generalization_loss(smoothed, best_level)
    onset = _onset(gl, min_index, onset_rise_pct)
    train_sign = sign if train_lower_is_better is None else (1.0 if train_lower_is_better else -1.0)
    x = val.epochs
    spacing = median(np.diff(x)) if n > 1 else 1.0
    return Divergence(
        points=n,
        best_index=best_index,
        best_epoch=float(x[best_index]),
        best_value=float(val.values[best_index]),
        final_value=float(val.values[-1]),
        smoothed_min_index=min_index,
        smoothed_best=sign * best_level,
        end_level=sign * end_level,
        points_past_min=past,
        rise_pct=float(rise),
        rise_from_best_pct=float(
            100.0 * (end_level - values[best_index]) / max(abs(values[best_index]), 1e-12)
        ),
        rise_z=float(z),
        noise_pct=float(100.0 * sigma / scale),
        sigma=sigma,
        trend_z=mann_kendall_z(values[min_index:]),
        onset_index=onset,
        train_change_pct=_change_since(train, float(x[best_index]), train_sign, tail),
        progress=_progress(train, train_sign, tail),
        up_strips=_up_strips(smoothed, tail),
        x_span=float(x[-1] - x[0] + spacing),
        x_past_best=float(x[-1] - x[best_index]),
    )


def _odd(window: int) -> int:
    window = max(1, int(window))
    return window if window % 2 else window + 1


def _onset(gl: np.ndarray, min_index: int, level: float) -> int | None:
    after = gl[min_index + 1 :]
    if after.size == 0 or after[-1] <= level:
        return None
    not_above = np.nonzero(after <= level)[0]
    return min_index + 1 + (int(not_above[-1]) + 1 if not_above.size else 0)


def _change_since(train: Series | None, epoch: float, sign: float, tail: int) -> float | None:
    """Percent change of the training metric from ``epoch`` to the end (smoothed ends)."""
    if train is None:
        return None
    train = train.finite()
    after = train.epochs >= epoch
    if np.count_nonzero(after) < 2:
        return None
    values = sign * train.values[after]
    k = max(1, min(int(tail), values.size // 2))
    start, end = float(values[:k].mean()), float(values[-k:].mean())
    return 100.0 * (end - start) / max(abs(start), 1e-12)


def _progress(train: Series | None, sign: float, strip: int) -> float | None:
    if train is None:
        return None
    values = sign * train.finite().values
    if values.size < 2:
        return None
    last = values[-max(2, int(strip)) :]
    low = float(last.min())
    if low <= 0:
        return None
    return float(1000.0 * (last.mean() / low - 1.0))


def _up_strips(smoothed: np.ndarray, strip: int) -> int:
    strip = max(1, int(strip))
    ends = smoothed[::-1][::strip][::-1]
    if ends.size < 2:
        return 0
    rising = np.diff(ends) > 0
    falls = np.nonzero(~rising)[0]
    return int(rising.size - (falls[-1] + 1) if falls.size else rising.size)


# -- early stopping, as Keras does it ---------------------------------------------------------


@dataclass(frozen=True)
class EarlyStop:
    stop_index: int | None
    """The point after which EarlyStopping would have ended the run (None: never)."""
    best_index: int
    """The point restore_best_weights would keep."""


def simulate_early_stopping(
    values: np.ndarray, patience: int, min_delta: float = 0.0, lower_is_better: bool = True
) -> EarlyStop:
    """keras.callbacks.EarlyStopping(patience, min_delta) on a series, vectorised.

    Keras counts epochs since the last improvement (a value better than the best so
    far by more than ``min_delta``) and stops when the count reaches ``patience``.
    """
    v = np.asarray(values, dtype=np.float64)
    if not lower_is_better:
        v = -v
    n = v.size
    if n == 0:
        return EarlyStop(None, 0)
    if min_delta == 0:
        running = np.minimum.accumulate(v)
        improved = np.concatenate(([True], v[1:] < running[:-1]))
    else:
        improved = _improvements(v, min_delta)
    last_improvement = np.maximum.accumulate(np.where(improved, np.arange(n), 0))
    waited = np.arange(n) - last_improvement
    stops = np.nonzero((waited >= max(1, patience)) & (np.arange(n) > 0))[0]
    if stops.size == 0:
        return EarlyStop(None, int(last_improvement[-1]))
    stop = int(stops[0])
    return EarlyStop(stop, int(last_improvement[stop]))


def _improvements(v: np.ndarray, min_delta: float) -> np.ndarray:
    """Which points beat the best-so-far by more than ``min_delta`` (Keras' rule)."""
    # The reference only moves on an improvement, so this is sequential; each step finds the
    # next improvement in O(log n). No point up to the last improvement lies more than
    # ``min_delta`` below its best (it would have been one), so the first point past it below
    # ``best - min_delta`` is where the running minimum of the whole curve first drops there.
    n = v.size
    improved = np.zeros(n, dtype=bool)
    improved[0] = True
    falling = -np.minimum.accumulate(v)  # ascending
    best, delta = v[0], abs(min_delta)
    while True:
        position = int(np.searchsorted(falling, -(best - delta), side="right"))
        if position >= n or not v[position] < best - delta:
            return improved
        improved[position] = True
        best = v[position]
