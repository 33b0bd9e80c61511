"""The engine: selection, evidence combination, crashing rules, catalogue integrity."""

from __future__ import annotations

import re

import pytest

from overfitlint.catalogue import load_catalogue
from overfitlint.engine import registry, run_rules
from overfitlint.engine.selection import is_selected
from overfitlint.errors import InputError
from overfitlint.loaders import load_inputs
from overfitlint.render.explain import rule_table
from overfitlint.settings import Settings
from tests.conftest import EXAMPLES, ROOT

OVERFIT = [EXAMPLES / "overfit" / "model.onnx", EXAMPLES / "overfit" / "logs.csv"]


def test_every_rule_has_exactly_one_check_with_declared_thresholds():
    checks = registry.registered_checks()
    catalogue = load_catalogue()
    assert set(checks) == {code for code in catalogue if not code.startswith("OFL9")}
    for code, check in checks.items():
        assert set(check.reads) <= set(catalogue[code].thresholds), code


def test_every_declared_threshold_is_read():
    checks = registry.registered_checks()
    for code, spec in load_catalogue().items():
        if code in checks:
            # probe_* thresholds are read by the probe (tests/probe checks those)
            static = {name for name in spec.thresholds if not name.startswith("probe_")}
            assert static == set(checks[code].reads), code


def test_readme_rule_table_is_generated_from_the_catalogue():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- rules:start -->\n(.*?)<!-- rules:end -->", readme, re.S)
    assert block, "README.md lacks the rule table markers"
    expected = rule_table(load_catalogue().values())
    assert block.group(1) == expected, "run: overfitlint rules --format markdown"


@pytest.mark.parametrize(
    ("select", "ignore", "selected"),
    [
        (["OFL"], [], True),
        (["OFL3"], [], True),
        (["OFL2"], [], False),
        (["OFL"], ["OFL3"], False),
        (["OFL301"], ["OFL3"], True),
        (["OFL3"], ["diverging-validation-loss"], False),
        (["OFL3"], ["OFL3"], False),
    ],
)
def test_most_specific_selector_wins(select, ignore, selected):
    rule = load_catalogue()["OFL301"]
    assert is_selected(rule, select, ignore) is selected


def _run(settings: Settings):
    inputs = load_inputs(OVERFIT, settings)
    return run_rules(inputs.model, inputs.curves, settings)


def test_causes_and_symptoms_strengthen_each_other():
    combined = {f.code: f for f in _run(Settings(samples=2000)).findings}
    alone = {f.code: f for f in _run(Settings(samples=2000, combine_evidence=False)).findings}
    for code in ("OFL101", "OFL201", "OFL301"):
        assert alone[code].severity == "warning"
        assert combined[code].severity == "error"
    # the symptoms at warning or above; OFL303 (training past the best) is a notice
    assert combined["OFL201"].corroborated_by == ["OFL301", "OFL302", "OFL304"]
    assert combined["OFL301"].corroborated_by == ["OFL101", "OFL201"]
    # info-level "unknown" findings are never evidence and never raised
    assert combined["OFL211"].severity == alone["OFL211"].severity == "info"


def test_a_cause_without_a_symptom_is_not_raised():
    settings = Settings(samples=2000)
    inputs = load_inputs(OVERFIT[:1], settings)
    findings = {f.code: f for f in run_rules(inputs.model, [], settings).findings}
    assert findings["OFL201"].severity == "warning"
    assert findings["OFL201"].corroborated_by == []


def test_a_crashing_rule_becomes_a_finding(monkeypatch):
    checks = registry.registered_checks()
    original = checks["OFL201"]

    def boom(ctx):
        raise ZeroDivisionError("kaboom")

    monkeypatch.setitem(
        registry._CHECKS, "OFL201", registry.RegisteredCheck("OFL201", boom, original.reads)
    )
    findings = {f.code: f for f in _run(Settings(samples=2000)).findings}
    assert "OFL201" not in findings
    assert "rule OFL201 could not run: ZeroDivisionError: kaboom" in findings["OFL901"].message
    assert "OFL301" in findings  # the others still ran


def test_severity_override_and_threshold_override():
    settings = Settings(
        samples=2000, severities={"OFL301": "info"}, thresholds={"OFL301": {"min_rise": 99.0}}
    )
    codes = {f.code for f in _run(settings).findings}
    assert "OFL301" not in codes  # a 36% rise is below a 99% threshold
    with pytest.raises(InputError, match="no threshold 'patiense'"):
        _run(Settings(thresholds={"OFL301": {"patiense": 3}}))


def test_fingerprints_are_stable_and_ignore_numbers():
    first = {f.code: f.fingerprint for f in _run(Settings(samples=2000)).findings}
    second = {f.code: f.fingerprint for f in _run(Settings(samples=1000)).findings}
    assert first == second
    assert len(set(first.values())) == len(first)
