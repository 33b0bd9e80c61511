"""Parameters known only by name and shape (state_dicts, safetensors): grouped into layers.

Such files hold no architecture. Tensors are grouped by their module prefix
(``encoder.0.linear.weight`` -> ``encoder.0.linear``); a group's kind is guessed
from its tensor names and shapes. BatchNorm running statistics are parameters
but not trainable; integer tensors (step counters, indices) are not parameters.
A tensor stored once under several names (weight tying) is counted once.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from overfitlint.facts import LayerFacts, Unknown

FROZEN_NAMES = {"running_mean", "running_var"}

# torch.nn modules whose only job is dropout (read by the TorchScript, checkpoint and .pt2 loaders)
TORCH_DROPOUT_MODULES = frozenset(
    {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"}
)


@dataclass
class NamedTensor:
    name: str
    shape: tuple[int, ...]
    floating: bool
    storage: Hashable | None = None  # equal for two names of one stored tensor
    trainable: bool | None = None  # None: decide from the name

    @property
    def count(self) -> int:
        return math.prod(self.shape) if self.shape else 1


def no_architecture(what: str, path: str) -> Unknown:
    return Unknown(
        f"{what} holds parameters only, no architecture: dropout cannot be seen",
        "Check the model itself: a TorchScript (torch.jit.save) or torch.export (.pt2) file, "
        f"or a factory that builds it: overfitlint check mypkg.models:build_model --weights {path}",
    )


def guess_kind(leaves: dict[str, tuple[int, ...]]) -> str:
    names = set(leaves)
    weight = leaves.get("weight")
    if "running_mean" in names or "running_var" in names:
        return "BatchNorm"
    if "in_proj_weight" in names or "q_proj_weight" in names:
        return "MultiheadAttention"
    if any(name.startswith(("weight_ih_l", "weight_hh_l")) for name in names):
        return "RNN"
    if weight is not None:
        rank = len(weight)
        if rank == 1:
            return "Norm" if "bias" in names else "Scale"
        if rank == 2:
            return "Linear" if "bias" in names else "Linear or Embedding"
        if 3 <= rank <= 5:
            return f"Conv{rank - 2}d"
    return "Parameters"


def group_layers(tensors: Iterable[NamedTensor]) -> tuple[list[LayerFacts], list[str]]:
    groups: dict[str, dict[str, NamedTensor]] = {}
    seen: dict[Hashable, str] = {}
    tied: list[str] = []
    skipped = 0
    for tensor in tensors:
        if not tensor.floating:
            skipped += 1
            continue
        if tensor.storage is not None:
            if tensor.storage in seen:
                tied.append(f"{tensor.name} = {seen[tensor.storage]}")
                continue
            seen[tensor.storage] = tensor.name
        prefix, _, leaf = tensor.name.rpartition(".")
        groups.setdefault(prefix or "(root)", {})[leaf or tensor.name] = tensor
    layers = []
    for prefix, members in groups.items():
        kind = guess_kind({leaf: t.shape for leaf, t in members.items()})
        layer = LayerFacts(prefix, kind)
        for leaf, tensor in members.items():
            layer.params += tensor.count
            trainable = tensor.trainable
            if trainable is None:
                trainable = leaf not in FROZEN_NAMES
            if trainable:
                layer.trainable_params += tensor.count
        layers.append(layer)
    notes = ["layer kinds are guessed from tensor names and shapes (the file has no architecture)"]
    if tied:
        notes.append(
            f"{len(tied)} tensor(s) are stored once under several names (weight tying), "
            f"counted once: {', '.join(tied[:3])}{' ...' if len(tied) > 3 else ''}"
        )
    if skipped:
        notes.append(f"{skipped} integer tensor(s) (counters, indices) are not parameters")
    return layers, notes
