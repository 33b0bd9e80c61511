"""What the curve rules share: epochs as the log numbers them, file locations, the logged
best point, and the part of a log that describes the weights that ship.

One definition of the best epoch everywhere: the epoch (as the log numbers it) of the logged
minimum of the validation loss (the maximum of a higher-is-better metric). Smoothed or averaged
values, where a rule uses them, are named as such in its messages and evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from overfitlint.curves import Curves, Series
from overfitlint.facts import KeptEpoch
from overfitlint.findings import Location
from overfitlint.measures import median


def epoch_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 3)


def location(curves: Curves, series: Series, index: int) -> Location:
    line = int(series.lines[index])
    return Location(
        file=curves.source_of(series, index),
        line=line or None,
        epoch=epoch_number(series.epochs[index]),
    )


def best_index(series: Series, lower_is_better: bool = True) -> int:
    """The logged best point of finite ``series`` (the first one when tied)."""
    values = series.values
    return int(np.argmin(values) if lower_is_better else np.argmax(values))


def spacing(series: Series) -> float:
    return median(np.diff(series.epochs)) if len(series) > 1 else 1.0


def points(count: int, axis: str) -> str:
    """``12 epochs`` on an epoch axis; on a step axis the points are evaluations."""
    unit = "epoch" if axis == "epoch" else "evaluation"
    return f"{count} {unit}{'s' if count != 1 else ''}"


def until(series: Series, epoch: float) -> Series:
    keep = series.epochs <= epoch
    origins = None if series.origins is None else series.origins[keep]
    return Series(
        series.name, series.epochs[keep], series.values[keep], series.lines[keep], origins
    )


@dataclass(frozen=True)
class Shipped:
    """The part of a log the shipped weights saw: up to the kept epoch, when it is known."""

    curves: Curves
    """The log, cut after the kept epoch (the whole log when it is unknown)."""
    kept: KeptEpoch | None = None
    kept_epoch: float | None = None
    """The logged epoch the kept weights match (None: unknown, or not in this log)."""
    after: int = 0
    """Validation points logged after the kept epoch."""


def shipped(curves: Curves, kept: KeptEpoch | None) -> Shipped:
    """Cut ``curves`` after the kept epoch; a kept epoch outside the log leaves it whole (a
    separate rule reports the mismatch)."""
    val = curves.val_loss.finite() if curves.val_loss is not None else None
    if kept is None or val is None or len(val) == 0:
        return Shipped(curves)
    tolerance = spacing(val) / 2
    index = int(np.argmin(np.abs(val.epochs - kept.epoch)))
    if abs(float(val.epochs[index]) - kept.epoch) > tolerance:
        return Shipped(curves, kept)
    cut = float(val.epochs[index])
    after = len(val) - 1 - index
    if after == 0:
        return Shipped(curves, kept, cut, 0)
    series = {name: until(s, cut + 1e-9) for name, s in curves.series.items()}
    return Shipped(replace(curves, series=series), kept, cut, after)
