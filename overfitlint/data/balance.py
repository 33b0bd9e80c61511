"""Samples per class in training and validation."""

from __future__ import annotations

import numpy as np

from overfitlint.data.arrays import SplitArrays
from overfitlint.data.facts import Balance


def _counts(split: SplitArrays, classes: int) -> np.ndarray:
    labels = split.y[split.y >= 0]
    return np.bincount(labels, minlength=classes)[:classes]


def class_balance(train: SplitArrays, val: SplitArrays, classes: list[str]) -> Balance:
    train_counts = _counts(train, len(classes))
    val_counts = _counts(val, len(classes))
    present = np.flatnonzero(train_counts)
    majority = int(present[np.argmax(train_counts[present])])
    minority = int(present[np.argmin(train_counts[present])])
    return Balance(
        train_counts={name: int(n) for name, n in zip(classes, train_counts, strict=True)},
        val_counts={name: int(n) for name, n in zip(classes, val_counts, strict=True)},
        majority=classes[majority],
        minority=classes[minority],
        imbalance_ratio=float(train_counts[majority] / train_counts[minority]),
        unseen_in_train=tuple(
            classes[i] for i in np.flatnonzero((val_counts > 0) & (train_counts == 0))
        ),
        absent_from_val=tuple(
            classes[i] for i in np.flatnonzero((train_counts > 0) & (val_counts == 0))
        ),
    )
