"""Small models for the spectra tests, built with the real frameworks.

``SpectraNet`` is a conv net plus MLP plus embedding whose layers are large enough to fit
(>= 8 eigenvalues each) and whose ``fc2`` has a planted heavy-tailed spectrum (singular values
k^-0.9: alpha well below 2); the other layers keep PyTorch's random initialisation (alpha
above 6). The same weights are written in every format the spectra read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn


class SpectraNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.fc1 = nn.Linear(32 * 4 * 4, 256)
        self.fc2 = nn.Linear(256, 128)
        self.head = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.head(torch.relu(self.fc2(torch.relu(self.fc1(x.flatten(1))))))


def heavy_tail(weight: torch.Tensor, exponent: float = 0.9) -> torch.Tensor:
    """The same singular vectors with singular values k^-exponent: a power-law spectrum."""
    u, s, v = torch.linalg.svd(weight, full_matrices=False)
    values = torch.arange(1, len(s) + 1, dtype=weight.dtype) ** -exponent
    return u @ torch.diag(values) @ v


def spectra_net(seed: int = 0) -> SpectraNet:
    torch.manual_seed(seed)
    model = SpectraNet().eval()
    with torch.no_grad():
        model.fc2.weight.copy_(heavy_tail(model.fc2.weight))
    return model


def keras_weights(model: SpectraNet) -> dict[str, list[np.ndarray]]:
    """The same weights in Keras layouts: Conv2D (kh, kw, in, out), Dense (in, out)."""
    out = {}
    for name in ("conv1", "conv2"):
        layer = getattr(model, name)
        out[name] = [
            layer.weight.detach().numpy().transpose(2, 3, 1, 0),
            layer.bias.detach().numpy(),
        ]
    for name in ("fc1", "fc2", "head"):
        layer = getattr(model, name)
        out[name] = [layer.weight.detach().numpy().T, layer.bias.detach().numpy()]
    return out


def save_onnx(model: nn.Module, path: Path, *, external: bool = False) -> Path:
    import onnx

    torch.onnx.export(model, (torch.zeros(1, 3, 8, 8),), str(path), dynamo=False, input_names=["x"])
    if external:
        proto = onnx.load(str(path))
        onnx.save_model(
            proto,
            str(path),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=path.stem + ".data",
            size_threshold=0,
        )
    return path
