"""The engine: selection, evidence combination, crashing rules, catalogue integrity."""

from __future__ import annotations

import re

import pytest

from overfitlint import api
from overfitlint.catalogue import load_catalogue
from overfitlint.checks import registered
from overfitlint.engine import registry
from overfitlint.engine.selection import Selection, resolve
from overfitlint.errors import InputError
from overfitlint.facts import Facts
from overfitlint.render.explain import rule_table
from overfitlint.settings import RuleConfig
from tests.conftest import EXAMPLES, ROOT

OVERFIT = [EXAMPLES / "overfit" / "model.onnx", EXAMPLES / "overfit" / "logs.csv"]


def test_every_rule_has_exactly_one_check_with_declared_thresholds():
    checks = registered()
    catalogue = load_catalogue()
    assert set(checks) == {code for code, spec in catalogue.items() if not spec.internal}
    for code, check in checks.items():
        assert set(check.reads) <= set(catalogue[code].thresholds), code


def test_every_declared_threshold_is_read():
    checks = registered()
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
    chosen = resolve([Selection(tuple(select), (), tuple(ignore))], load_catalogue())
    assert ("OFL301" in chosen) is selected


def test_selection_layers_file_then_command_line():
    catalogue = load_catalogue()
    from_file = Selection(("OFL3",), (), ("OFL303",))
    assert "OFL303" not in resolve([from_file], catalogue)
    assert "OFL303" in resolve([from_file, Selection(None, ("OFL303",), ())], catalogue)
    assert resolve([from_file, Selection(("OFL201",), (), ())], catalogue) == ("OFL201",)


def _run(samples=2000, paths=OVERFIT, **config):
    return api.judge(api.read(paths, samples=samples), RuleConfig(**config))


def test_causes_and_symptoms_strengthen_each_other():
    combined = _run(samples=500).by_code()  # 144 parameters per sample: OFL101 warns
    alone = _run(samples=500, combine_evidence=False).by_code()
    for code in ("OFL101", "OFL201", "OFL301"):
        assert alone[code].severity == "warning"
        assert combined[code].severity == "error"
        assert combined[code].severity_from == "warning"
    # the symptoms at warning or above; OFL303 (training past the best) is a notice
    assert combined["OFL201"].corroborated_by == ("OFL301", "OFL302", "OFL304")
    assert combined["OFL301"].corroborated_by == ("OFL101", "OFL201")
    assert any("corroborated by" in a for a in combined["OFL301"].adjustments)
    # info-level "unknown" findings are never evidence and never raised
    assert combined["OFL211"].severity == alone["OFL211"].severity == "info"


def test_a_cause_without_a_symptom_is_not_raised():
    findings = _run(paths=OVERFIT[:1]).by_code()
    assert findings["OFL201"].severity == "warning"
    assert findings["OFL201"].corroborated_by == ()


def test_a_crashing_rule_becomes_a_finding(monkeypatch):
    checks = dict(registered())
    original = checks["OFL201"]

    def boom(ctx):
        raise ZeroDivisionError("kaboom")

    checks["OFL201"] = registry.RegisteredCheck("OFL201", boom, original.reads)
    facts = api.read(OVERFIT, samples=2000)
    from overfitlint.engine import evaluate

    evaluation = evaluate(facts, RuleConfig(), checks, load_catalogue())
    findings = {f.code: f for f in evaluation.findings}
    assert "OFL201" not in findings
    assert "rule OFL201 could not run: ZeroDivisionError: kaboom" in findings["OFL901"].message
    assert findings["OFL901"].role == "internal"
    assert evaluation.crashed == ("OFL201",)
    assert "OFL301" in findings  # the others still ran


def test_severity_override_and_threshold_override():
    codes = {f.code for f in _run(thresholds={"OFL301": {"min_rise": 99.0}}).findings}
    assert "OFL301" not in codes  # a 36% rise is below a 99% threshold
    overridden = _run(severities={"OFL301": "info"}).by_code()["OFL301"]
    assert overridden.severity == "info" and "by the configuration" in overridden.adjustments[-1]
    with pytest.raises(InputError, match="no threshold 'patiense'"):
        _run(thresholds={"OFL301": {"patiense": 3}})


def test_the_engine_reads_no_file():
    """Facts in, findings out: the same facts give the same findings."""
    facts = api.read(OVERFIT, samples=2000)
    again = Facts(facts.model, facts.curves, facts.samples)
    assert [f.to_dict() for f in api.judge(facts).findings] == [
        f.to_dict() for f in api.judge(again).findings
    ]


def test_fingerprints_are_stable_and_ignore_numbers():
    first = {f.code: f.fingerprint for f in _run(samples=2000).findings}
    second = {f.code: f.fingerprint for f in _run(samples=1000).findings}
    assert first == second
    assert len(set(first.values())) == len(first)


def test_explain_describes_every_need():
    from overfitlint.catalogue import NEEDS
    from overfitlint.render.explain import NEED_TEXT

    assert set(NEED_TEXT) == set(NEEDS)
