"""Learning curves read from training logs: every point remembers its file line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Series:
    """One metric over epochs. ``lines`` holds the 1-based file line of each point."""

    name: str
    epochs: np.ndarray
    values: np.ndarray
    lines: np.ndarray

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def finite(self) -> Series:
        """The points whose value is a finite number."""
        keep = np.isfinite(self.values)
        return Series(self.name, self.epochs[keep], self.values[keep], self.lines[keep])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "epochs": [int(e) if float(e).is_integer() else e for e in self.epochs.tolist()],
            "values": [json_float(v) for v in self.values.tolist()],
            "lines": self.lines.tolist(),
        }


@dataclass
class MetricPair:
    """A training metric and its validation twin, e.g. loss / val_loss."""

    train: str | None
    val: str | None
    lower_is_better: bool = True


@dataclass
class Curves:
    """All series of one log file, and which of them are the loss (and accuracy) pair."""

    source: str
    format: str
    series: dict[str, Series]
    loss: MetricPair
    accuracy: MetricPair | None = None
    notes: list[str] = field(default_factory=list)

    def get(self, name: str | None) -> Series | None:
        return self.series.get(name) if name else None

    @property
    def train_loss(self) -> Series | None:
        return self.get(self.loss.train)

    @property
    def val_loss(self) -> Series | None:
        return self.get(self.loss.val)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "loss": {"train": self.loss.train, "val": self.loss.val},
            "accuracy": (
                {"train": self.accuracy.train, "val": self.accuracy.val} if self.accuracy else None
            ),
            "series": {name: s.to_dict() for name, s in self.series.items()},
            "notes": list(self.notes),
        }


def json_float(value: float) -> float | str:
    """JSON has no NaN/inf: spell them as strings so the output stays valid JSON."""
    return value if np.isfinite(value) else str(value)
