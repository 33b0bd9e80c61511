"""Which probe checks which finding, and with which settings.

Probe thresholds live with the rule they judge (``rules/OFLxxx.toml``, names
starting ``probe_``), so ``overfitlint explain`` documents them and config can
tune them like any threshold; the defaults here only cover a rule file that
does not declare them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from overfitlint.facts import ModelFacts
from overfitlint.findings import Finding
from overfitlint.settings import Settings

# The probes that check each rule's finding, the deciding one first.
PROBES_FOR: dict[str, tuple[str, ...]] = {
    "OFL101": ("memorization",),
    "OFL201": ("stochasticity", "counterfactual"),
    "OFL211": ("counterfactual",),
    "OFL301": ("heldout",),
    "OFL302": ("heldout",),
}
NEEDS_DATA = frozenset({"heldout", "counterfactual"})
DEFAULTS: dict[str, dict[str, Any]] = {
    "OFL101": {"probe_memorized": 0.9, "probe_max_samples": 512},
    "OFL201": {"probe_min_spread": 1e-4, "probe_dropout": 0.3, "probe_noise_factor": 2.0},
    "OFL211": {"probe_weight_decay": 0.1, "probe_noise_factor": 2.0},
    "OFL301": {"probe_confirm_gap": 10.0, "probe_refute_gap": 2.0},
    "OFL302": {"probe_confirm_gap": 10.0, "probe_refute_gap": 2.0},
}


def threshold(thresholds: dict[str, dict[str, Any]], code: str, name: str) -> Any:
    return thresholds.get(code, {}).get(name, DEFAULTS[code][name])


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


def plan_probes(
    findings: list[Finding],
    model: ModelFacts | None,
    settings: Settings,
    thresholds: dict[str, dict[str, Any]],
) -> ProbePlan:
    plan = ProbePlan()
    if model is None:
        return plan
    has_data = settings.data is not None
    for finding in findings:
        probes = PROBES_FOR.get(finding.code)
        if not probes:
            continue
        if finding.code == "OFL101" and finding.evidence_value("training_samples") is None:
            continue  # the ratio itself is unknown: nothing to confirm
        wanted = [p for p in probes if has_data or p not in NEEDS_DATA]
        if not wanted:
            plan.unchecked[finding.fingerprint] = "needs --data FILE.npz"
            continue
        plan.targets[finding.fingerprint] = wanted
        for probe in wanted:
            _add_task(plan, probe, finding, model, settings, thresholds)
    return plan


def _add_task(plan, probe, finding, model, settings, thresholds) -> None:
    params = plan.tasks.setdefault(probe, {})
    code = finding.code
    if probe == "stochasticity":
        params.update(repeats=4, batch=32)
    elif probe == "memorization":
        samples = int(finding.evidence_value("training_samples"))
        params.update(
            samples=min(samples, int(threshold(thresholds, code, "probe_max_samples"))),
            training_samples=samples,
            batch=128,
            lr=1e-3,
            stop_fraction=0.99,
        )
    elif probe == "heldout":
        params.update(max_samples=4096)
    elif probe == "counterfactual":
        optimizer = getattr(model, "optimizer", None)
        lr = getattr(optimizer, "lr", None) or 1e-3
        base_wd = getattr(optimizer, "weight_decay", None) or 0.0
        fixes = params.setdefault("fixes", {})
        if code == "OFL211":
            fixes["weight_decay"] = float(threshold(thresholds, code, "probe_weight_decay"))
        if code == "OFL201":
            fixes["dropout"] = float(threshold(thresholds, code, "probe_dropout"))
        params.update(lr=float(lr), base_weight_decay=float(base_wd), max_steps=300, min_steps=20)
