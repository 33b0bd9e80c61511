"""OFL301: the validation loss diverges from its minimum while the training loss falls.

Three ways a curve is judged, by how much it can show:

- **long runs** (at least ``min_epochs`` points): a smoothed curve against the raw curve's own
  noise (Prechelt's generalization loss GL, a z test and a Mann-Kendall trend), so a noisy
  plateau is not read as a rise; and, for a rise that began fewer than ``patience`` points
  before the end, a *steady* rise (every point after the logged minimum at or above the one
  before, within ``short_max_dip``) that is large against the noise and not measured from one
  lone low point (a low outlier and a return to the mean);
- **short runs** (``short_min_points`` to ``min_epochs`` - 1 points: fine-tunes with a handful
  of evaluations): the logged values alone, with no noise to estimate, so only a rise of at
  least ``short_min_rise`` over at least ``short_min_after`` points counts, either steady or
  with every point after the best at least ``short_min_rise`` above it (spikes, but no return),
  at low or medium confidence;
- fewer points: not judged (OFL308 says so).

The weights that ship are judged: with a kept epoch (a best checkpoint, restored weights) the
log is cut there (``checks.common.shipped``). Learning-rate increases excuse a bump that
recovers (see ``judge_divergence``). The best epoch is always the logged minimum.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from overfitlint.checks.common import (
    best_index,
    epoch_number,
    location,
    points,
    shipped,
    spacing,
)
from overfitlint.curves import Curves, Series
from overfitlint.engine.context import CheckContext, Checked
from overfitlint.engine.registry import check
from overfitlint.findings import Evidence, Finding
from overfitlint.measures import Divergence, measure_divergence, noise_sigma

READS = (
    "min_epochs",
    "patience",
    "min_rise",
    "min_z",
    "min_trend_z",
    "onset_rise",
    "smoothing",
    "max_train_change",
    "lr_increase",
    "lr_window",
    "short_min_points",
    "short_min_after",
    "short_min_rise",
    "short_max_dip",
    "min_metric_gain",
)
LONG, STEADY, SHORT = "smoothed curve", "steady rise", "short run"


@dataclass(frozen=True)
class LrStep:
    """A learning-rate increase in the log: one step, or a run of rising points (warm-up)."""

    start_epoch: float
    """The first point logged at the raised rate."""
    peak_epoch: float
    """The last point of the run of increases."""
    before: float
    after: float


@dataclass(frozen=True)
class Rise:
    """How a validation curve stands against its logged best, however it was judged."""

    method: str
    points: int
    best_index: int
    best_epoch: float
    best_value: float
    final_epoch: float
    final_value: float
    rise_pct: float
    """The last logged value over the logged best, in percent."""
    after: int
    """Points logged after the best."""
    onset_index: int | None
    train_change_pct: float | None
    noise_pct: float | None = None
    smoothed: Divergence | None = None
    """The smoothed measurement (long runs), for Prechelt's numbers."""


@dataclass(frozen=True)
class DivergenceVerdict:
    """OFL301's judgement of one curve, learning-rate increases included."""

    rise: Rise
    diverging: bool
    lr_step: LrStep | None = None
    """The increase the rise began right after (None: the rise is not tied to one)."""
    points_after_step: int = 0
    judged_after_step: bool = False

    @property
    def suppressed(self) -> bool:
        """It would have been flagged, but the rise is a bump right after a rate increase."""
        return not self.diverging and self.lr_step is not None


def _train_change(train: Series | None, epoch: float, sign: float) -> float | None:
    """Percent change of the training metric from ``epoch`` to the end (logged values)."""
    if train is None:
        return None
    train = train.finite()
    after = train.values[train.epochs >= epoch]
    if after.size < 2:
        return None
    start, end = sign * float(after[0]), sign * float(after[-1])
    return 100.0 * (end - start) / max(abs(start), 1e-12)


def _steady(values: np.ndarray, start: int, max_dip_pct: float) -> bool:
    """No point after ``start`` falls more than ``max_dip_pct`` below the one before it."""
    tail = values[start:]
    if tail.size < 2:
        return False
    floor = tail[:-1] - np.abs(tail[:-1]) * max_dip_pct / 100.0
    return bool(np.all(tail[1:] >= floor))


def _stays_above(values: np.ndarray, start: int, min_pct: float) -> bool:
    """Every point after ``start`` at least ``min_pct`` percent above the one at ``start``:
    spikes in between, but no return to the best."""
    tail = values[start + 1 :]
    if tail.size == 0:
        return False
    base = values[start]
    return bool(np.all(tail - base >= abs(base) * min_pct / 100.0))


def _lone_dip(values: np.ndarray, best: int, min_rise_pct: float) -> bool:
    """The best is one low point: measured from the mean of its two neighbours, the end is
    less than ``min_rise_pct`` up (a low outlier and a return to the mean, not a rise)."""
    if best == 0 or best >= values.size - 1:
        return False
    around = 0.5 * (values[best - 1] + values[best + 1])
    return 100.0 * (values[-1] - around) / max(abs(values[best]), 1e-12) < min_rise_pct


def _rise(
    val: Series,
    train: Series | None,
    lower: bool,
    method: str,
    smoothed: Divergence | None = None,
    sigma: float | None = None,
) -> Rise:
    """``sigma``: the curve's noise when it is known (measured with the smoothed curve)."""
    sign = 1.0 if lower else -1.0
    values = sign * val.values
    best = best_index(val, lower)
    scale = max(abs(values[best]), 1e-12)
    noise = None
    if method != SHORT:
        noise = 100.0 * (noise_sigma(values) if sigma is None else sigma) / scale
    onset = (
        smoothed.onset_index
        if smoothed is not None
        else (best + 1 if best < len(val) - 1 else None)
    )
    return Rise(
        method=method,
        points=len(val),
        best_index=best,
        best_epoch=float(val.epochs[best]),
        best_value=float(val.values[best]),
        final_epoch=float(val.epochs[-1]),
        final_value=float(val.values[-1]),
        rise_pct=100.0 * (values[-1] - values[best]) / scale,
        after=len(val) - 1 - best,
        onset_index=onset,
        train_change_pct=_train_change(train, float(val.epochs[best]), sign),
        noise_pct=noise,
        smoothed=smoothed,
    )


def _train_ok(rise: Rise, limits: Mapping[str, Any]) -> bool:
    change = rise.train_change_pct
    return change is None or change <= limits["max_train_change"]


def _judge_short(val: Series, train: Series | None, limits, lower: bool) -> tuple[Rise, bool]:
    rise = _rise(val, train, lower, SHORT)
    values = (1.0 if lower else -1.0) * val.values
    diverging = (
        rise.after >= limits["short_min_after"]
        and rise.rise_pct >= limits["short_min_rise"]
        and (
            _steady(values, rise.best_index, limits["short_max_dip"])
            or _stays_above(values, rise.best_index, limits["short_min_rise"])
        )
        and _train_ok(rise, limits)
    )
    return rise, diverging


def _smoothed_diverges(measured: Divergence, limits: Mapping[str, Any]) -> bool:
    train_change = measured.train_change_pct
    return (
        measured.points_past_min >= limits["patience"]
        and measured.rise_pct >= limits["min_rise"]
        and measured.rise_z >= limits["min_z"]
        and measured.trend_z >= limits["min_trend_z"]
        and measured.onset_index is not None
        and (train_change is None or train_change <= limits["max_train_change"])
    )


def _judge_long(val: Series, train: Series | None, limits, lower: bool) -> tuple[Rise, bool]:
    measured = measure_divergence(
        val,
        train,
        smoothing=limits["smoothing"],
        onset_rise_pct=limits["onset_rise"],
        tail=limits["patience"],
        lower_is_better=lower,
    )
    assert measured is not None
    if _smoothed_diverges(measured, limits):
        return _rise(val, train, lower, LONG, measured, measured.sigma), True
    # a steady rise too recent for ``patience`` points: large against the noise, every step up
    steady = _rise(val, train, lower, STEADY, sigma=measured.sigma)
    values = (1.0 if lower else -1.0) * val.values
    noise = steady.noise_pct or 0.0
    big = steady.rise_pct >= limits["min_rise"] and (
        noise == 0.0 or steady.rise_pct >= limits["min_z"] * noise * np.sqrt(2.0)
    )
    if (
        limits["short_min_after"] <= steady.after < limits["patience"]
        and big
        and _steady(values, steady.best_index, limits["short_max_dip"])
        and not _lone_dip(values, steady.best_index, limits["min_rise"])
        and _train_ok(steady, limits)
    ):
        return steady, True
    return _rise(val, train, lower, LONG, measured, measured.sigma), False


def _measure(val: Series, train: Series | None, limits, lower: bool) -> tuple[Rise, bool] | None:
    val = val.finite()
    if len(val) < limits["short_min_points"]:
        return None
    if len(val) < limits["min_epochs"]:
        return _judge_short(val, train, limits, lower)
    return _judge_long(val, train, limits, lower)


def _after(series: Series | None, epoch: float) -> Series | None:
    if series is None:
        return None
    keep = series.epochs > epoch
    origins = None if series.origins is None else series.origins[keep]
    return Series(
        series.name, series.epochs[keep], series.values[keep], series.lines[keep], origins
    )


def lr_increases(curves: Curves, min_increase: float) -> list[LrStep]:
    """Where the logged learning rate rose by at least ``min_increase`` (relative) from one
    point to the next; consecutive rises (a warm-up) make one step."""
    series = curves.get(curves.lr)
    if series is None:
        return []
    series = series.finite()
    if len(series) < 2:
        return []
    lr = series.values
    previous, current = lr[:-1], lr[1:]
    rising = np.concatenate(
        ([False], np.where(previous > 0, current >= previous * (1.0 + min_increase), current > 0))
    )
    edges = np.diff(np.concatenate(([0], rising.view(np.int8), [0])))
    firsts = np.flatnonzero(edges == 1)  # a run of rises starts (never at point 0)
    lasts = np.flatnonzero(edges == -1) - 1
    return [
        LrStep(
            float(series.epochs[first]),
            float(series.epochs[last]),
            float(lr[first - 1]),
            float(lr[last]),
        )
        for first, last in zip(firsts.tolist(), lasts.tolist(), strict=True)
    ]


def judge_divergence(curves: Curves, limits: Mapping[str, Any]) -> DivergenceVerdict | None:
    """Judge a curve with OFL301's thresholds (``limits``); None: too few points to judge.

    A rise whose onset comes right after a learning-rate increase (a warm-up, a warm restart,
    a cyclical schedule) is judged again on the points after the increase: it is divergence
    only if the curve still diverges there; with too few points after it, a bump cannot be
    told from a rise and is not flagged. Rate decreases are not excused: the rise that follows
    a decay step is the overfitting such schedules are known for.
    """
    val = curves.val_loss
    if val is None:
        return None
    lower = curves.loss.lower_is_better
    measured = _measure(val, curves.train_loss, limits, lower)
    if measured is None:
        return None
    rise, diverging = measured
    if not diverging or rise.onset_index is None:
        return DivergenceVerdict(rise, diverging)
    finite = val.finite()
    onset = float(finite.epochs[rise.onset_index])
    step_size = spacing(finite)
    lead = (int(limits["smoothing"]) // 2) * step_size  # a centred smoother starts rising early
    tied = [
        step
        for step in lr_increases(curves, float(limits["lr_increase"]))
        if step.start_epoch - lead <= onset <= step.peak_epoch + limits["lr_window"] * step_size
    ]
    if not tied:
        return DivergenceVerdict(rise, True)
    step = tied[-1]
    after = _after(val, step.peak_epoch)
    assert after is not None
    count = len(after.finite())
    again = _measure(after, _after(curves.train_loss, step.peak_epoch), limits, lower)
    if again is None or count < limits["min_epochs"]:
        return DivergenceVerdict(rise, False, step, count, False)
    return DivergenceVerdict(rise, again[1], step, count, True)


def _metric_note(curves: Curves, rise: Rise, limits: Mapping[str, Any]) -> tuple[str, list]:
    """When the task metric still improves after the loss's best: overconfidence."""
    pair = curves.accuracy
    if pair is None or not pair.val:
        return "", []
    metric = curves.get(pair.val)
    if metric is None:
        return "", []
    metric = metric.finite()
    at_best = metric.values[metric.epochs <= rise.best_epoch + 1e-9]
    if at_best.size == 0 or len(metric) < 2:
        return "", []
    peak = float(np.max(metric.values))
    scale = 1.0 if peak > 1.5 else 100.0
    start, end = float(at_best[-1]), float(metric.values[-1])
    gain = (end - start) * scale
    if gain < limits["min_metric_gain"]:
        return "", []
    return (
        f"; {pair.val} still improves ({start:.4g} -> {end:.4g} since the loss's best), so the "
        f"model is growing overconfident rather than worse at the task: trust {pair.val} "
        "and stop on it",
        [
            Evidence("metric_still_improving", pair.val),
            Evidence("metric_gain", round(gain, 2), "points"),
        ],
    )


@check("OFL301", reads=READS)
def diverging_validation_loss(ctx: CheckContext) -> Iterator[Finding | Checked]:
    limits = {name: ctx.threshold(name) for name in READS}
    for full in ctx.curves:
        view = shipped(full, ctx.facts.kept)
        verdict = judge_divergence(view.curves, limits)
        if verdict is None:  # too few points up to the kept epoch; the whole log may tell
            yield from _kept_early(ctx, full, view, limits)
            continue
        if verdict.diverging:
            yield _divergence_finding(ctx, view.curves, verdict, limits)
        elif verdict.suppressed:
            yield _lr_bump_finding(ctx, view.curves, verdict)
        else:
            if view.after:
                whole = judge_divergence(full, limits)
                if whole is not None and whole.diverging:
                    yield _kept_before_divergence(ctx, full, view, whole)
            yield _no_divergence(ctx, view.curves, verdict.rise, view)


def _kept_early(ctx: CheckContext, full: Curves, view, limits) -> Iterator[Finding | Checked]:
    """The kept epoch comes too early to judge the log up to it: when the whole log diverges
    and the kept weights precede the onset, they are not the diverged ones."""
    if not view.after:
        return
    whole = judge_divergence(full, limits)
    if whole is None or not whole.diverging or whole.rise.onset_index is None:
        return
    val = full.val_loss.finite()
    onset = float(val.epochs[whole.rise.onset_index])
    if view.kept_epoch is None or view.kept_epoch > onset:
        return
    yield _kept_before_divergence(ctx, full, view, whole)
    axis = full.axis
    yield ctx.checked(
        f"{val.name} in {_where(full)}",
        f"the weights that ship, from {axis} {epoch_number(view.kept_epoch)}, come before "
        f"{val.name} starts to rise ({axis} {epoch_number(onset)})",
    )


def _where(curves: Curves) -> str:
    return Path(curves.source).name


def _no_divergence(ctx: CheckContext, curves: Curves, rise: Rise, view) -> Checked:
    val = curves.val_loss
    assert val is not None
    axis = curves.axis
    at_best = rise.after == 0
    state = (
        f"still at its best at the end ({axis} {epoch_number(rise.best_epoch)})"
        if at_best
        else f"does not diverge (best {axis} {epoch_number(rise.best_epoch)}, the last point is "
        f"{rise.rise_pct:+.1f}% from it)"
    )
    kept = ""
    if view.kept is not None and view.kept_epoch is not None:
        kept = f", judged at the kept {axis} {epoch_number(view.kept_epoch)}"
    return ctx.checked(f"{val.name} in {_where(curves)}", f"{val.name} {state}{kept}")


def _kept_before_divergence(
    ctx: CheckContext, full: Curves, view, whole: DivergenceVerdict
) -> Finding:
    """The log diverges after the kept epoch: the shipped weights are not the diverged ones."""
    val = full.val_loss.finite()
    axis = full.axis
    kept = view.kept
    return ctx.finding(
        f"{val.name} diverges after its best ({axis} {epoch_number(whole.rise.best_epoch)}), but "
        f"the weights that ship are from {axis} {epoch_number(view.kept_epoch)} ({kept.source}), "
        f"before the divergence: not an overfit model; {points(view.after, axis)} were trained "
        "past it",
        evidence=[
            Evidence("best_epoch", epoch_number(whole.rise.best_epoch), axis),
            Evidence("kept_epoch", epoch_number(view.kept_epoch), axis),
            Evidence("kept_source", kept.source),
            Evidence("points_past_kept", view.after, "points"),
            Evidence("rise_at_end", round(whole.rise.rise_pct, 2), "%"),
        ],
        location=location(full, val, len(val) - 1),
        subject=f"{val.name} (kept weights)",
        severity="info",
        fix="Nothing to change in the model; to save the compute, stop the run at the best "
        "epoch (the same early stopping that picked these weights, with a smaller patience).",
    )


def _lr_when(axis: str, step: LrStep) -> str:
    if step.peak_epoch == step.start_epoch:
        return f"{axis} {epoch_number(step.start_epoch)}"
    return f"{axis}s {epoch_number(step.start_epoch)}-{epoch_number(step.peak_epoch)}"


def _lr_bump_finding(ctx: CheckContext, curves: Curves, verdict: DivergenceVerdict) -> Finding:
    """Say that a would-be finding was not raised: the rise is a learning-rate bump."""
    rise, step = verdict.rise, verdict.lr_step
    assert step is not None and curves.val_loss is not None
    val = curves.val_loss.finite()
    axis = curves.axis
    at = int(np.argmin(np.abs(val.epochs - step.start_epoch)))
    if not verdict.judged_after_step:
        why = (
            f"the {verdict.points_after_step} point(s) after it are too few to tell a bump "
            "from a rise"
        )
    else:
        why = f"the {verdict.points_after_step} points after it do not diverge"
    return ctx.finding(
        f"{val.name} ends {rise.rise_pct:.1f}% above its best ({axis} "
        f"{epoch_number(rise.best_epoch)}), but the rise began right after the learning rate "
        f"rose from {step.before:.3g} to {step.after:.3g} ({_lr_when(axis, step)}); a bump "
        f"after a schedule step is not divergence and {why}: not flagged as overfitting",
        evidence=[
            Evidence("best_epoch", epoch_number(rise.best_epoch), axis),
            Evidence("rise", round(rise.rise_pct, 2), "%"),
            Evidence("lr_change_epoch", epoch_number(step.start_epoch), axis),
            Evidence("lr_before", step.before, curves.lr or "lr"),
            Evidence("lr_after", step.after, curves.lr or "lr"),
            Evidence("points_after_change", verdict.points_after_step, "points"),
            Evidence("suppressed", True),
        ],
        location=location(curves, val, at),
        subject=f"{val.name} (learning-rate bump)",
        severity="info",
        confidence="medium",
        fix=(
            "Nothing to change if the increase is a planned warm-up or warm restart; judge the "
            "run again once the validation loss has had a few epochs to recover after it."
        ),
    )


def _confidence(rise: Rise) -> str | None:
    if rise.train_change_pct is None:
        return "medium" if rise.method == LONG else "low"
    if rise.method == SHORT:
        return "medium" if rise.after >= 3 else "low"
    if rise.method == STEADY:
        return "medium"
    return None


def _divergence_finding(
    ctx: CheckContext, curves: Curves, verdict: DivergenceVerdict, limits: Mapping[str, Any]
) -> Finding:
    rise = verdict.rise
    val = curves.val_loss.finite()
    axis = curves.axis
    onset_index = rise.onset_index if rise.onset_index is not None else rise.best_index + 1
    onset_epoch = epoch_number(val.epochs[onset_index])
    best_epoch = epoch_number(rise.best_epoch)
    train_note = (
        f" while {curves.loss.train} changed {rise.train_change_pct:+.1f}%"
        if rise.train_change_pct is not None
        else " (no training curve to compare)"
    )
    span = float(val.epochs[-1] - val.epochs[0] + spacing(val))
    share = 100.0 * min(1.0, float(val.epochs[-1] - rise.best_epoch) / span) if span > 0 else 0.0
    evidence = [
        Evidence("best_epoch", best_epoch, axis),
        Evidence("best_value", round(rise.best_value, 6), val.name),
        Evidence("final_epoch", epoch_number(rise.final_epoch), axis),
        Evidence("final_value", round(rise.final_value, 6), val.name),
        Evidence("rise", round(rise.rise_pct, 2), "%"),
        Evidence("judged_as", rise.method),
        Evidence("points", rise.points, "points"),
        Evidence("points_past_best", rise.after, "points"),
        Evidence("onset_epoch", onset_epoch, axis),
        Evidence("onset_line", int(val.lines[onset_index]) or None, "line"),
        Evidence("share_past_best", round(share, 1), "%"),
    ]
    if rise.noise_pct is not None:
        evidence.append(Evidence("noise", round(rise.noise_pct, 2), "% per point"))
    smoothed = rise.smoothed
    if smoothed is not None:
        if np.isfinite(smoothed.rise_z):  # a noise-free curve has no z
            evidence.append(Evidence("rise_z", round(smoothed.rise_z, 1), "standard errors"))
        evidence += [
            Evidence("trend_z", round(smoothed.trend_z, 2), "Mann-Kendall z"),
            Evidence("prechelt_gl", round(smoothed.rise_pct, 2), "%, smoothed"),
            Evidence("prechelt_up", smoothed.up_strips, "strips"),
        ]
        if smoothed.pq is not None:
            evidence.append(Evidence("prechelt_pq", round(smoothed.pq, 3), ""))
    if rise.train_change_pct is not None:
        evidence.append(Evidence("train_change_past_best", round(rise.train_change_pct, 2), "%"))
    lr_note = ""
    if verdict.lr_step is not None:
        evidence.append(
            Evidence("lr_change_epoch", epoch_number(verdict.lr_step.start_epoch), axis)
        )
        lr_note = (
            f"; it keeps rising after the learning-rate increase at "
            f"{_lr_when(axis, verdict.lr_step)}, so it is not just a bump"
        )
    metric_note, metric_evidence = _metric_note(curves, rise, limits)
    evidence += metric_evidence
    how = ""
    if rise.method == SHORT:
        sign = 1.0 if curves.loss.lower_is_better else -1.0
        steady = _steady(sign * val.values, rise.best_index, limits["short_max_dip"])
        shape = (
            "every point after the best above the one before"
            if steady
            else f"every point after the best at least {limits['short_min_rise']:g}% above it"
        )
        how = (
            f"; a short run ({rise.points} evaluations): judged on the logged values alone, {shape}"
        )
    elif rise.method == STEADY:
        how = f"; a steady rise over the last {points(rise.after, axis)}"
    confidence = _confidence(rise)
    if metric_evidence:
        confidence = "low" if confidence in ("low", "medium") else "medium"
    return ctx.finding(
        f"{val.name} rose {rise.rise_pct:.1f}% from its best ({axis} {best_epoch}: "
        f"{rise.best_value:.4g}) to {rise.final_value:.4g} ({axis} "
        f"{epoch_number(rise.final_epoch)}) and has stayed above it since {axis} {onset_epoch}"
        f"{train_note}; {points(rise.after, axis)} logged past the best{how}{lr_note}"
        f"{metric_note}",
        evidence=evidence,
        location=location(curves, val, onset_index),
        subject=val.name,
        confidence=confidence,
    )
