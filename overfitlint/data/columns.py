"""Per-column summaries of one split, computed once and shared by the measurements."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ColumnStats:
    finite: np.ndarray
    """(features,) count of finite values."""
    missing: np.ndarray
    """(features,) NaN (and null) count."""
    infinite: np.ndarray
    mean: np.ndarray
    """Of the finite values; NaN for a column with none."""
    std: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray

    @property
    def any_missing(self) -> bool:
        return bool(self.missing.any())

    @property
    def any_infinite(self) -> bool:
        return bool(self.infinite.any())


def column_stats(x: np.ndarray) -> ColumnStats:
    features = x.shape[1]
    stats = ColumnStats(
        finite=np.zeros(features, dtype=np.int64),
        missing=np.zeros(features, dtype=np.int64),
        infinite=np.zeros(features, dtype=np.int64),
        mean=np.full(features, np.nan),
        std=np.full(features, np.nan),
        minimum=np.full(features, np.nan),
        maximum=np.full(features, np.nan),
    )
    rows = x.shape[0]
    for j in range(features):
        column = x[:, j]
        total = column.sum()
        if np.isfinite(total):  # no NaN, no inf: the common case needs no mask
            values = column
            stats.finite[j] = rows
        else:
            nan = np.isnan(column)
            stats.missing[j] = int(nan.sum())
            finite = np.isfinite(column)
            stats.finite[j] = int(finite.sum())
            stats.infinite[j] = rows - stats.finite[j] - stats.missing[j]
            values = column[finite]
            total = values.sum()
        if len(values) == 0:
            continue
        mean = total / len(values)
        centred = values - mean
        stats.mean[j] = mean
        stats.std[j] = np.sqrt(np.dot(centred, centred) / len(values))
        stats.minimum[j] = values.min()
        stats.maximum[j] = values.max()
    return stats
