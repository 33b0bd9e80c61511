"""Real-looking learning curves to replay into trackers: a trial that overfits (training loss
falling, validation loss with a minimum then rising) and one that does not (both falling)."""

from __future__ import annotations

import numpy as np


def curve(kind: str, epochs: int = 30, seed: int = 0, level: float = 0.0) -> dict[str, list]:
    """{"train_loss": [...], "val_loss": [...]}; ``kind`` "diverging", "healthy" or
    "underfit" (both falling slowly to a high value); ``level`` lifts the validation curve."""
    rng = np.random.default_rng(seed)
    e = np.arange(epochs, dtype=float)
    noise = rng.normal(0.0, 0.004, size=(2, epochs))
    if kind == "diverging":
        train = 1.2 * np.exp(-e / 6.0) + 0.02
        val = 0.3 + 0.9 * np.exp(-e / 4.0) + 0.012 * np.maximum(0.0, e - 10.0) ** 1.2
    elif kind == "healthy":
        train = 1.1 * np.exp(-e / 9.0) + 0.15
        val = 1.0 * np.exp(-e / 10.0) + 0.22
    elif kind == "underfit":
        train = 1.3 * np.exp(-e / 40.0) + 0.5
        val = 1.3 * np.exp(-e / 40.0) + 0.55
    else:
        raise ValueError(kind)
    train, val = train + noise[0], val + level + noise[1]
    return {"train_loss": train.round(5).tolist(), "val_loss": val.round(5).tolist()}


def blend(dropout: float, epochs: int = 30, seed: int = 0) -> dict[str, list]:
    """A trial whose overfitting shrinks as dropout grows (0: diverges, 0.5: healthy)."""
    weight = min(1.0, max(0.0, dropout / 0.5))
    bad, good = curve("diverging", epochs, seed), curve("healthy", epochs, seed)
    return {
        key: [
            round((1 - weight) * b + weight * g, 5)
            for b, g in zip(bad[key], good[key], strict=True)
        ]
        for key in bad
    }
