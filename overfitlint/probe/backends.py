"""Which backend runs a model of each format, and what it needs installed.

The format comes from the static loaders (``ModelFacts.format``, the ``overfitlint.formats``
vocabulary); nothing here sniffs a file again or imports a framework.
"""

from __future__ import annotations

import importlib.util

from overfitlint import formats

BACKEND_OF = {
    formats.ONNX: "torch",
    formats.TORCHSCRIPT: "torch",
    formats.TORCH_EXPORT: "torch",
    formats.FACTORY: "torch",
    formats.TORCH_CHECKPOINT: "torch",
    formats.TORCH_PICKLE: "torch",
    formats.SAFETENSORS: "torch",
    formats.KERAS: "keras",
    formats.KERAS_H5: "keras",
}
RUNS_AS = {
    formats.ONNX: "ONNX graph (converted to torch with onnx2torch)",
    formats.TORCHSCRIPT: "TorchScript archive",
    formats.TORCH_EXPORT: "torch.export program (.pt2)",
    formats.FACTORY: "torch.nn.Module built by a MODULE:CALLABLE factory",
    formats.TORCH_CHECKPOINT: "PyTorch checkpoint holding a whole pickled module",
    formats.TORCH_PICKLE: "PyTorch pickle (legacy torch.save)",
    formats.KERAS: "Keras v3 archive (.keras)",
    formats.KERAS_H5: "Keras HDF5 model (.h5)",
}
WEIGHTS_ONLY = frozenset({formats.TORCH_CHECKPOINT, formats.TORCH_PICKLE, formats.SAFETENSORS})
"""Formats that hold weights but (without --trust-pickle) no architecture the probe can run."""
MODULES = {
    "torch": ("torch",),
    "onnx2torch": ("torch", "onnx2torch"),
    "onnxruntime": ("onnxruntime",),
    "keras": ("tensorflow", "keras"),
}
EXTRAS = {"torch": "torch", "onnxruntime": "onnxruntime", "keras": "keras"}


def missing_modules(backend: str) -> list[str]:
    return [m for m in MODULES[backend] if importlib.util.find_spec(m) is None]
