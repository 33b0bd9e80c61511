"""OFL304: validation accuracy falls while training accuracy rises (the weights that ship)."""

from __future__ import annotations

from collections.abc import Iterator

from overfitlint.checks.common import epoch_number, location, shipped
from overfitlint.checks.gap import accuracy_scale
from overfitlint.curves import Series
from overfitlint.engine.context import CheckContext
from overfitlint.engine.registry import check
from overfitlint.findings import Evidence, Finding
from overfitlint.measures import measure_divergence


def _points_gained(train: Series, epoch: float, k: int) -> float | None:
    after = train.values[train.epochs >= epoch]
    if after.size < 2:
        return None
    k = max(1, min(int(k), after.size // 2))
    return float(after[-k:].mean() - after[:k].mean())


@check(
    "OFL304",
    reads=("min_epochs", "patience", "min_drop", "min_z", "min_train_gain", "smoothing"),
)
def accuracy_falls_while_train_rises(ctx: CheckContext) -> Iterator[Finding]:
    for full in ctx.curves:
        curves = shipped(full, ctx.facts.kept).curves
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
        finite = val.finite()
        scale = accuracy_scale(finite, train.finite())
        best = int(finite.values.argmax())
        best_epoch, best_value = float(finite.epochs[best]), float(finite.values[best])
        drop = (best_value - float(finite.values[-1])) * scale
        smoothed_drop = (measured.smoothed_best - measured.end_level) * scale
        train_gain = _points_gained(train.finite(), best_epoch, ctx.threshold("patience"))
        if train_gain is None:
            continue
        train_gain *= scale
        if not (
            measured.points_past_min >= ctx.threshold("patience")
            and smoothed_drop >= ctx.threshold("min_drop")
            and measured.rise_z >= ctx.threshold("min_z")
            and train_gain >= ctx.threshold("min_train_gain")
        ):
            continue
        axis = curves.axis
        yield ctx.finding(
            f"{val.name} fell {drop:.1f} points from its best ({axis} {epoch_number(best_epoch)}: "
            f"{best_value:.4g}) to {finite.values[-1]:.4g} ({axis} "
            f"{epoch_number(finite.epochs[-1])}) while {train.name} rose {train_gain:.1f} points",
            evidence=[
                Evidence("best_epoch", epoch_number(best_epoch), axis),
                Evidence("best_value", round(best_value, 6), pair.val),
                Evidence("final_value", round(float(finite.values[-1]), 6), pair.val),
                Evidence("val_drop", round(drop, 2), "points"),
                Evidence("smoothed_drop", round(smoothed_drop, 2), "points, smoothed"),
                Evidence("train_gain", round(train_gain, 2), "points"),
                Evidence("drop_z", round(float(min(measured.rise_z, 1e6)), 1), "standard errors"),
            ],
            location=location(curves, finite, len(finite) - 1),
            subject=val.name,
        )
