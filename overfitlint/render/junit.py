"""``--format junit``: JUnit XML for Jenkins, GitLab and other CI test-report views.

One ``testsuite`` per model (per run), one ``testcase`` per rule that ran (or was skipped)
on it. A finding at or above ``--fail-on`` is a ``failure`` of its rule's testcase; findings
below it are listed in the testcase's ``system-out``; a rule that crashed (OFL901) is an
``error``; a rule that could not run is ``skipped`` with the reason.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from overfitlint.catalogue import load_catalogue
from overfitlint.render.locations import evidence_line, parts
from overfitlint.severity import fails

CRASH_CODE = "OFL901"
# characters XML 1.0 cannot carry, even escaped
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: Any) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def _suite_name(run: dict[str, Any]) -> str:
    if run["run"].get("name"):
        return str(run["run"]["name"])
    model = run.get("model")
    if model and model.get("source"):
        return str(model["source"])
    return ", ".join(str(i["path"]) for i in run["inputs"])


def _where(finding: dict[str, Any]) -> str:
    location = finding["location"]
    where = location["file"] or "-"
    return f"{where}:{location['line']}" if location["line"] else where


def _describe(finding: dict[str, Any]) -> str:
    lines = [
        f"{_where(finding)}: {finding['code']} [{finding['severity']}, "
        f"{finding['confidence']} confidence] {finding['message']}"
    ]
    evidence = evidence_line(finding)
    if evidence:
        lines.append(f"evidence: {evidence}")
    if finding["corroborated_by"]:
        lines.append(f"corroborated by: {', '.join(finding['corroborated_by'])}")
    if finding.get("probe"):
        lines.append(f"probe: {finding['probe'].get('status', '?')}")
    if finding["fix"]:
        lines.append(f"fix: {' '.join(finding['fix'].split())}")
    return "\n".join(lines)


def _crashed(finding: dict[str, Any]) -> Any:
    """The rule an OFL901 finding is about (its ``rule`` evidence)."""
    return next((e["value"] for e in finding["evidence"] if e["name"] == "rule"), None)


def _seconds(value: float) -> str:
    return f"{max(0.0, float(value)):.3f}"


def _suite(run: dict[str, Any], fail_on: str, names: dict[str, str]) -> ET.Element:
    suite_name = _suite_name(run)
    classname = "overfitlint." + re.sub(r"[^A-Za-z0-9_/-]", "_", suite_name)
    suite = ET.Element("testsuite", name=_clean(suite_name))
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("fail_on", fail_on),
        ("inputs", ", ".join(str(i["path"]) for i in run["inputs"])),
    ):
        ET.SubElement(properties, "property", name=name, value=_clean(value))
    tests = failures = errors = skipped = 0
    ran = list(run["rules"]["ran"])
    codes = ran + [c for c in run["rules"]["skipped"] if c not in ran]
    for code in codes:
        tests += 1
        case = ET.SubElement(
            suite,
            "testcase",
            name=f"{code} {names.get(code, '')}".strip(),
            classname=_clean(classname),
            time="0.000",
        )
        if code in run["rules"]["skipped"]:
            skipped += 1
            ET.SubElement(case, "skipped", message=_clean(run["rules"]["skipped"][code]))
            continue
        own = [f for f in run["findings"] if f["code"] == code]
        crashed = [f for f in run["findings"] if f["code"] == CRASH_CODE and _crashed(f) == code]
        failing = [f for f in own if fails(f["severity"], fail_on)]
        for finding in failing:
            element = ET.SubElement(
                case, "failure", message=_clean(finding["message"]), type=finding["code"]
            )
            element.text = _clean(_describe(finding))
        if failing:
            failures += 1
        for finding in crashed:
            element = ET.SubElement(
                case, "error", message=_clean(finding["message"]), type=CRASH_CODE
            )
            element.text = _clean(_describe(finding))
        if crashed:
            errors += 1
        passing = [f for f in own if f not in failing]
        if passing:
            out = ET.SubElement(case, "system-out")
            out.text = _clean(
                "below --fail-on " + fail_on + ":\n" + "\n".join(_describe(f) for f in passing)
            )
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    suite.set("time", _seconds(run["run"].get("seconds", 0)))
    suite.set("timestamp", _clean(run["run"].get("started_at", "")))
    return suite


def render_junit(report: dict[str, Any]) -> str:
    fail_on = report["run"]["fail_on"]
    names = {code: spec.name for code, spec in load_catalogue().items()}
    root = ET.Element("testsuites", name="overfitlint")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for run in parts(report):
        suite = _suite(run, fail_on, names)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _seconds(report["run"].get("seconds", 0)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
