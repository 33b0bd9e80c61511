"""Spectra into model facts: each ``LayerSpectrum`` onto the ``LayerFacts`` of its layer.

A weight named ``encoder.0.fc.weight`` (state dict), ``encoder.0.fc`` (pickled module) or
``encoder/0/fc`` matches the layer ``encoder.0.fc``, and the ONNX node ``/encoder/0/fc/Gemm``
too; spectra that match no listed layer (an exporter's ``onnx::MatMul_12`` initializer, a layer a
loader folded into another) are kept in the summary's ``unattached`` list, so the rules still
see every spectrum.
"""

from __future__ import annotations

import dataclasses
import re

from overfitlint.facts import ModelFacts
from overfitlint.spectra.analysis import LayerSpectrum, SpectralSummary

SEPARATORS = re.compile(r"[/.:]+")
SUFFIXES = (".weight", "/kernel", ".kernel", ":0")


def layer_key(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return SEPARATORS.sub(".", name).strip(".")


def _candidates(name: str) -> list[str]:
    """The layer's own key, then (an ONNX node such as ``/fc1/Gemm``) its key without the
    trailing operator type, which names the initializer ``fc1.weight``."""
    key = layer_key(name)
    parent, _, last = key.rpartition(".")
    return [key, parent] if parent and last[:1].isupper() else [key]


def attach_spectra(
    model: ModelFacts, layers: list[LayerSpectrum], summary: SpectralSummary
) -> ModelFacts:
    """A copy of ``model`` whose layers carry their spectra and whose ``spectral`` is the
    summary (with the unmatched spectra under ``unattached``)."""
    by_key = {layer_key(spectrum.name): spectrum for spectrum in layers}
    used: set[str] = set()
    new_layers = []
    for layer in model.layers:
        key = next((k for k in _candidates(layer.name) if k in by_key and k not in used), None)
        if key is None:
            new_layers.append(layer)
            continue
        spectrum = by_key[key]
        used.add(key)
        new_layers.append(dataclasses.replace(layer, spectral=spectrum.to_dict()))
    unattached = [spectrum.to_dict() for key, spectrum in by_key.items() if key not in used]
    return dataclasses.replace(
        model, layers=new_layers, spectral={**summary.to_dict(), "unattached": unattached}
    )
