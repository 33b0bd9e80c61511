"""``--format github``: GitHub Actions workflow commands and a Markdown job summary.

Each finding becomes ``::error|warning|notice file=…,line=…,title=…::message`` so it shows as
an annotation on the pull request's diff (error → error, warning → warning, info → notice).
Values are escaped as the Actions toolkit does: ``%``, CR and LF in messages; also ``:`` and
``,`` in properties. ``render_summary`` is the Markdown the CLI appends to
``$GITHUB_STEP_SUMMARY`` when that variable is set.
"""

from __future__ import annotations

import html
from typing import Any

from overfitlint.render.locations import evidence_line, parts, repo_path

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: dict[str, Any]) -> str:
    location = finding["location"]
    properties = []
    if location["file"]:
        properties.append(f"file={escape_property(repo_path(str(location['file'])))}")
        if location["line"]:
            properties.append(f"line={int(location['line'])}")
    title = f"{finding['code']} {finding['name']} ({finding['confidence']} confidence)"
    properties.append(f"title={escape_property(title)}")
    body = [finding["message"]]
    evidence = evidence_line(finding)
    if evidence:
        body.append(f"evidence: {evidence}")
    if finding["corroborated_by"]:
        body.append(f"corroborated by: {', '.join(finding['corroborated_by'])}")
    if finding["fix"]:
        body.append(f"fix: {' '.join(finding['fix'].split())}")
    command = COMMANDS[finding["severity"]]
    return f"::{command} {','.join(properties)}::{escape_data(chr(10).join(body))}"


def _verdict(report: dict[str, Any]) -> str:
    summary = report["summary"]
    counts = ", ".join(f"{summary[s]} {s}" for s in ("error", "warning", "info") if summary[s])
    verdict = "fail" if summary["failed"] else "pass"
    found = f"{summary['total']} finding(s): {counts}" if summary["total"] else "no findings"
    return f"overfitlint {verdict} (--fail-on {report['run']['fail_on']}): {found}"


def render_github(report: dict[str, Any]) -> str:
    lines = [annotation(finding) for finding in report["findings"]]
    baseline = report.get("baseline")
    if baseline:
        lines.append(
            f"baseline {escape_data(str(baseline['path']))}: {baseline['suppressed']} known "
            f"finding(s) suppressed, {len(baseline['gone'])} gone"
        )
    lines.append(escape_data(_verdict(report)))
    return "\n".join(lines) + "\n"


def _cell(text: Any) -> str:
    """Markdown table cell text: HTML escaped (a summary renders HTML), pipes and newlines out."""
    value = html.escape(" ".join(str(text).split()), quote=True)
    for char in "\\|`*_[]":
        value = value.replace(char, "\\" + char)
    return value


def render_summary(report: dict[str, Any]) -> str:
    summary = report["summary"]
    verdict = "❌ fail" if summary["failed"] else "✅ pass"
    out = [
        f"## overfitlint: {verdict}",
        "",
        f"Fail-on **{report['run']['fail_on']}**: {summary['error']} error, "
        f"{summary['warning']} warning, {summary['info']} info.",
        "",
    ]
    runs = parts(report)
    if len(runs) > 1:
        out += ["| model | result | error | warning | info |", "|---|---|---|---|---|"]
        for run in runs:
            s = run["summary"]
            name = run["run"].get("name") or run["inputs"][0]["path"]
            result = "fail" if s["failed"] else "pass"
            out.append(
                f"| {_cell(name)} | {result} | {s['error']} | {s['warning']} | {s['info']} |"
            )
        out.append("")
    if report["findings"]:
        out += ["| severity | rule | where | finding |", "|---|---|---|---|"]
        for finding in report["findings"]:
            location = finding["location"]
            where = repo_path(str(location["file"] or ""))
            if location["line"]:
                where = f"{where}:{location['line']}"
            out.append(
                f"| {finding['severity']} | {finding['code']} {_cell(finding['name'])} | "
                f"{_cell(where or '-')} | {_cell(finding['message'])} |"
            )
        out.append("")
    baseline = report.get("baseline")
    if baseline:
        out.append(
            f"Baseline {_cell(baseline['path'])}: {baseline['suppressed']} known finding(s) "
            f"suppressed, {len(baseline['gone'])} gone."
        )
        for gone in baseline["gone"]:
            out.append(f"- gone: {gone['code']} {_cell(gone['name'])} in {_cell(gone['file'])}")
        out.append("")
    skipped = [
        f"{code} ({_cell(reason)})"
        for run in runs
        for code, reason in run["rules"]["skipped"].items()
    ]
    if skipped:
        out += ["Not run: " + "; ".join(dict.fromkeys(skipped)), ""]
    return "\n".join(out) + "\n"
