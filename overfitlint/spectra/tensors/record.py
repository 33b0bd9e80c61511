"""What a tensor reader yields: one weight of one layer, and how its kind is told.

Which tensors are layer weights follows WeightWatcher: the weight of a dense (Linear, Dense),
Conv1d/Conv2d or Embedding layer. Where the file names the layer class (Keras configs, pickled
modules, TorchScript), the class decides, as in WeightWatcher's framework iterators
(``'linear' in class``, ``'dense'``, ``'conv1d'``, ``'conv2d'``, ``'embedding'``; norm layers are
skipped). Where it does not (state dicts, safetensors, ONNX initializers), the rank does, as in
WeightWatcher's state-dict iterator: a 2-D ``.weight`` is dense (an embedding when its name says
so), 4-D a 2-D convolution, and (overfitlint only) 3-D a 1-D convolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DENSE = "dense"
CONV1D = "conv1d"
CONV2D = "conv2d"
EMBEDDING = "embedding"
KINDS = (DENSE, CONV1D, CONV2D, EMBEDDING)
RANKS = {DENSE: 2, EMBEDDING: 2, CONV1D: 3, CONV2D: 4}

# LoRA / PEFT factors are rank-r by construction: their spectrum says nothing about training.
ADAPTER_MARKERS = ("lora_a", "lora_b", "lora_embedding_a", "lora_embedding_b")


@dataclass
class WeightTensor:
    """One layer's weight, as stored (a memory-mapped view where the format allows).

    ``kernel_first``: the spatial axes of a convolution come first (Keras ``(kh, kw, in, out)``)
    rather than last (PyTorch and ONNX ``(out, in, kh, kw)``). ``bfloat16``: ``array`` holds the
    raw 16-bit patterns (numpy has no bfloat16); the matrix builder widens them.
    """

    name: str
    kind: str
    array: np.ndarray
    trainable: bool | None = None
    kernel_first: bool = False
    bfloat16: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)


def kind_from_class(class_name: str, shape: tuple[int, ...]) -> str | None:
    """WeightWatcher's class test (``'linear' in str(type(layer)).lower()`` and so on, in its
    order), with the weight's rank checked: a 2-D weight of a class named like a 1-D
    convolution (Hugging Face's GPT-2 ``Conv1D``) is a dense matrix, as WeightWatcher treats it."""
    lowered = class_name.lower()
    for marker, kind in (
        ("linear", DENSE),
        ("dense", DENSE),
        ("conv1d", CONV1D),
        ("conv2d", CONV2D),
        ("embedding", EMBEDDING),
    ):
        if marker in lowered:
            if kind == CONV1D and len(shape) == 2:
                return DENSE
            return kind if len(shape) == RANKS[kind] else None
    return None


def kind_from_shape(name: str, shape: tuple[int, ...]) -> str | None:
    """A state-dict or initializer tensor by rank (WeightWatcher's state-dict rule)."""
    rank = len(shape)
    if rank == 2:
        return EMBEDDING if "embed" in name.lower() else DENSE
    if rank == 3:
        return CONV1D
    if rank == 4:
        return CONV2D
    return None


def is_adapter(name: str) -> bool:
    lowered = name.lower()
    return any(marker in lowered for marker in ADAPTER_MARKERS)


def is_float_dtype(dtype: np.dtype) -> bool:
    return np.issubdtype(dtype, np.floating)


def select_state_dict(keys: list[tuple[str, tuple[int, ...]]]) -> list[tuple[str, str, str]]:
    """(key, layer name, kind) for the layer weights among a state dict's floating tensors.

    WeightWatcher reads the ``.weight`` entries; a file with none (a JAX or hand-made export)
    has every 2-4-D tensor read instead. Adapter factors (LoRA) are left out.
    """
    with_suffix = [(key, shape) for key, shape in keys if key.endswith(".weight")]
    chosen = with_suffix or keys
    found = []
    for key, shape in chosen:
        if is_adapter(key):
            continue
        layer = key[: -len(".weight")] if key.endswith(".weight") else key
        kind = kind_from_shape(layer, shape)
        if kind is not None:
            found.append((key, layer, kind))
    return found
