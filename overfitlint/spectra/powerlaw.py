"""The power-law fit of an eigenvalue tail, as WeightWatcher 0.7 fits it, computed faster.

WeightWatcher's default fit (its own ``WWFit``, ``pl_package='ww'``, no ``xmax``, no
``fix_fingers``): the eigenvalues above 1e-5 are sorted; every one but the largest is tried as
``xmin``; for each, the continuous maximum-likelihood exponent of the tail above it is
``alpha = 1 + n / sum(log(x / xmin))`` (Clauset, Shalizi & Newman 2009) and its Kolmogorov-
Smirnov distance ``D = max_k |1 - (x_k / xmin)^(1 - alpha) - k / n|``; the ``xmin`` of the
smallest ``D`` wins (the first on a tie). Spectra of fewer than 20 eigenvalues use its small-N
variant: the bias-corrected exponent ``1 + (n - 1) / sum(log(x / xmin))`` over tails of at
least 8, again the smallest ``D`` (WeightWatcher computes a ``D - 0.868 / sqrt(n)`` objective
there, then overrides its choice by the smallest ``D``; this reproduces what it reports).

The same ``D`` for every candidate costs O(n^2). WeightWatcher loops in Python; here the exponents
come from suffix sums in one pass and the distances are bounded first: the maximum over 256
evenly spaced points of each tail is a lower bound of its ``D``, and only candidates whose bound
does not exceed the best exact ``D`` found so far are computed exactly, in vectorized batches.
The result is the same ``xmin``, ``alpha`` and ``D``, not an approximation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EVALS_THRESH = 1e-5
SMALL_N = 20
SMALL_N_MIN_TAIL = 8
SMALL_N_PENALTY = 0.868
BOUND_POINTS = 256
BATCH_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class PowerLawFit:
    alpha: float
    xmin: float
    xmax: float
    ks_distance: float
    sigma: float
    tail: int
    """Eigenvalues at or above ``xmin`` (WeightWatcher's ``num_pl_spikes``)."""


def _exponents(data: np.ndarray, logs: np.ndarray, corrected: bool) -> np.ndarray:
    """alpha for every candidate xmin = data[i], i < n - 1."""
    n = len(data)
    counts = (n - np.arange(n - 1)).astype(np.float64)
    suffix = np.cumsum(logs[::-1])[::-1][: n - 1]
    spread = suffix - counts * logs[: n - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 + (counts - 1.0 if corrected else counts) / spread


def _distances(
    data: np.ndarray, logs: np.ndarray, alphas: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Exact KS distance of the candidates ``rows`` (indices into data), batched."""
    n = len(data)
    out = np.ones(len(rows))
    order = np.argsort(rows)
    start = 0
    while start < len(order):
        first = rows[order[start]]
        width = n - first
        step = max(1, BATCH_ELEMENTS // max(width, 1))
        batch = order[start : start + step]
        idx = rows[batch]
        offsets = np.arange(width)
        cols = idx[:, None] + offsets[None, :]
        valid = cols < n
        cols = np.minimum(cols, n - 1)
        tail = (n - idx).astype(np.float64)
        a = alphas[idx]
        with np.errstate(over="ignore", invalid="ignore"):
            model = 1.0 - np.exp((1.0 - a)[:, None] * (logs[cols] - logs[idx][:, None]))
            empirical = offsets[None, :] / tail[:, None]
            gap = np.where(valid, np.abs(model - empirical), 0.0)
        d = gap.max(axis=1)
        out[batch] = np.where(a > 1.0, d, 1.0)
        start += step
    return out


def _lower_bounds(data: np.ndarray, logs: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """max over BOUND_POINTS evenly spaced points of each tail: at most its exact D."""
    n = len(data)
    fractions = np.linspace(0.0, 1.0, BOUND_POINTS)
    bounds = np.empty(n - 1)
    rows = max(1, BATCH_ELEMENTS // BOUND_POINTS)
    for start in range(0, n - 1, rows):
        idx = np.arange(start, min(start + rows, n - 1))
        tail = n - idx
        offsets = np.rint(fractions[None, :] * (tail[:, None] - 1)).astype(np.int64)
        a = alphas[idx]
        with np.errstate(over="ignore", invalid="ignore"):
            model = 1.0 - np.exp(
                (1.0 - a)[:, None] * (logs[idx[:, None] + offsets] - logs[idx][:, None])
            )
            gap = np.abs(model - offsets / tail[:, None].astype(np.float64))
        bounds[idx] = np.where(a > 1.0, gap.max(axis=1), 1.0)
    return bounds


def _best_standard(data: np.ndarray, logs: np.ndarray, alphas: np.ndarray) -> tuple[int, float]:
    n = len(data)
    if n - 1 <= 4 * BOUND_POINTS:
        ds = _distances(data, logs, alphas, np.arange(n - 1))
        best = int(np.argmin(ds))
        return best, float(ds[best])
    bounds = np.nan_to_num(_lower_bounds(data, logs, alphas), nan=1.0)
    order = np.argsort(bounds, kind="stable")
    best_i, best_d = -1, np.inf
    position = 0
    batch = 64
    while position < len(order):
        chunk = order[position : position + batch]
        chunk = chunk[bounds[chunk] <= best_d]
        if len(chunk) == 0:
            break
        ds = np.nan_to_num(_distances(data, logs, alphas, chunk), nan=1.0)
        for i, d in zip(chunk, ds, strict=True):
            if d < best_d or (d == best_d and i < best_i):
                best_i, best_d = int(i), float(d)
        position += batch
        batch = min(batch * 2, 4096)
    return best_i, best_d


def _best_small(data: np.ndarray, logs: np.ndarray, alphas: np.ndarray) -> tuple[int, float]:
    """WeightWatcher's small-N fit. Its objective D - 0.868/sqrt(n) picks a candidate, but
    ``WWFit.__init__`` then re-selects by the smallest D among the candidates the small-N loop
    scored (tails of 8 or more with a usable exponent); that final choice is what it reports."""
    n = len(data)
    candidates = np.arange(n - 1)
    ds = _distances(data, logs, alphas, candidates)
    tails = (n - candidates).astype(np.float64)
    spread = np.cumsum(logs[::-1])[::-1][: n - 1] - tails * logs[: n - 1]
    usable = (tails >= SMALL_N_MIN_TAIL) & (spread > 1e-12) & (alphas > 1.0)
    scored = np.where(usable, ds, 1.0)
    if not usable.any():
        scored[0] = ds[0]
    best = int(np.argmin(scored))
    return best, float(scored[best])


def fit_power_law(evals: np.ndarray) -> PowerLawFit | None:
    """WeightWatcher's default power-law fit of ``evals``; None where it fails (too few values)."""
    data = np.sort(np.asarray(evals, dtype=np.float64))
    data = data[data > EVALS_THRESH]
    n = len(data)
    if n < 2:
        return None
    logs = np.log(data)
    small = n < SMALL_N
    alphas = _exponents(data, logs, corrected=small)
    best, distance = (_best_small if small else _best_standard)(data, logs, alphas)
    alpha = float(alphas[best])
    if not np.isfinite(alpha):
        return None
    xmin = float(data[best])
    return PowerLawFit(
        alpha=alpha,
        xmin=xmin,
        xmax=float(data[-1]),
        ks_distance=distance,
        sigma=(alpha - 1.0) / float(np.sqrt(n - best)),
        tail=int(np.count_nonzero(evals >= xmin)),
    )
