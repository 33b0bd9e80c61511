"""What every renderer reads the same way from a typed report.

The verdict's words and tones, the gate's result, which log a finding is about, and the one
definition of a log's best epoch (a finding's ``best_epoch`` evidence about the validation
loss, else its logged minimum). Nothing here names a rule: numbers are found by evidence name,
tones by severity and role.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import PurePath
from typing import Any

import numpy as np

from overfitlint.curves import Curves, Series
from overfitlint.findings import Finding
from overfitlint.render.safe import line_start, plain
from overfitlint.report import Escalation, Report, Summary
from overfitlint.verdict import AT_RISK, HEALTHY, OVERFITTING, UNKNOWN, Verdict

SEVERITY_RANK = {"error": 2, "warning": 1, "info": 0}
SEVERITY_ORDER = ("error", "warning", "info")
VERDICT_HEADLINES = {
    OVERFITTING: "Overfitting",
    AT_RISK: "At risk of overfitting",
    HEALTHY: "Healthy: no sign of overfitting",
    UNKNOWN: "Unknown: nothing could be judged",
}
VERDICT_TONES = {OVERFITTING: "error", AT_RISK: "warning", HEALTHY: "ok", UNKNOWN: "neutral"}
INTERNAL = "internal"
"""The role of a finding that says a rule or loader could not run."""


def number(value: Any) -> float | None:
    """A finite number, else None (evidence read back from JSON may hold anything)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def severity_rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, -1)


def worst(findings: Iterable[Finding]) -> str | None:
    """The highest severity among ``findings`` (None when there are none)."""
    best: str | None = None
    for finding in findings:
        if severity_rank(finding.severity) > severity_rank(best or ""):
            best = finding.severity
    return best


# -- verdict and gate ------------------------------------------------------------------------


def verdict_headline(verdict: Verdict) -> str:
    return VERDICT_HEADLINES.get(verdict.status, plain(verdict.status))


def verdict_tone(verdict: Verdict) -> str:
    return VERDICT_TONES.get(verdict.status, "neutral")


def verdict_line(verdict: Verdict) -> str:
    """``<status>: <reason>``, one plain line."""
    reason = plain(verdict.reason)
    return f"{plain(verdict.status)}: {reason}" if reason else plain(verdict.status)


def checked_line(verdict: Verdict) -> str:
    """The positive summary: what was checked and passed ("" when nothing was)."""
    if not verdict.checked:
        return ""
    return "Checked and passed: " + "; ".join(plain(item) for item in verdict.checked)


def counts_text(summary: Summary) -> str:
    """``7 finding(s): 5 error, 1 warning, 1 info`` or ``no findings``."""
    if not summary.total:
        return "no findings"
    counts = ", ".join(f"{summary.count(s)} {s}" for s in SEVERITY_ORDER if summary.count(s))
    return f"{summary.total} finding(s): {counts}"


def gate_word(summary: Summary) -> str:
    return "fail" if summary.failed else "pass"


# -- findings --------------------------------------------------------------------------------


def where(finding: Finding) -> str:
    """``file:line`` (plain), ``file``, or "" when the finding points at nothing."""
    location = finding.location
    if not location.file:
        return ""
    line = number(location.line)
    text = plain(location.file)
    return f"{text}:{int(line)}" if line is not None and line > 0 else text


def value_text(value: Any) -> str:
    if isinstance(value, float | np.floating) and math.isfinite(value):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value)
    return plain(value)


def evidence_line(finding: Finding) -> str:
    """``name=value unit; ...`` (plain)."""
    items = []
    for item in finding.evidence:
        unit = f" {plain(item.unit)}" if item.unit and item.unit not in ("epoch", "line") else ""
        items.append(f"{plain(item.name)}={value_text(item.value)}{unit}")
    return "; ".join(items)


def is_internal(finding: Finding) -> bool:
    return finding.role == INTERNAL


def crash_reports(report: Report, code: str) -> list[Finding]:
    """The internal findings that say rule ``code`` crashed."""
    if code not in report.rules.crashed:
        return []
    return [
        f
        for f in report.findings
        if is_internal(f) and (f.subject == code or f.evidence_value("rule") == code)
    ]


def finding_head(
    finding: Finding, paint: Callable[[str, str], str] = lambda text, _style: text
) -> str:
    """``file:line: CODE [severity, confidence confidence] message`` (plain); ``paint(text,
    style)`` may mark the code (style "bold") and the severity (style: its name)."""
    severity = plain(finding.severity)
    return (
        f"{line_start(where(finding)) or '-'}: {paint(plain(finding.code), 'bold')} "
        f"[{paint(severity, severity)}, {plain(finding.confidence)} confidence] "
        f"{plain(finding.message)}"
    )


def finding_context(report: Report, finding: Finding) -> list[str]:
    """What else the report says of a finding, one plain line each: the findings that
    corroborate or contradict it, a severity the configuration changed, the engine's
    adjustments, and the baseline's word that it came back worse."""
    lines = []
    if finding.corroborated_by:
        lines.append(f"corroborated by: {', '.join(map(plain, finding.corroborated_by))}")
    if finding.contradicted_by:
        lines.append(f"contradicted by: {', '.join(map(plain, finding.contradicted_by))}")
    if finding.severity_from:
        lines.append(f"rule's severity: {plain(finding.severity_from)}")
    lines.extend(f"adjusted: {plain(change)}" for change in finding.adjustments)
    worse = escalation(report, finding)
    if worse is not None:
        lines.append(f"baseline: accepted before, now worse: {plain(worse.change)}")
    return lines


def escalation(report: Report, finding: Finding) -> Escalation | None:
    """The baseline's word that this finding was accepted before and came back worse."""
    if report.baseline is None:
        return None
    return next(
        (
            e
            for e in report.baseline.escalated
            if e.fingerprint == finding.fingerprint and e.code == finding.code
        ),
        None,
    )


# -- logs and their best epoch ----------------------------------------------------------------


def _sources(curves: Curves) -> list[str]:
    return list(dict.fromkeys([curves.source, *curves.sources]))


def log_of(report: Report, finding: Finding) -> Curves | None:
    """The log a finding points into: by path, else by a file name only one log has."""
    where_file = finding.location.file or ""
    if not where_file:
        return None
    for curves in report.logs:
        if where_file in _sources(curves):
            return curves
    name = PurePath(where_file).name
    same = [c for c in report.logs if any(PurePath(s).name == name for s in _sources(c))]
    return same[0] if len(same) == 1 else None


def findings_about(report: Report, curves: Curves, subject: str | None) -> list[Finding]:
    """Findings located in this log whose subject is ``subject`` (a series name)."""
    return [f for f in report.findings if f.subject == subject and log_of(report, f) is curves]


def last_finite(series: Series | None) -> tuple[float, float] | None:
    """The epoch and value of the last point with a finite epoch and value."""
    if series is None:
        return None
    good = np.flatnonzero(np.isfinite(series.values) & np.isfinite(series.epochs))
    if good.size == 0:
        return None
    return float(series.epochs[good[-1]]), float(series.values[good[-1]])


def points_after(series: Series, epoch: float) -> int:
    """Points logged after ``epoch`` (in the full log, also when ``series`` is downsampled)."""
    up_to = np.flatnonzero(series.epochs <= epoch)
    if up_to.size == 0:
        return series.count
    return series.count - 1 - series.position(int(up_to[-1]))


def series_best(
    report: Report, curves: Curves, series: Series | None, lower_is_better: bool
) -> float | None:
    """The best epoch of one validation series: the ``best_epoch`` a finding about it
    measured, else the epoch of its logged minimum (maximum when higher is better)."""
    if series is None:
        return None
    for finding in findings_about(report, curves, series.name):
        epoch = number(finding.evidence_value("best_epoch"))
        if epoch is not None:
            return epoch
    good = np.flatnonzero(np.isfinite(series.values) & np.isfinite(series.epochs))
    if good.size == 0:
        return None
    values = series.values[good]
    pick = np.argmin(values) if lower_is_better else np.argmax(values)  # the first one
    return float(series.epochs[good[int(pick)]])


def best_epoch(report: Report, curves: Curves) -> float | None:
    """The best epoch of a log: that of its validation loss."""
    return series_best(report, curves, curves.val_loss, curves.loss.lower_is_better)


def value_at(series: Series | None, epoch: float) -> float | None:
    """The logged value of ``series`` at ``epoch`` (the first such point)."""
    if series is None:
        return None
    at = np.flatnonzero(
        (series.epochs == epoch) & np.isfinite(series.values) & np.isfinite(series.epochs)
    )
    return float(series.values[at[0]]) if at.size else None
