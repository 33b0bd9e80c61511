"""Train/val distribution shift: labels and each feature, with effect sizes.

Per feature: the standardised mean difference (all rows), and the Kolmogorov-Smirnov statistic
and the population stability index on a random sample of ``SHIFT_SAMPLE`` rows per split
(computed for all features at once by ranking the pooled sample).
"""

from __future__ import annotations

import numpy as np

from overfitlint.data.arrays import SplitArrays
from overfitlint.data.columns import ColumnStats
from overfitlint.data.facts import FeatureShift, Shift
from overfitlint.data.statistics import chi2_sf, ks_p_value

SHIFT_SAMPLE = 10_000
PSI_BINS = 10
_PSI_FLOOR = 1e-4


def _sample(x: np.ndarray, rows: int, seed: int) -> np.ndarray:
    if len(x) <= rows:
        return np.asarray(x, dtype=np.float64)
    keep = np.sort(np.random.default_rng(seed).choice(len(x), rows, replace=False))
    return x[keep]


def ks_statistics(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of (rows, features) samples a and b: the two-sample KS statistic over their
    finite values, and the finite counts of each."""
    a = np.where(np.isfinite(a), a, np.nan)
    b = np.where(np.isfinite(b), b, np.nan)
    n1 = np.sum(~np.isnan(a), axis=0)
    n2 = np.sum(~np.isnan(b), axis=0)
    pooled = np.concatenate([a, b])
    order = np.argsort(pooled, axis=0)  # NaN sort last; ties are read at their last value
    values = np.take_along_axis(pooled, order, axis=0)
    from_a = order < len(a)
    weights = np.where(from_a, 1.0 / np.maximum(n1, 1), -1.0 / np.maximum(n2, 1))
    weights[np.isnan(values)] = 0.0
    running = np.cumsum(weights, axis=0)
    # the ECDFs differ only where a run of equal values ends
    ends = np.ones_like(values, dtype=bool)
    ends[:-1] = values[1:] != values[:-1]
    ends &= ~np.isnan(values)
    statistic = np.max(np.where(ends, np.abs(running), 0.0), axis=0, initial=0.0)
    return statistic, n1, n2


def psi(a: np.ndarray, b: np.ndarray) -> float:
    """Population stability index of b against a over a's decile bins."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) == 0 or len(b) == 0:
        return 0.0
    edges = np.unique(np.quantile(a, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
    p = np.bincount(np.searchsorted(edges, a, side="right"), minlength=len(edges) + 1) / len(a)
    q = np.bincount(np.searchsorted(edges, b, side="right"), minlength=len(edges) + 1) / len(b)
    p, q = np.maximum(p, _PSI_FLOOR), np.maximum(q, _PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def _label_shift(train: SplitArrays, val: SplitArrays, classes: int) -> tuple[str, float, float]:
    if train.y.dtype.kind == "f":
        statistic, n1, n2 = ks_statistics(train.y[:, None], val.y[:, None])
        return "ks", float(statistic[0]), ks_p_value(float(statistic[0]), int(n1[0]), int(n2[0]))
    counts = np.stack(
        [np.bincount(s.y[s.y >= 0], minlength=classes)[:classes] for s in (train, val)]
    ).astype(np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    if np.any(totals == 0):
        return "total variation", 0.0, 1.0
    shares = counts / totals
    distance = 0.5 * float(np.abs(shares[0] - shares[1]).sum())
    present = counts.sum(axis=0) > 0
    table = counts[:, present]
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(np.sum(np.square(table - expected) / expected))
    return "total variation", distance, chi2_sf(statistic, int(present.sum()) - 1)


def distribution_shift(
    train: SplitArrays,
    val: SplitArrays,
    stats: dict[str, ColumnStats],
    features: list[str],
    categorical: np.ndarray,
    classes: int,
) -> Shift:
    tested = np.flatnonzero(~categorical & (stats["train"].finite > 0) & (stats["val"].finite > 0))
    a = _sample(train.x, SHIFT_SAMPLE, 1)[:, tested]
    b = _sample(val.x, SHIFT_SAMPLE, 2)[:, tested]
    ks, n1, n2 = ks_statistics(a, b)
    t, v = stats["train"], stats["val"]
    pooled = np.sqrt((np.square(t.std) + np.square(v.std)) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        smd = np.where(pooled > 0, (v.mean - t.mean) / pooled, 0.0)
    shifts = []
    for k, j in enumerate(tested):
        p_value = min(1.0, ks_p_value(float(ks[k]), int(n1[k]), int(n2[k])) * len(tested))
        shifts.append(
            FeatureShift(
                name=features[j],
                smd=float(smd[j]),
                ks=float(ks[k]),
                p_value=p_value,
                psi=psi(a[:, k], b[:, k]),
            )
        )
    shifts.sort(key=lambda f: (-f.ks, f.p_value, f.name))
    test, distance, p_value = _label_shift(train, val, classes)
    return Shift(
        label_test=test,
        label_distance=distance,
        label_p_value=p_value,
        features=tuple(shifts),
        sample_rows={"train": len(a), "val": len(b)},
    )
