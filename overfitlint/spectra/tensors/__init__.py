"""Lazy readers of layer weights: one ``WeightTensor`` at a time, memory-mapped where the format
allows, read from the file as data only (no framework import, nothing from the file executed).

The format name is the caller's (overfitlint's model detection names it): ``onnx``,
``safetensors``, ``torch-checkpoint`` and ``torchscript`` (zip archives), ``keras``, ``keras-h5``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from overfitlint.errors import InputError
from overfitlint.spectra.tensors.record import WeightTensor

FORMATS = ("onnx", "safetensors", "torch-checkpoint", "torchscript", "keras", "keras-h5")


def read_weights(path: Path, format: str) -> Iterator[WeightTensor]:
    """The layer weights of ``path`` (a file of ``format``), in file order."""
    if format == "onnx":
        from overfitlint.spectra.tensors.onnx import read_onnx

        return read_onnx(path)
    if format == "safetensors":
        from overfitlint.spectra.tensors.safetensors import read_safetensors

        return read_safetensors(path)
    if format in ("torch-checkpoint", "torchscript"):
        from overfitlint.spectra.tensors.torch_archive import read_torch_archive

        return read_torch_archive(path)
    if format == "keras":
        from overfitlint.spectra.tensors.keras import read_keras_archive

        return read_keras_archive(path)
    if format == "keras-h5":
        from overfitlint.spectra.tensors.keras import read_keras_h5

        return read_keras_h5(path)
    if format == "torch-pickle":
        raise InputError(
            f"{path}: a legacy (non-zip) torch.save file; weight spectra read zip archives only: "
            "re-save it with torch.save (PyTorch >= 1.6 writes zip archives by default)"
        )
    raise InputError(
        f"{path}: weight spectra cannot read {format} files; they read {', '.join(FORMATS)}"
    )


__all__ = ["FORMATS", "WeightTensor", "read_weights"]
