"""Missing and non-finite values, and outliers, in features and labels."""

from __future__ import annotations

import numpy as np

from overfitlint.data.arrays import MISSING_CLASS, SplitArrays
from overfitlint.data.columns import ColumnStats
from overfitlint.data.facts import EXAMPLES_KEPT, Quality, SplitQuality
from overfitlint.data.statistics import robust_center_scale

OUTLIER_Z = 20.0
"""A value this many robust standard deviations (MAD, else IQR) from the training median is an
outlier: far beyond a heavy tail (sentinels such as -999, a unit off by 1000)."""
ROBUST_SAMPLE = 20_000
"""Training rows the medians and MADs are estimated from (a random sample above that)."""
DISCRETE_VALUES = 20
"""Columns with fewer distinct values (in the first rows of the sample) are discrete: counts,
codes, pixel levels. Outliers are not looked for there."""
_DISCRETE_ROWS = 5_000
WORST_KEPT = 10


def few_values(x: np.ndarray) -> np.ndarray:
    """(features,) True where a column has fewer than DISCRETE_VALUES distinct values."""
    ordered = np.sort(x, axis=0)
    changes = np.count_nonzero(ordered[1:] != ordered[:-1], axis=0) + 1
    return changes < DISCRETE_VALUES


def robust_sample(x: np.ndarray, seed: int = 0) -> np.ndarray:
    if len(x) <= ROBUST_SAMPLE:
        sample = np.array(x, dtype=np.float64)
    else:
        rows = np.sort(np.random.default_rng(seed).choice(len(x), ROBUST_SAMPLE, replace=False))
        sample = x[rows]
    sample[~np.isfinite(sample)] = np.nan
    return sample


def split_quality(
    split: SplitArrays,
    stats: ColumnStats,
    features: list[str],
    center: np.ndarray,
    scale: np.ndarray,
    checked: np.ndarray,
    label_center: float | None,
    label_scale: float | None,
) -> SplitQuality:
    """``checked``: the columns outliers are looked for in (numeric, with a robust scale)."""
    x = split.x
    problem_rows = np.zeros(split.rows, dtype=bool)
    rows_missing = rows_infinite = 0
    if stats.any_missing:
        missing = np.isnan(x).any(axis=1)
        rows_missing = int(missing.sum())
        problem_rows |= missing
    if stats.any_infinite:
        infinite = np.isinf(x).any(axis=1)
        rows_infinite = int(infinite.sum())
        problem_rows |= infinite
    outlier_rows = np.zeros(split.rows, dtype=bool)
    outliers = np.zeros(len(features), dtype=np.int64)
    limit = OUTLIER_Z * scale
    inside = (stats.minimum >= center - limit) & (stats.maximum <= center + limit)
    for j in np.flatnonzero(checked & ~inside):  # a column within its limits has none
        far = np.abs(x[:, j] - center[j]) > limit[j]  # NaN compares False
        if stats.infinite[j]:
            far &= np.isfinite(x[:, j])  # counted as non-finite, not as outliers
        count = int(np.count_nonzero(far))
        if count:
            outliers[j] = count
            outlier_rows |= far
    problem_rows |= outlier_rows
    label_outliers = 0
    if split.y.dtype.kind == "f":
        no_label = np.isnan(split.y)
        if label_center is not None and label_scale:
            label_outliers = int(np.sum(np.abs(split.y - label_center) > OUTLIER_Z * label_scale))
    else:
        no_label = split.y == MISSING_CLASS
    label_missing = int(no_label.sum())
    problem_rows |= no_label
    worst = {}
    badness = stats.missing + stats.infinite + outliers
    for j in np.argsort(-badness, kind="stable")[:WORST_KEPT]:
        if badness[j] == 0:
            break
        worst[features[j]] = {
            "missing": int(stats.missing[j]),
            "nonfinite": int(stats.infinite[j]),
            "outliers": int(outliers[j]),
        }
    examples = tuple(split.example(int(i)) for i in np.flatnonzero(problem_rows)[:EXAMPLES_KEPT])
    return SplitQuality(
        rows=split.rows,
        missing_cells=int(stats.missing.sum()),
        rows_with_missing=rows_missing,
        nonfinite_cells=int(stats.infinite.sum()),
        rows_with_nonfinite=rows_infinite,
        outlier_rows=int(outlier_rows.sum()),
        missing_labels=label_missing,
        label_outliers=label_outliers,
        worst_features=worst,
        examples=examples,
    )


def data_quality(
    train: SplitArrays,
    val: SplitArrays,
    stats: dict[str, ColumnStats],
    features: list[str],
    categorical: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    sample: np.ndarray,
    *,
    outliers: bool = True,
) -> Quality:
    """``center``, ``scale``: robust statistics of ``sample``, a sample of training rows.
    ``outliers``: look for them (not in image thumbnails, whose cells are no measurements)."""
    checked = ~categorical & (scale > 0) & ~few_values(sample[:_DISCRETE_ROWS])
    checked &= outliers
    label_center = label_scale = None
    if train.y.dtype.kind == "f" and np.isfinite(train.y).any():
        centers, scales = robust_center_scale(robust_sample(train.y[:, None]))
        label_center, label_scale = float(centers[0]), float(scales[0])
    splits = {
        name: split_quality(
            split, stats[name], features, center, scale, checked, label_center, label_scale
        )
        for name, split in (("train", train), ("val", val))
    }
    return Quality(outlier_z=OUTLIER_Z, splits=splits)
