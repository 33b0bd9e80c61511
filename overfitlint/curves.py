"""Learning curves read from training logs: every point remembers its file line."""

from __future__ import annotations

from collections.abc import Mapping
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
    origins: np.ndarray | None = None
    """Index into ``Curves.sources`` of each point's file, when a curve joins several files."""

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def finite(self) -> Series:
        """The points whose value is a finite number."""
        keep = np.isfinite(self.values)
        if keep.all():
            return self
        origins = None if self.origins is None else self.origins[keep]
        return Series(self.name, self.epochs[keep], self.values[keep], self.lines[keep], origins)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "epochs": [int(e) if float(e).is_integer() else e for e in self.epochs.tolist()],
            "values": [json_float(v) for v in self.values.tolist()],
            "lines": self.lines.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Series:
        values = [float(v) for v in data.get("values") or []]
        return cls(
            str(data.get("name", "")),
            np.asarray(data.get("epochs") or [], dtype=np.float64),
            np.asarray(values, dtype=np.float64),
            np.asarray(data.get("lines") or [0] * len(values), dtype=np.int64),
        )


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
    """What the loader assumed or repaired (shown in the output)."""
    axis: str = "epoch"
    """What the x values count: "epoch" (may be fractional) or "step"."""
    lr: str | None = None
    """The learning-rate series, when the log has one."""
    samples: int | None = None
    """Training samples per epoch the log implies (e.g. steps x batch size), if it tells."""
    samples_basis: str | None = None
    """How ``samples`` was worked out, in words."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Settings the log (or a file beside it, e.g. hparams.yaml) states: batch size, ..."""
    sources: list[str] = field(default_factory=list)
    """Every file this curve was read from, in order (one unless logs were joined)."""

    def get(self, name: str | None) -> Series | None:
        return self.series.get(name) if name else None

    @property
    def train_loss(self) -> Series | None:
        return self.get(self.loss.train)

    @property
    def val_loss(self) -> Series | None:
        return self.get(self.loss.val)

    def source_of(self, series: Series, index: int) -> str:
        """The file a point of ``series`` was read from."""
        if series.origins is not None and self.sources:
            return self.sources[int(series.origins[index])]
        return self.source

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "sources": list(self.sources or [self.source]),
            "format": self.format,
            "axis": self.axis,
            "lr": self.lr,
            "samples": self.samples,
            "samples_basis": self.samples_basis,
            "meta": dict(self.meta),
            "loss": {
                "train": self.loss.train,
                "val": self.loss.val,
                "lower_is_better": self.loss.lower_is_better,
            },
            "accuracy": (
                {"train": self.accuracy.train, "val": self.accuracy.val} if self.accuracy else None
            ),
            "series": {name: s.to_dict() for name, s in self.series.items()},
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Curves:
        loss = data.get("loss") or {}
        accuracy = data.get("accuracy")
        return cls(
            source=str(data.get("source", "")),
            format=str(data.get("format", "")),
            series={
                str(name): Series.from_dict({**item, "name": name})
                for name, item in (data.get("series") or {}).items()
            },
            loss=MetricPair(
                loss.get("train"), loss.get("val"), bool(loss.get("lower_is_better", True))
            ),
            accuracy=(
                MetricPair(accuracy.get("train"), accuracy.get("val"), False) if accuracy else None
            ),
            notes=list(data.get("notes") or []),
            axis=str(data.get("axis", "epoch")),
            lr=data.get("lr"),
            samples=data.get("samples"),
            samples_basis=data.get("samples_basis"),
            meta=dict(data.get("meta") or {}),
            sources=list(data.get("sources") or []),
        )


def json_float(value: float) -> float | str:
    """JSON has no NaN/inf: spell them as strings so the output stays valid JSON."""
    return value if np.isfinite(value) else str(value)
