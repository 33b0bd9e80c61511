"""OFL310: inputs that contradict each other, said instead of silently believed.

- the kept epoch (a checkpoint's ``epoch``, a best-checkpoint file name, ``--kept-epoch``)
  lies outside the log: the log does not describe these weights, or the numbering differs;
- the same log given twice (identical points): one run counted twice, as if it were two folds;
- a parameter count the log's hparams state differs from the model's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from overfitlint.checks.common import epoch_number, spacing
from overfitlint.curves import Curves
from overfitlint.engine.context import CheckContext
from overfitlint.engine.registry import check
from overfitlint.findings import Evidence, Finding, Location

PARAM_KEYS = (
    "num_parameters",
    "n_params",
    "num_params",
    "total_params",
    "trainable_params",
    "parameters",
    "param_count",
)


def _same_points(a: Curves, b: Curves) -> bool:
    left, right = a.val_loss or a.train_loss, b.val_loss or b.train_loss
    if left is None or right is None or len(left) != len(right) or len(left) == 0:
        return False
    return bool(
        np.array_equal(left.epochs, right.epochs)
        and np.array_equal(left.values, right.values, equal_nan=True)
    )


@check("OFL310", reads=("max_param_mismatch",))
def mismatched_inputs(ctx: CheckContext) -> Iterator[Finding]:
    kept = ctx.facts.kept
    for curves in ctx.curves:
        val = curves.val_loss.finite() if curves.val_loss is not None else None
        if kept is not None and val is not None and len(val):
            first, last = float(val.epochs[0]), float(val.epochs[-1])
            slack = spacing(val) / 2
            if not first - slack <= kept.epoch <= last + slack:
                yield ctx.finding(
                    f"the model's weights are from {curves.axis} {epoch_number(kept.epoch)} "
                    f"({kept.source}), but {Path(curves.source).name} logs {curves.axis}s "
                    f"{epoch_number(first)} to {epoch_number(last)}: the log does not describe "
                    "these weights (another run, or a different epoch numbering); the end of "
                    "the log is judged",
                    evidence=[
                        Evidence("kept_epoch", epoch_number(kept.epoch), curves.axis),
                        Evidence("kept_source", kept.source),
                        Evidence("log_first", epoch_number(first), curves.axis),
                        Evidence("log_last", epoch_number(last), curves.axis),
                    ],
                    location=Location(file=curves.source),
                    subject="kept epoch",
                )
        yield from _param_counts(ctx, curves)
    seen: list[Curves] = []
    for curves in ctx.curves:
        twin = next((other for other in seen if _same_points(other, curves)), None)
        if twin is not None:
            yield ctx.finding(
                f"{curves.source} holds exactly the points of {twin.source}: the same run given "
                "twice is judged as two runs (and as two folds)",
                evidence=[Evidence("first", twin.source), Evidence("second", curves.source)],
                location=Location(file=curves.source),
                subject="duplicate log",
            )
        seen.append(curves)


def _param_counts(ctx: CheckContext, curves: Curves) -> Iterator[Finding]:
    model = ctx.model
    hparams = curves.meta.get("hparams")
    if model is None or not isinstance(hparams, dict):
        return
    for key in PARAM_KEYS:
        stated = hparams.get(key)
        if not isinstance(stated, int | float) or isinstance(stated, bool) or stated <= 0:
            continue
        counted = model.trainable_params if "trainable" in key else model.total_params
        if counted <= 0:
            return
        off = 100.0 * abs(counted - stated) / stated
        if off > ctx.threshold("max_param_mismatch"):
            yield ctx.finding(
                f"{Path(curves.source).name}'s hparams say {key} = {int(stated):,}, but the model "
                f"file has {counted:,} ({off:.0f}% off): the model and the log may not belong "
                "together",
                evidence=[
                    Evidence("hparams_key", key),
                    Evidence("stated", int(stated), "params"),
                    Evidence("counted", counted, "params"),
                    Evidence("difference", round(off, 1), "%"),
                ],
                location=Location(file=curves.source),
                subject="parameter count",
            )
        return
