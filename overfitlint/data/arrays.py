"""The in-memory form every reader produces and every measurement reads."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MISSING_CLASS = -1
"""Class code of an example whose label is missing."""


@dataclass
class SplitArrays:
    x: np.ndarray
    """(rows, features) float64, Fortran order (columns contiguous); NaN = missing. Tables: the
    feature columns (categorical ones as dictionary codes); images: a small gray thumbnail."""
    y: np.ndarray
    """(rows,) int64 class codes into DataFacts.classes (MISSING_CLASS = missing), or float64
    regression targets (NaN = missing)."""
    ids: np.ndarray
    """(rows,) example names for findings: row numbers in the source, or file names."""
    exact_hash: np.ndarray | None = None
    """(rows,) uint64 content hash computed by the reader (images: of the decoded pixels);
    None: the measurements hash ``x``."""
    phash: np.ndarray | None = None
    """(rows,) uint64 perceptual hash (images)."""
    channel_moments: np.ndarray | None = None
    """(rows, channels, 4): per image and channel, the mean, the mean of squares, the minimum
    and the maximum of the pixel values as stored (images)."""

    role: str = ""
    """"train" or "val" (set by DataArrays)."""

    @property
    def rows(self) -> int:
        return int(self.x.shape[0])

    def example(self, index: int) -> str:
        """How a finding names example ``index``: its file name, or "train row 17"."""
        value = self.ids[index]
        return str(value) if self.ids.dtype == object else f"{self.role} row {int(value)}"


@dataclass
class DataArrays:
    train: SplitArrays
    val: SplitArrays
    categorical: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """(features,) True for columns that hold dictionary codes of a text column."""
    channel_names: tuple[str, ...] = ()
    pixel_dtype: str | None = None
    """The stored pixel type of an image data set ("uint8"); None for tables."""
    raw_pixels: bool = False
    """Images stored as integer values 0..255 (decoded image files always are)."""

    def __post_init__(self) -> None:
        self.train.role, self.val.role = "train", "val"

    def split(self, name: str) -> SplitArrays:
        return self.train if name == "train" else self.val
