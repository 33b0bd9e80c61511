"""Small PyTorch models and every file format PyTorch writes them in.

Each architecture is built small (a few thousand parameters) so that tests stay
fast; ``expected(module)`` is PyTorch's own count, the truth the loaders must match.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(20, 64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 64), nn.ReLU()
        )
        self.head = nn.Linear(64, 4)

    def forward(self, x):
        return self.head(self.net(x))


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Dropout2d(0.1),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


class TransformerBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(8, 16)
        self.block = nn.TransformerEncoderLayer(
            d_model=16, nhead=2, dim_feedforward=32, dropout=0.1, batch_first=True
        )
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.block(self.embed(x)).mean(1))


class TiedLanguageModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 16)
        self.mix = nn.Linear(16, 16)
        self.out = nn.Linear(16, 50, bias=False)
        self.out.weight = self.embed.weight

    def forward(self, tokens):
        return self.out(torch.relu(self.mix(self.embed(tokens))))


class RecurrentClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(30, 8)
        self.rnn = nn.LSTM(8, 12, num_layers=2, dropout=0.25, batch_first=True)
        self.head = nn.Linear(12, 2)

    def forward(self, tokens):
        out, _ = self.rnn(self.embed(tokens))
        return self.head(out[:, -1])


ARCHITECTURES: dict[str, tuple[Callable[[], nn.Module], Callable[[], torch.Tensor]]] = {
    "mlp": (Mlp, lambda: torch.randn(2, 20)),
    "convnet-batchnorm": (ConvNet, lambda: torch.randn(2, 3, 8, 8)),
    "transformer-block": (TransformerBlock, lambda: torch.randn(2, 5, 8)),
    "tied-embedding": (TiedLanguageModel, lambda: torch.randint(0, 50, (2, 6))),
    "lstm": (RecurrentClassifier, lambda: torch.randint(0, 30, (2, 6))),
}


def build(name: str) -> tuple[nn.Module, torch.Tensor]:
    """A freshly built model whose vectors look trained: no two tensors hold equal values
    (exporters merge equal initializers, e.g. BatchNorm's zero bias and zero running mean)."""
    factory, example = ARCHITECTURES[name]
    torch.manual_seed(0)
    module = factory()
    with torch.no_grad():
        for parameter in module.parameters():
            if parameter.dim() == 1:
                parameter.uniform_(-1.0, 1.0)
        for buffer in module.buffers():
            if buffer.is_floating_point():
                buffer.uniform_(0.5, 1.5)
    return module, example()


def trainable(module: nn.Module) -> int:
    """PyTorch's own count: ``sum(p.numel() for p in model.parameters())`` (tied once)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def running_stats(module: nn.Module) -> int:
    return sum(b.numel() for b in module.buffers() if b.is_floating_point())


def save_torchscript(module: nn.Module, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(module), str(path))
    return path


def save_export(module: nn.Module, example: torch.Tensor, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.export.save(torch.export.export(module, (example,)), str(path))
    return path


def save_checkpoint(
    module: nn.Module, path: Path, optimizer: torch.optim.Optimizer | None = None, **extra
) -> Path:
    state = {"model_state_dict": module.state_dict(), **extra}
    if optimizer is not None:
        state["optimizer_state_dict"] = optimizer.state_dict()
    torch.save(state, path)
    return path


def save_safetensors(module: nn.Module, path: Path) -> Path:
    import safetensors.torch

    safetensors.torch.save_model(module, str(path))
    return path


def train_step(module: nn.Module, example: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
    """One step, so the optimizer has per-parameter state like a real checkpoint."""
    module.train()
    optimizer.zero_grad()
    output = module(example)
    output.float().pow(2).mean().backward()
    optimizer.step()


FORMATS: dict[str, Callable[[nn.Module, torch.Tensor, Path], Path]] = {
    "torchscript": lambda m, x, folder: save_torchscript(m, folder / "model.pt"),
    "torch-export": lambda m, x, folder: save_export(m, x, folder / "model.pt2"),
    "checkpoint": lambda m, x, folder: save_checkpoint(m, folder / "ckpt.pth"),
    "safetensors": lambda m, x, folder: save_safetensors(m, folder / "model.safetensors"),
}
