"""Loaders turn files into facts. Files are told apart by content, not by name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from overfitlint.curves import Curves
from overfitlint.errors import InputError
from overfitlint.facts import ModelFacts, OptimizerFacts
from overfitlint.loaders import logs, models
from overfitlint.settings import Settings

SNIFF_BYTES = 4096


@dataclass
class LoadedInputs:
    model: ModelFacts | None
    curves: list[Curves]
    paths: list[Path]


def sniff(path: Path) -> str:
    """'model' or 'log', from the file's first bytes (a folder's layout); names are only hints."""
    if models.is_factory_spec(path):  # module.path:callable, a model factory
        return "model"
    if not path.exists():
        raise InputError(f"{path}: no such file")
    head = b""
    if path.is_file():
        try:
            with path.open("rb") as handle:
                head = handle.read(SNIFF_BYTES)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if logs.looks_like_event_log(path, head):  # TensorBoard: binary, so before models
        return "log"
    if models.looks_like_model(path, head):
        return "model"
    if logs.looks_like_log(path, head):
        return "log"
    raise InputError(f"{path}: neither a model nor a training log that overfitlint can read")


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
            model = models.load_model(path, settings)
        else:
            curves.append(logs.load_log(path, settings))
    curves = logs.combine_logs(curves, settings)
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
