"""A PyTorch module tree, however it was read, turned into layer facts.

Three readers produce the same ``ModuleNode`` list, in ``named_modules()`` order: a live
``nn.Module`` (a factory the user named, or a trusted load), a pickled module read as data
(``torch.save(model)``, stand-ins holding ``_parameters`` and ``_modules``) and a TorchScript
archive read as data (its ``data.pkl`` and the class definitions in ``code/``).

Counting: a module's parameters (``requires_grad`` ones are trainable) plus its persistent
floating-point buffers (BatchNorm running statistics) as non-trainable parameters, each tensor
once (weight tying), as ``sum(p.numel() for p in model.parameters())`` counts the trainable part.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from overfitlint.facts import LayerFacts
from overfitlint.loaders.models.named_tensors import TORCH_DROPOUT_MODULES

BUILTIN_DROPOUT_MODULES = frozenset({"LSTM", "GRU", "RNN", "MultiheadAttention"})


@dataclass(frozen=True)
class TensorInfo:
    identity: Hashable
    """Equal for two names of one stored tensor (weight tying)."""
    numel: int
    trainable: bool
    floating: bool = True


@dataclass
class ModuleNode:
    name: str
    """Dotted path from the root ("" for the root)."""
    kind: str
    parameters: list[TensorInfo] = field(default_factory=list)
    buffers: list[TensorInfo] = field(default_factory=list)
    """Persistent buffers only."""
    attributes: dict[str, Any] = field(default_factory=dict)
    """Hyper-parameters read from the module (``p`` of Dropout, ``dropout`` of an LSTM)."""
    has_children: bool = False


def _rate(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def layers_from(nodes: Iterable[ModuleNode]) -> tuple[list[LayerFacts], int]:
    """The layers worth listing, and how many tensors were tied (counted once)."""
    nodes = list(nodes)
    layers: list[LayerFacts] = []
    seen: set[Hashable] = set()
    tied = 0
    for node in nodes:
        entry = LayerFacts(node.name or "(root)", node.kind)
        for tensor in node.parameters:
            if tensor.identity in seen:
                tied += 1
                continue
            seen.add(tensor.identity)
            entry.params += tensor.numel
            if tensor.trainable:
                entry.trainable_params += tensor.numel
        for tensor in node.buffers:
            if not tensor.floating or tensor.identity in seen:
                continue
            seen.add(tensor.identity)
            entry.params += tensor.numel
        if node.kind in TORCH_DROPOUT_MODULES:
            entry.dropout_rate = _rate(node.attributes.get("p"))
        elif node.kind in BUILTIN_DROPOUT_MODULES:
            entry.dropout_rate = _rate(node.attributes.get("dropout")) or None
        if (
            entry.params
            or entry.dropout_rate is not None
            or node.kind in TORCH_DROPOUT_MODULES
            or entry.is_augmentation
            or entry.is_normalization
        ):
            layers.append(entry)
    _chain_inputs(nodes, layers)
    return layers, tied


def _chain_inputs(nodes: list[ModuleNode], layers: list[LayerFacts]) -> None:
    """When every module that has children is an ``nn.Sequential``, modules run in the order
    they are listed: each listed layer reads the one listed before it. Any other container
    has its own forward(), whose data flow is not read: inputs stay unknown."""
    listed = {layer.name: layer for layer in layers}
    order = []
    for node in nodes:
        if node.has_children:
            if node.kind != "Sequential":
                return
            continue
        if (node.name or "(root)") in listed:
            order.append(listed[node.name or "(root)"])
    previous: list[str] = []
    for entry in order:
        entry.inputs = list(previous)
        previous = [entry.name]


def tied_note(tied: int) -> list[str]:
    if not tied:
        return []
    return [f"{tied} parameter(s) are shared between modules (weight tying), counted once"]
