"""Severity and confidence levels, ordered."""

from __future__ import annotations

SEVERITIES = ("info", "warning", "error")
CONFIDENCES = ("low", "medium", "high")
FAIL_ON = ("error", "warning", "info", "never")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def raise_severity(severity: str, steps: int = 1) -> str:
    return SEVERITIES[min(len(SEVERITIES) - 1, severity_rank(severity) + steps)]


def raise_confidence(confidence: str, steps: int = 1) -> str:
    return CONFIDENCES[min(len(CONFIDENCES) - 1, CONFIDENCES.index(confidence) + steps)]


def lower_confidence(confidence: str, steps: int = 1) -> str:
    return CONFIDENCES[max(0, CONFIDENCES.index(confidence) - steps)]


def fails(severity: str, fail_on: str) -> bool:
    """Does a finding of this severity fail a run with ``--fail-on fail_on``?"""
    if fail_on == "never":
        return False
    return severity_rank(severity) >= severity_rank(fail_on)
