"""Evidence combination: causes and symptoms found together strengthen each other.

A *symptom* (a diverging validation curve) says that the model overfits; a *cause*
(no dropout, no weight decay, too many parameters per sample) says why it may.
When both are present at warning level or above, each is raised one severity
level and one confidence level and names the findings that corroborate it.
Info-level findings (often "unknown") are never counted as evidence.
"""

from __future__ import annotations

from overfitlint.catalogue import RuleSpec
from overfitlint.findings import Finding
from overfitlint.severity import raise_confidence, raise_severity, severity_rank

EVIDENCE_FLOOR = severity_rank("warning")


def combine_evidence(findings: list[Finding], catalogue: dict[str, RuleSpec]) -> None:
    def counted(role: str) -> list[Finding]:
        return [
            f
            for f in findings
            if f.code in catalogue
            and catalogue[f.code].role == role
            and severity_rank(f.severity) >= EVIDENCE_FLOOR
        ]

    causes, symptoms = counted("cause"), counted("symptom")
    if not causes or not symptoms:
        return
    for group, others in ((causes, symptoms), (symptoms, causes)):
        other_codes = sorted({f.code for f in others})
        for finding in group:
            finding.severity = raise_severity(finding.severity)
            finding.confidence = raise_confidence(finding.confidence)
            finding.corroborated_by = other_codes
