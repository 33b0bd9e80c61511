"""Copies: training examples repeated in validation, and repeats inside training.

Exact: equal content hashes (rows after a canonical encoding; images: decoded pixels), checked
against the values for tables. Near: tables, rows equal after standardising by the training
statistics and rounding to ``NEAR_DECIMALS``; images, perceptual hashes within a Hamming
distance (the rule's threshold; every distance up to ``MAX_DISTANCE`` is counted).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from overfitlint.data.arrays import SplitArrays
from overfitlint.data.facts import EXAMPLES_KEPT, DuplicatePair, Duplicates
from overfitlint.data.hashing import exact_and_rounded_hashes, nearest_hamming
from overfitlint.data.parallel import each

NEAR_DECIMALS = 2
"""Rounding (in training standard deviations) under which two table rows are near copies."""
MAX_DISTANCE = 16
"""Hamming distances counted for near image copies (of 64 bits)."""
NEAR_TRAIN_CAP = 30_000
"""Training images compared pairwise for near copies inside training (an even sample above)."""


class _Sorted:
    """Hashes sorted once: the first example of each group of equal hashes, and lookups."""

    def __init__(self, hashes: np.ndarray) -> None:
        self.order = np.argsort(hashes)
        self.values = hashes[self.order]
        starts = np.ones(len(hashes), dtype=bool)
        starts[1:] = self.values[1:] != self.values[:-1]
        self.starts = starts
        group = np.cumsum(starts) - 1
        begins = np.flatnonzero(starts)
        smallest = np.minimum.reduceat(self.order, begins) if len(begins) else begins
        self.first = smallest[group]
        """For each sorted position, the original index of the group's first example."""

    def repeats(self) -> tuple[np.ndarray, np.ndarray]:
        """(first example, repeating example) for every example that repeats an earlier one."""
        later = self.order != self.first
        return self.first[later], self.order[later]

    def find(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query indices found, the first matching example of each)."""
        if len(self.values) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pos = np.searchsorted(self.values, queries)
        pos = np.minimum(pos, len(self.values) - 1)
        hit = np.flatnonzero(self.values[pos] == queries)
        return hit, self.first[pos[hit]]


def _equal_rows(
    first: SplitArrays, second: SplitArrays, i: np.ndarray, j: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of equal hashes whose rows are equal cell by cell, NaN equal to NaN (a hash
    collision is not a copy)."""
    a, b = first.x[i], second.x[j]
    same = ((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)
    return i[same], j[same]


def _pairs(
    first: SplitArrays,
    second: SplitArrays,
    i: np.ndarray,
    j: np.ndarray,
    kind: str | np.ndarray,
    distance: np.ndarray | None = None,
) -> list[DuplicatePair]:
    """Up to EXAMPLES_KEPT pairs; ``kind`` is one word or, per pair, True for "exact"."""
    pairs = []
    for k, (a, b) in enumerate(zip(i[:EXAMPLES_KEPT], j[:EXAMPLES_KEPT], strict=True)):
        word = kind if isinstance(kind, str) else ("exact" if kind[k] else "near")
        pairs.append(
            DuplicatePair(
                first.example(int(a)),
                second.example(int(b)),
                word,
                None if distance is None else int(distance[k]),
            )
        )
    return pairs


def _conflicts(first: SplitArrays, second: SplitArrays, i: np.ndarray, j: np.ndarray) -> int:
    a, b = first.y[i], second.y[j]
    if a.dtype.kind == "f":
        return int(np.sum(~np.isclose(a, b, equal_nan=True)))
    return int(np.sum(a != b))


def _copies(
    scope: str,
    first: SplitArrays,
    second: SplitArrays,
    i: np.ndarray,
    j: np.ndarray,
    method: str,
    examples: list[DuplicatePair],
    **near: Any,
) -> Duplicates:
    """Examples ``j`` of ``second`` (the split checked) that are exact copies of examples ``i``
    of ``first`` (training): validation copies, or repeats inside training."""
    return Duplicates(
        scope=scope,
        rows=second.rows,
        exact=len(j),
        method=method,
        label_conflicts=_conflicts(first, second, i, j),
        examples=tuple(examples[:EXAMPLES_KEPT]),
        **near,
    )


def table_duplicates(
    train: SplitArrays,
    val: SplitArrays,
    center: np.ndarray,
    scale: np.ndarray,
    has_nan: bool,
) -> tuple[Duplicates, Duplicates]:
    """(train/val overlap, repeats inside training) of two tables."""
    method = f"row hash; near: equal after standardising and rounding to {NEAR_DECIMALS} decimals"
    hashes = each(
        lambda s: exact_and_rounded_hashes(s.x, center, scale, NEAR_DECIMALS, has_nan=has_nan),
        [train, val],
    )
    exact = [h[0] for h in hashes]
    rounded = [h[1] for h in hashes]
    sorted_exact, sorted_near = each(_Sorted, [exact[0], rounded[0]])

    hit, where = sorted_exact.find(exact[1])
    where, hit = _equal_rows(train, val, where, hit)
    near_hit, near_where = sorted_near.find(rounded[1])
    near_only = ~np.isin(near_hit, hit)
    overlap = _copies(
        "train-val",
        train,
        val,
        where,
        hit,
        method,
        _pairs(train, val, where, hit, "exact")
        + _pairs(train, val, near_where[near_only], near_hit[near_only], "near"),
        near_rounded=len(near_hit),
    )

    first, later = _equal_rows(train, train, *sorted_exact.repeats())
    _, near_later = sorted_near.repeats()
    order = np.argsort(later)
    inside = _copies(
        "train",
        train,
        train,
        first,
        later,
        method,
        _pairs(train, train, first[order], later[order], "exact"),
        near_rounded=len(near_later),
    )
    return overlap, inside


def _histogram(distances: np.ndarray) -> tuple[int, ...]:
    counts = np.bincount(distances.astype(np.int64), minlength=MAX_DISTANCE + 1)
    return tuple(int(c) for c in counts[: MAX_DISTANCE + 1])


def _closest(distances: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    close = np.flatnonzero(distances <= MAX_DISTANCE)
    close = close[np.argsort(distances[close], kind="stable")]
    return close, where[close]


def image_duplicates(
    train: SplitArrays, val: SplitArrays, notes: list[str]
) -> tuple[Duplicates, Duplicates]:
    """(train/val overlap, repeats inside training) of two image splits."""
    assert train.exact_hash is not None and val.exact_hash is not None
    assert train.phash is not None and val.phash is not None
    method = "pixel hash; near: DCT perceptual hash (64 bits) within a Hamming distance"
    sorted_exact = _Sorted(train.exact_hash)
    hit, where = sorted_exact.find(val.exact_hash)
    distances, nearest = nearest_hamming(val.phash, train.phash)
    close, close_train = _closest(distances, nearest)
    overlap = _copies(
        "train-val",
        train,
        val,
        where,
        hit,
        method,
        _pairs(train, val, close_train, close, np.isin(close, hit), distances[close]),
        by_distance=_histogram(distances),
    )
    first, later = sorted_exact.repeats()
    sample = np.arange(train.rows)
    if train.rows > NEAR_TRAIN_CAP:
        sample = np.unique(np.linspace(0, train.rows - 1, NEAR_TRAIN_CAP).round().astype(np.int64))
        notes.append(
            f"near copies inside training: compared {len(sample):,} of {train.rows:,} training "
            "images, evenly spread"
        )
    inner, inner_where = nearest_hamming(
        train.phash[sample], train.phash[sample], exclude_self=True
    )
    close, close_first = _closest(inner, inner_where)
    copies = np.isin(sample[close], later)
    inside = _copies(
        "train",
        train,
        train,
        first,
        later,
        method,
        _pairs(train, train, sample[close_first], sample[close], copies, inner[close]),
        by_distance=_histogram(inner),
        near_rows=len(sample) if len(sample) < train.rows else None,
    )
    return overlap, inside
