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
    index: np.ndarray | None = None
    """A downsampled series (``overfitlint.downsample``): each point's position in the full
    series; None: this is the full series."""
    total: int | None = None
    """A downsampled series: the number of points of the full series."""

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def count(self) -> int:
        """Points in the log (more than ``len()`` when this is a downsampled view)."""
        return len(self) if self.total is None else self.total

    def position(self, point: int) -> int:
        """Where point ``point`` of this series is in the full series."""
        return point if self.index is None else int(self.index[point])

    def finite(self) -> Series:
        """The points whose value is a finite number."""
        keep = np.isfinite(self.values)
        return self if keep.all() else self.subset(keep)

    def subset(self, rows: np.ndarray) -> Series:
        """The points ``rows`` (a mask or positions) picks, each with its line, origin and
        position in the full series."""
        origins = None if self.origins is None else self.origins[rows]
        index = None if self.index is None else self.index[rows]
        return Series(
            self.name,
            self.epochs[rows],
            self.values[rows],
            self.lines[rows],
            origins,
            index,
            self.total,
        )

    def to_dict(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "epochs": json_numbers(self.epochs, whole=True),
            "values": json_numbers(self.values),
            "lines": self.lines.tolist(),
        }
        if self.index is not None:
            out["downsampled"] = {"points": self.count, "positions": self.index.tolist()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Series:
        values = [float(v) for v in data.get("values") or []]
        downsampled = data.get("downsampled")
        index = total = None
        if isinstance(downsampled, Mapping):
            index = np.asarray(downsampled.get("positions") or [], dtype=np.int64)
            total = int(downsampled.get("points") or len(values))
            if index.shape[0] != len(values):
                raise ValueError(f"series {data.get('name')!r}: positions do not match values")
        return cls(
            str(data.get("name", "")),
            np.asarray(data.get("epochs") or [], dtype=np.float64),
            np.asarray(values, dtype=np.float64),
            np.asarray(data.get("lines") or [0] * len(values), dtype=np.int64),
            index=index,
            total=total,
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


def json_numbers(values: np.ndarray, whole: bool = False) -> list[Any]:
    """``values`` as a JSON list: NaN and inf spelt as strings and, with ``whole``, integral
    values written as integers (epoch 3, not 3.0)."""
    finite = np.isfinite(values)
    integral = finite & (values == np.round(values)) if whole else np.zeros(0, dtype=bool)
    small = integral & (np.abs(values) < 2.0**62) if whole else integral
    if whole and small.all():
        return values.astype(np.int64).tolist()
    if finite.all() and not integral.any():
        return values.tolist()
    out = values.astype(object)
    if integral.any():  # Python ints, exact however large (an epoch of 1e300 is a whole number)
        out[integral] = [int(v) for v in values[integral].tolist()]
    if not finite.all():
        out[~finite] = [str(v) for v in values[~finite].tolist()]
    return out.tolist()
