"""Loaders turn files into facts. Files are told apart by content, not by name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from overfitlint.curves import Curves
from overfitlint.errors import InputError
from overfitlint.facts import ModelFacts, OptimizerFacts
from overfitlint.settings import Settings

SNIFF_BYTES = 4096


@dataclass
class LoadedInputs:
    model: ModelFacts | None
    curves: list[Curves]
    paths: list[Path]


def sniff(path: Path) -> str:
    """'model' or 'log', from the first bytes of the file (and its name only as a hint)."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a model file or a log file")
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if path.suffix.lower() == ".onnx":
        return "model"
    if not head:
        return "log"  # an empty file: the log loader says it is empty
    if b"\x00" in head or not _looks_like_text(head):
        return "model"
    return "log"


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sniffed block is still text
        return exc.start >= len(head) - 3
    return True


def load_model(path: Path) -> ModelFacts:
    from overfitlint.loaders.onnx_model import load_onnx

    return load_onnx(path)


def load_log(path: Path, settings: Settings) -> Curves:
    from overfitlint.loaders.csv_log import load_csv_log

    data = path.read_bytes()
    return load_csv_log(path, data, settings.train_metric, settings.val_metric)


def load_inputs(paths: list[Path], settings: Settings) -> LoadedInputs:
    model: ModelFacts | None = None
    curves: list[Curves] = []
    for path in paths:
        kind = sniff(path)
        if kind == "model":
            if model is not None:
                raise InputError(
                    f"{path}: a second model file; check one model per run "
                    f"(the first was {model.source})"
                )
            model = load_model(path)
        else:
            curves.append(load_log(path, settings))
    if model is not None:
        apply_declarations(model, settings)
    return LoadedInputs(model, curves, paths)


def apply_declarations(model: ModelFacts, settings: Settings) -> None:
    """Facts the user stated on the command line override what the file could not tell."""
    if settings.weight_decay is not None:
        model.optimizer = OptimizerFacts(
            kind=None,
            lr=None,
            weight_decay=settings.weight_decay,
            decoupled=None,
            source="--weight-decay",
        )
