"""OFL302 generalization gap and OFL305 memorization: training far ahead of validation.

A gap is evidence of overfitting when it opened while the validation loss got worse; a gap
that is already there while the validation loss is still at (or near) its best says that the
training and validation data differ, or that the training loss is measured differently (with
dropout on, with a penalty added), not that the model overfits. Such gaps are reported as info.
Both rules judge the weights that ship (the log up to the kept epoch, when it is known).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from overfitlint.checks.common import best_index, epoch_number, location, shipped
from overfitlint.curves import Curves, Series
from overfitlint.engine.context import CheckContext
from overfitlint.engine.registry import check
from overfitlint.findings import Evidence, Finding

NOT_GROWING = (
    "; the validation loss is still within {limit:g}% of its best (mean of the last points "
    "against the mean around the best), so the gap did not open by "
    "overfitting: check that training and validation data come from the same distribution and "
    "how the training loss is measured (dropout on, penalties added)"
)


def tail_mean(series: Series, k: int) -> float:
    return float(series.values[-max(1, k) :].mean())


def value_at(series: Series, epoch: float, k: int) -> float:
    """The mean of up to ``k`` points of ``series`` centred on ``epoch``."""
    index = int(np.argmin(np.abs(series.epochs - epoch)))
    half = max(0, k // 2)
    return float(series.values[max(0, index - half) : index + half + 1].mean())


def accuracy_scale(*series: Series | None) -> float:
    """100 when accuracies are fractions (0..1), 1 when the log writes percent."""
    peak = max((float(np.max(s.values)) for s in series if s is not None and len(s)), default=1)
    return 1.0 if peak > 1.5 else 100.0


def val_rise_pct(val: Series, k: int, lower: bool = True) -> float:
    """How much worse the end is than the logged best, in percent (worse is positive): the mean
    of the last ``k`` points against the mean of ``k`` points centred on the best, so that one
    lucky or unlucky point at either end does not decide it."""
    best_epoch = float(val.epochs[best_index(val, lower)])
    sign = 1.0 if lower else -1.0
    around_best = value_at(val, best_epoch, k)
    return 100.0 * sign * (tail_mean(val, k) - around_best) / max(abs(around_best), 1e-12)


def _finite(curves: Curves, name: str | None) -> Series | None:
    series = curves.get(name)
    return series.finite() if series is not None else None


def _loss_pair(ctx: CheckContext, curves: Curves) -> tuple[Series, Series] | None:
    """Finite train and val loss (lower is better) with enough points; or None."""
    train, val = _finite(curves, curves.loss.train), _finite(curves, curves.loss.val)
    if train is None or val is None or not curves.loss.lower_is_better:
        return None
    if min(len(train), len(val)) < ctx.threshold("min_epochs"):
        return None
    return train, val


def _judged_by(curves: Curves, val: Series, lower: bool) -> tuple[Series, bool]:
    """The validation series that says since when, and whether, the model got worse, and
    whether lower is better in it: ``val`` when it is a loss; for an accuracy, the validation
    loss where one is logged (continuous, where accuracy on a small validation set moves in
    steps: one best epoch, the loss's logged minimum), else the accuracy itself."""
    if not lower:
        loss = _finite(curves, curves.loss.val)
        if loss is not None and len(loss) >= 2:
            return loss, curves.loss.lower_is_better
    return val, lower


def _opened_by_overfitting(
    ctx: CheckContext, curves: Curves, val: Series, k: int, lower: bool
) -> bool:
    """Validation got worse by min_val_rise % from its best (as ``_judged_by`` chooses the
    series): the gap opened as the model overfitted."""
    judged, judged_lower = _judged_by(curves, val, lower)
    return val_rise_pct(judged, k, judged_lower) >= ctx.threshold("min_val_rise")


def _gap_finding(
    ctx: CheckContext,
    curves: Curves,
    at: Series,
    message: str,
    evidence: list[Evidence],
    growing: bool,
) -> Finding:
    """A finding at the last point of ``at``; info, saying why, when the gap did not open by
    overfitting."""
    if not growing:
        message += NOT_GROWING.format(limit=ctx.threshold("min_val_rise"))
    return ctx.finding(
        message,
        evidence=evidence,
        location=location(curves, at, len(at) - 1),
        subject=at.name,
        severity=None if growing else "info",
    )


@check(
    "OFL302",
    reads=("min_epochs", "max_loss_ratio", "max_accuracy_gap", "tail", "min_val_rise"),
)
def generalization_gap(ctx: CheckContext) -> Iterator[Finding]:
    k = int(ctx.threshold("tail"))
    for full in ctx.curves:
        curves = shipped(full, ctx.facts.kept).curves
        losses = _loss_pair(ctx, curves)
        if losses is not None:
            train, val = losses
            end_train, end_val = tail_mean(train, k), tail_mean(val, k)
            if end_train > 0 and end_val > 0:
                ratio = end_val / end_train
                if ratio >= ctx.threshold("max_loss_ratio"):
                    yield _loss_gap(ctx, curves, train, val, ratio, k)
                    continue
        gap = _accuracy_gap(ctx, curves, k)
        if gap is not None:
            yield gap


def _loss_gap(ctx: CheckContext, curves: Curves, train, val, ratio: float, k: int) -> Finding:
    best = best_index(val)
    best_epoch = float(val.epochs[best])
    best_ratio = value_at(val, best_epoch, k) / max(value_at(train, best_epoch, k), 1e-12)
    rise = val_rise_pct(val, k)
    return _gap_finding(
        ctx,
        curves,
        val,
        f"{val.name} is {ratio:.2f}x {train.name} (means of the last {k} points: "
        f"{tail_mean(val, k):.4g} vs {tail_mean(train, k):.4g}); it was {best_ratio:.2f}x at the "
        f"best {curves.axis} ({epoch_number(best_epoch)})",
        [
            Evidence("loss_ratio_end", round(ratio, 3), "x, tail mean"),
            Evidence("loss_ratio_at_best", round(best_ratio, 3), "x"),
            Evidence("train_end", round(tail_mean(train, k), 6), train.name),
            Evidence("val_end", round(tail_mean(val, k), 6), val.name),
            Evidence("best_epoch", epoch_number(best_epoch), curves.axis),
            Evidence("val_rise_from_best", round(rise, 2), "%, means: tail vs best"),
        ],
        rise >= ctx.threshold("min_val_rise"),
    )


def _accuracy_pair(ctx: CheckContext, curves: Curves) -> tuple[Series, Series, float] | None:
    """Finite train and val accuracy with enough points, and the scale to percent; or None."""
    pair = curves.accuracy
    if pair is None or not pair.train or not pair.val:
        return None
    train, val = _finite(curves, pair.train), _finite(curves, pair.val)
    if train is None or val is None:
        return None
    if min(len(train), len(val)) < ctx.threshold("min_epochs"):
        return None
    return train, val, accuracy_scale(train, val)


def _accuracy_gap(ctx: CheckContext, curves: Curves, k: int) -> Finding | None:
    accuracy = _accuracy_pair(ctx, curves)
    if accuracy is None:
        return None
    train, val, scale = accuracy
    gap = (tail_mean(train, k) - tail_mean(val, k)) * scale
    if gap < ctx.threshold("max_accuracy_gap"):
        return None
    growing = _opened_by_overfitting(ctx, curves, val, k, lower=False)
    judged, judged_lower = _judged_by(curves, val, lower=False)
    best_epoch = float(judged.epochs[best_index(judged, judged_lower)])
    best_gap = (value_at(train, best_epoch, k) - value_at(val, best_epoch, k)) * scale
    return _gap_finding(
        ctx,
        curves,
        val,
        f"{train.name} is {gap:.1f} points above {val.name} (means of the last {k} points); the "
        f"gap was {best_gap:.1f} points at the best {curves.axis} ({epoch_number(best_epoch)})",
        [
            Evidence("accuracy_gap_end", round(gap, 2), "points, tail mean"),
            Evidence("accuracy_gap_at_best", round(best_gap, 2), "points"),
            Evidence("best_epoch", epoch_number(best_epoch), curves.axis),
        ],
        growing,
    )


@check(
    "OFL305",
    reads=(
        "min_epochs",
        "max_train_loss_share",
        "min_loss_ratio",
        "max_train_error",
        "min_accuracy_gap",
        "tail",
        "min_val_rise",
    ),
)
def memorization(ctx: CheckContext) -> Iterator[Finding]:
    k = int(ctx.threshold("tail"))
    for full in ctx.curves:
        curves = shipped(full, ctx.facts.kept).curves
        finding = _memorized_loss(ctx, curves, k) or _memorized_accuracy(ctx, curves, k)
        if finding is not None:
            yield finding


def _memorized_loss(ctx: CheckContext, curves: Curves, k: int) -> Finding | None:
    losses = _loss_pair(ctx, curves)
    if losses is None:
        return None
    train, val = losses
    start = float(train.values[: max(1, min(k, len(train) // 4))].mean())
    end_train, end_val = tail_mean(train, k), tail_mean(val, k)
    if start <= 0 or end_train < 0 or end_val <= 0:
        return None
    share = 100.0 * end_train / start
    ratio = end_val / max(end_train, 1e-12)
    if share > ctx.threshold("max_train_loss_share") or ratio < ctx.threshold("min_loss_ratio"):
        return None
    return _gap_finding(
        ctx,
        curves,
        train,
        f"{train.name} fell to {share:.2g}% of its start ({end_train:.3g}, mean of the last {k}) "
        f"while {val.name} stays at {end_val:.3g} ({ratio:.0f}x): the model memorises the "
        "training set",
        [
            Evidence("train_end", round(end_train, 8), train.name),
            Evidence("train_share_of_start", round(share, 3), "%"),
            Evidence("val_end", round(end_val, 6), val.name),
            Evidence("loss_ratio_end", round(ratio, 2), "x"),
        ],
        _opened_by_overfitting(ctx, curves, val, k, lower=True),
    )


def _memorized_accuracy(ctx: CheckContext, curves: Curves, k: int) -> Finding | None:
    accuracy = _accuracy_pair(ctx, curves)
    if accuracy is None:
        return None
    train, val, scale = accuracy
    train_end = tail_mean(train, k) * scale
    val_end = tail_mean(val, k) * scale
    if 100.0 - train_end > ctx.threshold("max_train_error"):
        return None
    if train_end - val_end < ctx.threshold("min_accuracy_gap"):
        return None
    return _gap_finding(
        ctx,
        curves,
        train,
        f"{train.name} reached {train_end:.1f}% while {val.name} stays at {val_end:.1f}% (means of "
        f"the last {k}): the model memorises the training set",
        [
            Evidence("train_accuracy_end", round(train_end, 2), "%"),
            Evidence("val_accuracy_end", round(val_end, 2), "%"),
            Evidence("accuracy_gap_end", round(train_end - val_end, 2), "points"),
        ],
        _opened_by_overfitting(ctx, curves, val, k, lower=False),
    )
