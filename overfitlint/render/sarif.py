"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One SARIF run holds every model checked. Rule descriptors come from the catalogue (title,
summary, the ``explain`` text as help, a ``helpUri`` at the rule's catalogue file). Each result
points at the model file, or at the log line where a curve finding begins, carries the
finding's fingerprint in ``partialFingerprints`` and its evidence, fix and probe verdict in
``properties``.
"""

from __future__ import annotations

import json
from typing import Any

from overfitlint import __version__
from overfitlint.catalogue import RuleSpec, load_catalogue
from overfitlint.render.explain import render_explanation
from overfitlint.render.locations import artifact_uri, finding_file, parts

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


def _physical(path: str, line: int | None, artifacts: dict[str, int]) -> dict[str, Any]:
    # GitHub code scanning needs a region; a model file's findings sit at its first line.
    return {
        "physicalLocation": {
            "artifactLocation": _artifact_location(path, artifacts),
            "region": {"startLine": int(line) if line else 1},
        }
    }


def _result(
    finding: dict[str, Any],
    report: dict[str, Any],
    rule_index: dict[str, int],
    artifacts: dict[str, int],
) -> dict[str, Any]:
    location = finding["location"]
    primary = _physical(finding_file(finding, report), location["line"], artifacts)
    if location.get("layer"):
        primary["logicalLocations"] = [{"name": str(location["layer"]), "kind": "layer"}]
    result: dict[str, Any] = {
        "ruleId": finding["code"],
        "level": LEVELS[finding["severity"]],
        "message": {"text": finding["message"]},
        "locations": [primary],
        "partialFingerprints": {
            FINGERPRINT_KEY: finding["fingerprint"],
            # a stable stand-in, so uploaders do not hash the (binary or growing) file's lines
            "primaryLocationLineHash": f"{finding['fingerprint']}:1",
        },
        "properties": {
            "severity": finding["severity"],
            "confidence": finding["confidence"],
            "evidence": finding["evidence"],
            "fix": finding["fix"],
            "epoch": location.get("epoch"),
            "layer": location.get("layer"),
            "corroboratedBy": finding["corroborated_by"],
            "probe": finding["probe"],
        },
    }
    if finding["code"] in rule_index:
        result["ruleIndex"] = rule_index[finding["code"]]
    model = report.get("model")
    model_file = model.get("source") if model else None
    if model_file and location["file"] and location["file"] != model_file:
        related = _physical(str(model_file), None, artifacts)
        related["id"] = 1
        related["message"] = {"text": "the model these training logs belong to"}
        result["relatedLocations"] = [related]
    return result


def build_sarif(report: dict[str, Any]) -> dict[str, Any]:
    catalogue = load_catalogue()
    specs = list(catalogue.values())
    rule_index = {spec.code: i for i, spec in enumerate(specs)}
    runs = parts(report)
    artifacts: dict[str, int] = {}
    artifact_list: list[dict[str, Any]] = []
    for run in runs:
        for item in run["inputs"]:
            uri, relative = artifact_uri(str(item["path"]))
            if uri in artifacts:
                continue
            artifacts[uri] = len(artifact_list)
            entry: dict[str, Any] = {
                "location": {"uri": uri, **({"uriBaseId": "%SRCROOT%"} if relative else {})},
                "length": item["bytes"],
                "roles": ["analysisTarget"],
                "properties": {"kind": item["kind"]},
            }
            if item.get("sha256"):
                entry["hashes"] = {"sha-256": item["sha256"]}
            artifact_list.append(entry)
    results = [
        _result(finding, run, rule_index, artifacts) for run in runs for finding in run["findings"]
    ]
    notifications = [
        {
            "descriptor": {
                "id": code,
                **({"index": rule_index[code]} if code in rule_index else {}),
            },
            "level": "note",
            "message": {"text": f"{code} not run on {run['inputs'][0]['path']}: {reason}"},
        }
        for run in runs
        for code, reason in run["rules"]["skipped"].items()
    ]
    summary = report["summary"]
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "startTimeUtc": report["run"]["started_at"].replace("+00:00", "Z"),
        "properties": {
            "failOn": report["run"]["fail_on"],
            "probe": [run["run"].get("probe") for run in runs],
            "failed": summary["failed"],
            "summary": {k: v for k, v in summary.items() if k != "failed"},
        },
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run_properties: dict[str, Any] = {"schemaVersion": report["schema_version"]}
    if "baseline" in report:
        baseline = report["baseline"]
        run_properties["baseline"] = {
            "path": baseline["path"],
            "suppressed": baseline["suppressed"],
            "gone": baseline["gone"],
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


def render_sarif(report: dict[str, Any]) -> str:
    return json.dumps(build_sarif(report), indent=2, allow_nan=False) + "\n"
