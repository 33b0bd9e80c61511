"""Model files: which loader reads a file, decided by its content."""

from __future__ import annotations

from pathlib import Path

from overfitlint.facts import ModelFacts
from overfitlint.settings import Settings


def looks_like_model(path: Path, head: bytes) -> bool:
    """True when the first bytes (or, for a folder, its layout) say this is a model."""
    if path.is_dir():
        return False
    if path.suffix.lower() == ".onnx":
        return True
    return b"\x00" in head or not _looks_like_text(head)


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sniffed block is still text
        return exc.start >= len(head) - 3
    return True


def load_model(path: Path, settings: Settings) -> ModelFacts:
    from overfitlint.loaders.onnx_model import load_onnx

    return load_onnx(path)
