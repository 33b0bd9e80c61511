"""Judging what the probes measured: confirmed, refuted or inconclusive, with the reason.

The backends only measure; every judgement (and every threshold) is here, in the
parent process, as plain functions of numbers.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from overfitlint.catalogue import RuleSpec
from overfitlint.facts import ModelFacts, Unknown
from overfitlint.probe.plan import counterfactual_fix
from overfitlint.verdict import CONFIRMED, INCONCLUSIVE, REFUTED


@dataclass
class Verdict:
    probe: str
    status: str
    note: str
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    budget_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "probe": self.probe,
            "status": self.status,
            "note": self.note,
            "metrics": self.metrics,
            "seconds": self.seconds,
            "budget_s": self.budget_s,
        }


def judge(
    rule: RuleSpec,
    probe: str,
    result: dict[str, Any] | None,
    limits: Mapping[str, Any],
    *,
    model: ModelFacts | None = None,
    log: dict[str, Any] | None = None,
) -> Verdict:
    if result is None:
        return Verdict(probe, INCONCLUSIVE, "not measured: the probe's budget ran out first")
    seconds, budget_s = float(result.get("seconds", 0.0)), result.get("budget_s")
    if not result.get("measured"):
        return Verdict(probe, INCONCLUSIVE, result.get("reason") or "not measured", {}, seconds)
    metrics = result["metrics"]
    threshold = functools.partial(rule.probe_threshold, limits)
    status, note, shown = JUDGES[probe](rule, metrics, threshold, model, log)
    return Verdict(probe, status, note, shown, seconds, budget_s)


def _stochasticity(rule, m, threshold, model, log):
    tolerance = threshold("probe_min_spread")
    spread, repeats = m["output_spread"], m["repeats"]
    shown = {
        "output_spread": _round(spread),
        "eval_spread": _round(m.get("eval_spread", 0.0)),
        "forward_passes": repeats,
        "mode": m.get("mode", "train"),
    }
    extra = ""
    if m.get("eval_spread", 0.0) > tolerance:
        extra = "; outputs vary in eval mode too (noise at inference)"
    if spread > tolerance:
        return (
            REFUTED,
            f"outputs of {repeats} training-mode passes over the same batch differ by "
            f"{spread:.3g} (relative): stochastic regularization is active although no "
            f"Dropout layer was found (functional dropout, DropPath or noise){extra}",
            shown,
        )
    dead = [layer for layer in (model.dropout_layers if model else []) if layer.dropout_rate == 0]
    if model is not None and isinstance(model.dropout_visible, Unknown):
        return (
            INCONCLUSIVE,
            f"no spread in {repeats} training-mode passes of this file, but its exporter may "
            "have removed dropout, so this says nothing about the model as trained",
            shown,
        )
    why = f" ({len(dead)} dropout layer(s) with rate 0)" if dead else ""
    return (
        CONFIRMED,
        f"{repeats} training-mode passes over the same batch give identical outputs "
        f"(spread {spread:.2g} ≤ {tolerance:g}): no stochastic regularization is active{why}",
        shown,
    )


def _memorization(rule, m, threshold, model, log):
    """Memorisation capacity is not overfitting (Zhang et al. 2017): fitting random labels
    cannot confirm a finding, only a model that cannot fit them refutes a capacity risk."""
    needed = threshold("probe_memorized")
    fraction, n = m["memorized_fraction"], m["samples"]
    shown = {
        "memorized_fraction": _round(fraction, 4),
        "random_labels": n,
        "chance": _round(m["chance"], 4),
        "steps": m["steps"],
        "epochs": m["epochs"],
        "samples_per_s": round(m.get("samples_per_s", 0.0), 1),
        "stopped": m["stopped"],
    }
    limited = ""
    if m.get("samples_limited_by") == "budget":
        limited = f" (the budget allowed {n} of the {m['requested_samples']} samples asked for)"
    summary = (
        f"a re-initialised copy fitted {100 * fraction:.1f}% of {n} random labels "
        f"(chance {100 * m['chance']:.0f}%) in {m['steps']} steps{limited}"
    )
    if fraction >= needed:
        return (
            INCONCLUSIVE,
            f"{summary}: the model has the capacity to memorise noise, which is a risk, not "
            "overfitting (Zhang et al. 2017); the held-out gap (--data) decides",
            shown,
        )
    if m["stopped"] in ("plateau", "diverged"):
        return (
            REFUTED,
            f"{summary}; training loss stopped improving below {100 * needed:.0f}%: "
            "the model could not memorise random labels at this sample count",
            shown,
        )
    return INCONCLUSIVE, f"{summary} before its budget share ran out", shown


def _heldout(rule, m, threshold, model, log):
    """One checkpoint on the given data. A generalisation gap alone is not overfitting (a model
    at its best epoch has one too); the weights have memorised their training data when they fit
    it almost perfectly and the held-out data far worse (a classifier: training accuracy and the
    accuracy gap; a regressor: the loss ratio)."""
    refute = threshold("probe_refute_gap")
    gap = m["loss_gap_pct"]
    ratio = m["val_loss"] / m["train_loss"] if m["train_loss"] > 0 else math.inf
    points = 100 * m["accuracy_gap"] if "accuracy_gap" in m else None
    shown = {
        key: _round(m[key], 6)
        for key in ("train_loss", "val_loss", "loss_gap", "loss_gap_pct", "train_accuracy",
                    "val_accuracy")
        if key in m
    }  # fmt: skip
    shown["loss_ratio"] = _round(ratio, 4) if math.isfinite(ratio) else None
    if points is not None:
        shown["accuracy_gap_points"] = _round(points, 3)
    shown["train_samples"], shown["val_samples"] = m["train_samples"], m["val_samples"]
    compared = ""
    if log:
        shown.update({k: v for k, v in log.items() if v is not None})
        closest, measured = log.get("log_closest_val_loss"), m["val_loss"]
        if closest is not None and abs(closest - measured) > 0.1 * abs(measured):
            compared = (
                f"; the log's val loss never came within 10% of this (last value "
                f"{log['log_final_val_loss']:.4g}): are these the weights the log describes?"
            )
        elif log.get("log_closest_epoch") is not None:
            compared = (
                f"; the log's val loss was closest to this at epoch {log['log_closest_epoch']} "
                f"({log['log_closest_val_loss']:.4g}), its last value is "
                f"{log['log_final_val_loss']:.4g}"
            )
    accuracy = ""
    if "train_accuracy" in m:
        accuracy = f", accuracy {100 * m['train_accuracy']:.1f}% vs {100 * m['val_accuracy']:.1f}%"
    summary = (
        f"these weights on the given data: train loss {m['train_loss']:.4g}, val loss "
        f"{m['val_loss']:.4g} ({gap:+.1f}%){accuracy}{compared}"
    )
    if rule.role == "symptom" and _best_epoch_weights(log, m["val_loss"]):
        return (
            REFUTED,
            f"{summary}: these are the weights of the logged best epoch "
            f"({log['log_best_epoch']}), not of the end of the log, so what the curve did "
            "after the best does not describe the model that ships",
            shown,
        )
    if gap < refute:
        return (
            REFUTED,
            f"{summary}: no held-out gap at this checkpoint (below {refute:g}%); were the best "
            "weights restored after the divergence?",
            shown,
        )
    memorised, rule_text = _memorisation(m, ratio, points, threshold)
    if memorised:
        return (
            CONFIRMED,
            f"{summary}: the checkpoint has memorised its training data ({rule_text})",
            shown,
        )
    return (
        INCONCLUSIVE,
        f"{summary}: a generalisation gap, which a model at its best epoch has too ({rule_text}); "
        "whether the held-out loss is past its best is for the curves to show",
        shown,
    )


def _memorisation(m, ratio: float, points: float | None, threshold) -> tuple[bool, str]:
    """Whether one checkpoint's train and validation scores show memorised training data, and
    the rule it was judged by, in words."""
    if points is not None:
        fitted, gap = threshold("probe_confirm_train_accuracy"), threshold("probe_confirm_points")
        train = 100 * m["train_accuracy"]
        words = (
            f"memorised is a training accuracy of at least {fitted:g}% with validation at least "
            f"{gap:g} points lower; here {train:.1f}% and {points:.1f} points"
        )
        return train >= fitted and points >= gap, words
    needed = threshold("probe_confirm_ratio")
    here = f"{ratio:.3g}x" if math.isfinite(ratio) else "a train loss of 0"
    words = f"memorised is a val loss at least {needed:g}x the train loss; here {here}"
    return ratio >= needed, words


def _best_epoch_weights(log: dict[str, Any] | None, measured: float) -> bool:
    """The measured val loss matches the log's best epoch (within 10%) and not its end."""
    if not log or log.get("log_best_epoch") is None:
        return False
    closest, final = log["log_closest_val_loss"], log["log_final_val_loss"]
    near = abs(closest - measured) <= 0.1 * abs(measured)
    moved = abs(final - closest) > 0.05 * max(abs(closest), 1e-12)
    return near and moved and log["log_closest_epoch"] == log["log_best_epoch"]


def _counterfactual(rule, m, threshold, model, log):
    chosen = counterfactual_fix(rule)
    if chosen is None:
        return INCONCLUSIVE, "the rule declares no counterfactual fix", {}
    fix = chosen[0]
    factor = threshold("probe_noise_factor")
    result = m.get("fixes", {}).get(fix)
    shown = {
        "finetune_steps": m["steps"],
        "gap_start": _round(m["gap_start"], 6),
        "gap_as_configured": _round(m["gap_end"], 6),
        "noise": _round(m["noise"], 6),
    }
    if result is None:
        return INCONCLUSIVE, f"the {fix} counterfactual did not run", shown
    label = (
        f"dropout {result['value']:g}" if fix == "dropout" else f"weight decay {result['value']:g}"
    )
    if "unavailable" in result:
        return INCONCLUSIVE, f"{label}: {result['unavailable']}", shown
    narrowing = result["narrowing"]
    margin = max(factor * m["noise"], 0.01 * abs(m["gap_end"]), 1e-4)
    shown.update(
        fix=label,
        gap_with_fix=_round(result["gap_end"], 6),
        narrowing=_round(narrowing, 6),
        margin=_round(margin, 6),
    )
    summary = (
        f"fine-tuning {m['steps']} steps from these weights: val-train loss gap "
        f"{m['gap_end']:.4g} as configured, {result['gap_end']:.4g} with {label} "
        f"(run-to-run noise {m['noise']:.2g})"
    )
    if narrowing > margin:
        return CONFIRMED, f"{summary}: the fix narrows the gap beyond noise", shown
    if narrowing < -margin:
        return REFUTED, f"{summary}: the fix widens the gap", shown
    return INCONCLUSIVE, f"{summary}: the difference is within noise", shown


JUDGES = {
    "stochasticity": _stochasticity,
    "memorization": _memorization,
    "heldout": _heldout,
    "counterfactual": _counterfactual,
}


def combine(verdicts: list[Verdict]) -> Verdict | None:
    """The deciding verdict: the first probe (in the rule's order) that is not inconclusive."""
    for verdict in verdicts:
        if verdict.status != INCONCLUSIVE:
            return verdict
    return verdicts[0] if verdicts else None


def _round(value: Any, digits: int = 6) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    return value
