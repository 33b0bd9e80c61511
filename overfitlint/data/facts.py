"""What a data set reader saw, and what the data measurements found.

``DataFacts`` holds plain numbers for the rules and ``to_dict()`` for the reports; the arrays
the measurements work on ride along in ``arrays`` (never serialised).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from overfitlint.data.arrays import DataArrays
from overfitlint.facts import Unknown

EXAMPLES_KEPT = 10
"""Examples (row numbers or file names) a measurement keeps for its finding."""


@dataclass(frozen=True)
class SplitInfo:
    name: str
    rows: int
    """Rows (or images) read and measured."""
    source_rows: int
    """Rows the split holds in its source; more than ``rows`` when a sample was taken."""
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": self.rows,
            "source_rows": self.source_rows,
            "source": self.source,
        }


@dataclass(frozen=True)
class DuplicatePair:
    first: str
    """A training example (row number or file name)."""
    second: str
    """Its copy: a validation example (train/val overlap) or a later training example."""
    kind: str
    """"exact" (same content) or "near" (same after rounding; a close perceptual hash)."""
    distance: int | None = None
    """Hamming distance between the perceptual hashes (images); None for tables."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "second": self.second,
            "kind": self.kind,
            "distance": self.distance,
        }


@dataclass(frozen=True)
class Duplicates:
    """Copies between training and validation (``scope="train-val"``) or inside training."""

    scope: str
    rows: int
    """Examples checked: validation rows for train-val, training rows inside training."""
    exact: int
    """Examples whose content equals a training example (an earlier one, inside training)."""
    method: str
    near_rounded: int | None = None
    """Tables: examples equal to a training example after standardising and rounding."""
    by_distance: tuple[int, ...] | None = None
    """Images: examples by the Hamming distance of their closest training image, 0, 1, 2..."""
    near_rows: int | None = None
    """Examples compared for near copies when fewer than ``rows`` (a sample); None: all."""
    label_conflicts: int = 0
    """Exact copies that carry a different label."""
    examples: tuple[DuplicatePair, ...] = ()

    def near(self, max_hamming: int) -> int:
        """Near copies (exact ones included): rounded-equal rows, or hashes within the distance."""
        if self.by_distance is None:
            return self.exact if self.near_rounded is None else self.near_rounded
        return sum(self.by_distance[: max_hamming + 1])

    def near_share(self, max_hamming: int) -> float:
        compared = self.rows if self.near_rows is None else self.near_rows
        return self.near(max_hamming) / compared if compared else 0.0

    @property
    def exact_share(self) -> float:
        return self.exact / self.rows if self.rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "rows": self.rows,
            "exact": self.exact,
            "method": self.method,
            "near_rounded": self.near_rounded,
            "by_distance": None if self.by_distance is None else list(self.by_distance),
            "near_rows": self.near_rows,
            "label_conflicts": self.label_conflicts,
            "examples": [pair.to_dict() for pair in self.examples],
        }


@dataclass(frozen=True)
class Balance:
    train_counts: dict[str, int]
    val_counts: dict[str, int]
    majority: str
    minority: str
    imbalance_ratio: float
    """Training samples of the largest class over those of the smallest (present) class."""
    unseen_in_train: tuple[str, ...]
    """Classes in validation with no training sample."""
    absent_from_val: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "train_counts": dict(self.train_counts),
            "val_counts": dict(self.val_counts),
            "majority": self.majority,
            "minority": self.minority,
            "imbalance_ratio": self.imbalance_ratio,
            "unseen_in_train": list(self.unseen_in_train),
            "absent_from_val": list(self.absent_from_val),
        }


@dataclass(frozen=True)
class Scale:
    """Spread of the training features' scales: per column (tables) or per channel (images)."""

    unit: str
    """"column" or "channel"."""
    names: tuple[str, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    minimum: float
    maximum: float
    std_ratio: float | None
    """Largest standard deviation over the smallest non-zero one; None with one column."""
    largest: str | None
    smallest: str | None
    raw_pixels: bool
    """Integer pixel values in 0..255 (not scaled to 0..1 or standardised)."""
    skipped: tuple[str, ...] = ()
    """Columns left out: categorical codes and constants."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "names": list(self.names),
            "means": list(self.means),
            "stds": list(self.stds),
            "minimum": self.minimum,
            "maximum": self.maximum,
            "std_ratio": self.std_ratio,
            "largest": self.largest,
            "smallest": self.smallest,
            "raw_pixels": self.raw_pixels,
            "skipped": list(self.skipped),
        }


@dataclass(frozen=True)
class SplitQuality:
    rows: int
    missing_cells: int
    rows_with_missing: int
    nonfinite_cells: int
    """Infinite values (NaN counts as missing)."""
    rows_with_nonfinite: int
    outlier_rows: int
    """Rows with a value more than ``outlier_z`` robust standard deviations from the median."""
    missing_labels: int
    label_outliers: int
    """Regression targets beyond ``outlier_z`` (classification: 0)."""
    worst_features: dict[str, dict[str, int]]
    """Per feature with a problem: {"missing": n, "nonfinite": n, "outliers": n}."""
    examples: tuple[str, ...]
    """Rows with a problem (the first few)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "missing_cells": self.missing_cells,
            "rows_with_missing": self.rows_with_missing,
            "nonfinite_cells": self.nonfinite_cells,
            "rows_with_nonfinite": self.rows_with_nonfinite,
            "outlier_rows": self.outlier_rows,
            "missing_labels": self.missing_labels,
            "label_outliers": self.label_outliers,
            "worst_features": {k: dict(v) for k, v in self.worst_features.items()},
            "examples": list(self.examples),
        }


@dataclass(frozen=True)
class Quality:
    outlier_z: float
    splits: dict[str, SplitQuality]

    def to_dict(self) -> dict[str, Any]:
        return {
            "outlier_z": self.outlier_z,
            "splits": {name: split.to_dict() for name, split in self.splits.items()},
        }


@dataclass(frozen=True)
class FeatureShift:
    name: str
    smd: float
    """Standardised mean difference, (val mean - train mean) / pooled std."""
    ks: float
    """Two-sample Kolmogorov-Smirnov statistic."""
    p_value: float
    """KS p-value, Bonferroni-corrected over the features tested."""
    psi: float
    """Population stability index over ten training-quantile bins."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "smd": self.smd,
            "ks": self.ks,
            "p_value": self.p_value,
            "psi": self.psi,
        }


@dataclass(frozen=True)
class Shift:
    label_test: str
    """"total variation" (classes) or "ks" (regression targets)."""
    label_distance: float
    label_p_value: float
    features: tuple[FeatureShift, ...]
    """Every tested feature, the most shifted (largest KS) first."""
    sample_rows: dict[str, int]

    def to_dict(self, top: int = EXAMPLES_KEPT) -> dict[str, Any]:
        return {
            "label_test": self.label_test,
            "label_distance": self.label_distance,
            "label_p_value": self.label_p_value,
            "features": [f.to_dict() for f in self.features[:top]],
            "features_tested": len(self.features),
            "sample_rows": dict(self.sample_rows),
        }


@dataclass(frozen=True)
class SuspectLabel:
    example: str
    given: str
    suggested: str
    confidence: float
    """Out-of-fold probability of the suggested class."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "example": self.example,
            "given": self.given,
            "suggested": self.suggested,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class LabelNoise:
    method: str
    model: str
    rows: int
    folds: int
    out_of_fold_accuracy: float
    estimated_share: float
    """Estimated share of training labels that are wrong (off-diagonal of the joint)."""
    flagged: int
    """Examples confident learning counts as mislabelled (off-diagonal of the confident joint)."""
    per_class: dict[str, float]
    """Estimated share of wrong labels among the examples given each class."""
    examples: tuple[SuspectLabel, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "model": self.model,
            "rows": self.rows,
            "folds": self.folds,
            "out_of_fold_accuracy": self.out_of_fold_accuracy,
            "estimated_share": self.estimated_share,
            "flagged": self.flagged,
            "per_class": dict(self.per_class),
            "examples": [e.to_dict() for e in self.examples],
        }


def _dict_or_none(value: Any) -> Any:
    return None if value is None else value.to_dict()


@dataclass
class DataFacts:
    """One data set: what was read (``splits``, ``features``, ``classes``) and what was measured.

    The measurement fields stay None until ``overfitlint.data.measure`` fills them; one that
    cannot be measured is Unknown with the reason.
    """

    source: str
    format: str
    """"npz", "csv", "parquet", "image-folder" or "hf-datasets"."""
    kind: str
    """"table", "arrays" or "images"."""
    task: str
    """"classification" or "regression"."""
    label: str | None
    splits: dict[str, SplitInfo]
    features: list[str]
    classes: list[str]
    notes: list[str] = field(default_factory=list)
    overlap: Duplicates | None = None
    train_duplicates: Duplicates | None = None
    balance: Balance | Unknown | None = None
    scale: Scale | Unknown | None = None
    quality: Quality | None = None
    shift: Shift | Unknown | None = None
    noise: LabelNoise | Unknown | None = None
    arrays: DataArrays | None = field(default=None, repr=False, compare=False)

    @property
    def measured(self) -> bool:
        return self.overlap is not None

    def rows(self, split: str) -> int:
        return self.splits[split].rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "kind": self.kind,
            "task": self.task,
            "label": self.label,
            "splits": {name: split.to_dict() for name, split in self.splits.items()},
            "features": list(self.features),
            "classes": list(self.classes),
            "notes": list(self.notes),
            "overlap": _dict_or_none(self.overlap),
            "train_duplicates": _dict_or_none(self.train_duplicates),
            "balance": _dict_or_none(self.balance),
            "scale": _dict_or_none(self.scale),
            "quality": _dict_or_none(self.quality),
            "shift": _dict_or_none(self.shift),
            "noise": _dict_or_none(self.noise),
        }
