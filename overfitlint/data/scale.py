"""How far apart the scales of the training features are, and whether pixels are raw 0-255."""

from __future__ import annotations

import numpy as np

from overfitlint.data.arrays import DataArrays
from overfitlint.data.columns import ColumnStats
from overfitlint.data.facts import Scale

PIXEL_FEATURES = 64
"""A table with at least this many 0..255 integer columns is taken for flattened images."""
_INTEGER_SAMPLE = 10_000


def _ratio(names: list[str], stds: np.ndarray) -> tuple[float | None, str | None, str | None]:
    varying = np.flatnonzero(stds > 0)
    if len(varying) < 2:
        return None, None, None
    big = varying[np.argmax(stds[varying])]
    small = varying[np.argmin(stds[varying])]
    return float(stds[big] / stds[small]), names[big], names[small]


def column_scale(arrays: DataArrays, stats: ColumnStats, features: list[str]) -> Scale:
    numeric = ~arrays.categorical & (stats.finite > 0)
    varying = numeric & (stats.std > 0)
    skipped = [name for name, keep in zip(features, varying, strict=True) if not keep]
    names = [name for name, keep in zip(features, varying, strict=True) if keep]
    stds, means = stats.std[varying], stats.mean[varying]
    ratio, largest, smallest = _ratio(names, stds)
    minimum = float(np.min(stats.minimum[numeric])) if numeric.any() else float("nan")
    maximum = float(np.max(stats.maximum[numeric])) if numeric.any() else float("nan")
    sample = arrays.train.x[:_INTEGER_SAMPLE][:, numeric]
    integers = bool(np.all((sample == np.round(sample)) | ~np.isfinite(sample)))
    raw = int(numeric.sum()) >= PIXEL_FEATURES and integers and minimum >= 0 and 1 < maximum <= 255
    return Scale(
        unit="column",
        names=tuple(names),
        means=tuple(float(v) for v in means),
        stds=tuple(float(v) for v in stds),
        minimum=minimum,
        maximum=maximum,
        std_ratio=ratio,
        largest=largest,
        smallest=smallest,
        raw_pixels=raw,
        skipped=tuple(skipped),
    )


def channel_scale(arrays: DataArrays) -> Scale:
    moments = arrays.train.channel_moments
    assert moments is not None
    means = moments[:, :, 0].mean(axis=0)
    squares = moments[:, :, 1].mean(axis=0)
    stds = np.sqrt(np.maximum(squares - np.square(means), 0.0))
    names = list(arrays.channel_names)
    ratio, largest, smallest = _ratio(names, stds)
    brightest = float(moments[:, :, 3].max())
    return Scale(
        unit="channel",
        names=tuple(names),
        means=tuple(float(v) for v in means),
        stds=tuple(float(v) for v in stds),
        minimum=float(moments[:, :, 2].min()),
        maximum=brightest,
        std_ratio=ratio,
        largest=largest,
        smallest=smallest,
        raw_pixels=bool(arrays.raw_pixels and brightest > 1),
    )
