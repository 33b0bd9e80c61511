"""OFL309: several logs that are the folds of one k-fold experiment (or repeated runs).

Which logs belong together: with ``--folds`` every log of the check; otherwise logs whose
paths are the same once the number after ``fold``, ``seed``, ``repeat`` or ``rep`` is taken
out (``exp/fold1/metrics.csv`` and ``exp/fold2/metrics.csv``; ``run-seed0.csv`` and
``run-seed1.csv``). Each fold is judged by OFL301's criteria, with OFL301's thresholds as
configured, so a fold "diverges" exactly when OFL301 flags it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from overfitlint.checks.divergence import DivergenceVerdict, judge_divergence
from overfitlint.curves import Curves
from overfitlint.engine.context import CheckContext
from overfitlint.engine.registry import check
from overfitlint.findings import Evidence, Finding, Location
from overfitlint.measures import median

FOLD_TOKEN = re.compile(r"(?i)(?<![a-z])(k?fold|seed|repeat|rep)[-_ ]?(\d+)(?!\d)")


@dataclass
class Fold:
    label: str
    curves: Curves
    verdict: DivergenceVerdict | None


def fold_key(relative: str) -> tuple[str, str] | None:
    """(the path with its fold numbers taken out, the fold's label) or None: no fold part."""
    found = list(FOLD_TOKEN.finditer(relative))
    if not found:
        return None
    key = FOLD_TOKEN.sub(lambda m: f"{m.group(1).lower()}*", relative)
    label = "/".join(f"{m.group(1).lower()}{int(m.group(2))}" for m in found)
    return key, label


def _relative(curves: list[Curves]) -> list[str]:
    """Each log's path below the folder all the logs share (so that a fold-like name above
    them, e.g. a temporary folder's, neither groups nor labels them)."""
    paths = [PurePath(c.source) for c in curves]
    try:
        common = PurePath(os.path.commonpath([str(p.parent) for p in paths]))
    except ValueError:  # absolute and relative paths mixed
        return [p.as_posix() for p in paths]
    return [
        p.relative_to(common).as_posix() if p.is_relative_to(common) else p.as_posix()
        for p in paths
    ]


def group_folds(curves: list[Curves], declared: bool) -> dict[str, list[tuple[str, Curves]]]:
    """{experiment: [(fold label, curves), ...]} for groups of at least two logs."""
    groups: dict[str, list[tuple[str, Curves]]] = {}
    for relative, item in zip(_relative(curves), curves, strict=True):
        keyed = fold_key(relative)
        if declared:
            groups.setdefault("all logs (--folds)", []).append(
                (keyed[1] if keyed else relative, item)
            )
        elif keyed:
            groups.setdefault(keyed[0], []).append((keyed[1], item))
    return {key: members for key, members in groups.items() if len(members) >= 2}


def _epoch(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 3)


@check("OFL309", reads=("min_folds",))
def inconsistent_folds(ctx: CheckContext) -> Iterator[Finding]:
    limits = ctx.thresholds_of("OFL301")
    for experiment, members in group_folds(ctx.curves, ctx.facts.folds).items():
        folds = [Fold(label, curves, judge_divergence(curves, limits)) for label, curves in members]
        judged = [fold for fold in folds if fold.verdict is not None]
        if len(judged) < max(2, int(ctx.threshold("min_folds"))):
            continue
        yield _finding(ctx, experiment, folds, judged)


def _finding(ctx: CheckContext, experiment: str, folds: list[Fold], judged: list[Fold]):
    val_name = judged[0].curves.loss.val
    axis = judged[0].curves.axis
    best_epochs = [_epoch(f.verdict.rise.best_epoch) for f in judged]
    best_values = [float(f.verdict.rise.best_value) for f in judged]
    diverging = [f for f in judged if f.verdict.diverging]
    steady = [f for f in judged if not f.verdict.diverging]
    low, high = min(best_values), max(best_values)
    middle = median(np.asarray(best_values, dtype=np.float64))
    spread = 100.0 * (high - low) / max(abs(middle), 1e-12)
    labels = [f.label for f in judged]
    evidence = [
        Evidence("folds", labels),
        Evidence("best_epochs", best_epochs, axis),
        Evidence("best_values", [round(v, 6) for v in best_values], val_name or ""),
        Evidence("best_value_spread", round(spread, 1), "%"),
        Evidence("best_value_std", round(float(np.std(best_values)), 6), val_name or ""),
        Evidence("best_epoch_range", [min(best_epochs), max(best_epochs)], axis),
        Evidence("diverging_folds", [f.label for f in diverging]),
    ]
    skipped = [f.label for f in folds if f.verdict is None]
    if skipped:
        evidence.append(Evidence("not_judged", skipped))
    table = ", ".join(
        f"{f.label}: {axis} {e} ({v:.4g})"
        for f, e, v in zip(judged, best_epochs, best_values, strict=True)
    )
    summary = (
        f"best {val_name} {low:.4g}-{high:.4g} (spread {spread:.0f}% of the median), best "
        f"{axis}s {min(best_epochs)}-{max(best_epochs)}"
    )
    if diverging and steady:
        first = diverging[0]
        val = first.curves.val_loss.finite()
        onset = first.verdict.rise.onset_index or 0
        line = int(val.lines[onset])
        verb, whose = ("diverges", "its") if len(diverging) == 1 else ("diverge", "their")
        rises = ", ".join(f"{f.label} +{f.verdict.rise.rise_pct:.0f}%" for f in diverging)
        return ctx.finding(
            f"{len(diverging)} of {len(judged)} folds {verb} ({rises} above {whose} best) "
            f"while the other {len(steady)} do not: the setup overfits some splits; "
            f"{summary}. Per fold: {table}",
            evidence=evidence,
            location=Location(
                file=first.curves.source_of(val, onset),
                line=line or None,
                epoch=_epoch(val.epochs[onset]),
            ),
            subject=experiment,
        )
    state = (
        f"all {len(judged)} diverge (see OFL301)"
        if diverging
        else f"none of the {len(judged)} diverges"
    )
    return ctx.finding(
        f"{len(judged)} folds of one experiment ({experiment}): {summary}; {state}. "
        f"Per fold: {table}",
        evidence=evidence,
        location=Location(file=judged[0].curves.source),
        subject=experiment,
        severity="info",
        fix=(
            "Nothing to fix in the folds' agreement. A final model trained on all the data "
            f"can stop near the folds' best {axis}s ({min(best_epochs)}-{max(best_epochs)})."
        ),
    )
