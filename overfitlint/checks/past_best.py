"""OFL303: training went on long past the best epoch.

Three situations, told apart by what the inputs say about the weights that ship:

- the kept weights are the best epoch's (a best checkpoint, restored weights): only compute was
  spent past it (info), and no early stopping is recommended: the run had one;
- the log ends exactly ``n`` evaluations after its best before the planned number of epochs (or
  at a count that is no round number): the signature of ``EarlyStopping(patience=n)``; without a
  kept epoch the check cannot tell whether the best weights were restored, and says how to tell it;
- otherwise Keras' ``EarlyStopping`` is replayed on the curve and the setting that would have
  stopped the run is named, with what it saves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from overfitlint.checks.common import best_index, epoch_number, location, points, spacing
from overfitlint.curves import Curves, Series
from overfitlint.engine.context import CheckContext
from overfitlint.engine.registry import check
from overfitlint.facts import KeptEpoch
from overfitlint.findings import Evidence, Finding
from overfitlint.measures import simulate_early_stopping

READS = (
    "min_epochs",
    "patience",
    "min_delta",
    "min_saved_share",
    "min_saved",
    "max_later_gain",
    "min_final_gap",
    "max_signature_patience",
)
PLANNED_EPOCHS = ("max_epochs", "num_train_epochs", "epochs", "n_epochs", "num_epochs")


def _round_sig(value: float, digits: int = 2) -> float:
    if value <= 0 or not np.isfinite(value):
        return 0.0
    return float(f"{value:.{digits}g}")


def _planned_epochs(curves: Curves) -> float | None:
    """The number of epochs the run was set up for, where the log (or hparams) records it."""
    sources: list[dict[str, Any]] = [curves.meta]
    hparams = curves.meta.get("hparams")
    if isinstance(hparams, dict):
        sources.append(hparams)
    for source in sources:
        for key in PLANNED_EPOCHS:
            value = source.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                return float(value)
    return None


def early_stopping_signature(curves: Curves, val: Series, limit: int) -> int | None:
    """The patience of the EarlyStopping that would end this log where it ends, when the log
    looks stopped early: before its planned epochs, or (with no plan recorded) at a point count
    that is no round number. None: no signature."""
    best = best_index(val, curves.loss.lower_is_better)
    waited = len(val) - 1 - best
    if not 1 <= waited <= limit:
        return None
    planned = _planned_epochs(curves)
    if planned is not None and curves.axis == "epoch":
        first = float(val.epochs[0])
        return waited if float(val.epochs[-1]) - first + 1 < planned - 0.5 else None
    return waited if len(val) % 5 else None


def _kept_index(val: Series, kept: KeptEpoch | None) -> int | None:
    if kept is None or len(val) == 0:
        return None
    index = int(np.argmin(np.abs(val.epochs - kept.epoch)))
    return index if abs(float(val.epochs[index]) - kept.epoch) <= spacing(val) / 2 else None


def _units(curves: Curves, val: Series, count: int) -> str:
    """``12 epochs``; on a step axis ``12 evaluations (1,200 steps)``."""
    text = points(count, curves.axis)
    if curves.axis == "step" and count:
        text += f" ({count * spacing(val):,.0f} steps)"
    return text


@check("OFL303", reads=READS)
def kept_training_past_best(ctx: CheckContext) -> Iterator[Finding]:
    for curves in ctx.curves:
        val = curves.val_loss
        if val is None:
            continue
        val = val.finite()
        if len(val) < ctx.threshold("min_epochs"):
            continue
        kept = _kept_index(val, ctx.facts.kept)
        best = best_index(val, curves.loss.lower_is_better)
        if kept is not None and kept <= best:
            if len(val) - 1 - best >= ctx.threshold("min_saved"):
                yield _best_kept(ctx, curves, val, best, kept)
            continue
        signature = early_stopping_signature(
            curves, val, int(ctx.threshold("max_signature_patience"))
        )
        if signature is not None:
            yield _signature(ctx, curves, val, best, signature, kept)
            continue
        finding = _replay(ctx, curves, val)
        if finding is not None:
            yield finding


def _best_kept(ctx, curves: Curves, val: Series, best: int, kept: int) -> Finding:
    axis = curves.axis
    past = len(val) - 1 - best
    source = ctx.facts.kept.source
    return ctx.finding(
        f"training went on {_units(curves, val, past)} after the best {axis} "
        f"({epoch_number(val.epochs[best])}), but the weights that ship are from {axis} "
        f"{epoch_number(val.epochs[kept])} ({source}): nothing was lost but the compute",
        evidence=[
            Evidence("best_epoch", epoch_number(val.epochs[best]), axis),
            Evidence("kept_epoch", epoch_number(val.epochs[kept]), axis),
            Evidence("kept_source", source),
            Evidence("points_past_best", past, "points"),
        ],
        location=location(curves, val, best),
        subject=val.name,
        severity="info",
        fix="Nothing to fix in the model. To spend less, stop sooner after the best epoch "
        "(a smaller patience in the early stopping that kept these weights).",
    )


def _signature(ctx, curves, val: Series, best: int, patience: int, kept: int | None) -> Finding:
    axis = curves.axis
    best_epoch = epoch_number(val.epochs[best])
    lower = curves.loss.lower_is_better
    sign = 1.0 if lower else -1.0
    final_gap = (
        100.0 * sign * (val.values[-1] - val.values[best]) / max(abs(val.values[best]), 1e-12)
    )
    evidence = [
        Evidence("best_epoch", best_epoch, axis),
        Evidence("signature_patience", patience, "points"),
        Evidence("final_vs_best", round(float(final_gap), 2), "%"),
    ]
    if kept is not None:  # the kept weights are the last ones: stopped, but not restored
        evidence.append(Evidence("kept_epoch", epoch_number(val.epochs[kept]), axis))
        severity = None if final_gap >= ctx.threshold("min_final_gap") else "info"
        return ctx.finding(
            f"the run looks stopped by early stopping with patience {patience} (it ends "
            f"{_units(curves, val, patience)} after its best, {axis} {best_epoch}), but the "
            f"weights that ship are from {axis} {epoch_number(val.epochs[kept])}, not the best: "
            f"{final_gap:+.1f}%",
            evidence=evidence,
            location=location(curves, val, len(val) - 1),
            subject=val.name,
            severity=severity,
            fix="Keep the best weights when stopping: Keras EarlyStopping(..., "
            "restore_best_weights=True); Lightning ModelCheckpoint(monitor=..., save_top_k=1) "
            "and load its best_model_path; Hugging Face load_best_model_at_end=True.",
        )
    return ctx.finding(
        f"the log ends {_units(curves, val, patience)} after its best ({axis} {best_epoch}): the "
        f"signature of early stopping with patience {patience}; whether the best weights were "
        "restored is not in the log, so the end of the log is judged",
        evidence=evidence,
        location=location(curves, val, len(val) - 1),
        subject=val.name,
        severity="info",
        confidence="medium",
        fix=f"If the callback restored the best weights (Keras restore_best_weights=True, "
        f"Hugging Face load_best_model_at_end=True), say so with --kept-epoch {best_epoch} and "
        "the weights that ship are judged instead of the end of the log.",
    )


def _replay(ctx: CheckContext, curves: Curves, val: Series) -> Finding | None:
    n = len(val)
    lower = curves.loss.lower_is_better
    sign = 1.0 if lower else -1.0
    values = sign * val.values
    best_overall = float(values.min())
    min_delta = _round_sig(abs(best_overall) * ctx.threshold("min_delta") / 100.0)
    patience = int(ctx.threshold("patience"))
    stop = simulate_early_stopping(values, patience, min_delta)
    if stop.stop_index is None or stop.stop_index >= n - 1:
        return None
    saved = n - 1 - stop.stop_index
    x = val.epochs
    span = float(x[-1] - x[0] + spacing(val))
    saved_share = 100.0 * float(x[-1] - x[stop.stop_index]) / span
    if saved < ctx.threshold("min_saved") or saved_share < ctx.threshold("min_saved_share"):
        return None
    kept = float(values[stop.best_index])
    later_best = float(values[stop.stop_index + 1 :].min())
    scale = max(abs(kept), 1e-12)
    if 100.0 * (kept - later_best) / scale > ctx.threshold("max_later_gain"):
        return None  # training on found a clearly better point: stopping would have cost
    final = float(values[-1])
    final_gap = 100.0 * (final - kept) / scale
    axis = curves.axis
    stop_epoch = epoch_number(x[stop.stop_index])
    best_epoch = epoch_number(x[stop.best_index])
    mode = "min" if lower else "max"
    setting = (
        f"EarlyStopping(monitor={val.name!r}, mode={mode!r}, patience={patience}, "
        f"min_delta={min_delta:g}, restore_best_weights=True)"
    )
    severity = None if final_gap >= ctx.threshold("min_final_gap") else "info"
    return ctx.finding(
        f"training went on {_units(curves, val, saved)} ({saved_share:.0f}% of the run) after "
        f"{setting} would have stopped it at {axis} {stop_epoch}, keeping {axis} {best_epoch} "
        f"({val.name} {sign * kept:.4g}); the last logged value is {sign * final:.4g} "
        f"({final_gap:+.1f}%)",
        evidence=[
            Evidence("monitor", val.name),
            Evidence("patience", patience, "points"),
            Evidence("min_delta", min_delta, val.name),
            Evidence("stop_epoch", stop_epoch, axis),
            Evidence("restored_epoch", best_epoch, axis),
            Evidence("points_saved", saved, "points"),
            Evidence("share_saved", round(saved_share, 1), "%"),
            Evidence("restored_value", round(sign * kept, 6), val.name),
            Evidence("final_value", round(sign * final, 6), val.name),
            Evidence("final_vs_restored", round(final_gap, 2), "%"),
        ],
        location=location(curves, val, stop.stop_index),
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
