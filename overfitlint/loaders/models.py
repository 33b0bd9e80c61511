"""Model files: which loader reads a file, decided by its content.

A file's name is only a hint: the first bytes (zip members, HDF5 signature, pickle
protocol, safetensors header, protobuf fields) decide. A folder is a TensorFlow
SavedModel when it holds ``saved_model.pb``. ``module.path:callable`` names a
Python factory the user asked us to call.

Each format is read by its own module, imported only when needed, so checking an
ONNX, Keras or safetensors file never imports PyTorch or TensorFlow.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from overfitlint.errors import InputError
from overfitlint.facts import ModelFacts
from overfitlint.loaders import protowire as wire
from overfitlint.settings import Settings

ONNX = "onnx"
TORCHSCRIPT = "torchscript"
TORCH_EXPORT = "torch-export"
TORCH_CHECKPOINT = "torch-checkpoint"
TORCH_PICKLE = "torch-pickle"  # legacy (non-zip) torch.save, or any pickle
SAFETENSORS = "safetensors"
KERAS = "keras"
KERAS_H5 = "keras-h5"
SAVEDMODEL = "savedmodel"
FACTORY = "factory"
ZIP = "zip"  # a zip archive of no known model layout
EMPTY = "empty"

SUFFIXES = {
    ".onnx": ONNX,
    ".pt": TORCH_CHECKPOINT,
    ".pth": TORCH_CHECKPOINT,
    ".ckpt": TORCH_CHECKPOINT,
    ".bin": TORCH_CHECKPOINT,
    ".tar": TORCH_CHECKPOINT,
    ".pkl": TORCH_PICKLE,
    ".pt2": TORCH_EXPORT,
    ".safetensors": SAFETENSORS,
    ".keras": KERAS,
    ".h5": KERAS_H5,
    ".hdf5": KERAS_H5,
}
DESCRIPTIONS = {
    ONNX: "an ONNX model",
    TORCHSCRIPT: "a TorchScript archive",
    TORCH_EXPORT: "a torch.export program",
    TORCH_CHECKPOINT: "a PyTorch checkpoint",
    TORCH_PICKLE: "a pickle",
    SAFETENSORS: "a safetensors file",
    KERAS: "a Keras archive",
    KERAS_H5: "an HDF5 (Keras .h5) file",
    SAVEDMODEL: "a TensorFlow SavedModel",
}
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
FACTORY_SPEC = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
# ModelProto fields and their wire types, to recognise an ONNX file by its first bytes.
ONNX_MODEL_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}


def is_factory_spec(path: Path) -> bool:
    """``module.path:callable`` that names no existing file."""
    text = str(path)
    return bool(FACTORY_SPEC.match(text)) and not path.exists()


def looks_like_model(path: Path, head: bytes) -> bool:
    """True when the first bytes (or, for a folder, its layout) say this is a model."""
    return detect(path, head) is not None


def detect(path: Path, head: bytes) -> str | None:
    """The model format of ``path`` from its content; None when it is no model we know."""
    if is_factory_spec(path):
        return FACTORY
    if path.is_dir():
        if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
            return SAVEDMODEL
        return None
    by_name = SUFFIXES.get(path.suffix.lower())
    if not head:
        return EMPTY if by_name else None
    if head.startswith(ZIP_MAGIC):
        return _zip_format(path) or (KERAS if by_name == KERAS else ZIP if by_name else None)
    if head.startswith(HDF5_MAGIC):
        return KERAS_H5
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return TORCH_PICKLE
    if _looks_like_safetensors(path, head):
        return SAFETENSORS
    if _looks_like_onnx(head):
        return ONNX
    return by_name


def _zip_format(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    return zip_layout(names)


def zip_layout(names: list[str]) -> str | None:
    """Which model archive a list of zip member names describes."""
    if "config.json" in names and ("model.weights.h5" in names or "metadata.json" in names):
        return KERAS
    tails = {name.split("/", 1)[1] if "/" in name else name for name in names}
    if "archive_format" in tails or "serialized_exported_program.json" in tails:
        return TORCH_EXPORT
    if "constants.pkl" in tails or any(tail.startswith("code/") for tail in tails):
        return TORCHSCRIPT
    if "data.pkl" in tails:
        return TORCH_CHECKPOINT
    return None


def _looks_like_safetensors(path: Path, head: bytes) -> bool:
    if len(head) < 10 or head[8:9] != b"{":
        return False
    size = int.from_bytes(head[:8], "little")
    try:
        return 2 <= size <= path.stat().st_size - 8
    except OSError:
        return False


def _looks_like_onnx(head: bytes) -> bool:
    """The first bytes parse as ModelProto fields, starting with a small ir_version."""
    if len(head) < 4 or head[0] != 0x08 or not 1 <= head[1] <= 30:
        return False
    seen = 0
    try:
        for item in wire.fields(head):
            if ONNX_MODEL_FIELDS.get(item.number) != item.wire_type:
                return False
            seen += 1
    except wire.WireError:
        # the head cuts a field short: fine, if what came before was a ModelProto
        return seen >= 1
    return True


def load_model(path: Path, settings: Settings) -> ModelFacts:
    head = b""
    if path.is_file():
        try:
            with path.open("rb") as handle:
                head = handle.read(4096)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    kind = detect(path, head)
    facts = _load(kind, path, settings)
    _note_misleading_name(facts, path, kind)
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


def _load(kind: str | None, path: Path, settings: Settings) -> ModelFacts:
    if getattr(settings, "weights", None) is not None and kind != FACTORY:
        raise InputError(
            f"--weights {settings.weights}: goes with a MODULE:CALLABLE model factory "
            f"(e.g. overfitlint check mypkg.models:build_model --weights CKPT), not with {path}"
        )
    if kind == EMPTY:
        raise InputError(
            f"{path}: empty file; expected {DESCRIPTIONS[SUFFIXES[path.suffix.lower()]]}"
        )
    if kind == ONNX:
        from overfitlint.loaders.onnx_model import load_onnx

        return load_onnx(path)
    if kind == SAFETENSORS:
        from overfitlint.loaders.safetensors_model import load_safetensors

        return load_safetensors(path)
    if kind == TORCH_EXPORT:
        from overfitlint.loaders.torch_export import load_torch_export

        return load_torch_export(path)
    if kind in (TORCHSCRIPT, TORCH_CHECKPOINT, TORCH_PICKLE):
        from overfitlint.loaders.torch_model import load_torch_file

        return load_torch_file(path, kind, settings)
    if kind == FACTORY:
        from overfitlint.loaders.torch_model import load_factory

        return load_factory(str(path), settings)
    if kind == KERAS:
        from overfitlint.loaders.keras_model import load_keras_archive

        return load_keras_archive(path)
    if kind == KERAS_H5:
        from overfitlint.loaders.keras_model import load_keras_h5

        return load_keras_h5(path)
    if kind == SAVEDMODEL:
        from overfitlint.loaders.savedmodel import load_savedmodel

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
