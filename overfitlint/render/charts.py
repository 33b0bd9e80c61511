"""Chart geometry for the HTML report: data in, coordinates out (no markup here)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40


@dataclass
class Line:
    label: str
    role: str  # "train" or "val"
    points: str  # "x,y x,y ..." for an SVG polyline


@dataclass
class Chart:
    title: str
    source: str
    metric: str
    lines: list[Line]
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    log_scale: bool
    best: tuple[float, str] | None = None
    onset: tuple[float, str] | None = None
    shade_from: float | None = None
    width: int = WIDTH
    height: int = HEIGHT
    plot: dict[str, float] = field(default_factory=dict)


def _finite_points(series: dict[str, Any]) -> list[tuple[float, float]]:
    return [
        (float(e), float(v))
        for e, v in zip(series["epochs"], series["values"], strict=True)
        if isinstance(v, (int, float)) and math.isfinite(v)
    ]


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.ceil(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _label(value: float) -> str:
    return f"{value:.3g}"


def build_chart(
    log: dict[str, Any], train: str | None, val: str | None, markers: dict[str, Any]
) -> Chart | None:
    """A chart of one metric pair of one log, or None when there is nothing to draw."""
    series = [(name, role) for name, role in ((train, "train"), (val, "val")) if name]
    data = {name: _finite_points(log["series"][name]) for name, _ in series}
    all_points = [p for pts in data.values() for p in pts]
    if not all_points:
        return None
    xs = [x for x, _ in all_points]
    ys = [y for _, y in all_points]
    x_low, x_high = min(xs), max(xs)
    if x_high == x_low:
        x_high = x_low + 1
    log_scale = min(ys) > 0 and max(ys) / min(ys) > 50
    transform = math.log10 if log_scale else (lambda y: y)
    y_low, y_high = transform(min(ys)), transform(max(ys))
    if y_high == y_low:
        y_high = y_low + 1
    pad = (y_high - y_low) * 0.05
    y_low, y_high = y_low - pad, y_high + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return round(LEFT + (x - x_low) / (x_high - x_low) * plot_w, 2)

    def sy(y: float) -> float:
        return round(TOP + (1 - (transform(y) - y_low) / (y_high - y_low)) * plot_h, 2)

    lines = [
        Line(name, role, " ".join(f"{sx(x)},{sy(y)}" for x, y in data[name]))
        for name, role in series
        if data[name]
    ]
    if log_scale:
        y_ticks = [
            (sy(10**e), _label(10**e))
            for e in range(math.floor(y_low), math.ceil(y_high) + 1)
            if y_low <= e <= y_high
        ]
    else:
        y_ticks = [(sy(t), _label(t)) for t in _nice_ticks(y_low, y_high)]
    x_ticks = [(sx(t), _label(t)) for t in _nice_ticks(x_low, x_high, 6)]
    chart = Chart(
        title=f"{' / '.join(n for n, _ in series)}",
        source=log["source"],
        metric=val or train or "",
        lines=lines,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        log_scale=log_scale,
        plot={"left": LEFT, "top": TOP, "right": WIDTH - RIGHT, "bottom": HEIGHT - BOTTOM},
    )
    if "best_epoch" in markers:
        chart.best = (sx(markers["best_epoch"]), f"best epoch {markers['best_epoch']}")
        chart.shade_from = chart.best[0]
    if "onset_epoch" in markers:
        chart.onset = (sx(markers["onset_epoch"]), f"onset epoch {markers['onset_epoch']}")
    return chart


def best_epoch_of(
    log: dict[str, Any], val: str | None, lower_is_better: bool = True
) -> float | None:
    if not val:
        return None
    points = _finite_points(log["series"][val])
    if not points:
        return None
    pick = min if lower_is_better else max
    return pick(points, key=lambda p: p[1])[0]


def charts_for(report: dict[str, Any]) -> list[Chart]:
    """One chart per metric pair per log, with OFL301's markers where it fired."""
    divergence = {
        f["location"]["file"]: {e["name"]: e["value"] for e in f["evidence"]}
        for f in report["findings"]
        if f["code"] == "OFL301"
    }
    charts = []
    for log in report["logs"]:
        found = divergence.get(log["source"], {})
        pairs = [(log["loss"], True)]
        if log.get("accuracy"):
            pairs.append((log["accuracy"], False))
        for pair, is_loss in pairs:
            markers: dict[str, Any] = {}
            if is_loss and found:
                markers = {"best_epoch": found["best_epoch"], "onset_epoch": found["onset_epoch"]}
            elif is_loss:
                best = best_epoch_of(log, pair["val"])
                if best is not None:
                    markers = {"best_epoch": best}
            chart = build_chart(log, pair["train"], pair["val"], markers)
            if chart:
                if is_loss and not found:
                    chart.shade_from = None
                charts.append(chart)
    return charts
