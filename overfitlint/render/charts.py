"""Chart geometry for the HTML report: data in, coordinates out (no markup here).

One chart per metric pair (loss, accuracy). Every log given to the check is one
*run*; several runs are overlaid on the same charts. Long curves are thinned to
at most ``MAX_POINTS`` points per series, keeping each bucket's minimum and
maximum so that spikes and the best epoch survive.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import numpy as np


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

PAIRS = (
    # (key in a log document, chart title, lower is better)
    ("loss", "Loss", True),
    ("accuracy", "Accuracy", False),
)

Point = tuple[float, float]


@dataclass
class Series:
    """One line: a metric of one run."""

    name: str
    role: str  # "train" or "val"
    run: int
    path: str  # SVG path data ("M x y L x y ...")
    drawn: int  # points drawn (after thinning)
    total: int  # finite points in the log


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
    diverged: bool  # OFL301 fired on this run: the epochs past the best are the problem


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
    series: list[Series]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    log_scale: bool
    summary: list[str]
    markers: list[Marker] = field(default_factory=list)
    shades: list[Shade] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    gaps: list[Dot] = field(default_factory=list)  # non-finite values, drawn on the x axis
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
    onset_epoch: float | None
    last_epoch: float | None
    from_finding: bool
    evidence: dict[str, Any] = field(default_factory=dict)
    """OFL301's evidence for this log, when it fired on it."""


# -- data ----------------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _as_floats(items: list[Any]) -> np.ndarray:
    """Numbers as floats; anything else (a "nan" string, None, text) as NaN."""
    array = np.asarray(items)
    if array.ndim == 1 and array.dtype.kind in "iuf":
        return array.astype(float)
    return np.array([v if (v := _number(item)) is not None else np.nan for item in items])


def segments(series: dict[str, Any]) -> tuple[list[list[Point]], list[float]]:
    """The finite points of a series, split where a value is NaN/inf/missing, and those epochs."""
    epochs, values = series.get("epochs"), series.get("values")
    if not isinstance(epochs, list) or not isinstance(values, list):
        return [], []
    count = min(len(epochs), len(values))
    if not count:
        return [], []
    x, y = _as_floats(epochs[:count]), _as_floats(values[:count])
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


def downsample(points: list[Point], limit: int) -> list[Point]:
    """At most ~``limit`` points in order: first, last, and each bucket's min and max."""
    if len(points) <= limit or limit < 4:
        return list(points)
    ys = np.fromiter((y for _, y in points), dtype=float, count=len(points))
    buckets = max(1, (limit - 2) // 2)
    edges = np.linspace(1, len(points) - 1, buckets + 1).astype(int)
    keep = {0, len(points) - 1}
    for start, end in itertools.pairwise(edges.tolist()):
        if end > start:
            chunk = ys[start:end]
            keep.add(start + int(np.argmin(chunk)))
            keep.add(start + int(np.argmax(chunk)))
    return [points[i] for i in sorted(keep)]


def _thin(parts: list[list[Point]], limit: int) -> list[list[Point]]:
    total = sum(len(p) for p in parts)
    if total <= limit:
        return parts
    return [downsample(p, max(4, round(limit * len(p) / total))) for p in parts]


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
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


def _log_ticks(low: float, high: float) -> list[float]:
    """Decades between 10**low and 10**high; with 2 and 5 in between when few decades."""
    decades = range(math.floor(low), math.ceil(high) + 1)
    steps = (1,) if high - low > 2.5 else (1, 2, 5)
    return [
        m * 10.0**e
        for e in decades
        for m in steps
        if low <= math.log10(m * 10.0**e) <= high + 1e-12
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


def _evidence(finding: dict[str, Any]) -> dict[str, Any]:
    evidence = finding.get("evidence")
    items = evidence if isinstance(evidence, list) else []
    return {e.get("name"): e.get("value") for e in items if isinstance(e, dict)}


def _divergence_by_source(report: dict[str, Any], sources: list[str]) -> dict[str, dict]:
    """OFL301's evidence for each log it fired on (matched by path, else by file name)."""
    found: dict[str, dict] = {}
    findings = report.get("findings")
    for finding in findings if isinstance(findings, list) else []:
        if not isinstance(finding, dict) or finding.get("code") != "OFL301":
            continue
        where = str(_dict(finding.get("location")).get("file") or "")
        match = where if where in sources else None
        if match is None:
            same_name = [s for s in sources if PurePath(s).name == PurePath(where).name]
            match = same_name[0] if len(same_name) == 1 else None
        if match and match not in found:
            found[match] = _evidence(finding)
    return found


def _best_of(log: dict[str, Any], name: str | None, lower_is_better: bool) -> float | None:
    series = _dict(_dict(log.get("series")).get(name)) if name else {}
    if not series:
        return None
    parts, _ = segments(series)
    points = [p for part in parts for p in part]
    if not points:
        return None
    pick = min if lower_is_better else max
    return pick(points, key=lambda p: p[1])[0]


def _last_epoch(log: dict[str, Any]) -> float | None:
    ends = []
    for series in _dict(log.get("series")).values():
        if not isinstance(series, dict):
            continue
        parts, _ = segments(series)
        ends.extend(part[-1][0] for part in parts)
    return max(ends) if ends else None


def logs_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's logs (runs are numbered in this list)."""
    logs = report.get("logs")
    return [log for log in logs if isinstance(log, dict)] if isinstance(logs, list) else []


def runs_of(report: dict[str, Any]) -> list[Run]:
    logs = logs_of(report)
    sources = [str(log.get("source", "")) for log in logs]
    divergence = _divergence_by_source(report, sources)
    runs = []
    for index, log in enumerate(logs):
        source = sources[index]
        found = divergence.get(source)
        loss = _dict(log.get("loss"))
        if found and _number(found.get("best_epoch")) is not None:
            best = _number(found.get("best_epoch"))
            onset = _number(found.get("onset_epoch"))
        else:
            best, onset = _best_of(log, loss.get("val"), True), None
        runs.append(
            Run(
                index=index,
                source=source,
                label=_run_label(source, sources),
                best_epoch=best,
                onset_epoch=onset,
                last_epoch=_last_epoch(log),
                from_finding=bool(found),
                evidence=dict(found or {}),
            )
        )
    return runs


# -- one chart -------------------------------------------------------------------------------


def _path(points: list[list[Point]], sx, sy) -> str:
    """SVG path data; after the ``M`` of each segment the pairs are implicit line-tos."""
    return " ".join("M" + " ".join(f"{sx(x):.1f} {sy(y):.1f}" for x, y in part) for part in points)


def _summary(name: str, role: str, parts: list[list[Point]], lower_is_better: bool) -> str:
    points = [p for part in parts for p in part]
    first, last = points[0], points[-1]
    if role == "val":
        pick = min if lower_is_better else max
        best = pick(points, key=lambda p: p[1])
        change = ""
        if best[1] != 0 and last[0] != best[0]:
            change = f", {(last[1] / best[1] - 1) * 100:+.1f}% on the best as logged"
        return (
            f"{name}: best {fmt(best[1])} at epoch {fmt(best[0])}, "
            f"last {fmt(last[1])} at epoch {fmt(last[0])}{change}"
        )
    start, end = (
        f"{fmt(first[1])} at epoch {fmt(first[0])}",
        f"{fmt(last[1])} at epoch {fmt(last[0])}",
    )
    return f"{name}: {start} to {end}"


def build_chart(
    report: dict[str, Any],
    runs: list[Run],
    key: str,
    title: str,
    lower_is_better: bool,
    frame: Frame = WIDE,
) -> Chart | None:
    """The chart of one metric pair over every run, or None when no run logged it."""
    logs = logs_of(report)
    wanted: list[tuple[Run, str, str, list[list[Point]], list[float]]] = []
    names: list[str] = []
    for run in runs:
        log = logs[run.index]
        pair = log.get(key)
        if not isinstance(pair, dict):
            continue
        for role in ("train", "val"):
            name = pair.get(role)
            series = _dict(log.get("series")).get(name) if isinstance(name, str) else None
            if not isinstance(series, dict):
                continue
            parts, bad = segments(series)
            if parts or bad:
                wanted.append((run, role, str(name), parts, bad))
                if name not in names:
                    names.append(str(name))
    points = [p for *_, parts, _ in wanted for part in parts for p in part]
    if not points:
        return None

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
    for run, role, name, parts, bad in wanted:
        count = sum(len(p) for p in parts)
        drawn_parts = _thin(parts, frame.max_points)
        drawn = sum(len(p) for p in drawn_parts)
        thinned = thinned or drawn < count
        if parts:
            series.append(Series(name, role, run.index, _path(drawn_parts, sx, sy), drawn, count))
            text = _summary(name, role, parts, lower_is_better)
            summary.append(f"{run.label}: {text}" if len(runs) > 1 else text)
        for x in bad:
            gaps.append(
                Dot(run.index, sx(x), plot["bottom"], f"{name} is not finite at epoch {fmt(x)}")
            )

    if log_scale:
        y_ticks = [Tick(sy(t), fmt(t)) for t in _log_ticks(y_low, y_high)]
    else:
        y_ticks = [Tick(sy(t), fmt(t)) for t in _nice_ticks(y_low, y_high)]
    x_values = _nice_ticks(x_low, x_high, frame.x_ticks)
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
    _mark(chart, runs, logs, key, lower_is_better, sx, sy)
    return chart


def _mark(chart: Chart, runs: list[Run], logs, key, lower_is_better, sx, sy) -> None:
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
                    run.from_finding,
                )
            )
        if run.onset_epoch is not None:
            onset = run.onset_epoch
            chart.markers.append(
                Marker(
                    "onset", run.index, onset, sx(onset), f"onset {fmt(onset)}", label_y, "start"
                )
            )
        if key == "loss":
            pair = _dict(logs[run.index].get("loss"))
            series = _dict(logs[run.index].get("series")).get(str(pair.get("val") or ""))
            if isinstance(series, dict):
                parts, _ = segments(series)
                at = [p for part in parts for p in part if p[0] == best]
                if at:
                    chart.dots.append(
                        Dot(
                            run.index,
                            sx(at[0][0]),
                            sy(at[0][1]),
                            f"best {pair.get('val')} {fmt(at[0][1])} at epoch {fmt(best)}{suffix}",
                        )
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


def charts_for(report: dict[str, Any], runs: list[Run] | None = None) -> list[Figure]:
    """One figure per metric pair (loss, then accuracy), every log overlaid as a run."""
    runs = runs_of(report) if runs is None else runs
    figures = []
    for key, title, lower_is_better in PAIRS:
        views = [build_chart(report, runs, key, title, lower_is_better, f) for f in FRAMES]
        if all(views):
            figures.append(Figure(f"chart-{key}", key, title, [v for v in views if v]))
    return figures
