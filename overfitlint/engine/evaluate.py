"""Evaluate: run every selected rule once over the facts of one check.

A rule that crashes becomes an internal finding (OFL901); it never kills the run.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from overfitlint.catalogue import CRASH_CODE, RuleSpec
from overfitlint.engine.context import CheckContext, Checked
from overfitlint.engine.registry import RegisteredCheck
from overfitlint.errors import InputError
from overfitlint.facts import Facts
from overfitlint.findings import Evidence, Finding, Location
from overfitlint.settings import RuleConfig


@dataclass(frozen=True)
class Evaluation:
    findings: tuple[Finding, ...]
    checked: tuple[Checked, ...]
    ran: tuple[str, ...]
    skipped: Mapping[str, str] = field(default_factory=dict)
    """Rules selected but not run, with the reason (e.g. "needs a model file")."""
    thresholds: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Thresholds in force for every rule that ran."""
    crashed: tuple[str, ...] = ()


def missing_input(rule: RuleSpec, facts: Facts) -> str | None:
    if "graph" in rule.needs and facts.model is None:
        return "needs a model file"
    if "weights" in rule.needs and (facts.model is None or facts.model.spectral is None):
        return "needs weight spectra (--spectral)"
    if "logs" in rule.needs and not facts.curves:
        return "needs a training log"
    if "data" in rule.needs and facts.data is None:
        return "needs a data set (--data)"
    if "runs" in rule.needs and facts.sweep is None:
        return "needs a sweep (an experiment tracker or study)"
    if "probe" in rule.needs:
        return "needs the probe"
    return None


def resolve_thresholds(
    catalogue: Mapping[str, RuleSpec], config: RuleConfig
) -> dict[str, dict[str, Any]]:
    """Every rule's thresholds: the catalogue's defaults, then the configured overrides."""
    resolved: dict[str, dict[str, Any]] = {}
    for code, rule in catalogue.items():
        values = {name: t.default for name, t in rule.thresholds.items()}
        for name, value in config.thresholds.get(code, {}).items():
            if name not in values:
                raise InputError(
                    f"{code} has no threshold {name!r}; it has: {', '.join(values) or 'none'}"
                )
            values[name] = value
        resolved[code] = values
    return resolved


def evaluate(
    facts: Facts,
    config: RuleConfig,
    checks: Mapping[str, RegisteredCheck],
    catalogue: Mapping[str, RuleSpec],
) -> Evaluation:
    resolved = resolve_thresholds(catalogue, config)
    selected = set(catalogue) if config.selected is None else set(config.selected)
    findings: list[Finding] = []
    checked: list[Checked] = []
    ran: list[str] = []
    skipped: dict[str, str] = {}
    crashed: list[str] = []
    for code, rule in catalogue.items():
        if code not in checks or code not in selected:
            continue
        reason = missing_input(rule, facts)
        if reason:
            skipped[code] = reason
            continue
        registered = checks[code]
        context = CheckContext(rule, resolved[code], registered.reads, facts, resolved)
        try:
            with np.errstate(all="ignore"):  # logs of gigantic numbers overflow to inf: handled
                produced = list(registered.fn(context))
        except Exception as exc:  # a crashing rule becomes a finding, never kills the run
            produced = [crash_finding(code, exc, catalogue[CRASH_CODE])]
            crashed.append(code)
        ran.append(code)
        for item in produced:
            (checked if isinstance(item, Checked) else findings).append(item)
    return Evaluation(
        tuple(findings),
        tuple(checked),
        tuple(ran),
        skipped,
        {code: resolved[code] for code in ran},
        tuple(crashed),
    )


def crash_finding(code: str, exc: Exception, spec: RuleSpec) -> Finding:
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return Finding(
        code=spec.code,
        name=spec.name,
        severity=spec.severity,
        confidence=spec.confidence,
        message=f"rule {code} could not run: {type(exc).__name__}: {exc}",
        evidence=(
            Evidence("rule", code),
            Evidence("raised_at", f"{where.filename.rsplit('/', 1)[-1]}:{where.lineno}"),
        ),
        fix=spec.fix,
        location=Location(),
        subject=code,
        role=spec.role,
    )
