"""Content hashes: rows of numbers (exact and rounded) and images (a DCT perceptual hash).

All vectorised: a row hash is a per-cell 64-bit mix folded over the columns with odd weights,
computed a block of rows at a time so the block stays in cache.
"""

from __future__ import annotations

import numpy as np

_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = 0x9E3779B97F4A7C15
_BLOCK_ROWS = 1024
_SHIFT_FOLD = np.uint64(32)
_SHIFT_MIX = np.uint64(29)
_CANONICAL_NAN = np.float64(np.nan)

PHASH_SIDE = 32
"""Images are reduced to 32x32 gray before the DCT; the hash keeps the 8x8 lowest frequencies."""
_PHASH_KEEP = 8
NO_MATCH = 65
"""Distance reported when there is nothing to compare with (64 bits differ at most)."""
_PAIRS_PER_BLOCK = 1 << 22


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place on a uint64 array."""
    values ^= values >> np.uint64(30)
    values *= _MIX1
    values ^= values >> np.uint64(27)
    values *= _MIX2
    values ^= values >> np.uint64(31)
    return values


def _column_keys(columns: int) -> tuple[np.ndarray, np.ndarray]:
    index = np.arange(1, columns + 1, dtype=np.uint64)
    salts = _mix(index * np.uint64(_GOLDEN))
    weights = _mix(salts.copy()) | np.uint64(1)
    return salts, weights


class _RowHasher:
    """Hashes blocks of rows into preallocated buffers: per cell, the float64 bits xor a column
    salt, folded (xorshift, multiply, xorshift); the cells of a row summed with odd column
    weights; splitmix64 over the sum."""

    def __init__(self, columns: int, block: int) -> None:
        self.salts, self.weights = _column_keys(columns)
        self.cells = np.empty((block, columns), dtype=np.float64)
        self.shifted = np.empty((block, columns), dtype=np.uint64)

    def hash(self, values: np.ndarray, out: np.ndarray, *, has_nan: bool) -> None:
        rows = values.shape[0]
        cells = self.cells[:rows]
        np.add(values, 0.0, out=cells)  # a float64 copy; -0.0 + 0.0 == +0.0
        if has_nan:
            cells[np.isnan(cells)] = _CANONICAL_NAN
        bits = cells.view(np.uint64)
        shifted = self.shifted[:rows]
        bits ^= self.salts
        np.right_shift(bits, _SHIFT_FOLD, out=shifted)
        bits ^= shifted
        bits *= _MIX1
        np.right_shift(bits, _SHIFT_MIX, out=shifted)
        bits ^= shifted
        bits *= self.weights
        np.sum(bits, axis=1, dtype=np.uint64, out=out)


def row_hashes(x: np.ndarray, *, has_nan: bool = True) -> np.ndarray:
    """One uint64 per row of ``x`` (rows, columns), equal for rows with equal values.

    Canonical encoding: values as float64, -0.0 as 0.0, every NaN as one NaN.
    """
    rows, columns = x.shape
    out = np.empty(rows, dtype=np.uint64)
    hasher = _RowHasher(columns, min(rows, _BLOCK_ROWS))
    with np.errstate(over="ignore"):
        for start in range(0, rows, _BLOCK_ROWS):
            stop = min(start + _BLOCK_ROWS, rows)
            hasher.hash(x[start:stop], out[start:stop], has_nan=has_nan)
        return _mix(out)


def exact_and_rounded_hashes(
    x: np.ndarray, center: np.ndarray, scale: np.ndarray, decimals: int, *, has_nan: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Row hashes of ``x`` and of ``x`` standardised by (center, scale) and rounded to
    ``decimals``, in one pass over the rows."""
    rows, columns = x.shape
    exact = np.empty(rows, dtype=np.uint64)
    rounded = np.empty(rows, dtype=np.uint64)
    block = min(rows, _BLOCK_ROWS)
    hasher = _RowHasher(columns, block)
    z = np.empty((block, columns), dtype=np.float64)
    center = np.nan_to_num(center)
    inverse = 1.0 / np.where(scale > 0, scale, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, rows, _BLOCK_ROWS):
            stop = min(start + _BLOCK_ROWS, rows)
            values = x[start:stop]
            hasher.hash(values, exact[start:stop], has_nan=has_nan)
            standard = z[: stop - start]
            np.subtract(values, center, out=standard)
            standard *= inverse
            np.round(standard, decimals, out=standard)
            hasher.hash(standard, rounded[start:stop], has_nan=has_nan)
        return _mix(exact), _mix(rounded)


def dct_matrix(size: int) -> np.ndarray:
    """Orthonormal DCT-II basis, rows = frequencies."""
    k = np.arange(size)[:, None]
    n = np.arange(size)[None, :]
    basis = np.cos(np.pi * (2 * n + 1) * k / (2 * size)) * np.sqrt(2.0 / size)
    basis[0] /= np.sqrt(2.0)
    return basis


_DCT = dct_matrix(PHASH_SIDE)[:_PHASH_KEEP]
_BIT_WEIGHTS = np.uint64(1) << np.arange(_PHASH_KEEP * _PHASH_KEEP - 1, -1, -1, dtype=np.uint64)


def perceptual_hashes(gray: np.ndarray) -> np.ndarray:
    """DCT perceptual hash of (images, 32, 32) gray images: one uint64 each.

    The 8x8 lowest-frequency DCT coefficients, each bit set where the coefficient exceeds the
    median of the 63 non-DC ones (the DC term itself is left out of the median).
    """
    coefficients = np.einsum("ki,nij,lj->nkl", _DCT, gray.astype(np.float64), _DCT, optimize=True)
    flat = coefficients.reshape(len(gray), -1)
    median = np.median(flat[:, 1:], axis=1, keepdims=True)
    bits = (flat > median).astype(np.uint64)
    return (bits * _BIT_WEIGHTS).sum(axis=1, dtype=np.uint64)


def gray_thumbnails(images: np.ndarray, side: int) -> np.ndarray:
    """(images, h, w[, channels]) -> (images, side, side) float64 gray by area averaging.

    Sizes that ``side`` does not divide are first sampled to the nearest multiple.
    """
    data = images.astype(np.float64, copy=False)
    if data.ndim == 4:
        data = data.mean(axis=3)
    count, height, width = data.shape
    if height % side or width % side:  # sample to the nearest multiple first (a copy)
        data = data[:, _resample_index(height, side)][:, :, _resample_index(width, side)]
    factor_r, factor_c = data.shape[1] // side, data.shape[2] // side
    return data.reshape(count, side, factor_r, side, factor_c).mean(axis=(2, 4))


def _resample_index(length: int, side: int) -> np.ndarray:
    target = max(side, (length // side) * side)
    return np.minimum((np.arange(target) * length) // target, length - 1)


def nearest_hamming(
    queries: np.ndarray, references: np.ndarray, *, exclude_self: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """For each query hash, the smallest Hamming distance to a reference hash and its index.

    ``exclude_self``: queries and references are the same list; each is matched only against
    the references before it (the first of a group of copies is not a copy).
    """
    distances = np.full(len(queries), NO_MATCH, dtype=np.uint8)
    where = np.full(len(queries), -1, dtype=np.int64)
    if len(references) == 0:
        return distances, where
    block = max(1, _PAIRS_PER_BLOCK // len(references))
    for start in range(0, len(queries), block):
        stop = min(start + block, len(queries))
        refs = references[:stop] if exclude_self else references
        if len(refs) == 0:
            continue
        table = np.bitwise_count(queries[start:stop, None] ^ refs[None, :])
        if exclude_self:
            later = np.arange(len(refs))[None, :] >= np.arange(start, stop)[:, None]
            table[later] = NO_MATCH
        best = table.argmin(axis=1)
        distances[start:stop] = table[np.arange(stop - start), best]
        where[start:stop] = best
    where[distances == NO_MATCH] = -1
    return distances, where
