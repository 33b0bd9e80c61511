"""3xx: learning curves read from the training logs.

Each check measures (overfitlint.measures) and then judges against the thresholds
of its rule file. The x values of a curve are epochs unless the log only has
steps (``Curves.axis``); messages say which.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from overfitlint.curves import Curves, Series
from overfitlint.engine.context import CheckContext
from overfitlint.engine.registry import check
from overfitlint.findings import Evidence, Finding, Location
from overfitlint.measures import Divergence, measure_divergence, simulate_early_stopping


def _quiet(fn: Callable[[CheckContext], Iterator[Finding]]):
    """Overflow in logs of gigantic numbers gives inf, which the rules handle: no warnings."""

    @functools.wraps(fn)
    def run(ctx: CheckContext) -> Iterator[Finding]:
        with np.errstate(all="ignore"):
            yield from fn(ctx)

    return run


def _epoch(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 3)


def _location(curves: Curves, series: Series, index: int) -> Location:
    line = int(series.lines[index])
    return Location(
        file=curves.source_of(series, index),
        line=line or None,
        epoch=_epoch(series.epochs[index]),
    )


OFL301_READS = (
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
)


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
class DivergenceVerdict:
    """OFL301's judgement of one curve, learning-rate increases included."""

    measured: Divergence
    diverging: bool
    lr_step: LrStep | None = None
    """The increase the rise began right after (None: the rise is not tied to one)."""
    after_step: Divergence | None = None
    """The curve after that increase, judged on its own (None: too few points)."""
    points_after_step: int = 0

    @property
    def suppressed(self) -> bool:
        """It would have been flagged, but the rise is a bump right after a rate increase."""
        return not self.diverging and self.lr_step is not None


def _diverges(measured: Divergence, limits: Mapping[str, Any]) -> bool:
    train_change = measured.train_change_pct
    return (
        measured.points_past_min >= limits["patience"]
        and measured.rise_pct >= limits["min_rise"]
        and measured.rise_z >= limits["min_z"]
        and measured.trend_z >= limits["min_trend_z"]
        and measured.onset_index is not None
        and (train_change is None or train_change <= limits["max_train_change"])
    )


def _measure(
    val: Series, train: Series | None, curves: Curves, limits: Mapping[str, Any]
) -> Divergence | None:
    return measure_divergence(
        val,
        train,
        smoothing=limits["smoothing"],
        onset_rise_pct=limits["onset_rise"],
        tail=limits["patience"],
        lower_is_better=curves.loss.lower_is_better,
    )


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
    steps: list[LrStep] = []
    index = 1
    while index < lr.size:
        if not rising[index]:
            index += 1
            continue
        first = index
        while index + 1 < lr.size and rising[index + 1]:
            index += 1
        steps.append(
            LrStep(
                float(series.epochs[first]),
                float(series.epochs[index]),
                float(lr[first - 1]),
                float(lr[index]),
            )
        )
        index += 1
    return steps


def judge_divergence(curves: Curves, limits: Mapping[str, Any]) -> DivergenceVerdict | None:
    """Measure and judge a curve with OFL301's thresholds (``limits``); None: not judged.

    A rise whose onset comes right after a learning-rate increase (a warm-up, a warm restart,
    a cyclical schedule) is judged again on the points after the increase: it is divergence
    only if the curve still diverges there; with too few points after it, a bump cannot be
    told from a rise and is not flagged. Rate decreases are not excused: the rise that follows
    a decay step is the overfitting such schedules are known for.
    """
    val = curves.val_loss
    if val is None:
        return None
    measured = _measure(val, curves.train_loss, curves, limits)
    if measured is None or measured.points < limits["min_epochs"]:
        return None
    if not _diverges(measured, limits):
        return DivergenceVerdict(measured, False)
    finite = val.finite()
    onset = float(finite.epochs[measured.onset_index])
    spacing = float(np.median(np.diff(finite.epochs))) if len(finite) > 1 else 1.0
    lead = (int(limits["smoothing"]) // 2) * spacing  # a centred smoother starts rising early
    tied = [
        step
        for step in lr_increases(curves, float(limits["lr_increase"]))
        if step.start_epoch - lead <= onset <= step.peak_epoch + limits["lr_window"] * spacing
    ]
    if not tied:
        return DivergenceVerdict(measured, True)
    step = tied[-1]
    after = _after(val, step.peak_epoch)
    assert after is not None
    points = len(after.finite())
    if points < limits["min_epochs"]:
        return DivergenceVerdict(measured, False, step, None, points)
    again = _measure(after, _after(curves.train_loss, step.peak_epoch), curves, limits)
    diverging = again is not None and _diverges(again, limits)
    return DivergenceVerdict(measured, diverging, step, again, points)


@check("OFL301", reads=OFL301_READS)
@_quiet
def diverging_validation_loss(ctx: CheckContext) -> Iterator[Finding]:
    limits = {name: ctx.threshold(name) for name in OFL301_READS}
    for curves in ctx.curves:
        verdict = judge_divergence(curves, limits)
        if verdict is None:
            continue
        if verdict.diverging:
            yield _divergence_finding(ctx, curves, verdict.measured, verdict.lr_step)
        elif verdict.suppressed:
            yield _lr_bump_finding(ctx, curves, verdict)
        else:
            yield _no_divergence(ctx, curves, verdict.measured)


def _no_divergence(ctx: CheckContext, curves: Curves, measured: Divergence):
    val = curves.val_loss
    assert val is not None
    where = Path(curves.source).name
    return ctx.checked(
        f"{val.name} in {where}",
        f"{val.name} in {where} does not diverge (best {curves.axis} "
        f"{_epoch(measured.best_epoch)}, ends {measured.rise_from_best_pct:+.1f}% from it)",
    )


def _lr_when(axis: str, step: LrStep) -> str:
    if step.peak_epoch == step.start_epoch:
        return f"{axis} {_epoch(step.start_epoch)}"
    return f"{axis}s {_epoch(step.start_epoch)}-{_epoch(step.peak_epoch)}"


def _lr_bump_finding(ctx: CheckContext, curves: Curves, verdict: DivergenceVerdict) -> Finding:
    """Say that a would-be finding was not raised: the rise is a learning-rate bump."""
    measured, step = verdict.measured, verdict.lr_step
    assert step is not None and curves.val_loss is not None
    val = curves.val_loss.finite()
    axis = curves.axis
    at = int(np.argmin(np.abs(val.epochs - step.start_epoch)))
    if verdict.after_step is None:
        why = (
            f"the {verdict.points_after_step} point(s) after it are too few to tell a bump "
            "from a rise"
        )
    else:
        why = f"the {verdict.points_after_step} points after it do not diverge"
    return ctx.finding(
        f"{val.name} ends {measured.rise_from_best_pct:.1f}% above its best ({axis} "
        f"{_epoch(measured.best_epoch)}), but the rise began right after the learning rate "
        f"rose from {step.before:.3g} to {step.after:.3g} ({_lr_when(axis, step)}); a bump "
        f"after a schedule step is not divergence and {why}: not flagged as overfitting",
        evidence=[
            Evidence("best_epoch", _epoch(measured.best_epoch), axis),
            Evidence("rise", round(measured.rise_from_best_pct, 2), "%"),
            Evidence("lr_change_epoch", _epoch(step.start_epoch), axis),
            Evidence("lr_before", step.before, curves.lr or "lr"),
            Evidence("lr_after", step.after, curves.lr or "lr"),
            Evidence("points_after_change", verdict.points_after_step, "points"),
            Evidence("suppressed", True),
        ],
        location=_location(curves, val, at),
        subject=f"{val.name} (learning-rate bump)",
        severity="info",
        confidence="medium",
        fix=(
            "Nothing to change if the increase is a planned warm-up or warm restart; judge the "
            "run again once the validation loss has had a few epochs to recover after it."
        ),
    )


def _divergence_finding(
    ctx: CheckContext, curves: Curves, measured: Divergence, lr_step: LrStep | None = None
) -> Finding:
    val = curves.val_loss.finite()
    axis = curves.axis
    onset_epoch = _epoch(val.epochs[measured.onset_index])
    onset_line = int(val.lines[measured.onset_index])
    best_epoch = _epoch(measured.best_epoch)
    train_note = (
        f" while {curves.loss.train} changed {measured.train_change_pct:+.1f}%"
        if measured.train_change_pct is not None
        else " (no training curve to compare)"
    )
    past = _epoch(measured.x_past_best) if axis == "step" else measured.epochs_past_best
    total = _epoch(measured.x_span) if axis == "step" else measured.points
    evidence = [
        Evidence("best_epoch", best_epoch, axis),
        Evidence("best_value", round(measured.best_value, 6), val.name),
        Evidence("final_value", round(measured.final_value, 6), val.name),
        Evidence("rise", round(measured.rise_from_best_pct, 2), "%"),
        Evidence("noise", round(measured.noise_pct, 2), "%"),
        Evidence("trend_z", round(measured.trend_z, 2), "Mann-Kendall z"),
        Evidence("onset_epoch", onset_epoch, axis),
        Evidence("onset_line", onset_line or None, "line"),
        Evidence("epochs_past_best", past, f"{axis}s"),
        Evidence("share_past_best", round(100 * measured.share_past_best, 1), "%"),
        Evidence("prechelt_gl", round(measured.rise_pct, 2), "%"),
        Evidence("prechelt_up", measured.up_strips, "strips"),
    ]
    if np.isfinite(measured.rise_z):  # a noise-free curve has no z
        evidence.insert(4, Evidence("rise_z", round(measured.rise_z, 1), "standard errors"))
    if measured.pq is not None:
        evidence.append(Evidence("prechelt_pq", round(measured.pq, 3), ""))
    if measured.train_change_pct is not None:
        evidence.append(
            Evidence("train_change_past_best", round(measured.train_change_pct, 2), "%")
        )
    lr_note = ""
    if lr_step is not None:
        evidence.append(Evidence("lr_change_epoch", _epoch(lr_step.start_epoch), axis))
        lr_note = (
            f"; it keeps rising after the learning-rate increase at "
            f"{_lr_when(axis, lr_step)}, so it is not just a bump"
        )
    location = _location(curves, val, measured.onset_index)
    return ctx.finding(
        f"{val.name} ends {measured.rise_from_best_pct:.1f}% above its best ({axis} "
        f"{best_epoch}) and has stayed above it since {axis} {onset_epoch}{train_note}; "
        f"{past} of {total} {axis}s ({100 * measured.share_past_best:.0f}%) ran past the "
        f"best{lr_note}",
        evidence=evidence,
        location=location,
        subject=val.name,
        confidence=None if measured.train_change_pct is not None else "medium",
    )


def _tail_mean(series: Series, k: int) -> float:
    return float(series.values[-max(1, k) :].mean())


def _value_at(series: Series, epoch: float, k: int) -> float:
    """The mean of up to ``k`` points of ``series`` centred on ``epoch``."""
    index = int(np.argmin(np.abs(series.epochs - epoch)))
    half = max(0, k // 2)
    return float(series.values[max(0, index - half) : index + half + 1].mean())


def _accuracy_scale(*series: Series | None) -> float:
    """100 when accuracies are fractions (0..1), 1 when the log writes percent."""
    peak = max((float(np.max(s.values)) for s in series if s is not None and len(s)), default=1)
    return 1.0 if peak > 1.5 else 100.0


@check(
    "OFL302",
    reads=("min_epochs", "max_loss_ratio", "max_accuracy_gap", "tail"),
)
@_quiet
def generalization_gap(ctx: CheckContext) -> Iterator[Finding]:
    for curves in ctx.curves:
        k = ctx.threshold("tail")
        train, val = curves.train_loss, curves.val_loss
        train = train.finite() if train is not None else None
        val = val.finite() if val is not None else None
        if (
            train is not None
            and val is not None
            and curves.loss.lower_is_better
            and min(len(train), len(val)) >= ctx.threshold("min_epochs")
        ):
            end_train, end_val = _tail_mean(train, k), _tail_mean(val, k)
            if end_train > 0 and end_val > 0:
                ratio = end_val / end_train
                if ratio >= ctx.threshold("max_loss_ratio"):
                    best = int(np.argmin(val.values))
                    best_epoch = float(val.epochs[best])
                    best_ratio = _value_at(val, best_epoch, k) / max(
                        _value_at(train, best_epoch, k), 1e-12
                    )
                    yield ctx.finding(
                        f"{val.name} is {ratio:.2f}x {train.name} at the end of training "
                        f"({end_val:.4g} vs {end_train:.4g}); it was {best_ratio:.2f}x at the "
                        f"best {curves.axis} ({_epoch(best_epoch)})",
                        evidence=[
                            Evidence("loss_ratio_end", round(ratio, 3), "x"),
                            Evidence("loss_ratio_at_best", round(best_ratio, 3), "x"),
                            Evidence("train_end", round(end_train, 6), train.name),
                            Evidence("val_end", round(end_val, 6), val.name),
                            Evidence("best_epoch", _epoch(best_epoch), curves.axis),
                        ],
                        location=_location(curves, val, len(val) - 1),
                        subject=val.name,
                    )
                    continue
        gap = _accuracy_gap(ctx, curves, k)
        if gap is not None:
            yield gap


def _accuracy_pair(ctx: CheckContext, curves: Curves) -> tuple[Series, Series, float] | None:
    """Finite train and val accuracy with enough points, and the scale to percent; or None."""
    pair = curves.accuracy
    if pair is None or not pair.train or not pair.val:
        return None
    train, val = curves.get(pair.train), curves.get(pair.val)
    if train is None or val is None:
        return None
    train, val = train.finite(), val.finite()
    if min(len(train), len(val)) < ctx.threshold("min_epochs"):
        return None
    return train, val, _accuracy_scale(train, val)


def _accuracy_gap(ctx: CheckContext, curves: Curves, k: int) -> Finding | None:
    accuracy = _accuracy_pair(ctx, curves)
    if accuracy is None:
        return None
    train, val, scale = accuracy
    gap = (_tail_mean(train, k) - _tail_mean(val, k)) * scale
    if gap < ctx.threshold("max_accuracy_gap"):
        return None
    best = int(np.argmax(val.values))
    best_epoch = float(val.epochs[best])
    best_gap = (_value_at(train, best_epoch, k) - _value_at(val, best_epoch, k)) * scale
    return ctx.finding(
        f"{train.name} is {gap:.1f} points above {val.name} at the end of training; the gap "
        f"was {best_gap:.1f} points at the best {curves.axis} ({_epoch(best_epoch)})",
        evidence=[
            Evidence("accuracy_gap_end", round(gap, 2), "points"),
            Evidence("accuracy_gap_at_best", round(best_gap, 2), "points"),
            Evidence("best_epoch", _epoch(best_epoch), curves.axis),
        ],
        location=_location(curves, val, len(val) - 1),
        subject=val.name,
    )


@check(
    "OFL303",
    reads=(
        "min_epochs",
        "patience",
        "min_delta",
        "min_saved_share",
        "min_saved",
        "max_later_gain",
        "min_final_gap",
    ),
)
@_quiet
def kept_training_past_best(ctx: CheckContext) -> Iterator[Finding]:
    for curves in ctx.curves:
        val = curves.val_loss
        if val is None:
            continue
        val = val.finite()
        n = len(val)
        if n < ctx.threshold("min_epochs"):
            continue
        lower = curves.loss.lower_is_better
        sign = 1.0 if lower else -1.0
        values = sign * val.values
        best_overall = float(values.min())
        min_delta = _round_sig(abs(best_overall) * ctx.threshold("min_delta") / 100.0)
        patience = int(ctx.threshold("patience"))
        stop = simulate_early_stopping(values, patience, min_delta)
        if stop.stop_index is None or stop.stop_index >= n - 1:
            continue
        saved = n - 1 - stop.stop_index
        x = val.epochs
        spacing = float(np.median(np.diff(x))) if n > 1 else 1.0
        span = float(x[-1] - x[0] + spacing)
        saved_share = 100.0 * float(x[-1] - x[stop.stop_index]) / span
        if saved < ctx.threshold("min_saved") or saved_share < ctx.threshold("min_saved_share"):
            continue
        kept = float(values[stop.best_index])
        later_best = float(values[stop.stop_index + 1 :].min())
        scale = max(abs(kept), 1e-12)
        later_gain = 100.0 * (kept - later_best) / scale
        if later_gain > ctx.threshold("max_later_gain"):
            continue  # training on found a clearly better point: stopping would have cost
        final = float(values[-max(1, min(patience, saved)) :].mean())
        final_gap = 100.0 * (final - kept) / scale
        axis = curves.axis
        stop_epoch = _epoch(x[stop.stop_index])
        best_epoch = _epoch(x[stop.best_index])
        mode = "min" if lower else "max"
        setting = (
            f"EarlyStopping(monitor={val.name!r}, mode={mode!r}, patience={patience}, "
            f"min_delta={min_delta:g}, restore_best_weights=True)"
        )
        severity = None if final_gap >= ctx.threshold("min_final_gap") else "info"
        yield ctx.finding(
            f"training went on {saved} {axis}s ({saved_share:.0f}% of the run) after {setting} "
            f"would have stopped it at {axis} {stop_epoch}, keeping {axis} {best_epoch} "
            f"({val.name} {sign * kept:.4g}); the run ended at {sign * final:.4g} "
            f"({final_gap:+.1f}%)",
            evidence=[
                Evidence("monitor", val.name),
                Evidence("patience", patience, f"{axis}s"),
                Evidence("min_delta", min_delta, val.name),
                Evidence("stop_epoch", stop_epoch, axis),
                Evidence("restored_epoch", best_epoch, axis),
                Evidence("epochs_saved", saved, f"{axis}s"),
                Evidence("share_saved", round(saved_share, 1), "%"),
                Evidence("restored_value", round(sign * kept, 6), val.name),
                Evidence("final_value", round(sign * final, 6), val.name),
                Evidence("final_vs_restored", round(final_gap, 2), "%"),
            ],
            location=_location(curves, val, stop.stop_index),
            subject=val.name,
            severity=severity,
            fix=(
                f"Stop with keras.callbacks.{setting} (Lightning: "
                f"EarlyStopping(monitor={val.name!r}, mode={mode!r}, patience={patience}, "
                f"min_delta={min_delta:g}) with ModelCheckpoint(monitor={val.name!r}, "
                f"save_top_k=1); Hugging Face: EarlyStoppingCallback("
                f"early_stopping_patience={patience}) with load_best_model_at_end=True)."
            ),
        )


def _round_sig(value: float, digits: int = 2) -> float:
    if value <= 0 or not np.isfinite(value):
        return 0.0
    return float(f"{value:.{digits}g}")


@check(
    "OFL304",
    reads=("min_epochs", "patience", "min_drop", "min_z", "min_train_gain", "smoothing"),
)
@_quiet
def accuracy_falls_while_train_rises(ctx: CheckContext) -> Iterator[Finding]:
    for curves in ctx.curves:
        pair = curves.accuracy
        if pair is None or not pair.val or not pair.train:
            continue
        val, train = curves.get(pair.val), curves.get(pair.train)
        if val is None or train is None:
            continue
        measured = measure_divergence(
            val,
            train,
            smoothing=ctx.threshold("smoothing"),
            onset_rise_pct=0.0,
            tail=ctx.threshold("patience"),
            lower_is_better=False,
        )
        if measured is None or measured.points < ctx.threshold("min_epochs"):
            continue
        scale = _accuracy_scale(val.finite(), train.finite())
        drop = (measured.smoothed_best - measured.end_level) * scale
        train_gain = _points_gained(train.finite(), measured.best_epoch, ctx.threshold("patience"))
        if train_gain is None:
            continue
        train_gain *= scale
        if not (
            measured.points_past_min >= ctx.threshold("patience")
            and drop >= ctx.threshold("min_drop")
            and measured.rise_z >= ctx.threshold("min_z")
            and train_gain >= ctx.threshold("min_train_gain")
        ):
            continue
        finite = val.finite()
        best_epoch = _epoch(measured.best_epoch)
        yield ctx.finding(
            f"{val.name} fell {drop:.1f} points from its best ({curves.axis} {best_epoch}, "
            f"{measured.best_value:.4g}) to {measured.final_value:.4g} while {train.name} rose "
            f"{train_gain:.1f} points",
            evidence=[
                Evidence("best_epoch", best_epoch, curves.axis),
                Evidence("best_value", round(measured.best_value, 6), pair.val),
                Evidence("final_value", round(measured.final_value, 6), pair.val),
                Evidence("val_drop", round(drop, 2), "points"),
                Evidence("train_gain", round(train_gain, 2), "points"),
                Evidence("drop_z", round(float(min(measured.rise_z, 1e6)), 1), "standard errors"),
            ],
            location=_location(curves, finite, len(finite) - 1),
            subject=val.name,
        )


def _points_gained(train: Series, epoch: float, k: int) -> float | None:
    after = train.values[train.epochs >= epoch]
    if after.size < 2:
        return None
    k = max(1, min(int(k), after.size // 2))
    return float(after[-k:].mean() - after[:k].mean())


@check(
    "OFL305",
    reads=(
        "min_epochs",
        "max_train_loss_share",
        "min_loss_ratio",
        "max_train_error",
        "min_accuracy_gap",
        "tail",
    ),
)
@_quiet
def memorization(ctx: CheckContext) -> Iterator[Finding]:
    for curves in ctx.curves:
        k = ctx.threshold("tail")
        finding = _memorized_loss(ctx, curves, k) or _memorized_accuracy(ctx, curves, k)
        if finding is not None:
            yield finding


def _memorized_loss(ctx: CheckContext, curves: Curves, k: int) -> Finding | None:
    train, val = curves.train_loss, curves.val_loss
    if train is None or val is None or not curves.loss.lower_is_better:
        return None
    train, val = train.finite(), val.finite()
    if min(len(train), len(val)) < ctx.threshold("min_epochs"):
        return None
    start = float(train.values[: max(1, min(k, len(train) // 4))].mean())
    end_train, end_val = _tail_mean(train, k), _tail_mean(val, k)
    if start <= 0 or end_train < 0 or end_val <= 0:
        return None
    share = 100.0 * end_train / start
    ratio = end_val / max(end_train, 1e-12)
    if share > ctx.threshold("max_train_loss_share") or ratio < ctx.threshold("min_loss_ratio"):
        return None
    return ctx.finding(
        f"{train.name} fell to {share:.2g}% of its start ({end_train:.3g}) while {val.name} "
        f"stays at {end_val:.3g} ({ratio:.0f}x): the model memorises the training set",
        evidence=[
            Evidence("train_end", round(end_train, 8), train.name),
            Evidence("train_share_of_start", round(share, 3), "%"),
            Evidence("val_end", round(end_val, 6), val.name),
            Evidence("loss_ratio_end", round(ratio, 2), "x"),
        ],
        location=_location(curves, train, len(train) - 1),
        subject=train.name,
    )


def _memorized_accuracy(ctx: CheckContext, curves: Curves, k: int) -> Finding | None:
    accuracy = _accuracy_pair(ctx, curves)
    if accuracy is None:
        return None
    train, val, scale = accuracy
    train_end = _tail_mean(train, k) * scale
    val_end = _tail_mean(val, k) * scale
    if 100.0 - train_end > ctx.threshold("max_train_error"):
        return None
    if train_end - val_end < ctx.threshold("min_accuracy_gap"):
        return None
    return ctx.finding(
        f"{train.name} reached {train_end:.1f}% while {val.name} stays at {val_end:.1f}%: the "
        "model memorises the training set",
        evidence=[
            Evidence("train_accuracy_end", round(train_end, 2), "%"),
            Evidence("val_accuracy_end", round(val_end, 2), "%"),
            Evidence("accuracy_gap_end", round(train_end - val_end, 2), "points"),
        ],
        location=_location(curves, train, len(train) - 1),
        subject=train.name,
    )


@check("OFL306")
@_quiet
def no_validation_metric(ctx: CheckContext) -> Iterator[Finding]:
    for curves in ctx.curves:
        if curves.loss.val is not None:
            continue
        columns = ", ".join(curves.series) or "none"
        yield ctx.finding(
            f"no validation metric in the log, so the learning curve cannot be judged "
            f"for overfitting; columns found: {columns}",
            evidence=[Evidence("columns", list(curves.series))],
            location=Location(
                file=curves.source, line=None if curves.format == "tensorboard" else 1
            ),
            subject="validation",
        )


@check("OFL307")
@_quiet
def non_finite_loss(ctx: CheckContext) -> Iterator[Finding]:
    for curves in ctx.curves:
        for name in (curves.loss.train, curves.loss.val):
            series = curves.get(name)
            if series is None:
                continue
            bad = np.nonzero(~np.isfinite(series.values))[0]
            if bad.size == 0:
                continue
            first = int(bad[0])
            epoch = _epoch(series.epochs[first])
            line = int(series.lines[first])
            yield ctx.finding(
                f"{name} is {series.values[first]} at {curves.axis} {epoch}; {bad.size} of "
                f"{len(series)} points are not finite and the curve rules skip them",
                evidence=[
                    Evidence("first_bad_epoch", epoch, curves.axis),
                    Evidence("first_bad_line", line or None, "line"),
                    Evidence("non_finite_points", int(bad.size), "points"),
                ],
                location=_location(curves, series, first),
                subject=name,
            )


@check("OFL308", reads=("min_points",))
@_quiet
def too_short_to_judge(ctx: CheckContext) -> Iterator[Finding]:
    for curves in ctx.curves:
        val = curves.val_loss
        if val is None:
            continue  # OFL306 says so
        points = len(val.finite())
        needed = ctx.threshold("min_points")
        if points >= needed:
            continue
        yield ctx.finding(
            f"{val.name} has {points} finite point{'s' if points != 1 else ''}; the curve rules "
            f"need {needed} to judge the run, so it is not judged for overfitting",
            evidence=[
                Evidence("points", points, "points"),
                Evidence("needed", needed, "points"),
            ],
            location=Location(file=curves.source),
            subject=val.name,
        )
