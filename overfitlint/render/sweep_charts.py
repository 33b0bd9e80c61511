"""The sweep view of the HTML report: geometry only (markup is in sections/sweep.html.j2).

It reads what the sweep report carries per trial (``SweepInfo.trials``): the validation
curve (at most 200 points, the logged best among them), the best epoch (the logged
minimum, as everywhere), the gap at the end, params, state and verdict. Three views:

- the trials' validation curves overlaid, each trial's best epoch a dot, coloured by verdict;
- the trials table, in three orders (verdict, objective, trial), switched without scripts;
- one parameter-vs-gap scatter per numeric parameter the sweep varied.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from overfitlint.render.charts import fmt, log_ticks, nice_ticks
from overfitlint.render.reading import VERDICT_TONES
from overfitlint.report import Report
from overfitlint.verdict import AT_RISK, HEALTHY, OVERFITTING, UNKNOWN

MAX_DRAWN = 200
"""Trials whose curves are drawn (the best, then evenly through the rest)."""
MAX_SCATTERS = 6
VERDICT_ORDER = (OVERFITTING, AT_RISK, UNKNOWN, HEALTHY)
WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 66, 18, 24, 46
SCATTER_W, SCATTER_H = 360, 240
S_LEFT, S_RIGHT, S_TOP, S_BOTTOM = 58, 14, 20, 44


@dataclass
class Tick:
    pos: float
    label: str


@dataclass
class TrialLine:
    source: str
    tone: str
    """The verdict's colour class: error, warning, ok, neutral."""
    path: str
    best_x: float | None
    best_y: float | None
    label: str
    is_best: bool


@dataclass
class Plot:
    width: int
    height: int
    plot: dict[str, float]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    x_label: str
    y_label: str
    log_scale: bool = False


@dataclass
class CurvesView:
    plot: Plot
    lines: list[TrialLine]
    drawn: int
    total: int
    summary: list[str] = field(default_factory=list)


@dataclass
class ScatterDot:
    x: float
    y: float
    tone: str
    label: str


@dataclass
class Scatter:
    param: str
    plot: Plot
    dots: list[ScatterDot]
    summary: str


def tone(status: str | None) -> str:
    """The colour class of a verdict (error, warning, ok, neutral), as the verdict box's."""
    return VERDICT_TONES.get(status or "", "neutral")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return None
        return parsed if math.isfinite(parsed) else None
    return None


def _scale(low: float, high: float, start: float, end: float):
    span = high - low or 1.0
    return lambda v: start + (v - low) / span * (end - start)


def _axis(values: list[float], log: bool, count: int = 5) -> tuple[float, float, list[float]]:
    low, high = min(values), max(values)
    if log:
        low, high = math.log10(low), math.log10(high)
        ticks = [math.log10(t) for t in log_ticks(low, high)]
        return low, high, ticks
    if high == low:
        pad = abs(low) * 0.05 or 1.0
        low, high = low - pad, high + pad
    ticks = nice_ticks(low, high, count)
    return low, high, ticks


def _plot(
    xs: list[float],
    ys: list[float],
    size: tuple[int, int, int, int, int, int],
    labels: tuple[str, str],
    log_y: bool,
) -> tuple[Plot, Any, Any]:
    width, height, left, right, top, bottom = size
    x_low, x_high, x_ticks = _axis(xs, False, 6)
    y_low, y_high, y_ticks = _axis(ys, log_y, 5)
    sx = _scale(x_low, x_high, left, width - right)
    sy_raw = _scale(y_low, y_high, height - bottom, top)

    def sy(value: float) -> float:
        return sy_raw(math.log10(value) if log_y else value)

    box = {"left": left, "right": width - right, "top": top, "bottom": height - bottom}
    plot = Plot(
        width,
        height,
        box,
        [Tick(round(sx(t), 2), fmt(t)) for t in x_ticks if x_low <= t <= x_high],
        [
            Tick(round(sy_raw(t), 2), fmt(10**t if log_y else t))
            for t in y_ticks
            if y_low - 1e-12 <= t <= y_high + 1e-12
        ],
        labels[0],
        labels[1],
        log_y,
    )
    return plot, sx, sy


def _drawn(trials: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    with_curve = [t for t in trials if t.get("x")]
    if len(with_curve) <= MAX_DRAWN:
        return with_curve
    best = [t for t in with_curve if t.get("is_best")]
    rest = [t for t in with_curve if not t.get("is_best")]
    step = len(rest) / (MAX_DRAWN - len(best))
    return best + [rest[int(i * step)] for i in range(MAX_DRAWN - len(best))]


def curves_view(trials: Sequence[Mapping[str, Any]]) -> CurvesView | None:
    drawn = _drawn(trials)
    if not drawn:
        return None
    xs = [float(x) for t in drawn for x in t["x"]]
    ys = [float(y) for t in drawn for y in t["y"] if _number(y) is not None]
    if not ys:
        return None
    positive = all(y > 0 for y in ys)
    log_y = positive and max(ys) / min(ys) >= 30.0
    axis = str(drawn[0].get("axis") or "epoch")
    metric = str(drawn[0].get("metric") or "validation")
    plot, sx, sy = _plot(xs, ys, (WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM), (axis, metric), log_y)
    lines = []
    for trial in drawn:
        points = [
            (sx(float(x)), sy(float(y)))
            for x, y in zip(trial["x"], trial["y"], strict=False)
            if _number(y) is not None and (not log_y or float(y) > 0)
        ]
        if not points:
            continue
        path = "M" + " L".join(f"{x:.1f} {y:.1f}" for x, y in points)
        best_x = best_y = None
        if trial.get("best_epoch") is not None and _number(trial.get("best_value")) is not None:
            best_x = round(sx(float(trial["best_epoch"])), 1)
            best_y = round(sy(float(trial["best_value"])), 1)
        best = trial.get("best_epoch")
        best_text = fmt(float(best)) if best is not None else "?"
        label = f"{trial.get('source')}: {trial.get('verdict') or 'not judged'}, best {axis} "
        lines.append(
            TrialLine(
                str(trial.get("source")),
                tone(trial.get("verdict")),
                path,
                best_x,
                best_y,
                label + best_text,
                bool(trial.get("is_best")),
            )
        )
    counts: dict[str, int] = {}
    for trial in trials:
        counts[str(trial.get("verdict") or "not judged")] = (
            counts.get(str(trial.get("verdict") or "not judged"), 0) + 1
        )
    summary = [
        f"{len(lines)} of {len(trials)} trials drawn"
        + ("" if len(lines) == len(trials) else " (the best, then evenly through the rest)"),
        ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=_verdict_key)),
    ]
    return CurvesView(plot, lines, len(lines), len(trials), summary)


def _verdict_key(item: tuple[str, int]) -> int:
    status = item[0]
    return VERDICT_ORDER.index(status) if status in VERDICT_ORDER else len(VERDICT_ORDER)


def varied_params(trials: Sequence[Mapping[str, Any]]) -> list[str]:
    """Numeric params that take at least two values across the trials, in first-seen order."""
    seen: dict[str, set[float]] = {}
    for trial in trials:
        for name, value in (trial.get("params") or {}).items():
            number = _number(value)
            if number is not None:
                seen.setdefault(str(name), set()).add(number)
    return [name for name, values in seen.items() if len(values) > 1]


def scatters(trials: Sequence[Mapping[str, Any]]) -> list[Scatter]:
    """Each varied numeric param against the generalisation gap at the end of the trial."""
    out = []
    for name in varied_params(trials)[:MAX_SCATTERS]:
        pairs = [
            (_number((t.get("params") or {}).get(name)), _number(t.get("gap")), t) for t in trials
        ]
        pairs = [(x, y, t) for x, y, t in pairs if x is not None and y is not None]
        if len(pairs) < 2:
            continue
        xs = [p[0] for p in pairs]
        ys = [p[1] for p in pairs]
        plot, sx, sy = _plot(
            xs,
            ys,
            (SCATTER_W, SCATTER_H, S_LEFT, S_RIGHT, S_TOP, S_BOTTOM),
            (name, "gap at the end"),
            False,
        )
        dots = [
            ScatterDot(
                round(sx(x), 1),
                round(sy(y), 1),
                tone(t.get("verdict")),
                f"{t.get('source')}: {name} = {fmt(x)}, gap {fmt(y)} ({t.get('verdict')})",
            )
            for x, y, t in pairs
        ]
        out.append(
            Scatter(name, plot, dots, f"{len(dots)} trials; gap = validation minus training")
        )
    return out


def trial_rows(report_runs: Sequence[Report], trials: Sequence[Mapping[str, Any]]):
    """One row per trial, with its findings' codes and the anchor of its section."""
    by_source = {str(t.get("source")): t for t in trials}
    rows = []
    for index, run in enumerate(report_runs):
        trial = run.trial
        if trial is None:
            continue
        view = by_source.get(trial.source, {})
        params = ", ".join(f"{k}={v}" for k, v in trial.params.items())
        rows.append(
            {
                "index": index,
                "source": trial.source,
                "name": trial.name if trial.name != trial.source else "",
                "is_best": trial.is_best,
                "state": trial.state,
                "verdict": run.verdict.status,
                "tone": tone(run.verdict.status),
                "objective": _number(trial.objective),
                "objective_text": "—" if trial.objective is None else fmt_value(trial.objective),
                "best_epoch": view.get("best_epoch"),
                "points": len(view.get("x") or ()),
                "gap": view.get("gap"),
                "codes": list(dict.fromkeys(f.code for f in run.findings)),
                "params": params,
            }
        )
    return rows


def fmt_value(value: Any) -> str:
    number = _number(value)
    return fmt(number) if number is not None else str(value)


def orderings(rows: list[dict[str, Any]], direction: str) -> dict[str, list[dict[str, Any]]]:
    """The trials table by verdict (worst first), by objective (best first), by trial."""
    sign = -1.0 if direction == "maximize" else 1.0

    def by_objective(row: dict[str, Any]) -> tuple[int, float]:
        value = row["objective"]
        return (0, sign * value) if value is not None else (1, 0.0)

    def by_verdict(row: dict[str, Any]) -> tuple[int, tuple[int, float], int]:
        status = row["verdict"]
        rank = VERDICT_ORDER.index(status) if status in VERDICT_ORDER else len(VERDICT_ORDER)
        return rank, by_objective(row), row["index"]

    return {
        "verdict": sorted(rows, key=by_verdict),
        "objective": sorted(rows, key=lambda r: (*by_objective(r), r["index"])),
        "trial": list(rows),
    }
