"""The 5xx rules over measured data facts, each check called with its CheckContext.

Until the pipeline passes data facts to the engine, this is how the data rules run (the
``python -m overfitlint.data`` entry point, tests); the thresholds, selection and severity
overrides of ``Settings`` apply as in the engine.
"""

from __future__ import annotations

from overfitlint.catalogue import load_catalogue
from overfitlint.data.facts import DataFacts
from overfitlint.engine.context import CheckContext
from overfitlint.engine.registry import registered_checks
from overfitlint.engine.runner import crash_finding, resolve_thresholds
from overfitlint.engine.selection import is_selected
from overfitlint.facts import ModelFacts
from overfitlint.findings import Finding
from overfitlint.settings import Settings
from overfitlint.severity import severity_rank


def data_findings(
    facts: DataFacts, *, model: ModelFacts | None = None, settings: Settings | None = None
) -> list[Finding]:
    settings = settings or Settings()
    catalogue = load_catalogue()
    checks = registered_checks()
    findings: list[Finding] = []
    for code, rule in catalogue.items():
        if "data" not in rule.needs or code not in checks:
            continue
        if not is_selected(rule, settings.select, settings.ignore):
            continue
        registered = checks[code]
        context = CheckContext(
            rule,
            resolve_thresholds(rule, settings),
            registered.reads,
            model,
            [],
            settings,
            data=facts,
        )
        try:
            produced = list(registered.fn(context))
        except Exception as exc:  # as in the engine: a crashing rule becomes a finding
            produced = [crash_finding(code, exc, catalogue)]
        findings.extend(produced)
    for finding in findings:
        override = settings.severities.get(finding.code)
        if override:
            finding.severity = override
    findings.sort(key=lambda f: (-severity_rank(f.severity), f.code, f.subject))
    return findings
