"""OFL306 no validation metric, OFL307 non-finite losses, OFL308 too short to judge."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from overfitlint.checks.common import epoch_number, location
from overfitlint.engine.context import CheckContext
from overfitlint.engine.registry import check
from overfitlint.findings import Evidence, Finding, Location


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
            location=Location(
                file=curves.source, line=None if curves.format == "tensorboard" else 1
            ),
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
            epoch = epoch_number(series.epochs[first])
            line = int(series.lines[first])
            yield ctx.finding(
                f"{name} is {series.values[first]} at {curves.axis} {epoch}; {bad.size} of "
                f"{len(series)} points are not finite and the curve rules skip them",
                evidence=[
                    Evidence("first_bad_epoch", epoch, curves.axis),
                    Evidence("first_bad_line", line or None, "line"),
                    Evidence("non_finite_points", int(bad.size), "points"),
                ],
                location=location(curves, series, first),
                subject=name,
            )


@check("OFL308")
def too_short_to_judge(ctx: CheckContext) -> Iterator[Finding]:
    """Judged against OFL301's own floor: the log is too short when OFL301 cannot judge it."""
    needed = int(ctx.thresholds_of("OFL301")["short_min_points"])
    for curves in ctx.curves:
        val = curves.val_loss
        if val is None:
            continue  # OFL306 says so
        count = len(val.finite())
        if count >= needed:
            continue
        yield ctx.finding(
            f"{val.name} has {count} finite point{'s' if count != 1 else ''}; a rise needs at "
            f"least {needed} to show, so the run is not judged for overfitting",
            evidence=[
                Evidence("points", count, "points"),
                Evidence("needed", needed, "points"),
            ],
            location=Location(file=curves.source),
            subject=val.name,
        )
