"""The gate: does this check fail the build? Decided from the verdict's evidence, not renderers.

A finding counts toward the gate when it is a symptom (the model overfits), a cause the probe's
held-out measurement confirmed (the weights given memorised their training data), a cause with
``fail_on_risk`` (the user asked to fail on risk factors alone), an internal finding (a rule
could not run, so the verdict is incomplete), or a finding whose severity the configuration
set explicitly. The run fails when a counted finding is at or above ``fail_on``.
Notices (a log too short, training past the best with the best weights kept) never fail it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from overfitlint.findings import Finding
from overfitlint.severity import fails


def counted(finding: Finding, *, fail_on_risk: bool, severities: Mapping[str, str]) -> bool:
    if finding.code in severities:
        return True
    if finding.role == "symptom" or (finding.role == "cause" and fail_on_risk):
        return True
    if finding.memorised:
        return True
    return finding.role == "internal"


def failed(
    findings: Iterable[Finding], *, fail_on: str, fail_on_risk: bool, severities: Mapping[str, str]
) -> bool:
    return any(
        fails(f.severity, fail_on)
        for f in findings
        if counted(f, fail_on_risk=fail_on_risk, severities=severities)
    )
