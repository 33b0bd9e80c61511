"""``--format junit``: JUnit XML for Jenkins, GitLab and other CI test-report views.

One ``testsuite`` per model (per run). Its ``properties`` state the verdict and the gate's
result; its first ``testcase``, ``verdict``, fails when the gate failed. Then one ``testcase``
per rule that ran (or was skipped) on it: a finding at or above ``--fail-on`` is a ``failure``
of its rule's testcase; findings below it are listed in the testcase's ``system-out``; a rule
that crashed (an internal finding names it) is an ``error``; a rule that could not run is
``skipped`` with the reason. Text from files is ``plain``; what XML 1.0 cannot carry at all
is replaced.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from overfitlint.catalogue import load_catalogue
from overfitlint.findings import Finding
from overfitlint.render.reading import (
    checked_line,
    counts_text,
    crash_reports,
    evidence_line,
    finding_context,
    finding_head,
    gate_word,
    verdict_line,
)
from overfitlint.render.safe import plain
from overfitlint.report import AnyReport, Report
from overfitlint.severity import SEVERITIES, fails

VERDICT_CASE = "verdict"
# characters XML 1.0 cannot carry, even escaped
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: Any) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def _text(text: Any) -> str:
    """File text for an attribute or one line of an element: plain, and XML-safe."""
    return _clean(plain(text))


def _suite_name(run: Report) -> str:
    if run.run.name:
        return run.run.name
    if run.model and run.model.source:
        return run.model.source
    return ", ".join(i.path for i in run.inputs)


def _describe(run: Report, finding: Finding) -> str:
    lines = [finding_head(finding)]
    evidence = evidence_line(finding)
    if evidence:
        lines.append(f"evidence: {evidence}")
    lines.extend(finding_context(run, finding))
    if finding.probe:
        status = finding.probe.get("status", "?") if isinstance(finding.probe, Mapping) else "?"
        lines.append(f"probe: {plain(status)}")
    if finding.fix:
        lines.append(f"fix: {plain(' '.join(finding.fix.split()))}")
    return _clean("\n".join(lines))


def _seconds(value: float) -> str:
    return f"{max(0.0, float(value)):.3f}"


def _verdict_case(suite: ET.Element, run: Report, classname: str) -> bool:
    """The ``verdict`` testcase; True when it failed (the gate failed)."""
    case = ET.SubElement(suite, "testcase", name=VERDICT_CASE, classname=classname, time="0.000")
    lines = [
        f"verdict {verdict_line(run.verdict)}",
        f"result: {gate_word(run.summary)} at --fail-on {plain(run.run.fail_on)}, "
        f"{counts_text(run.summary)}",
    ]
    checked = checked_line(run.verdict)
    if checked:
        lines.append(checked)
    text = _clean("\n".join(lines))
    if run.summary.failed:
        failure = ET.SubElement(
            case, "failure", message=_text(verdict_line(run.verdict)), type=VERDICT_CASE
        )
        failure.text = text
    else:
        ET.SubElement(case, "system-out").text = text
    return run.summary.failed


def _suite(run: Report, fail_on: str, names: dict[str, str]) -> ET.Element:
    suite_name = _suite_name(run)
    classname = _clean("overfitlint." + re.sub(r"[^A-Za-z0-9_/-]", "_", suite_name))
    suite = ET.Element("testsuite", name=_text(suite_name))
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("fail_on", fail_on),
        ("inputs", ", ".join(i.path for i in run.inputs)),
        ("verdict", run.verdict.status),
        ("verdict_reason", run.verdict.reason),
        ("verdict_checked", "; ".join(run.verdict.checked)),
        ("result", gate_word(run.summary)),
    ):
        ET.SubElement(properties, "property", name=name, value=_text(value))
    tests, skipped = 1, 0
    failures = 1 if _verdict_case(suite, run, classname) else 0
    errors = 0
    ran = list(run.rules.ran)
    codes = ran + [c for c in run.rules.skipped if c not in ran]
    for code in codes:
        tests += 1
        case = ET.SubElement(
            suite,
            "testcase",
            name=_text(f"{code} {names.get(code, '')}".strip()),
            classname=classname,
            time="0.000",
        )
        if code in run.rules.skipped:
            skipped += 1
            ET.SubElement(case, "skipped", message=_text(run.rules.skipped[code]))
            continue
        own = [f for f in run.findings if f.code == code]
        crashed = crash_reports(run, code)
        failing = [f for f in own if f.severity in SEVERITIES and fails(f.severity, fail_on)]
        for finding in failing:
            element = ET.SubElement(
                case, "failure", message=_text(finding.message), type=_text(finding.code)
            )
            element.text = _describe(run, finding)
        if failing:
            failures += 1
        for finding in crashed:
            element = ET.SubElement(
                case, "error", message=_text(finding.message), type=_text(finding.code)
            )
            element.text = _describe(run, finding)
        if crashed:
            errors += 1
        passing = [f for f in own if f not in failing]
        if passing:
            out = ET.SubElement(case, "system-out")
            out.text = _clean(
                f"below --fail-on {fail_on}:\n" + "\n".join(_describe(run, f) for f in passing)
            )
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    suite.set("time", _seconds(run.run.seconds))
    suite.set("timestamp", _text(run.run.started_at))
    return suite


def render_junit(report: AnyReport) -> str:
    fail_on = plain(report.run.fail_on)
    names = {code: spec.name for code, spec in load_catalogue().items()}
    root = ET.Element("testsuites", name="overfitlint")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for run in report.parts:
        suite = _suite(run, fail_on, names)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _seconds(report.run.seconds))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
