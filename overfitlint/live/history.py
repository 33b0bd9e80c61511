"""The metrics a training run has reported so far, kept as growing arrays.

Appending is O(1) amortised (capacity doubles); building ``Curves`` for the rules takes views
of the arrays, not copies, so a judgement costs what the rules cost and nothing more. The
curves have no file: every point's line is 0, which findings show as "no line".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from overfitlint.curves import Curves, MetricPair, Series
from overfitlint.loaders.logs.metric_names import choose_pairs, is_learning_rate

INITIAL_CAPACITY = 64


class Column:
    """A float64 array that grows by doubling."""

    def __init__(self) -> None:
        self._data = np.empty(INITIAL_CAPACITY, dtype=np.float64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, value: float) -> None:
        if self._size == self._data.shape[0]:
            grown = np.empty(2 * self._data.shape[0], dtype=np.float64)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size] = value
        self._size += 1

    def view(self) -> np.ndarray:
        """The values so far; later appends never change this view."""
        return self._data[: self._size]


def as_number(value: object) -> float | None:
    """A reported metric as a float (Python and numpy numbers, 0-d tensors); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    item = getattr(value, "item", None)
    if item is None or getattr(value, "ndim", 0) != 0:
        return None
    try:
        number = item()
    except (TypeError, ValueError, RuntimeError):
        return None
    if isinstance(number, bool) or not isinstance(number, int | float):
        return None
    return float(number)


class History:
    """Every metric reported by ``add``, per name, with the epoch it was reported at."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._epochs: dict[str, Column] = {}
        self._values: dict[str, Column] = {}
        self._zeros = np.zeros(0, dtype=np.int64)

    @property
    def names(self) -> list[str]:
        return list(self._values)

    def add(self, epoch: float, metrics: Mapping[str, object]) -> dict[str, float]:
        """Record the numeric metrics of one epoch; returns those it kept."""
        kept = {}
        for name, raw in metrics.items():
            value = as_number(raw)
            if value is None:
                continue
            if name not in self._values:
                self._epochs[name], self._values[name] = Column(), Column()
            self._epochs[name].append(epoch)
            self._values[name].append(value)
            kept[name] = value
        return kept

    def series(self, name: str) -> Series | None:
        if name not in self._values:
            return None
        epochs, values = self._epochs[name].view(), self._values[name].view()
        if self._zeros.shape[0] < values.shape[0]:
            self._zeros = np.zeros(2 * values.shape[0], dtype=np.int64)
        return Series(name, epochs, values, self._zeros[: values.shape[0]])

    def curves(self, loss: MetricPair, lr: str | None) -> Curves:
        names = [n for n in (loss.train, loss.val, lr) if n]
        series = {n: s for n in dict.fromkeys(names) if (s := self.series(n)) is not None}
        return Curves(self.source, "live", series, loss, lr=lr if lr in series else None)

    def all_curves(self, loss: MetricPair, accuracy: MetricPair | None, lr: str | None) -> Curves:
        """Every metric, for the final report (charts of every pair)."""
        series = {n: s for n in self.names if (s := self.series(n)) is not None}
        return Curves(self.source, "live", series, loss, accuracy, lr=lr if lr in series else None)


def learning_rate_name(names: Iterable[str]) -> str | None:
    return next((name for name in names if is_learning_rate(name)), None)


def pair_metrics(
    names: Iterable[str], monitor: str | None, source: str
) -> tuple[MetricPair, MetricPair | None]:
    """The loss pair (or the pair of the monitored metric) and the accuracy pair, chosen the
    way the log loaders choose them."""
    pairing = choose_pairs(list(names), source, val_metric=monitor)
    return pairing.loss, pairing.accuracy
