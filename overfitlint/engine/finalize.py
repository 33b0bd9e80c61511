"""Finalize: the probe's word, evidence combined both ways, severity overrides, the verdict.

Each step returns new findings and says in ``adjustments`` what it changed:

1. the probe: a refuted finding is downgraded to info (never hidden); a confirmed one gains a
   confidence level, and one the held-out probe confirmed (the weights memorised their training
   data) is at least a warning, whatever the ratio or rule that carried the measurement;
2. corroboration: a *symptom* (the curves overfit) and a *cause* (no dropout, no weight decay,
   many parameters per sample) found together at warning or above each rise one severity and
   one confidence level and name each other;
3. its reverse: when the curves were judged and show no overfitting, cause-only findings are
   demoted to info: the risk was not realised, and the judging rules are named;
4. per-rule severity overrides from the configuration;
5. the verdict, from the roles of what remains (``overfitlint.verdict``): a symptom, or a cause
   the probe's held-out measurement confirmed (the weights memorised their training data), is
   overfitting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from overfitlint.catalogue import RuleSpec
from overfitlint.engine.context import Checked
from overfitlint.engine.evaluate import Evaluation
from overfitlint.facts import Facts
from overfitlint.findings import Finding
from overfitlint.settings import RuleConfig
from overfitlint.severity import raise_confidence, raise_severity, severity_rank
from overfitlint.verdict import (
    AT_RISK,
    CONFIRMED,
    HEALTHY,
    OVERFITTING,
    REFUTED,
    UNKNOWN,
    Verdict,
)

EVIDENCE_FLOOR = severity_rank("warning")
UNTRUSTED = "curves_untrustworthy"
"""Evidence a rule sets when the curves cannot be trusted (a train/validation leak)."""


@dataclass(frozen=True)
class Judgement:
    findings: tuple[Finding, ...]
    verdict: Verdict


def counts(finding: Finding) -> bool:
    """Does the finding count as evidence (warning or above)?"""
    return severity_rank(finding.severity) >= EVIDENCE_FLOOR


def finalize(
    evaluation: Evaluation,
    facts: Facts,
    config: RuleConfig,
    catalogue: Mapping[str, RuleSpec],
    probe_verdicts: Mapping[str, Mapping[str, Any]] | None = None,
) -> Judgement:
    findings = [_probed(f, (probe_verdicts or {}).get(f.fingerprint)) for f in evaluation.findings]
    refuted = _refuted(findings)
    judged = [c for c in evaluation.checked if c.role == "symptom"] + refuted
    untrusted = [f for f in findings if counts(f) and f.evidence_value(UNTRUSTED)]
    if config.combine_evidence:
        findings = _corroborate(findings)
        if judged and not untrusted:
            findings = _not_realised(findings, judged)
    findings = [_overridden(f, config.severities) for f in findings]
    findings.sort(key=lambda f: (-severity_rank(f.severity), f.code, f.subject))
    verdict = decide(findings, judged, untrusted, [*evaluation.checked, *refuted], facts)
    return Judgement(tuple(findings), verdict)


def _refuted(findings: list[Finding]) -> list[Checked]:
    """Symptoms the probe refuted for the weights given (e.g. their measured validation loss is
    the log's best epoch's): the curves were judged, and these weights passed."""
    return [
        Checked(
            f.code,
            "symptom",
            f.subject,
            f"{f.code} refuted by the probe for these weights: {(f.probe or {}).get('note', '')}",
        )
        for f in findings
        if f.role == "symptom" and (f.probe or {}).get("status") == REFUTED
    ]


def _probed(finding: Finding, entry: Mapping[str, Any] | None) -> Finding:
    if entry is None:
        return finding
    entry = dict(entry)
    if entry.get("status") == REFUTED and finding.severity != "info":
        entry["severity_from"] = finding.severity
        return replace(
            finding,
            severity="info",
            severity_from=finding.severity_from or finding.severity,
            probe=entry,
            adjustments=(
                *finding.adjustments,
                f"downgraded from {finding.severity}: the probe refuted it",
            ),
        )
    if entry.get("status") == CONFIRMED:
        raised = raise_confidence(finding.confidence)
        if raised != finding.confidence:
            entry["confidence_from"] = finding.confidence
        finding = replace(finding, confidence=raised, probe=entry)
        if finding.memorised and not counts(finding):
            return replace(
                finding,
                severity="warning",
                severity_from=finding.severity_from or finding.severity,
                adjustments=(
                    *finding.adjustments,
                    f"raised from {finding.severity}: the probe measured that these weights "
                    "memorised their training data",
                ),
            )
        return finding
    return replace(finding, probe=entry)


def _corroborate(findings: list[Finding]) -> list[Finding]:
    causes = [f for f in findings if f.role == "cause" and counts(f)]
    symptoms = [f for f in findings if f.role == "symptom" and counts(f)]
    if not causes or not symptoms:
        return findings
    cause_codes = tuple(sorted({f.code for f in causes}))
    symptom_codes = tuple(sorted({f.code for f in symptoms}))
    out = []
    for finding in findings:
        if finding in causes or finding in symptoms:
            others = symptom_codes if finding.role == "cause" else cause_codes
            raised = raise_severity(finding.severity)
            finding = replace(
                finding,
                severity=raised,
                confidence=raise_confidence(finding.confidence),
                corroborated_by=others,
                severity_from=finding.severity_from
                or (finding.severity if raised != finding.severity else None),
                adjustments=(
                    *finding.adjustments,
                    f"raised to {raised}: corroborated by {', '.join(others)}",
                ),
            )
        out.append(finding)
    return out


def _not_realised(findings: list[Finding], judged: list[Checked]) -> list[Finding]:
    """The curves were judged and no symptom counts: the causes' risk was not realised."""
    if any(f.role == "symptom" and counts(f) for f in findings):
        return findings
    judges = tuple(sorted({c.code for c in judged}))
    why = "; ".join(dict.fromkeys(c.statement for c in judged))
    out = []
    for finding in findings:
        if finding.role == "cause" and counts(finding):
            finding = replace(
                finding,
                severity="info",
                severity_from=finding.severity_from or finding.severity,
                contradicted_by=judges,
                adjustments=(
                    *finding.adjustments,
                    f"demoted from {finding.severity}: risk not realised: the curves show no "
                    f"overfitting ({why})",
                ),
            )
        out.append(finding)
    return out


def _overridden(finding: Finding, severities: Mapping[str, str]) -> Finding:
    wanted = severities.get(finding.code)
    if not wanted or wanted == finding.severity:
        return finding
    return replace(
        finding,
        severity=wanted,
        severity_from=finding.severity_from or finding.severity,
        adjustments=(*finding.adjustments, f"set to {wanted} by the configuration"),
    )


def _headline(finding: Finding) -> str:
    return f"{finding.code} {finding.name}: {finding.message}"


def decide(
    findings: Iterable[Finding],
    judged: list[Checked],
    untrusted: list[Finding],
    checked: Iterable[Checked],
    facts: Facts,
) -> Verdict:
    findings = list(findings)
    passed = tuple(dict.fromkeys(c.statement for c in checked))
    symptoms = [f for f in findings if f.role == "symptom" and counts(f)]
    causes = [f for f in findings if f.role == "cause" and counts(f)]
    if symptoms:
        return Verdict(OVERFITTING, _headline(symptoms[0]), passed)
    measured = [f for f in findings if counts(f) and f.memorised]
    if measured:
        return Verdict(
            OVERFITTING,
            f"{_headline(measured[0])}; measured by the probe: {measured[0].probe['note']}",
            passed,
        )
    if untrusted:
        return Verdict(
            AT_RISK,
            f"{_headline(untrusted[0])}; the validation curves cannot show overfitting while "
            "validation data overlaps training data",
            passed,
        )
    if causes:
        why = "no training log with a validation curve to tell whether the risk was realised"
        if facts.curves:
            why = "the training logs are too short or have no validation metric to judge"
        return Verdict(AT_RISK, f"{_headline(causes[0])}; {why}", passed)
    if judged:
        return Verdict(HEALTHY, "the curves were judged and show no overfitting", passed)
    if not facts.curves:
        reason = "no training log to judge (give the log with a validation metric)"
    else:
        reason = "the training logs could not be judged (too short, or no validation metric)"
    return Verdict(UNKNOWN, reason, passed)
