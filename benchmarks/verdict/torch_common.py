"""What the plain PyTorch and the Lightning runs share: the network, augmentation, measuring."""

from __future__ import annotations

import torch
from torch import nn

from benchmarks.verdict import data


def network(spec: dict, split: data.Split) -> nn.Sequential:
    """An MLP (or a small conv net on the 8x8 digits) as the spec describes it."""
    layers: list[nn.Module] = []
    width = split.features
    if spec.get("conv"):
        channels = 1
        layers.append(nn.Unflatten(1, (1, 8, 8)))
        for filters in spec["conv"]:
            layers.append(nn.Conv2d(channels, filters, 3, padding=1))
            if spec.get("batchnorm"):
                layers.append(nn.BatchNorm2d(filters))
            layers += [nn.ReLU(), nn.MaxPool2d(2)]
            channels = filters
        layers.append(nn.Flatten())
        width = channels * (8 // 2 ** len(spec["conv"])) ** 2
    for hidden in spec["hidden"]:
        layers.append(nn.Linear(width, hidden))
        if spec.get("batchnorm"):
            layers.append(nn.BatchNorm1d(hidden))
        layers.append(nn.ReLU())
        if spec.get("dropout"):
            layers.append(nn.Dropout(spec["dropout"]))
        width = hidden
    layers.append(nn.Linear(width, split.classes or 1))
    return nn.Sequential(*layers)


def optimizer(spec: dict, parameters) -> torch.optim.Optimizer:
    name, lr = spec.get("optimizer", "adam"), spec.get("lr", 1e-3)
    decay = spec.get("weight_decay", 0.0)
    if name == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=decay)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=0.9, weight_decay=decay)
    return torch.optim.Adam(parameters, lr=lr, weight_decay=decay)


def augment(spec: dict, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gaussian noise on the inputs; on the digits also a random horizontal flip."""
    kind = spec.get("augment")
    if not kind:
        return x
    if "flip" in kind:
        images = x.view(-1, 8, 8)
        flip = torch.rand(len(x), generator=generator) < 0.5
        images = torch.where(flip[:, None, None], images.flip(-1), images)
        x = images.reshape(len(x), -1)
    if "noise" in kind:
        x = x + spec.get("noise_std", 0.1) * torch.randn(x.shape, generator=generator)
    return x


def loss_fn(split: data.Split, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if split.classes:
        return nn.functional.cross_entropy(out, y)
    return nn.functional.mse_loss(out[:, 0], y)


def tensors(split: data.Split) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    return {
        part: (torch.from_numpy(getattr(split, f"x_{part}")), torch.from_numpy(y))
        for part, y in (("train", split.y_train), ("val", split.y_val), ("held", split.y_held))
    }


@torch.no_grad()
def measure(
    model: nn.Module, split: data.Split, x: torch.Tensor, y: torch.Tensor
) -> tuple[float, float | None]:
    """Loss and accuracy (None for regression) in eval mode; the model's mode is restored."""
    was_training = model.training
    model.eval()
    out = model(x)
    model.train(was_training)
    loss = loss_fn(split, out, y).item()
    accuracy = (out.argmax(1) == y).float().mean().item() if split.classes else None
    return loss, accuracy
