"""One downsampler for every output that draws or stores a learning curve.

A log of a million points cannot go into a JSON result or an SVG chart point by point, and
need not: the JSON result and the HTML charts keep at most ``MAX_POINTS`` points per series,
chosen by largest-triangle-three-buckets (Steinarsson, 2013: in each bucket the point that
spans the largest triangle with its neighbours, which keeps the curve's shape, its spikes
included), plus, exactly, the first and last points, the minimum and the maximum, the points
a finding names (its epoch, line and the epochs in its evidence: the best epoch, the onset,
the kept epoch...) and the edges of every run of non-finite values.

A downsampled series remembers where its points were in the full one (``Series.index``) and how
many points that had (``Series.total``); downsampling it again with the same points to keep
returns it unchanged, so that a saved JSON result renders the charts the live run drew.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from overfitlint.curves import Curves, Series
from overfitlint.findings import Finding

MAX_POINTS = 2000
"""Points per series in the JSON result and in the charts' input."""


def positions(x: np.ndarray, y: np.ndarray, limit: int, keep: Iterable[int] = ()) -> np.ndarray:
    """The positions (ascending) of at most about ``limit`` points of the curve ``(x, y)``
    that keep its shape, the given positions ``keep`` included; every position when the curve
    has no more than ``limit`` points."""
    n = int(y.shape[0])
    if n <= limit:
        return np.arange(n)
    finite = np.isfinite(y) & np.isfinite(x)
    forced = [np.asarray(list(keep), dtype=np.int64), np.array([0, n - 1])]
    good = np.flatnonzero(finite)
    if good.size:  # the ends of the finite points, their lowest, highest and latest
        extremes = [0, good.size - 1, np.argmin(y[good]), np.argmax(y[good]), np.argmax(x[good])]
        forced.append(good[np.asarray(extremes, dtype=np.int64)])
    forced.append(_gap_edges(finite, max(2, limit // 8)))
    must = np.unique(np.concatenate(forced))
    must = must[(must >= 0) & (must < n)]
    budget = max(3, limit - must.size)
    if good.size == n:  # every point finite: no copies of the curve
        must = np.union1d(must, largest_triangles(x, y, budget))
    elif good.size > 2:
        must = np.union1d(must, good[largest_triangles(x[good], y[good], budget)])
    return must


def largest_triangles(x: np.ndarray, y: np.ndarray, limit: int) -> np.ndarray:
    """Largest-triangle-three-buckets: positions of ``limit`` points of a finite curve, its
    first and last included."""
    n = int(x.shape[0])
    if n <= limit or limit < 3:
        return np.arange(n) if n <= limit else np.array([0, n - 1])
    edges = np.linspace(1, n - 1, limit - 1).astype(np.int64)  # limit - 2 inner buckets
    starts = edges[:-1]
    ends = np.maximum(edges[1:], starts + 1)
    # each bucket is weighed against the mean point of the bucket after it (the last point
    # after the last bucket)
    after_start = ends
    after_end = np.maximum(np.append(edges[2:], n), after_start + 1)
    sums_x = np.concatenate(([0.0], np.cumsum(x)))
    sums_y = np.concatenate(([0.0], np.cumsum(y)))
    width = after_end - after_start
    mean_x = (sums_x[after_end] - sums_x[after_start]) / width
    mean_y = (sums_y[after_end] - sums_y[after_start]) / width
    chosen = [0]
    previous = 0
    for start, end, cx, cy in zip(
        starts.tolist(), ends.tolist(), mean_x.tolist(), mean_y.tolist(), strict=True
    ):
        px, py = float(x[previous]), float(y[previous])
        # twice the triangle's area, for every point of the bucket
        area = np.abs((px - cx) * (y[start:end] - py) - (px - x[start:end]) * (cy - py))
        previous = start + int(area.argmax())
        chosen.append(previous)
    chosen.append(n - 1)
    return np.unique(np.asarray(chosen, dtype=np.int64))


def _gap_edges(finite: np.ndarray, limit: int) -> np.ndarray:
    """The first and last position of each run of non-finite values and the finite points
    either side of it (evenly thinned to ``limit`` when there are more)."""
    if finite.all():
        return np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(np.diff(np.concatenate(([1], finite.view(np.int8), [1]))))
    starts, ends = change[::2], change[1::2] - 1
    edges = np.concatenate((starts - 1, starts, ends, ends + 1))
    edges = np.unique(edges[(edges >= 0) & (edges < finite.size)])
    if edges.size > limit:
        edges = edges[np.linspace(0, edges.size - 1, limit).astype(np.int64)]
    return edges


def kept_positions(series: Series, epochs: Iterable[float], lines: Iterable[int]) -> np.ndarray:
    """Positions of the points at (or nearest to) ``epochs`` and at file ``lines``."""
    found: list[np.ndarray] = []
    x = series.epochs
    if len(series):
        wanted = np.array([e for e in epochs if np.isfinite(e)], dtype=np.float64)
        if wanted.size:
            ordered = x.size < 2 or bool(np.all(x[1:] >= x[:-1]))
            if ordered:
                right = np.clip(np.searchsorted(x, wanted), 0, x.size - 1)
                left = np.clip(right - 1, 0, x.size - 1)
                nearer = np.abs(x[left] - wanted) <= np.abs(x[right] - wanted)
                found.append(np.where(nearer, left, right))
            else:
                found.append(np.array([int(np.argmin(np.abs(x - e))) for e in wanted]))
        wanted_lines = np.array([line for line in lines if line], dtype=np.int64)
        if wanted_lines.size:
            found.append(np.flatnonzero(np.isin(series.lines, wanted_lines)))
    if not found:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(found))


def bounded(
    series: Series,
    limit: int = MAX_POINTS,
    epochs: Iterable[float] = (),
    lines: Iterable[int] = (),
) -> Series:
    """``series`` with at most about ``limit`` points (itself when it has no more), keeping
    the points at ``epochs`` and ``lines``."""
    if len(series) <= limit:
        return series
    keep = kept_positions(series, epochs, lines)
    picked = positions(series.epochs, series.values, limit, keep.tolist())
    chosen = series.subset(picked)
    if series.index is None:
        chosen = replace(chosen, index=picked)
    return replace(chosen, total=series.count)


def named_points(findings: Iterable[Finding]) -> tuple[list[float], list[int]]:
    """The epochs and file lines the findings point at: their location and every evidence
    counted in epochs or steps (best epoch, onset, kept epoch, stop epoch...)."""
    epochs: list[float] = []
    lines: list[int] = []
    for finding in findings:
        location = finding.location
        epochs.extend(_numbers(location.epoch))
        lines.extend(int(v) for v in _numbers(location.line))
        for item in finding.evidence:
            if item.unit in ("epoch", "step"):
                epochs.extend(_numbers(item.value))
    return epochs, lines


def _numbers(value: object) -> list[float]:
    items = value if isinstance(value, list | tuple) else [value]
    return [
        float(v)
        for v in items
        if isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v)
    ]


def bounded_curves(curves: Curves, findings: Iterable[Finding], limit: int = MAX_POINTS) -> Curves:
    """``curves`` with every series bounded, keeping the points the findings name."""
    if all(len(s) <= limit for s in curves.series.values()):
        return curves
    epochs, lines = named_points(findings)
    series = {name: bounded(s, limit, epochs, lines) for name, s in curves.series.items()}
    return replace(curves, series=series)
