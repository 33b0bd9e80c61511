"""Training logs: which loader reads a file, decided by its content."""

from __future__ import annotations

from pathlib import Path

from overfitlint.curves import Curves
from overfitlint.settings import Settings


def looks_like_log(path: Path, head: bytes) -> bool:
    """True for text files (CSV today); a log loader then says what is wrong, if anything."""
    return path.is_file()


def load_log(path: Path, settings: Settings) -> Curves:
    from overfitlint.loaders.csv_log import load_csv_log

    return load_csv_log(path, path.read_bytes(), settings.train_metric, settings.val_metric)
