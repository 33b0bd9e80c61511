"""Model builders the declarative rule cases can name (``model: {builder: NAME, ...}``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from tests.builders import onnx_models


def onnx_mlp(
    tmp: Path, sizes: list[int], dropout=None, producer="overfitlint-tests", opset: int = 17
) -> Path:
    return onnx_models.mlp(tmp / "model.onnx", sizes, dropout, producer, opset)


def torch_mlp_onnx(
    tmp: Path, sizes: list[int], dropout: float = 0.0, training_export: bool = False
) -> Path:
    """A torch MLP exported by torch.onnx.export (producer 'pytorch')."""
    import torch
    from torch import nn

    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return onnx_models.torch_export(
        nn.Sequential(*layers),
        torch.randn(2, sizes[0]),
        tmp / "model.onnx",
        training=training_export,
    )


BUILDERS: dict[str, Callable[..., Path]] = {
    "onnx_mlp": onnx_mlp,
    "torch_mlp_onnx": torch_mlp_onnx,
}
