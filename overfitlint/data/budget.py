"""How much of a data set the readers may read, and for how long."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class DataBudget:
    """Limits checked before and while reading; a cap that cuts rows leaves a note."""

    max_file_bytes: int = 8 << 30
    """Largest input file (or folder of Arrow files) accepted, by its size on disk."""
    max_decoded_bytes: int = 1 << 30
    """Most bytes the four npz arrays taken may decode to together, from their headers, before
    any data is read (an npz is read whole; larger sets belong in Parquet, read by column)."""
    max_rows: int = 2_000_000
    """Rows (or images) per split; more: a sample of this many is taken, with a note."""
    max_cells: int = 200_000_000
    """Rows x feature columns per split; more: fewer rows are taken, with a note."""
    max_images: int = 100_000
    """Images per split in an image folder; more: an evenly spread sample, with a note."""
    max_image_pixels: int = 50_000_000
    """Pillow's decompression-bomb limit (width x height) while decoding images."""
    max_image_bytes: int = 64 << 20
    """Largest single image file; larger ones are skipped and counted in a note."""
    seconds: float = 300.0
    """Reading stops after this long; what was read is kept and a note says so."""

    def deadline(self) -> Deadline:
        return Deadline(time.monotonic() + self.seconds, self.seconds)


@dataclass(frozen=True)
class Deadline:
    at: float
    seconds: float

    def passed(self) -> bool:
        return time.monotonic() > self.at
