"""Runs the selected rules over the facts of one model and its logs."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from overfitlint.catalogue import RuleSpec, load_catalogue
from overfitlint.curves import Curves
from overfitlint.engine.combine import combine_evidence
from overfitlint.engine.context import CheckContext
from overfitlint.engine.registry import registered_checks
from overfitlint.engine.selection import is_selected, validate_selectors
from overfitlint.errors import InputError
from overfitlint.facts import ModelFacts
from overfitlint.findings import Evidence, Finding, Location
from overfitlint.settings import Settings
from overfitlint.severity import severity_rank

CRASH_CODE = "OFL901"


@dataclass
class EngineResult:
    findings: list[Finding]
    ran: list[str]
    skipped: dict[str, str] = field(default_factory=dict)
    """Rules selected but not run, with the reason (e.g. "needs a model file")."""
    thresholds: dict[str, dict[str, object]] = field(default_factory=dict)
    """Thresholds in force for every rule that ran."""


def missing_input(
    rule: RuleSpec, model: ModelFacts | None, curves: list[Curves], sweep: Any = None
) -> str | None:
    if "graph" in rule.needs and model is None:
        return "needs a model file"
    if "logs" in rule.needs and not curves:
        return "needs a training log"
    if "probe" in rule.needs:
        return "needs the probe"
    if "runs" in rule.needs and sweep is None:
        return "needs a sweep"
    return None


def resolve_thresholds(rule: RuleSpec, settings: Settings) -> dict[str, object]:
    values = {name: t.default for name, t in rule.thresholds.items()}
    for name, value in settings.thresholds.get(rule.code, {}).items():
        if name not in values:
            raise InputError(
                f"{rule.code} has no threshold {name!r}; it has: {', '.join(values) or 'none'}"
            )
        values[name] = value
    return values


def run_rules(
    model: ModelFacts | None,
    curves: list[Curves],
    settings: Settings,
    *,
    adjust: Callable[[list[Finding]], None] | None = None,
    sweep: Any = None,
) -> EngineResult:
    """``adjust`` sees the findings before evidence is combined (the probe's verdicts);
    ``sweep`` is the runs of a tracker or study, for the rules that need "runs"."""
    catalogue = load_catalogue()
    checks = registered_checks()
    validate_selectors([*settings.select, *settings.ignore], catalogue)
    result = EngineResult(findings=[], ran=[])
    for code, rule in catalogue.items():
        if code not in checks or not is_selected(rule, settings.select, settings.ignore):
            continue
        reason = missing_input(rule, model, curves, sweep)
        if reason:
            result.skipped[code] = reason
            continue
        thresholds = resolve_thresholds(rule, settings)
        registered = checks[code]
        context = CheckContext(rule, thresholds, registered.reads, model, curves, settings, sweep)
        try:
            produced = list(registered.fn(context))
        except Exception as exc:  # a crashing rule becomes a finding, never kills the run
            produced = [crash_finding(code, exc, catalogue)]
        result.ran.append(code)
        result.thresholds[code] = thresholds
        result.findings.extend(produced)
    if adjust is not None:
        adjust(result.findings)
    if settings.combine_evidence:
        combine_evidence(result.findings, catalogue)
    for finding in result.findings:
        override = settings.severities.get(finding.code)
        if override:
            finding.severity = override
    result.findings.sort(key=lambda f: (-severity_rank(f.severity), f.code, f.subject))
    return result


def crash_finding(code: str, exc: Exception, catalogue: dict[str, RuleSpec]) -> Finding:
    spec = catalogue[CRASH_CODE]
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return Finding(
        code=spec.code,
        name=spec.name,
        severity=spec.severity,
        confidence=spec.confidence,
        message=f"rule {code} could not run: {type(exc).__name__}: {exc}",
        evidence=[
            Evidence("rule", code),
            Evidence("raised_at", f"{where.filename.rsplit('/', 1)[-1]}:{where.lineno}"),
        ],
        fix=spec.fix,
        location=Location(),
        subject=code,
    )
