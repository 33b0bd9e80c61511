"""Which backend can run a model file, told by the file's content (names are only hints).

The static loaders describe the file in ``ModelFacts``; the probe only needs to know
how to *run* it, so it looks at the bytes itself. Nothing here imports a framework.
"""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

from overfitlint.facts import ModelFacts

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

# kind -> (backend, what it is, in words)
KINDS = {
    "onnx": ("torch", "ONNX graph (converted to torch with onnx2torch)"),
    "torchscript": ("torch", "TorchScript archive"),
    "torch_export": ("torch", "torch.export program (.pt2)"),
    "factory": ("torch", "torch.nn.Module built by a MODULE:CALLABLE factory"),
    "torch_state_dict": ("torch", "PyTorch checkpoint (torch.save zip)"),
    "torch_pickle": ("torch", "PyTorch pickle (legacy torch.save)"),
    "safetensors": ("torch", "safetensors weights"),
    "keras": ("keras", "Keras v3 archive (.keras)"),
    "keras_h5": ("keras", "Keras HDF5 model (.h5)"),
}
# Python modules each backend needs in its subprocess.
BACKEND_MODULES = {
    "torch": ("torch",),
    "onnx2torch": ("torch", "onnx2torch"),
    "onnxruntime": ("onnxruntime",),
    "keras": ("tensorflow", "keras"),
}


def detect_kind(path: Path, facts: ModelFacts | None = None) -> str | None:
    """One of :data:`KINDS`, or None when no backend can run this file."""
    if facts is not None and (
        facts.format == "torch-factory" or facts.provenance.details.get("factory")
    ):
        return "factory"
    if facts is not None and facts.framework == "onnx":
        return "onnx"
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return None
    if head.startswith(HDF5_MAGIC):
        return "keras_h5"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "torch_pickle"
    if zipfile.is_zipfile(path):
        return _zip_kind(path)
    # safetensors: an 8-byte little-endian header length, then a JSON header
    if len(head) >= 9 and head[8:9] == b"{" and 2 <= int.from_bytes(head[:8], "little") < 1 << 27:
        return "safetensors"
    if (facts is not None and facts.format == "onnx") or path.suffix.lower() == ".onnx":
        return "onnx"
    return None


def _zip_kind(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    top = {name for name in names if "/" not in name}
    if "config.json" in top and ({"model.weights.h5", "metadata.json"} & top):
        return "keras"
    inner = {name.split("/", 1)[1] for name in names if "/" in name}
    if "archive_format" in inner or any(n.startswith("models/") for n in inner):
        return "torch_export"
    if "constants.pkl" in inner and any(n.startswith("code/") for n in inner):
        return "torchscript"
    if "data.pkl" in inner:
        return "torch_state_dict"
    return None


WEIGHTS_ONLY = frozenset({"torch_state_dict", "torch_pickle", "safetensors"})
"""Kinds that hold weights but (without --trust-pickle) no architecture the probe can run."""


def describe(kind: str) -> str:
    return KINDS[kind][1]


def backend_for(kind: str) -> str:
    return KINDS[kind][0]


def installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in modules)


def missing_modules(backend: str) -> list[str]:
    return [m for m in BACKEND_MODULES[backend] if importlib.util.find_spec(m) is None]
