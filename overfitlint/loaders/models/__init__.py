"""Model files: the loader of each format (``overfitlint.formats`` names them).

Each format is read by its own module, imported only when needed, so checking an
ONNX, Keras or safetensors file never imports PyTorch or TensorFlow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from overfitlint.errors import InputError
from overfitlint.facts import ModelFacts
from overfitlint.formats import (
    DESCRIPTIONS,
    EMPTY,
    FACTORY,
    KERAS,
    KERAS_H5,
    ONNX,
    SAFETENSORS,
    SAVEDMODEL,
    SUFFIXES,
    TORCH_CHECKPOINT,
    TORCH_EXPORT,
    TORCH_PICKLE,
    TORCHSCRIPT,
    ZIP,
    Detected,
)
from overfitlint.settings import LoadHints


def load_model(detected: Detected, hints: LoadHints) -> ModelFacts:
    facts = _load(detected.format, detected.path, hints)
    if detected.format in (SAFETENSORS, TORCH_CHECKPOINT, TORCH_PICKLE):
        from overfitlint.loaders.models.hf_folder import with_folder_facts

        facts = with_folder_facts(facts, detected.path)
    _note_misleading_name(facts, detected.path, detected.format)
    return sanitize(facts)


def _text(value: Any) -> Any:
    """Strings from a file may arrive as bytes (invalid UTF-8 in a protobuf string field)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {_text(k): _text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    return value


def sanitize(facts: ModelFacts) -> ModelFacts:
    """Every string a loader took from the file is text, whatever the file held."""
    for layer in facts.layers:
        layer.name, layer.kind = _text(layer.name), _text(layer.kind)
        layer.regularizers = _text(layer.regularizers)
    facts.provenance.producer = _text(facts.provenance.producer)
    facts.provenance.producer_version = _text(facts.provenance.producer_version)
    facts.provenance.details = _text(facts.provenance.details)
    facts.input_shapes = _text(facts.input_shapes)
    facts.notes = _text(facts.notes)
    return facts


def _load(kind: str | None, path: Path, hints: LoadHints) -> ModelFacts:
    if hints.weights is not None and kind != FACTORY:
        raise InputError(
            f"--weights {hints.weights}: goes with a MODULE:CALLABLE model factory "
            f"(e.g. overfitlint check mypkg.models:build_model --weights CKPT), not with {path}"
        )
    if kind == EMPTY:
        raise InputError(
            f"{path}: empty file; expected {DESCRIPTIONS[SUFFIXES[path.suffix.lower()]]}"
        )
    if kind == ONNX:
        from overfitlint.loaders.models.onnx import load_onnx

        return load_onnx(path)
    if kind == SAFETENSORS:
        from overfitlint.loaders.models.safetensors import load_safetensors

        return load_safetensors(path)
    if kind == TORCH_EXPORT:
        from overfitlint.loaders.models.torch_export import load_torch_export

        return load_torch_export(path)
    if kind in (TORCHSCRIPT, TORCH_CHECKPOINT, TORCH_PICKLE):
        from overfitlint.loaders.models.pytorch import load_torch_file

        return load_torch_file(path, kind, hints)
    if kind == FACTORY:
        from overfitlint.loaders.models.pytorch import load_factory

        return load_factory(str(path), hints)
    if kind == KERAS:
        from overfitlint.loaders.models.keras import load_keras_archive

        return load_keras_archive(path)
    if kind == KERAS_H5:
        from overfitlint.loaders.models.keras import load_keras_h5

        return load_keras_h5(path)
    if kind == SAVEDMODEL:
        from overfitlint.loaders.models.savedmodel import load_savedmodel

        return load_savedmodel(path)
    if kind == ZIP:
        raise InputError(
            f"{path}: a zip archive that is neither a Keras .keras file nor a PyTorch "
            "archive (or it is truncated); overfitlint reads .onnx, .keras, .h5, .pt/.pth, "
            ".pt2, .safetensors files and SavedModel folders"
        )
    raise InputError(
        f"{path}: not a model format overfitlint reads (.onnx, .keras, .h5, .pt/.pth, "
        ".pt2, .safetensors, SavedModel folders)"
    )


def _note_misleading_name(facts: ModelFacts, path: Path, kind: str | None) -> None:
    by_name = SUFFIXES.get(path.suffix.lower())
    if kind in (FACTORY, SAVEDMODEL, None) or by_name is None:
        return
    family = {TORCH_PICKLE: TORCH_CHECKPOINT, TORCHSCRIPT: TORCH_CHECKPOINT}
    if family.get(by_name, by_name) != family.get(kind, kind):
        facts.notes.append(
            f"the file is named {path.suffix} but holds {DESCRIPTIONS.get(kind, kind)}; "
            "read by its content"
        )
