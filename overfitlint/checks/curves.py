"""3xx: learning curves read from the training logs."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from overfitlint.curves import Curves
from overfitlint.engine.context import CheckContext
from overfitlint.engine.registry import check
from overfitlint.findings import Evidence, Finding, Location
from overfitlint.measures import measure_divergence


def _epoch(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 3)


@check("OFL301", reads=("min_epochs", "patience", "min_rise", "onset_rise", "smoothing"))
def diverging_validation_loss(ctx: CheckContext) -> Iterator[Finding]:
    for curves in ctx.curves:
        val = curves.val_loss
        if val is None:
            continue
        measured = measure_divergence(
            val,
            curves.train_loss,
            smoothing=ctx.threshold("smoothing"),
            onset_rise_pct=ctx.threshold("onset_rise"),
            lower_is_better=curves.loss.lower_is_better,
        )
        if measured is None or measured.points < ctx.threshold("min_epochs"):
            continue
        diverging = (
            measured.points_past_min >= ctx.threshold("patience")
            and measured.rise_pct >= ctx.threshold("min_rise")
            and measured.onset_index is not None
            and (measured.train_change_pct is None or measured.train_change_pct <= 0)
        )
        if not diverging:
            continue
        yield _divergence_finding(ctx, curves, measured)


def _divergence_finding(ctx: CheckContext, curves: Curves, measured) -> Finding:
    val = curves.val_loss.finite()
    onset_epoch = _epoch(val.epochs[measured.onset_index])
    onset_line = int(val.lines[measured.onset_index])
    best_epoch = _epoch(measured.best_epoch)
    train_note = (
        f" while {curves.loss.train} changed {measured.train_change_pct:+.1f}%"
        if measured.train_change_pct is not None
        else " (no training curve to compare)"
    )
    evidence = [
        Evidence("best_epoch", best_epoch, "epoch"),
        Evidence("best_value", round(measured.best_value, 6), val.name),
        Evidence("final_value", round(measured.final_value, 6), val.name),
        Evidence("rise", round(measured.rise_pct, 2), "%"),
        Evidence("onset_epoch", onset_epoch, "epoch"),
        Evidence("onset_line", onset_line, "line"),
        Evidence("epochs_past_best", measured.epochs_past_best, "epochs"),
        Evidence("share_past_best", round(100 * measured.share_past_best, 1), "%"),
    ]
    if measured.train_change_pct is not None:
        evidence.append(
            Evidence("train_change_past_best", round(measured.train_change_pct, 2), "%")
        )
    return ctx.finding(
        f"{val.name} is {measured.rise_pct:.1f}% above its best (epoch {best_epoch}) and "
        f"has stayed above it since epoch {onset_epoch}{train_note}; "
        f"{measured.epochs_past_best} of {measured.points} epochs "
        f"({100 * measured.share_past_best:.0f}%) ran past the best",
        evidence=evidence,
        location=Location(file=curves.source, line=onset_line, epoch=onset_epoch),
        subject=val.name,
        confidence=None if measured.train_change_pct is not None else "medium",
    )


@check("OFL306")
def no_validation_metric(ctx: CheckContext) -> Iterator[Finding]:
    for curves in ctx.curves:
        if curves.loss.val is not None:
            continue
        columns = ", ".join(curves.series) or "none"
        yield ctx.finding(
            f"no validation metric in the log, so the learning curve cannot be judged "
            f"for overfitting; columns found: {columns}",
            evidence=[Evidence("columns", list(curves.series))],
            location=Location(file=curves.source, line=1),
            subject="validation",
        )


@check("OFL307")
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
                f"{name} is {series.values[first]} at epoch {epoch}; {bad.size} of "
                f"{len(series)} points are not finite and the curve rules skip them",
                evidence=[
                    Evidence("first_bad_epoch", epoch, "epoch"),
                    Evidence("first_bad_line", line, "line"),
                    Evidence("non_finite_points", int(bad.size), "points"),
                ],
                location=Location(file=curves.source, line=line, epoch=epoch),
                subject=name,
            )
