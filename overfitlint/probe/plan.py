"""Which probe checks which finding, and with which settings: read from the rule files.

A rule names its probes (``probes = ["heldout"]``, the deciding one first) and declares their
thresholds (``probe_*``) in ``rules/OFLxxx.toml``, so ``overfitlint explain`` documents them
and config tunes them like any threshold. This module holds no rule codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from overfitlint.catalogue import RuleSpec
from overfitlint.facts import ModelFacts, OptimizerFacts
from overfitlint.findings import Finding

NEEDS_DATA = frozenset({"heldout", "counterfactual"})
NEEDS_EVIDENCE = {"memorization": "training_samples"}
"""A probe that sizes itself from a finding's evidence runs only when the finding has it."""
FIXES = {"probe_dropout": "dropout", "probe_weight_decay": "weight_decay"}
"""A rule's counterfactual fix, told by the probe threshold it declares."""


@dataclass
class ProbePlan:
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    """probe name -> its parameters."""
    targets: dict[str, list[str]] = field(default_factory=dict)
    """finding fingerprint -> the probes that check it (deciding one first)."""
    unchecked: dict[str, str] = field(default_factory=dict)
    """finding fingerprint -> why a probe-able finding is not checked this run."""

    @property
    def empty(self) -> bool:
        return not self.tasks


def counterfactual_fix(rule: RuleSpec) -> tuple[str, str] | None:
    """(fix name, its threshold) of a rule whose finding a counterfactual fine-tune checks."""
    return next(((fix, name) for name, fix in FIXES.items() if name in rule.thresholds), None)


def plan_probes(
    findings: list[Finding],
    model: ModelFacts,
    catalogue: Mapping[str, RuleSpec],
    thresholds: Mapping[str, Mapping[str, Any]],
    *,
    has_data: bool,
) -> ProbePlan:
    plan = ProbePlan()
    for finding in findings:
        rule = catalogue.get(finding.code)
        if rule is None or not rule.probes:
            continue
        possible = [
            p
            for p in rule.probes
            if p not in NEEDS_EVIDENCE or finding.evidence_value(NEEDS_EVIDENCE[p]) is not None
        ]
        if not possible:
            continue  # e.g. the ratio itself is unknown: nothing to confirm
        wanted = [p for p in possible if has_data or p not in NEEDS_DATA]
        if not wanted:
            plan.unchecked[finding.fingerprint] = "needs --data FILE.npz"
            continue
        plan.targets[finding.fingerprint] = wanted
        limits = thresholds.get(rule.code, {})
        for probe in wanted:
            _add_task(plan, probe, finding, rule, limits, model)
    return plan


def _add_task(plan, probe, finding, rule: RuleSpec, limits, model: ModelFacts) -> None:
    params = plan.tasks.setdefault(probe, {})
    if probe == "stochasticity":
        params.update(repeats=4, batch=32)
    elif probe == "memorization":
        samples = int(finding.evidence_value("training_samples"))
        params.update(
            samples=min(samples, int(rule.probe_threshold(limits, "probe_max_samples"))),
            training_samples=samples,
            batch=128,
            lr=1e-3,
            stop_fraction=0.99,
        )
    elif probe == "heldout":
        params.update(max_samples=4096)
    elif probe == "counterfactual":
        optimizer = model.optimizer if isinstance(model.optimizer, OptimizerFacts) else None
        lr = (optimizer.lr if optimizer else None) or 1e-3
        base_wd = (optimizer.weight_decay if optimizer else None) or 0.0
        fixes = params.setdefault("fixes", {})
        fix = counterfactual_fix(rule)
        if fix is not None:
            fixes[fix[0]] = float(rule.probe_threshold(limits, fix[1]))
        params.update(lr=float(lr), base_weight_decay=float(base_wd), max_steps=300, min_steps=20)
