"""Chart geometry for the HTML report: data in, coordinates out (no markup here).

One chart per metric pair (loss, accuracy). Every log given to the check is one
*run*; several runs are overlaid on the same charts. Long curves are thinned by the
downsampler the JSON result uses (``overfitlint.downsample``): first to what the JSON keeps,
then to at most ``Frame.max_points`` points per series, keeping the curve's shape, its lowest
and highest points and every point a finding names; so a saved JSON result draws the same
charts as the live run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np

from overfitlint import downsample
from overfitlint.curves import Curves, MetricPair
from overfitlint.curves import Series as CurveSeries
from overfitlint.render.reading import (
    best_epoch,
    findings_about,
    number,
    series_best,
    severity_rank,
    value_at,
    worst,
)
from overfitlint.report import Report


@dataclass(frozen=True)
class Frame:
    """The size of one drawing of a chart, in SVG user units."""

    name: str
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    max_points: int  # per series
    x_ticks: int  # about this many epoch ticks
    char: float  # the width of a label character, to keep labels apart


# Each chart is drawn twice: wide for screens and print, narrow (taller, fewer ticks) for
# phones; CSS shows one of them. Text keeps a readable size in both.
WIDE = Frame("wide", 760, 300, 66, 18, 30, 46, max_points=600, x_ticks=8, char=7.2)
NARROW = Frame("narrow", 400, 300, 48, 12, 30, 44, max_points=300, x_ticks=4, char=7.4)
FRAMES = (WIDE, NARROW)
MAX_POINTS = WIDE.max_points
LOG_RATIO = 30.0
"""A loss whose largest value is this many times its smallest is drawn on a log scale."""

PAIRS: tuple[tuple[str, str, bool, Callable[[Curves], MetricPair | None]], ...] = (
    # (key, chart title, lower is better, the log's pair)
    ("loss", "Loss", True, lambda curves: curves.loss),
    ("accuracy", "Accuracy", False, lambda curves: curves.accuracy),
)

Point = tuple[float, float]


@dataclass
class Line:
    """One drawn series: a metric of one run."""

    name: str
    role: str  # "train" or "val"
    run: int
    path: str  # SVG path data ("M x y L x y ...")
    drawn: int  # points drawn (after thinning)
    total: int  # points in the log


@dataclass
class Marker:
    """A vertical line at an epoch (best epoch, divergence onset)."""

    kind: str  # "best" or "onset"
    run: int
    epoch: float
    x: float
    label: str
    label_y: float
    anchor: str  # SVG text-anchor of its label


@dataclass
class Shade:
    run: int
    x: float
    width: float
    label: str
    diverged: bool  # a symptom about this run's validation loss: the epochs past the best


@dataclass
class Dot:
    run: int
    x: float
    y: float
    label: str


@dataclass
class Tick:
    pos: float
    label: str


@dataclass
class Chart:
    id: str
    metric: str  # "loss" or "accuracy"
    title: str
    y_label: str
    series: list[Line]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    log_scale: bool
    summary: list[str]
    markers: list[Marker] = field(default_factory=list)
    shades: list[Shade] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    gaps: list[Dot] = field(default_factory=list)  # non-finite values, drawn on the x axis
    onset_by: list[str] = field(default_factory=list)  # codes of the findings that found onsets
    thinned: bool = False
    frame: Frame = WIDE
    plot: dict[str, float] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return self.frame.width

    @property
    def height(self) -> int:
        return self.frame.height

    @property
    def max_points(self) -> int:
        return self.frame.max_points


@dataclass
class Figure:
    """One metric pair: the same chart drawn for wide and for narrow screens."""

    id: str
    metric: str
    title: str
    views: list[Chart]

    @property
    def main(self) -> Chart:
        return self.views[0]


@dataclass
class Run:
    """One log file, as the charts see it."""

    index: int
    source: str
    label: str
    best_epoch: float | None
    """The one best epoch (``reading.best_epoch``): a finding's ``best_epoch``, else the
    logged minimum of the validation loss."""
    onset_epoch: float | None
    last_epoch: float | None
    diverged: bool
    """A symptom (warning or above) about this log's validation loss: the epochs past the best
    are the problem."""
    onset_by: tuple[str, ...] = ()
    """The codes of the findings that measured the onset."""
    tone: str = "ok"
    """The worst severity of the symptoms about this log's validation loss ("ok": none)."""


# -- data ----------------------------------------------------------------------------------


def segments(series: CurveSeries) -> tuple[list[list[Point]], list[float]]:
    """The finite points of a series, split where a value is NaN/inf, and those epochs."""
    count = min(len(series.epochs), len(series.values))
    if not count:
        return [], []
    x = np.asarray(series.epochs[:count], dtype=float)
    y = np.asarray(series.values[:count], dtype=float)
    keep = np.isfinite(x)  # a point without a usable epoch is left out, not a gap
    x, y = x[keep], y[keep]
    good = np.isfinite(y)
    bad = x[~good].tolist()
    # runs of finite values between the non-finite ones
    edges = np.flatnonzero(np.diff(np.concatenate(([0], good.view(np.int8), [0]))))
    parts = [
        list(zip(x[start:end].tolist(), y[start:end].tolist(), strict=True))
        for start, end in zip(edges[::2], edges[1::2], strict=True)
    ]
    return parts, bad


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not high > low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = []
    value = math.ceil(low / step) * step
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


MAX_DECADE_TICKS = 12


def log_ticks(low: float, high: float) -> list[float]:
    """Decades between 10**low and 10**high (every n-th one over a huge range); with 2 and 5
    in between when few decades. Worked out in log space: 1e-308 does not underflow."""
    span = high - low
    stride = max(1, math.ceil(span / MAX_DECADE_TICKS))
    decades = range(math.floor(low), math.ceil(high) + 1, stride)
    steps = (1,) if span > 2.5 else (1, 2, 5)
    return [
        m * 10.0**e
        for e in decades
        for m in steps
        if low <= math.log10(m) + e <= high + 1e-12 and 0.0 < m * 10.0**e < math.inf
    ]


def fmt(value: float) -> str:
    """A short axis or summary label: 3 significant digits, integers as integers."""
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


def _run_label(source: str, sources: list[str]) -> str:
    """The shortest tail of ``source``'s path that tells it apart from the other logs."""
    parts = PurePath(source).parts
    others = [PurePath(s).parts for s in sources if s != source]
    for count in range(1, len(parts) + 1):
        tail = parts[-count:]
        if all(other[-count:] != tail for other in others):
            return "/".join(tail)
    return source


# -- runs and their markers ------------------------------------------------------------------


def _last_epoch(curves: Curves) -> float | None:
    """The latest epoch that ends a stretch of finite points, over every series."""
    ends = []
    for series in curves.series.values():
        good = np.isfinite(series.epochs) & np.isfinite(series.values)
        last = good & ~np.append(good[1:], False)
        if last.any():
            ends.append(float(np.max(series.epochs[last])))
    return max(ends) if ends else None


WARNING = severity_rank("warning")


def runs_of(report: Report) -> list[Run]:
    sources = [log.source for log in report.logs]
    runs = []
    for index, curves in enumerate(report.logs):
        about = findings_about(report, curves, curves.loss.val)
        symptoms = [f for f in about if f.role == "symptom"]
        onsets = [
            (number(f.evidence_value("onset_epoch")), f.code)
            for f in about
            if number(f.evidence_value("onset_epoch")) is not None
        ]
        runs.append(
            Run(
                index=index,
                source=curves.source,
                label=_run_label(curves.source, sources),
                best_epoch=best_epoch(report, curves),
                onset_epoch=onsets[0][0] if onsets else None,
                last_epoch=_last_epoch(curves),
                diverged=any(severity_rank(f.severity) >= WARNING for f in symptoms),
                onset_by=tuple(dict.fromkeys(code for _, code in onsets)),
                tone=worst(symptoms) or "ok",
            )
        )
    return runs


# -- one chart -------------------------------------------------------------------------------


def _path(points: list[list[Point]], sx, sy) -> str:
    """SVG path data; after the ``M`` of each segment the pairs are implicit line-tos."""
    return " ".join("M" + " ".join(f"{sx(x):.1f} {sy(y):.1f}" for x, y in part) for part in points)


def _summary(name: str, role: str, parts: list[list[Point]], best: float | None) -> str:
    """One line per series. A validation series is read at its best epoch (so that the
    percentage is the one of the two values shown); a training series where it started and
    ended. Values with 4 significant digits, as the cards show them."""
    points = [p for part in parts for p in part]
    first, last = points[0], points[-1]
    end = f"last {_value(last[1])} at epoch {fmt(last[0])}"
    if role != "val":
        start = f"{_value(first[1])} at epoch {fmt(first[0])}"
        return f"{name}: {start} to {_value(last[1])} at epoch {fmt(last[0])}"
    at_best = next((y for x, y in points if x == best), None)
    if best is None or at_best is None:
        return f"{name}: {end}"
    change = ""
    if at_best != 0 and last[0] != best:
        change = f" ({(last[1] / at_best - 1) * 100:+.1f}% on the best)"
    return f"{name}: {_value(at_best)} at its best epoch {fmt(best)}, {end}{change}"


def _value(value: float) -> str:
    return f"{value:.4g}"


class Bounded:
    """The report's series as the charts draw them: bounded once by the JSON's downsampler
    (the same points a saved result holds), then thinned for each frame."""

    def __init__(self, report: Report) -> None:
        self.epochs, self.lines = downsample.named_points((*report.findings, *report.suppressed))
        self._shown: dict[tuple[int, str], CurveSeries] = {}

    def shown(self, run: int, series: CurveSeries) -> CurveSeries:
        key = (run, series.name)
        if key not in self._shown:
            self._shown[key] = downsample.bounded(
                series, downsample.MAX_POINTS, self.epochs, self.lines
            )
        return self._shown[key]

    def drawn(self, shown: CurveSeries, frame: Frame) -> CurveSeries:
        return downsample.bounded(shown, frame.max_points, self.epochs, self.lines)


def build_chart(
    report: Report,
    runs: list[Run],
    key: str,
    title: str,
    lower_is_better: bool,
    frame: Frame = WIDE,
    bounded: Bounded | None = None,
) -> Chart | None:
    """The chart of one metric pair over every run, or None when no run logged it."""
    pair_of = next(get for k, _, _, get in PAIRS if k == key)
    wanted: list[tuple[Run, str, CurveSeries, list[list[Point]], list[float]]] = []
    names: list[str] = []
    bounded = bounded or Bounded(report)
    for run in runs:
        curves = report.logs[run.index]
        pair = pair_of(curves)
        if pair is None:
            continue
        for role, name in (("train", pair.train), ("val", pair.val)):
            series = curves.get(name)
            if series is None:
                continue
            shown = bounded.shown(run.index, series)
            parts, bad = segments(shown)
            if parts or bad:
                wanted.append((run, role, shown, parts, bad))
                if series.name not in names:
                    names.append(series.name)
    points = [p for *_, parts, _ in wanted for part in parts for p in part]
    if not points:
        return None
    bests = {
        (run.index, shown.name): series_best(report, report.logs[run.index], shown, lower_is_better)
        for run, role, shown, _, _ in wanted
        if role == "val"
    }

    xs = [x for x, _ in points] + [x for *_, bad in wanted for x in bad]
    ys = [y for _, y in points]
    x_low, x_high = min(xs), max(xs)
    if x_high == x_low:
        x_low, x_high = x_low - 0.5, x_high + 0.5
    log_scale = lower_is_better and min(ys) > 0 and max(ys) / min(ys) >= LOG_RATIO
    ty = math.log10 if log_scale else (lambda y: y)
    y_low, y_high = ty(min(ys)), ty(max(ys))
    if y_high == y_low:
        y_low, y_high = y_low - 0.5, y_high + 0.5
    pad = (y_high - y_low) * 0.06
    y_low, y_high = y_low - pad, y_high + pad
    plot = {
        "left": frame.left,
        "top": frame.top,
        "right": frame.width - frame.right,
        "bottom": frame.height - frame.bottom,
    }
    plot_w, plot_h = plot["right"] - plot["left"], plot["bottom"] - plot["top"]

    def sx(x: float) -> float:
        return round(plot["left"] + (x - x_low) / (x_high - x_low) * plot_w, 1)

    def sy(y: float) -> float:
        return round(plot["top"] + (1 - (ty(y) - y_low) / (y_high - y_low)) * plot_h, 1)

    series, summary, gaps, thinned = [], [], [], False
    for run, role, shown, parts, bad in wanted:
        name = shown.name
        drawn_parts, _ = segments(bounded.drawn(shown, frame))
        drawn = sum(len(p) for p in drawn_parts)
        thinned = thinned or drawn < shown.count
        if parts:
            line = Line(name, role, run.index, _path(drawn_parts, sx, sy), drawn, shown.count)
            series.append(line)
            text = _summary(name, role, parts, bests.get((run.index, name)))
            summary.append(f"{run.label}: {text}" if len(runs) > 1 else text)
        for x in bad:
            gaps.append(
                Dot(run.index, sx(x), plot["bottom"], f"{name} is not finite at epoch {fmt(x)}")
            )

    if log_scale:
        y_ticks = [Tick(sy(t), fmt(t)) for t in log_ticks(y_low, y_high)]
    else:
        y_ticks = [Tick(sy(t), fmt(t)) for t in nice_ticks(y_low, y_high)]
    x_values = nice_ticks(x_low, x_high, frame.x_ticks)
    x_ticks = [Tick(sx(t), fmt(t)) for t in x_values]

    chart = Chart(
        id=f"chart-{key}-{frame.name}",
        metric=key,
        title=title,
        y_label=" / ".join(names) + (" (log scale)" if log_scale else ""),
        series=series,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        log_scale=log_scale,
        summary=summary,
        gaps=gaps,
        thinned=thinned,
        frame=frame,
        plot=plot,
    )
    _mark(chart, report, runs, key, sx, sy)
    return chart


def _mark(
    chart: Chart,
    report: Report,
    runs: list[Run],
    key: str,
    sx: Callable[[float], float],
    sy: Callable[[float], float],
) -> None:
    """Best epoch, divergence onset, the epochs past the best, and the best point."""
    plot = chart.plot
    several = len(runs) > 1
    label_y = plot["top"] - 8
    for run in runs:
        if run.best_epoch is None:
            continue
        suffix = f" ({run.label})" if several else ""
        best = run.best_epoch
        chart.markers.append(
            Marker("best", run.index, best, sx(best), f"best {fmt(best)}", label_y, "end")
        )
        if run.last_epoch is not None and run.last_epoch > best:
            past = run.last_epoch - best
            chart.shades.append(
                Shade(
                    run.index,
                    sx(best),
                    round(sx(run.last_epoch) - sx(best), 1),
                    f"{fmt(past)} epochs past the best epoch {fmt(best)}{suffix}",
                    run.diverged,
                )
            )
        if run.onset_epoch is not None:
            onset = run.onset_epoch
            chart.markers.append(
                Marker(
                    "onset", run.index, onset, sx(onset), f"onset {fmt(onset)}", label_y, "start"
                )
            )
        curves = report.logs[run.index]
        at_best = value_at(curves.val_loss, best) if key == "loss" else None
        if at_best is not None:
            chart.dots.append(
                Dot(
                    run.index,
                    sx(best),
                    sy(at_best),
                    f"best {curves.loss.val} {fmt(at_best)} at epoch {fmt(best)}{suffix}",
                )
            )
    chart.onset_by = list(
        dict.fromkeys(code for run in runs if run.onset_epoch is not None for code in run.onset_by)
    )
    _spread_labels(chart)


def _spread_labels(chart: Chart) -> None:
    """Drop marker labels that would overlap an earlier one (their lines stay, with titles)."""
    placed: list[tuple[float, float]] = []
    kept = []
    for marker in chart.markers:
        width = chart.frame.char * len(marker.label)
        start = marker.x - width - 4 if marker.anchor == "end" else marker.x + 4
        span = (start, start + width)
        if any(span[0] < b and a < span[1] for a, b in placed):
            marker.label = ""
        else:
            placed.append(span)
        kept.append(marker)
    chart.markers = kept


def charts_for(report: Report, runs: list[Run] | None = None) -> list[Figure]:
    """One figure per metric pair (loss, then accuracy), every log overlaid as a run."""
    runs = runs_of(report) if runs is None else runs
    bounded = Bounded(report)
    figures = []
    for key, title, lower_is_better, _ in PAIRS:
        views = [build_chart(report, runs, key, title, lower_is_better, f, bounded) for f in FRAMES]
        if all(views):
            figures.append(Figure(f"chart-{key}", key, title, [v for v in views if v]))
    return figures
