"""6xx: a whole sweep (the runs of a tracker experiment or the trials of a study) judged
together. Each check reads ``ctx.sweep`` (overfitlint.loaders.trackers.Sweep); each trial's
curve is judged by OFL301's criteria with OFL301's thresholds as configured."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from overfitlint.checks.divergence import READS as OFL301_READS
from overfitlint.checks.divergence import judge_divergence
from overfitlint.checks.sweep_measures import (
    TrialOutcome,
    end_gap,
    halving_savings,
    median_pruner_savings,
    patience_savings,
    rank_biserial,
    spearman,
)
from overfitlint.curves import Curves
from overfitlint.engine.context import CheckContext, Checked
from overfitlint.engine.registry import check
from overfitlint.findings import Evidence, Finding, Location
from overfitlint.loaders.logs.metric_names import tokens
from overfitlint.loaders.trackers.run import as_number

# What a hyperparameter is, from the tokens of its name (the last part of a dotted path)
PARAM_KINDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("dropout", frozenset({"dropout", "drop"})),
    ("learning rate", frozenset({"lr", "learning", "learningrate"})),
    ("weight decay", frozenset({"decay", "wd", "l2", "l1", "regularization", "reg"})),
    ("batch size", frozenset({"batch", "bs", "batchsize"})),
    (
        "augmentation",
        frozenset(
            {
                "aug",
                "augment",
                "augmentation",
                "mixup",
                "cutmix",
                "flip",
                "randaugment",
                "autoaugment",
                "crop",
                "jitter",
                "cutout",
                "erasing",
            }
        ),
    ),
    (
        "model size",
        frozenset(
            {
                "hidden",
                "width",
                "units",
                "layers",
                "depth",
                "channels",
                "filters",
                "neurons",
                "dim",
                "embed",
                "size",
                "heads",
                "blocks",
            }
        ),
    ),
)


def _epoch(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 3)


def _limits(ctx: CheckContext) -> dict[str, Any]:
    resolved = ctx.thresholds_of("OFL301")
    return {name: resolved[name] for name in OFL301_READS}


def trial_outcome(curves: Curves | None, limits: Mapping[str, Any]) -> TrialOutcome | None:
    """None when the trial has no finite validation point."""
    if curves is None or curves.val_loss is None:
        return None
    val = curves.val_loss.finite()
    if len(val) == 0:
        return None
    lower = curves.loss.lower_is_better
    oriented = val.values if lower else -val.values
    best_index = int(np.argmin(oriented))
    with np.errstate(all="ignore"):
        verdict = judge_divergence(curves, limits)
    return TrialOutcome(
        values=val.values,
        epochs=val.epochs,
        lower_is_better=lower,
        best_index=best_index,
        gap=end_gap(curves, int(limits["patience"])),
        verdict=verdict,
    )


@dataclass
class Judged:
    run: Any
    """overfitlint.loaders.trackers.TrackedRun"""
    outcome: TrialOutcome


def _judged(ctx: CheckContext) -> list[Judged]:
    limits = _limits(ctx)
    judged = []
    for run in ctx.sweep.runs:
        outcome = trial_outcome(run.curves, limits)
        if outcome is not None:
            judged.append(Judged(run, outcome))
    return judged


def _where(ctx: CheckContext, run: Any = None, index: int | None = None) -> Location:
    if run is None or run.curves is None or run.curves.val_loss is None:
        return Location(file=ctx.sweep.source)
    val = run.curves.val_loss.finite()
    if index is None or not len(val):
        return Location(file=run.curves.source)
    line = int(val.lines[index])
    return Location(
        file=run.curves.source_of(val, index), line=line or None, epoch=_epoch(val.epochs[index])
    )


# -- OFL601 -----------------------------------------------------------------------------------


@check("OFL601", reads=("objective_tolerance",))
def best_trial_overfits(ctx: CheckContext) -> Iterator[Finding | Checked]:
    best = ctx.sweep.best_run
    if best is None:
        return
    outcome = trial_outcome(best.curves, _limits(ctx))
    if outcome is None:
        return
    if not outcome.diverging:
        axis = best.curves.axis
        yield ctx.checked(
            f"best trial {best.source}",
            f"the sweep's best trial, {best.source}, does not diverge (best {axis} "
            f"{_epoch(outcome.epochs[outcome.best_index])} of {outcome.points} points)",
        )
        return
    measured = outcome.verdict.rise
    curves = best.curves
    axis = curves.axis
    val_name = curves.loss.val
    onset = int(measured.onset_index)
    at = _objective_index(outcome, best.objective, float(ctx.threshold("objective_tolerance")))
    others = [
        r
        for r in ctx.sweep.runs
        if r is not best
        and (o := trial_outcome(r.curves, _limits(ctx))) is not None
        and o.diverging
    ]
    evidence = [
        Evidence("trial", best.source),
        Evidence("objective", best.objective, val_name or ""),
        Evidence("best_epoch", _epoch(measured.best_epoch), axis),
        Evidence("best_value", round(measured.best_value, 6), val_name or ""),
        Evidence("onset_epoch", _epoch(outcome.epochs[onset]), axis),
        Evidence("rise", round(measured.rise_pct, 2), "%"),
        Evidence("trials", len(ctx.sweep.runs), "trials"),
        Evidence("other_diverging_trials", len(others), "trials"),
    ]
    name = f"{best.source}{f' ({best.name})' if best.name and best.name != best.source else ''}"
    summary = (
        f"the sweep's best trial, {name}, overfits: {val_name} rose "
        f"{measured.rise_pct:.1f}% above its best ({axis} "
        f"{_epoch(measured.best_epoch)}, {measured.best_value:.4g}) from {axis} "
        f"{_epoch(outcome.epochs[onset])} on"
    )
    tail = f"; {len(others)} other trial(s) of {len(ctx.sweep.runs)} diverge too" if others else ""
    if at is None:
        evidence.append(Evidence("objective_epoch", None, axis))
        yield ctx.finding(
            f"{summary}; its reported value {best.objective:.4g} is not a point of the curve "
            f"(ranked on another number){tail}",
            evidence=evidence,
            location=_where(ctx, best, onset),
            subject=f"best trial {best.source}",
        )
        return
    evidence.append(Evidence("objective_epoch", _epoch(outcome.epochs[at]), axis))
    if at >= onset:
        above = (
            100.0
            * (abs(best.objective - measured.best_value))
            / max(abs(measured.best_value), 1e-12)
        )
        evidence.append(Evidence("objective_above_best", round(above, 2), "%"))
        yield ctx.finding(
            f"{summary}; it was ranked by {best.objective:.4g} taken at {axis} "
            f"{_epoch(outcome.epochs[at])}, a diverging {axis} ({above:.1f}% worse than its "
            f"best): the sweep chose its winner by an overfit value{tail}",
            evidence=evidence,
            location=_where(ctx, best, at),
            subject=f"best trial {best.source}",
            severity="error",
        )
        return
    yield ctx.finding(
        f"{summary}; it was ranked by {best.objective:.4g} from {axis} "
        f"{_epoch(outcome.epochs[at])}, before the rise, but the curve diverged after it: the "
        f"weights at the end of the trial are not the ones that earned its rank unless that "
        f"{axis}'s checkpoint was kept{tail}",
        evidence=evidence,
        location=_where(ctx, best, onset),
        subject=f"best trial {best.source}",
    )


def _objective_index(outcome: TrialOutcome, objective: float | None, tolerance: float):
    """The last point of the curve equal to the objective (None: it is not a point)."""
    if objective is None or not math.isfinite(objective):
        return None
    close = np.abs(outcome.values - objective) <= tolerance * max(1.0, abs(objective))
    found = np.nonzero(close)[0]
    return int(found[-1]) if found.size else None


# -- OFL602 -----------------------------------------------------------------------------------


OFL602_READS = (
    "min_trials",
    "min_share",
    "patience",
    "median_startup_trials",
    "median_warmup_steps",
    "halving_min_resource",
    "halving_reduction_factor",
)


@check("OFL602", reads=OFL602_READS)
def sweep_compute_past_best(ctx: CheckContext) -> Iterator[Finding]:
    judged = _judged(ctx)
    if len(judged) < max(2, int(ctx.threshold("min_trials"))):
        return
    outcomes = [j.outcome for j in judged]
    total = sum(o.points for o in outcomes)
    past = sum(o.points_past_best for o in outcomes)
    share = 100.0 * past / total if total else 0.0
    if share < float(ctx.threshold("min_share")):
        return
    best = next((i for i, j in enumerate(judged) if j.run.is_best), None)
    patience = int(ctx.threshold("patience"))
    startup, warmup = (
        int(ctx.threshold("median_startup_trials")),
        int(ctx.threshold("median_warmup_steps")),
    )
    resource, factor = (
        int(ctx.threshold("halving_min_resource")),
        int(ctx.threshold("halving_reduction_factor")),
    )
    rules = {
        f"EarlyStopping(patience={patience})": patience_savings(outcomes, patience, best),
        f"MedianPruner(n_startup_trials={startup}, n_warmup_steps={warmup})": (
            median_pruner_savings(outcomes, startup, warmup, best)
        ),
        f"SuccessiveHalvingPruner(min_resource={resource}, reduction_factor={factor})": (
            halving_savings(outcomes, resource, factor, best)
        ),
    }
    axis = judged[0].run.curves.axis
    per_rule = "; ".join(
        f"{name} would have saved {s.saved} ({100 * s.share:.0f}%)"
        f"{'' if s.best_kept else ', but cut the best trial before its best point'}"
        for name, s in rules.items()
    )
    keeping = {name: s for name, s in rules.items() if s.best_kept and s.saved > 0}
    chosen = max(keeping, key=lambda name: keeping[name].saved) if keeping else None
    evidence = [
        Evidence("trials", len(judged), "trials"),
        Evidence("trial_points", total, f"{axis}s"),
        Evidence("points_past_best", past, f"{axis}s"),
        Evidence("share_past_best", round(share, 1), "%"),
        Evidence("worst_trials", _worst(judged), f"{axis}s past best"),
    ]
    for name, savings in rules.items():
        key = name.split("(", 1)[0].lower()
        evidence += [
            Evidence(f"{key}_saved", savings.saved, f"{axis}s"),
            Evidence(f"{key}_keeps_best_trial", savings.best_kept),
        ]
    evidence.append(Evidence("recommended", chosen))
    fix = ctx.rule.fix
    if chosen is not None:
        fix = f"Use {chosen}: on these curves it saves {keeping[chosen].saved} {axis}s " + (
            f"({100 * keeping[chosen].share:.0f}%) and keeps the best trial. " + fix
        )
    yield ctx.finding(
        f"{past} of {total} trial-{axis}s ({share:.0f}%) across {len(judged)} trials ran after "
        f"each trial's best validation point; {per_rule}",
        evidence=evidence,
        location=Location(file=ctx.sweep.source),
        subject="sweep compute",
        fix=fix,
    )


def _worst(judged: list[Judged]) -> list[str]:
    ranked = sorted(judged, key=lambda j: -j.outcome.points_past_best)[:3]
    return [f"{j.run.source}: {j.outcome.points_past_best}" for j in ranked]


# -- OFL603 -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    param: str
    kind: str
    outcome: str
    statistic: str
    effect: float
    p: float
    n: int

    def text(self) -> str:
        return f"{self.param} ({self.kind}): {self.statistic} {self.effect:+.2f} (n={self.n}, " + (
            f"p={self.p:.3g})"
        )


def param_kind(name: str) -> str:
    parts = set(tokens(re.split(r"[./]", name)[-1]))
    for kind, words in PARAM_KINDS:
        if parts & words:
            return kind
    return "other"


def _numeric_params(judged: list[Judged]) -> dict[str, list[float | None]]:
    names: list[str] = []
    for j in judged:
        names += [n for n in j.run.params if n not in names]
    table = {name: [as_number(j.run.params.get(name)) for j in judged] for name in names}
    return {
        name: values
        for name, values in table.items()
        if len({v for v in values if v is not None}) >= 2
    }


@check("OFL603", reads=("min_trials", "min_effect", "alpha"))
def sweep_regularization_effects(ctx: CheckContext) -> Iterator[Finding]:
    judged = _judged(ctx)
    if len(judged) < 2:
        return
    min_trials = max(3, int(ctx.threshold("min_trials")))
    params = _numeric_params(judged)
    gaps = [j.outcome.gap for j in judged]
    with_gap = sum(g is not None for g in gaps)
    if with_gap >= min_trials:
        outcome_name, outcome = "generalization gap", gaps
    else:
        outcome_name, outcome = "rise above best", [j.outcome.rise_pct for j in judged]
    diverging = [j.outcome.diverging if j.outcome.verdict else None for j in judged]
    effects: list[Effect] = []
    for name, values in params.items():
        effects += _effects(name, values, outcome, outcome_name, diverging, min_trials)
    evidence = [
        Evidence("trials", len(judged), "trials"),
        Evidence("outcome", outcome_name),
        Evidence("params_varied", sorted(params)),
    ]
    if not effects:
        largest = max((sum(v is not None for v in vals) for vals in params.values()), default=0)
        why = (
            "no hyperparameter varies across the trials"
            if not params
            else f"at most {largest} trials share a varied hyperparameter and an outcome"
        )
        evidence.append(Evidence("min_trials", min_trials, "trials"))
        yield _about_regularization(
            ctx,
            f"not enough trials to tell what regularises this sweep: {why} ({min_trials} "
            f"needed); {len(judged)} trials with a validation curve",
            evidence,
            fix=f"Run more trials (at least {min_trials}) varying dropout, weight decay or "
            "augmentation before reading anything into their differences.",
            confidence="low",
        )
        return
    tests = len(effects)
    adjusted = [min(1.0, e.p * tests) for e in effects]
    strong = [
        (e, p)
        for e, p in zip(effects, adjusted, strict=True)
        if abs(e.effect) >= float(ctx.threshold("min_effect"))
        and p <= float(ctx.threshold("alpha"))
    ]
    evidence += [
        Evidence("effects", [e.text() for e in effects]),
        Evidence("tests", tests, "Bonferroni"),
        Evidence("supported", [e.param for e, _ in strong]),
    ]
    listed = "; ".join(e.text() for e in sorted(effects, key=lambda e: -abs(e.effect))[:6])
    if not strong:
        yield _about_regularization(
            ctx,
            f"across {len(judged)} trials no hyperparameter goes with the {outcome_name} or "
            f"divergence strongly enough to act on (|effect| >= "
            f"{ctx.threshold('min_effect')} at adjusted p <= {ctx.threshold('alpha')} over "
            f"{tests} tests): {listed}",
            evidence,
            fix="Nothing in this sweep says which setting regularises; vary one at a time or "
            "run more trials.",
            confidence="low",
        )
        return
    advice = [_advice(e, p, judged, params[e.param]) for e, p in strong]
    yield _about_regularization(
        ctx,
        f"what regularises this sweep ({len(judged)} trials): " + "; ".join(advice),
        evidence,
        fix=" ".join(advice) + ". A correlation across a sweep is not a controlled "
        "experiment: confirm with a run that changes only this setting.",
    )


def _about_regularization(
    ctx: CheckContext,
    message: str,
    evidence: list[Evidence],
    *,
    fix: str,
    confidence: str | None = None,
) -> Finding:
    """An OFL603 finding: about the sweep as a whole."""
    return ctx.finding(
        message,
        evidence=evidence,
        location=Location(file=ctx.sweep.source),
        subject="sweep regularization",
        confidence=confidence,
        fix=fix,
    )


def _known_pairs(values: list[Any], others: list[Any]) -> list[tuple[Any, Any]]:
    """The (value, other) pairs of the trials where both are known."""
    return [(v, o) for v, o in zip(values, others, strict=True) if v is not None and o is not None]


def _effects(
    name: str,
    values: list[float | None],
    outcome: list[float | None],
    outcome_name: str,
    diverging: list[bool | None],
    min_trials: int,
) -> list[Effect]:
    kind = param_kind(name)
    found = []
    pairs = _known_pairs(values, outcome)
    if len(pairs) >= min_trials:
        x = np.asarray([v for v, _ in pairs])
        y = np.asarray([o for _, o in pairs])
        if len(set(x.tolist())) == 2:
            high = x == x.max()
            r, p = rank_biserial(y, high)
            statistic = f"rank-biserial r (high vs low) on the {outcome_name}"
        else:
            r, p = spearman(x, y)
            statistic = f"Spearman rho with the {outcome_name}"
        if math.isfinite(r):
            found.append(Effect(name, kind, outcome_name, statistic, r, p, len(pairs)))
    split = _known_pairs(values, diverging)
    flags = [d for _, d in split]
    if len(split) >= min_trials and 0 < sum(flags) < len(flags):
        r, p = rank_biserial(np.asarray([v for v, _ in split]), np.asarray(flags))
        if math.isfinite(r):
            found.append(
                Effect(
                    name, kind, "divergence", "rank-biserial r (diverging vs not)", r, p, len(split)
                )
            )
    return found


def _advice(effect: Effect, p: float, judged: list[Judged], values: list[float | None]) -> str:
    if effect.outcome == "divergence":
        direction = "higher" if effect.effect > 0 else "lower"
        settled = [
            v
            for v, j in zip(values, judged, strict=True)
            if v is not None and j.outcome.verdict and not j.outcome.diverging
        ]
        return (
            f"trials that diverge have {direction} {effect.param} ({effect.statistic} "
            f"{effect.effect:+.2f}, n={effect.n}, adjusted p={p:.3g}); the trials that do not "
            f"diverge used {effect.param} {_span(settled)}"
        )
    direction = "smaller" if effect.effect < 0 else "larger"
    ranked = sorted(
        (
            (j.outcome.gap if effect.outcome == "generalization gap" else j.outcome.rise_pct, v)
            for v, j in zip(values, judged, strict=True)
            if v is not None
        ),
        key=lambda item: (item[0] is None, item[0]),
    )
    best_third = [v for o, v in ranked[: max(2, len(ranked) // 3)] if o is not None]
    return (
        f"higher {effect.param} goes with a {direction} {effect.outcome} ({effect.statistic} "
        f"{effect.effect:+.2f}, n={effect.n}, adjusted p={p:.3g}); the trials with the smallest "
        f"{effect.outcome} used {effect.param} {_span(best_third)}"
    )


def _span(values: list[float]) -> str:
    if not values:
        return "(none)"
    low, high = min(values), max(values)
    return f"{low:.3g}" if low == high else f"{low:.3g}-{high:.3g}"
