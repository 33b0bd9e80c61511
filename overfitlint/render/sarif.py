"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One SARIF run holds every model checked. Rule descriptors come from the catalogue (title,
summary, the ``explain`` text as help, a ``helpUri`` at the rule's catalogue file). Each result
points at the model file, or at the log line where a curve finding begins, carries the
finding's fingerprint in ``partialFingerprints`` and its evidence, fix, adjustments and probe
verdict in ``properties``. With a baseline, the findings it accepted are results too, marked
``suppressions`` (kind ``external``), and every result says its ``baselineState``. The run's
``properties`` state the verdict (and each model's, with several). Text from files is ``plain``.
"""

from __future__ import annotations

from typing import Any

from overfitlint import __version__
from overfitlint.catalogue import RuleSpec, load_catalogue
from overfitlint.findings import Finding
from overfitlint.render.explain import render_explanation
from overfitlint.render.locations import artifact_uri, finding_file
from overfitlint.render.reading import escalation, number
from overfitlint.render.safe import json_text, plain, plain_tree
from overfitlint.report import SCHEMA_VERSION, AnyReport, MultiReport, Report
from overfitlint.verdict import Verdict

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
PROJECT_URI = "https://github.com/overfitlint/overfitlint"
RULES_URI = f"{PROJECT_URI}/blob/main/rules"
"""A rule's ``helpUri`` is ``RULES_URI/<CODE>.toml``: the catalogue file that documents it."""
FINGERPRINT_KEY = "overfitlintFingerprint/v1"

LEVELS = {"error": "error", "warning": "warning", "info": "note"}
PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "info": "recommendation"}
PRECISION = {"high": "high", "medium": "medium", "low": "low"}


def rule_uri(code: str) -> str:
    return f"{RULES_URI}/{code}.toml"


def _descriptor(spec: RuleSpec) -> dict[str, Any]:
    help_text = render_explanation(spec)
    return {
        "id": spec.code,
        "name": spec.name,
        "shortDescription": {"text": spec.title},
        "fullDescription": {"text": " ".join(spec.summary.split())},
        "help": {"text": help_text, "markdown": help_text},
        "helpUri": rule_uri(spec.code),
        "defaultConfiguration": {"level": LEVELS[spec.severity]},
        "properties": {
            "tags": list(dict.fromkeys(["overfitting", spec.group, spec.role])),
            "precision": PRECISION[spec.confidence],
            "problem.severity": PROBLEM_SEVERITY[spec.severity],
            "needs": list(spec.needs),
            "thresholds": {name: t.default for name, t in spec.thresholds.items()},
        },
    }


def _artifact_location(path: str, artifacts: dict[str, int]) -> dict[str, Any]:
    uri, relative = artifact_uri(path)
    location: dict[str, Any] = {"uri": uri}
    if relative:
        location["uriBaseId"] = "%SRCROOT%"
    if uri in artifacts:
        location["index"] = artifacts[uri]
    return location


def _physical(path: str, line: Any, artifacts: dict[str, int]) -> dict[str, Any]:
    # GitHub code scanning needs a region; a model file's findings sit at its first line.
    start = number(line)
    return {
        "physicalLocation": {
            "artifactLocation": _artifact_location(path, artifacts),
            "region": {"startLine": int(start) if start is not None and start >= 1 else 1},
        }
    }


def _verdict(verdict: Verdict) -> dict[str, Any]:
    return {
        "status": plain(verdict.status),
        "reason": plain(verdict.reason),
        "checked": [plain(c) for c in verdict.checked],
    }


def _result(
    finding: Finding,
    report: Report,
    rule_index: dict[str, int],
    artifacts: dict[str, int],
    baseline_state: str | None,
) -> dict[str, Any]:
    location = finding.location
    primary = _physical(finding_file(finding, report), location.line, artifacts)
    if location.layer:
        primary["logicalLocations"] = [{"name": plain(location.layer), "kind": "layer"}]
    properties: dict[str, Any] = {
        "severity": plain(finding.severity),
        "confidence": plain(finding.confidence),
        "role": plain(finding.role),
        "evidence": plain_tree([e.to_dict() for e in finding.evidence]),
        "fix": plain(finding.fix),
        "epoch": number(location.epoch),
        "layer": plain(location.layer) if location.layer else None,
        "corroboratedBy": [plain(c) for c in finding.corroborated_by],
        "contradictedBy": [plain(c) for c in finding.contradicted_by],
        "adjustments": [plain(a) for a in finding.adjustments],
        "severityFrom": plain(finding.severity_from) if finding.severity_from else None,
        "probe": plain_tree(finding.probe) if finding.probe is not None else None,
    }
    worse = escalation(report, finding)
    if worse is not None:
        properties["baselineChange"] = plain(worse.change)
    result: dict[str, Any] = {
        "ruleId": plain(finding.code),
        "level": LEVELS.get(finding.severity, "note"),
        "message": {"text": plain(finding.message)},
        "locations": [primary],
        "partialFingerprints": {
            FINGERPRINT_KEY: finding.fingerprint,
            # a stable stand-in, so uploaders do not hash the (binary or growing) file's lines
            "primaryLocationLineHash": f"{finding.fingerprint}:1",
        },
        "properties": properties,
    }
    if baseline_state is not None:
        result["baselineState"] = "updated" if worse is not None else baseline_state
    if finding.code in rule_index:
        result["ruleIndex"] = rule_index[finding.code]
    model_file = report.model.source if report.model else None
    if model_file and location.file and location.file != model_file:
        related = _physical(str(model_file), None, artifacts)
        related["id"] = 1
        related["message"] = {"text": "the model these training logs belong to"}
        result["relatedLocations"] = [related]
    return result


def _results(
    run: Report, rule_index: dict[str, int], artifacts: dict[str, int]
) -> list[dict[str, Any]]:
    baseline = run.baseline
    results = [
        _result(f, run, rule_index, artifacts, "new" if baseline else None) for f in run.findings
    ]
    if baseline is None:
        return results
    accepted = {
        "kind": "external",
        "justification": f"accepted in the baseline {plain(baseline.path)}",
    }
    for finding in run.suppressed:
        result = _result(finding, run, rule_index, artifacts, "unchanged")
        result["suppressions"] = [accepted]
        results.append(result)
    return results


def _artifacts(runs: tuple[Report, ...]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    index: dict[str, int] = {}
    listed: list[dict[str, Any]] = []
    for run in runs:
        for item in run.inputs:
            uri, relative = artifact_uri(item.path)
            if uri in index:
                continue
            index[uri] = len(listed)
            entry: dict[str, Any] = {
                "location": {"uri": uri, **({"uriBaseId": "%SRCROOT%"} if relative else {})},
                "length": item.bytes,
                "roles": ["analysisTarget"],
                "properties": {"kind": plain(item.kind)},
            }
            if item.sha256:
                entry["hashes"] = {"sha-256": plain(item.sha256)}
            listed.append(entry)
    return index, listed


def _notifications(runs: tuple[Report, ...], rule_index: dict[str, int]) -> list[dict[str, Any]]:
    def descriptor(code: str) -> dict[str, Any]:
        return {"id": plain(code), **({"index": rule_index[code]} if code in rule_index else {})}

    notes = []
    for run in runs:
        target = plain(run.inputs[0].path) if run.inputs else "the inputs"
        for code in run.rules.crashed:
            notes.append(
                {
                    "descriptor": descriptor(code),
                    "level": "error",
                    "message": {"text": f"{plain(code)} crashed on {target}; see its finding"},
                }
            )
        for code, reason in run.rules.skipped.items():
            notes.append(
                {
                    "descriptor": descriptor(code),
                    "level": "note",
                    "message": {"text": f"{plain(code)} not run on {target}: {plain(reason)}"},
                }
            )
    return notes


def build_sarif(report: AnyReport) -> dict[str, Any]:
    specs = list(load_catalogue().values())
    rule_index = {spec.code: i for i, spec in enumerate(specs)}
    runs = report.parts
    artifacts, artifact_list = _artifacts(runs)
    results = [r for run in runs for r in _results(run, rule_index, artifacts)]
    summary = report.summary
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "properties": {
            "failOn": plain(report.run.fail_on),
            "probe": [plain_tree(run.run.probe) for run in runs],
            "failed": summary.failed,
            "summary": {k: v for k, v in summary.to_dict().items() if k != "failed"},
        },
    }
    if report.run.started_at:
        invocation["startTimeUtc"] = report.run.started_at.replace("+00:00", "Z")
    notifications = _notifications(runs, rule_index)
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run_properties: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "verdict": _verdict(report.verdict),
    }
    if isinstance(report, MultiReport):
        run_properties["verdicts"] = [
            {"name": plain(run.name), **_verdict(run.verdict)} for run in runs
        ]
    baseline = report.baseline
    if baseline is not None:
        run_properties["baseline"] = {
            "path": plain(baseline.path),
            "suppressed": baseline.suppressed,
            "gone": plain_tree([g.to_dict() for g in baseline.gone]),
            "escalated": plain_tree([e.to_dict() for e in baseline.escalated]),
        }
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "overfitlint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": PROJECT_URI,
                        "rules": [_descriptor(spec) for spec in specs],
                    }
                },
                "invocations": [invocation],
                "artifacts": artifact_list,
                "results": results,
                "columnKind": "unicodeCodePoints",
                "properties": run_properties,
            }
        ],
    }


def render_sarif(report: AnyReport) -> str:
    return json_text(build_sarif(report))
