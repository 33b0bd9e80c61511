"""Declarative pass/fail cases for every rule: tests/rules/cases/OFLxxx.yml.

Each case names its inputs (a model built by a builder in case_inputs.py, logs
given inline, or the trials of a sweep), optional settings and thresholds, and what
the rule must say.
Only the case's rule runs, and evidence combination is off, so a case tests its
rule alone.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from overfitlint import api
from overfitlint.catalogue import load_catalogue
from overfitlint.facts import Facts
from overfitlint.settings import RuleConfig
from tests.rules.case_inputs import BUILDERS, sweep_of_trials

CASES_DIR = Path(__file__).parent / "cases"


def _cases():
    for path in sorted(CASES_DIR.glob("OFL*.yml")):
        doc = yaml.safe_load(path.read_text())
        for case in doc["cases"]:
            yield pytest.param(doc["rule"], case, id=f"{doc['rule']}-{case['name']}")


def _inputs(case: dict, tmp_path: Path) -> list[Path]:
    paths = []
    if "model" in case:
        spec = dict(case["model"])
        paths.append(BUILDERS[spec.pop("builder")](tmp_path, **spec))
    logs = case.get("logs") or ([case["log"]] if "log" in case else [])
    for index, text in enumerate(logs):
        path = tmp_path / f"log{index}.csv"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    for name, text in case.get("log_files", {}).items():  # logs whose path matters
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _matches(actual, expected) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        return math.isclose(float(actual), float(expected), rel_tol=1e-3, abs_tol=1e-9)
    return actual == expected


@pytest.mark.parametrize(("code", "case"), list(_cases()))
def test_rule_case(code: str, case: dict, tmp_path: Path) -> None:
    rules = RuleConfig(
        selected=(code,), combine_evidence=False, thresholds={code: case.get("thresholds", {})}
    )
    if "trials" in case:  # a sweep: each trial's log read by the log loader
        facts = Facts(sweep=sweep_of_trials(case["trials"], tmp_path))
    else:
        hints = {**case.get("settings", {}), "spectral": bool(case.get("spectral"))}
        facts = api.read(_inputs(case, tmp_path), **hints)
    findings = [f for f in api.judge(facts, rules).findings if f.code == code]
    if case["expect"] == "pass":
        assert findings == [], [f.message for f in findings]
        return
    assert case["expect"] == "fail"
    assert len(findings) == case.get("count", 1), [f.message for f in findings]
    finding = findings[0]
    if "severity" in case:
        assert finding.severity == case["severity"], finding.message
    if "confidence" in case:
        assert finding.confidence == case["confidence"], finding.message
    for fragment in case.get("message_contains", []):
        assert fragment in finding.message
    for name, expected in case.get("evidence", {}).items():
        assert _matches(finding.evidence_value(name), expected), (name, finding.evidence)
    if "line" in case:
        assert finding.location.line == case["line"]


def test_every_rule_has_pass_and_fail_cases() -> None:
    covered: dict[str, set[str]] = {}
    for param in _cases():
        code, case = param.values
        covered.setdefault(code, set()).add(case["expect"])
    for code, spec in load_catalogue().items():
        if spec.internal or "data" in spec.needs:
            continue  # the data rules' fault/control cases live in tests/data/test_rules.py
        assert covered.get(code) == {"pass", "fail"}, f"{code} needs pass and fail cases"
