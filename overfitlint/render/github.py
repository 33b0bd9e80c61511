"""``--format github``: GitHub Actions workflow commands and a Markdown job summary.

Each finding becomes ``::error|warning|notice file=…,line=…,title=…::message`` so it shows as
an annotation on the pull request's diff (error → error, warning → warning, info → notice); the
last line is a notice that states the verdict and the gate's result. Values are escaped as the
Actions toolkit does: ``%``, CR and LF in messages; also ``:`` and ``,`` in properties. Text
from files is made ``plain`` first, so no name can end a command early, start a line of its own
(``::add-mask::``, ``::stop-commands::``) or hide a legacy ``##[command]``.
``render_summary`` is the Markdown the CLI appends to ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import html
from typing import Any

from overfitlint.findings import Finding
from overfitlint.render.locations import repo_path
from overfitlint.render.reading import (
    checked_line,
    counts_text,
    escalation,
    evidence_line,
    gate_word,
    number,
    verdict_line,
)
from overfitlint.render.safe import plain
from overfitlint.report import AnyReport, Escalation, MultiReport

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}
VERDICT_TITLE = "overfitlint verdict"


def escape_data(text: str) -> str:
    """Message data as the Actions toolkit escapes it (%, CR, LF); a '::' from a name is
    spaced out too, so no copy of a command's shape survives inside a message."""
    escaped = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return escaped.replace("::", ": :")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding, worse: Escalation | None = None) -> str:
    location = finding.location
    properties = []
    if location.file:
        properties.append(f"file={escape_property(plain(repo_path(str(location.file))))}")
        line = number(location.line)
        if line is not None and line > 0:
            properties.append(f"line={int(line)}")
    title = f"{finding.code} {finding.name} ({finding.confidence} confidence)"
    properties.append(f"title={escape_property(plain(title))}")
    body = [plain(finding.message)]
    evidence = evidence_line(finding)
    if evidence:
        body.append(f"evidence: {evidence}")
    if finding.corroborated_by:
        body.append(f"corroborated by: {', '.join(map(plain, finding.corroborated_by))}")
    if finding.contradicted_by:
        body.append(f"contradicted by: {', '.join(map(plain, finding.contradicted_by))}")
    body.extend(f"adjusted: {plain(change)}" for change in finding.adjustments)
    if worse is not None:
        body.append(f"baseline: accepted before, now worse: {plain(worse.change)}")
    if finding.fix:
        body.append(f"fix: {plain(' '.join(finding.fix.split()))}")
    command = COMMANDS.get(finding.severity, "notice")
    return f"::{command} {','.join(properties)}::{escape_data(chr(10).join(body))}"


def _verdict_annotation(report: AnyReport) -> str:
    summary = report.summary
    text = (
        f"verdict {verdict_line(report.verdict)}\n"
        f"result: {gate_word(summary)} at --fail-on {plain(report.run.fail_on)}, "
        f"{counts_text(summary)}"
    )
    checked = checked_line(report.verdict)
    if checked:
        text += "\n" + checked
    return f"::notice title={escape_property(VERDICT_TITLE)}::{escape_data(text)}"


def render_github(report: AnyReport) -> str:
    lines = [
        annotation(finding, escalation(run, finding))
        for run in report.parts
        for finding in run.findings
    ]
    baseline = report.baseline
    if baseline is not None:
        lines.append(
            f"baseline {plain(baseline.path)}: {baseline.suppressed} known finding(s) "
            f"suppressed, {len(baseline.escalated)} worse than accepted, "
            f"{len(baseline.gone)} gone"
        )
    lines.append(_verdict_annotation(report))
    return "\n".join(lines) + "\n"


def _cell(text: Any) -> str:
    """Markdown table cell text: one plain line, HTML escaped (a summary renders HTML), with
    Markdown's own characters escaped."""
    value = html.escape(" ".join(plain(text).split()), quote=True)
    for char in "\\|`*_[]":
        value = value.replace(char, "\\" + char)
    return value


def render_summary(report: AnyReport) -> str:
    summary = report.summary
    result = "❌ fail" if summary.failed else "✅ pass"
    out = [
        f"## overfitlint: {result}, {_cell(report.verdict.status)}",
        "",
        f"**Verdict: {_cell(report.verdict.status)}**: {_cell(report.verdict.reason)}",
        "",
    ]
    checked = checked_line(report.verdict)
    if checked:
        out += [_cell(checked), ""]
    out += [
        f"Fail-on **{_cell(report.run.fail_on)}**: {summary.error} error, "
        f"{summary.warning} warning, {summary.info} info.",
        "",
    ]
    if isinstance(report, MultiReport):
        out += [
            "| model | verdict | result | error | warning | info |",
            "|---|---|---|---|---|---|",
        ]
        for run in report.runs:
            s = run.summary
            out.append(
                f"| {_cell(run.name)} | {_cell(run.verdict.status)} | {gate_word(s)} | "
                f"{s.error} | {s.warning} | {s.info} |"
            )
        out.append("")
    if report.findings:
        out += ["| severity | rule | where | finding |", "|---|---|---|---|"]
        for finding in report.findings:
            where = repo_path(str(finding.location.file or ""))
            line = number(finding.location.line)
            if where and line is not None and line > 0:
                where = f"{where}:{int(line)}"
            out.append(
                f"| {_cell(finding.severity)} | {_cell(finding.code)} {_cell(finding.name)} | "
                f"{_cell(where or '-')} | {_cell(finding.message)} |"
            )
        out.append("")
    baseline = report.baseline
    if baseline is not None:
        out.append(
            f"Baseline {_cell(baseline.path)}: {baseline.suppressed} known finding(s) "
            f"suppressed, {len(baseline.escalated)} worse than accepted, "
            f"{len(baseline.gone)} gone."
        )
        for worse in baseline.escalated:
            out.append(
                f"- worse than accepted: {_cell(worse.code)} in {_cell(worse.file)}: "
                f"{_cell(worse.change)}"
            )
        for gone in baseline.gone:
            out.append(f"- gone: {_cell(gone.code)} {_cell(gone.name)} in {_cell(gone.file)}")
        out.append("")
    skipped = [
        f"{_cell(code)} ({_cell(reason)})"
        for run in report.parts
        for code, reason in run.rules.skipped.items()
    ]
    if skipped:
        out += ["Not run: " + "; ".join(dict.fromkeys(skipped)), ""]
    return "\n".join(out) + "\n"
