"""SARIF against the official 2.1.0 schema, JUnit against Jenkins' junit-10.xsd, GitHub
workflow commands and their escaping, the verdict in each, and --format/--output pairing.

The checks run in this process (the CLI's ``main()``), not one subprocess per test."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from overfitlint.findings import Evidence, Finding, Location
from overfitlint.render import render
from overfitlint.render.github import annotation, escape_data, escape_property, render_summary
from overfitlint.render.junit import render_junit
from overfitlint.report import Report, RulesRun
from tests.conftest import EXAMPLES, write
from tests.gate.conftest import diverging, mlp
from tests.render.inprocess import check_report, run_main

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
MODEL = "models/a/model.onnx"
LOG = "models/a/logs.csv"
FOUR = "OFL101,OFL201,OFL211,OFL301"  # fixed rules, so that rules added later keep counts


@pytest.fixture
def cli(tmp_path):
    """``overfitlint`` in this process, in ``tmp_path``, with ``--no-probe`` on every check
    (a later ``--probe`` wins): these tests are about the formats, not the probe."""

    def invoke(*args, cwd=None):
        if args and args[0] == "check":
            args = ("check", "--no-probe", *args[1:])
        return run_main(*args, cwd=cwd or tmp_path)

    return invoke


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads((SCHEMAS / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


@pytest.fixture(scope="module")
def junit_schema():
    return xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))


def assert_valid_sarif(validator, document):
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def sarif_of(cli, project, *args):
    result = cli("check", *args, "--no-report", "--format", "sarif", cwd=project)
    assert result.code in (0, 1), result.stderr
    return result.code, json.loads(result.stdout)


def test_sarif_validates_and_points_at_model_and_log_line(cli, project, sarif_validator):
    code, document = sarif_of(cli, project, MODEL, LOG, "--samples", "100")
    assert code == 1
    assert_valid_sarif(sarif_validator, document)
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    by_id = {rule["id"]: rule for rule in rules}
    ofl301 = by_id["OFL301"]
    assert ofl301["shortDescription"]["text"].startswith("Validation loss diverges")
    assert ofl301["fullDescription"]["text"]
    assert "## Why is this bad?" in ofl301["help"]["text"]
    assert ofl301["helpUri"].endswith("/rules/OFL301.toml")
    assert ofl301["defaultConfiguration"]["level"] == "warning"
    assert by_id["OFL306"]["defaultConfiguration"]["level"] == "note"  # info -> note
    results = {r["ruleId"]: r for r in run["results"]}
    curve = results["OFL301"]
    location = curve["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": LOG, "uriBaseId": "%SRCROOT%", "index": 1}
    log_lines = (project / LOG).read_text().splitlines()
    onset_line = location["region"]["startLine"]
    onset_epoch = next(
        e["value"] for e in curve["properties"]["evidence"] if e["name"] == "onset_epoch"
    )
    assert log_lines[onset_line - 1].split(",")[0] == str(onset_epoch)  # the exact log line
    assert curve["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == MODEL
    static = results["OFL201"]
    assert static["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == MODEL
    assert static["level"] == "error"  # corroborated: raised from warning
    assert rules[static["ruleIndex"]]["id"] == "OFL201"
    for result in run["results"]:
        assert len(result["partialFingerprints"]["overfitlintFingerprint/v1"]) == 16
        assert {"confidence", "evidence", "fix", "probe"} <= set(result["properties"])
    assert [a["location"]["uri"] for a in run["artifacts"]] == [MODEL, LOG]
    assert all(len(a["hashes"]["sha-256"]) == 64 for a in run["artifacts"])
    verdict = run["properties"]["verdict"]
    assert verdict["status"] == "overfitting"
    assert verdict["reason"].startswith("OFL301 diverging-validation-loss: ")
    assert static["properties"]["adjustments"] == [
        "raised to error: corroborated by OFL301, OFL302"
    ]
    assert static["properties"]["severityFrom"] == "warning"
    assert "baselineState" not in static and "suppressions" not in static  # no baseline


def test_sarif_fingerprints_are_stable_across_runs(cli, project):
    _, first = sarif_of(cli, project, MODEL, LOG)
    diverging(project / LOG, wobble=0.02)
    _, second = sarif_of(cli, project, MODEL, LOG)

    def prints(document):
        return {
            r["ruleId"]: r["partialFingerprints"]["overfitlintFingerprint/v1"]
            for r in document["runs"][0]["results"]
        }

    assert prints(first) == prints(second)


def test_the_schema_is_really_checked(cli, project, sarif_validator):
    _, document = sarif_of(cli, project, MODEL, LOG)
    broken = copy.deepcopy(document)
    broken["runs"][0]["results"][0]["level"] = "info"  # not a SARIF level
    assert list(sarif_validator.iter_errors(broken))
    broken = copy.deepcopy(document)
    del broken["runs"][0]["tool"]["driver"]["name"]
    assert list(sarif_validator.iter_errors(broken))


def test_sarif_for_several_models_and_a_baseline(cli, project, sarif_validator):
    shutil.copytree(EXAMPLES / "healthy", project / "models" / "b")
    cli("check", MODEL, LOG, "--no-report", "--write-baseline", "b.json", cwd=project)
    mlp(project / MODEL)  # unchanged model: no new findings from it
    _, document = sarif_of(
        cli,
        project,
        MODEL,
        LOG,
        "models/b/model.onnx",
        "models/b/logs.csv",
        "--baseline",
        "b.json",
    )
    assert_valid_sarif(sarif_validator, document)
    run = document["runs"][0]
    assert len(run["artifacts"]) == 4

    def uri(result):
        return result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]

    shown = [r for r in run["results"] if "suppressions" not in r]
    accepted = [r for r in run["results"] if "suppressions" in r]
    # models/a's are all known; models/b has notes (its early-stopping signature)
    assert {uri(r) for r in shown} == {"models/b/model.onnx", "models/b/logs.csv"}
    assert {r["baselineState"] for r in shown} == {"new"}
    assert len(accepted) == run["properties"]["baseline"]["suppressed"] >= 2
    assert {uri(r) for r in accepted} <= {MODEL, LOG}
    for result in accepted:
        assert result["baselineState"] == "unchanged"
        assert result["suppressions"] == [
            {"kind": "external", "justification": "accepted in the baseline b.json"}
        ]
    verdicts = run["properties"]["verdicts"]
    assert [v["name"] for v in verdicts] == [MODEL, "models/b/model.onnx"]
    assert [v["status"] for v in verdicts] == ["overfitting", "healthy"]
    assert run["properties"]["verdict"] == {
        "status": "overfitting",
        "reason": "1 of 2 runs: overfitting",
        "checked": [],
    }


def test_hostile_names_stay_valid_sarif(cli, tmp_path, sarif_validator):
    odd = diverging(tmp_path / "we ird,na:me%#?.csv")
    result = cli("check", odd.name, "--no-report", "--format", "sarif")
    document = json.loads(result.stdout)
    assert_valid_sarif(sarif_validator, document)
    uri = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"][
        "uri"
    ]
    assert uri == "we%20ird%2Cna%3Ame%25%23%3F.csv"


# ------------------------------------------------------------------------------ JUnit


def junit_of(cli, project, *args) -> str:
    result = cli("check", *args, "--no-report", "--format", "junit", cwd=project)
    assert result.code in (0, 1), result.stderr
    return result.stdout


@pytest.mark.parametrize(("fail_on", "failures"), [("error", 2), ("warning", 2), ("never", 0)])
def test_junit_validates_one_testcase_per_rule(cli, project, junit_schema, fail_on, failures):
    xml = junit_of(cli, project, MODEL, LOG, "--fail-on", fail_on, "--select", FOUR)
    junit_schema.validate(xml)
    data = junit_schema.to_dict(xml)
    suite = data["testsuite"][0]
    assert suite["@name"] == MODEL
    names = [case["@name"] for case in suite["testcase"]]
    assert names[:3] == ["verdict", "OFL101 parameter-sample-ratio", "OFL201 no-dropout"]
    assert "OFL301 diverging-validation-loss" in names
    gate_failed = fail_on != "never"  # the verdict testcase fails with the gate
    assert int(suite["@failures"]) == failures + gate_failed
    assert int(data["@failures"]) == failures + gate_failed
    verdict = suite["testcase"][0]
    assert ("failure" in verdict) == gate_failed
    if gate_failed:
        assert verdict["failure"][0]["@message"].startswith("overfitting: OFL301 ")
    properties = {p["@name"]: p["@value"] for p in suite["properties"][0]["property"]}
    assert properties["verdict"] == "overfitting"
    assert properties["verdict_reason"].startswith("OFL301 diverging-validation-loss: ")
    assert properties["result"] == ("fail" if gate_failed else "pass")


def test_junit_lists_info_findings_and_skipped_rules(cli, project, junit_schema):
    xml = junit_of(cli, project, LOG, "--fail-on", "error", "--select", FOUR)
    junit_schema.validate(xml)
    suite = junit_schema.to_dict(xml)["testsuite"][0]
    cases = {case["@name"].split()[0]: case for case in suite["testcase"]}
    assert "failure" not in cases["verdict"]  # a warning symptom passes --fail-on error
    assert "result: pass at --fail-on error" in cases["verdict"]["system-out"][0]
    assert "skipped" in cases["OFL201"]  # needs a model file
    assert int(suite["@skipped"]) == 3  # OFL101, OFL201, OFL211 need a model
    assert "failure" not in cases["OFL301"]  # a warning, below --fail-on error
    assert "below --fail-on error" in cases["OFL301"]["system-out"][0]


def test_junit_several_models(cli, project, junit_schema):
    shutil.copytree(EXAMPLES / "healthy", project / "models" / "b")
    xml = junit_of(cli, project, MODEL, LOG, "models/b/model.onnx", "models/b/logs.csv")
    junit_schema.validate(xml)
    data = junit_schema.to_dict(xml)
    assert [s["@name"] for s in data["testsuite"]] == [MODEL, "models/b/model.onnx"]
    assert int(data["testsuite"][1]["@failures"]) == 0


def test_junit_survives_hostile_text(junit_schema):
    finding = Finding(
        "OFL301",
        "diverging-validation-loss",
        "warning",
        "high",
        "<script>]]>\x01\x1b & \"'\n::error::x",
        location=Location("a\x07.csv", 3),
        role="symptom",
    )
    report = Report.from_dict(
        {
            "run": {"fail_on": "info", "seconds": 1.5, "started_at": "x"},
            "inputs": [{"path": "m\x00.onnx"}],
            "rules": {"ran": ["OFL301"]},
            "summary": {"warning": 1, "failed": True},
            "findings": [finding.to_dict()],
        }
    )
    xml = render_junit(report)
    junit_schema.validate(xml)
    assert "\x1b" not in xml and "\x07" not in xml
    case = junit_schema.to_dict(xml)["testsuite"][0]["testcase"][1]
    failure = case["failure"][0]
    assert failure["@message"].startswith("<script>]]>\\x01\\x1b & \"' ::error::x")
    assert failure["$"].startswith("a\\x07.csv:3: OFL301 [warning, high confidence] <script>")


def test_a_crashed_rule_is_an_error_everywhere(overfit_log_report, junit_schema, sarif_validator):
    crash = Finding(
        "OFL901",
        "rule-crashed",
        "warning",
        "high",
        "rule OFL302 could not run: ZeroDivisionError: division by zero",
        evidence=(Evidence("rule", "OFL302"),),
        subject="OFL302",
        role="internal",
    )
    rules = overfit_log_report.rules
    report = Report(
        **{
            **overfit_log_report.__dict__,
            "findings": (*overfit_log_report.findings, crash),
            "rules": RulesRun(rules.ran, rules.skipped, rules.thresholds, ("OFL302",)),
        }
    )
    xml = render("junit", report)
    junit_schema.validate(xml)
    suite = junit_schema.to_dict(xml)["testsuite"][0]
    case = next(c for c in suite["testcase"] if c["@name"].startswith("OFL302"))
    assert case["error"][0]["@type"] == "OFL901" and int(suite["@errors"]) == 1
    document = json.loads(render("sarif", report))
    assert_valid_sarif(sarif_validator, document)
    notes = document["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any(n["level"] == "error" and n["descriptor"]["id"] == "OFL302" for n in notes)
    assert "Could not run (crashed): OFL302; the verdict is incomplete." in render("text", report)


@pytest.fixture(scope="module")
def overfit_log_report() -> Report:
    return check_report(EXAMPLES / "overfit" / "logs.csv")


# ------------------------------------------------------------------------------ GitHub


def test_escaping_follows_the_actions_toolkit():
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    assert escape_data("a:b,c") == "a:b,c"  # only properties escape : and ,


def test_annotation_escapes_hostile_paths_and_messages():
    finding = Finding(
        "OFL301",
        "diverging-validation-loss",
        "info",
        "low",
        "rose 5%\n::error::injected\r\n##[stop-commands]tok",
        location=Location("runs/a,b:c%d\n.csv", 7),
    )
    line = annotation(finding)
    assert "\n" not in line and "\r" not in line and "##[" not in line
    assert line.startswith("::notice file=runs/a%2Cb%3Ac%25d .csv,line=7,title=OFL301 ")
    assert line.endswith("::rose 5%25 : :error: :injected #\\x23[stop-commands]tok")


def test_github_format_and_job_summary(cli, project, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    write(summary, "earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = cli("check", MODEL, LOG, "--no-report", "--format", "github", cwd=project)
    assert result.code == 1
    lines = result.stdout.splitlines()
    report = cli("check", MODEL, LOG, "--no-report", "--format", "json", cwd=project).json()
    onset = next(f["location"]["line"] for f in report["findings"] if f["code"] == "OFL301")
    title = "OFL301 diverging-validation-loss (high confidence)"
    assert f"::error file={LOG},line={onset},title={title}::" in result.stdout
    assert any(line.startswith(f"::error file={MODEL},title=OFL201 no-dropout") for line in lines)
    assert any(line.startswith("::notice file=") for line in lines)  # info -> notice
    assert lines[-1].startswith(
        "::notice title=overfitlint verdict::verdict overfitting: OFL301 diverging-validation"
    )
    assert "%0Aresult: fail at --fail-on warning, " in lines[-1]
    text = summary.read_text()
    assert text.startswith("earlier step\n## overfitlint: ❌ fail, overfitting")  # appended
    assert "**Verdict: overfitting**: OFL301 diverging-validation-loss: " in text
    assert f"| error | OFL301 diverging-validation-loss | {LOG}:{onset} |" in text


def test_summary_escapes_markdown_and_html():
    report = Report.from_dict(
        {
            "run": {"fail_on": "warning"},
            "summary": {"error": 1, "failed": True},
            "inputs": [{"path": "x"}],
            "verdict": {"status": "overfitting", "reason": "<b>bold</b> | pipe\n## heading"},
            "findings": [
                {
                    "code": "OFL301",
                    "name": "n",
                    "severity": "error",
                    "message": "<img src=x onerror=alert(1)> | pipe",
                    "location": {"file": "a|b.csv", "line": None},
                }
            ],
        }
    )
    text = render_summary(report)
    assert "<img" not in text and "&lt;img" in text and "<b>" not in text
    assert "a\\|b.csv" in text and "\\| pipe" in text
    assert "\n## heading" not in text  # a reason cannot open a Markdown line of its own


# ------------------------------------------------------------------------------ outputs


def test_format_and_output_pairs(cli, project):
    result = cli(
        "check",
        MODEL,
        LOG,
        "--no-report",
        "--format",
        "github",
        "--format",
        "sarif",
        "--output",
        "out/r.sarif",
        "--format",
        "junit",
        "--output=out/j.xml",
        "--format",
        "text",
        cwd=project,
    )
    assert result.code == 1
    assert json.loads((project / "out" / "r.sarif").read_text())["version"] == "2.1.0"
    assert (project / "out" / "j.xml").read_text().startswith("<?xml")
    assert "::error " in result.stdout and "Result: fail" in result.stdout  # github + text


def test_output_dir(cli, project):
    result = cli(
        "check",
        MODEL,
        LOG,
        "--format",
        "json",
        "--format",
        "sarif",
        "--format",
        "junit",
        "--format",
        "github",
        "--format",
        "text",
        "--output-dir",
        "ci",
        cwd=project,
    )
    assert result.code == 1
    names = sorted(p.name for p in (project / "ci").iterdir())
    assert names == [
        "a-model.html",
        "overfitlint-junit.xml",
        "overfitlint.json",
        "overfitlint.sarif",
    ]
    assert result.stdout.startswith("::")  # github and text stay on stdout
    assert "Result: fail" in result.stdout


def test_output_errors(cli, project):
    two = cli("check", LOG, "--no-report", "--format", "json", "--format", "sarif", cwd=project)
    assert two.code == 2 and "would all go to stdout" in two.stderr
    extra = cli("check", LOG, "--no-report", "--output", "a", "--output", "b", cwd=project)
    assert extra.code == 2 and "has no --format of its own" in extra.stderr


def test_github_annotations_for_a_hostile_file_name(cli, tmp_path):
    odd = diverging(tmp_path / "we ird,na:me%.csv")
    result = cli("check", odd.name, "--no-report", "--format", "github")
    line = next(x for x in result.stdout.splitlines() if x.startswith("::warning "))
    assert line.startswith("::warning file=we ird%2Cna%3Ame%25.csv,line=")


def test_sarif_carries_the_probe_verdicts(cli, project, sarif_validator):
    # the probe on (the gate tests' cli turns it off first; the last flag wins)
    result = cli(
        "check",
        MODEL,
        LOG,
        "--no-report",
        "--probe",
        "--probe-budget",
        "20",
        "--device",
        "cpu",
        "--format",
        "json",
        "--output",
        "r.json",
        "--format",
        "sarif",
        "--output",
        "r.sarif",
        cwd=project,
    )
    assert result.code == 1, result.stderr
    report = json.loads((project / "r.json").read_text())
    document = json.loads((project / "r.sarif").read_text())
    assert_valid_sarif(sarif_validator, document)
    results = document["runs"][0]["results"]
    assert [r["properties"]["probe"] for r in results] == [f["probe"] for f in report["findings"]]
    assert any(f["probe"] for f in report["findings"])
    assert document["runs"][0]["invocations"][0]["properties"]["probe"] == [report["run"]["probe"]]


# ------------------------------------------------------------------------------ JSON


@pytest.fixture(scope="module")
def report_validator():
    schema_path = Path(__file__).resolve().parents[2] / "docs" / "report.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_json_reports_follow_the_documented_schema(cli, project, report_validator):
    shutil.copytree(EXAMPLES / "healthy", project / "models" / "b")
    single = cli("check", MODEL, LOG, "--no-report", "--format", "json", cwd=project).json()
    assert not list(report_validator.iter_errors(single))
    cli("check", MODEL, LOG, "--no-report", "--write-baseline", "b.json", cwd=project)
    both = cli(
        "check",
        MODEL,
        LOG,
        "models/b/model.onnx",
        "models/b/logs.csv",
        "--no-report",
        "--format",
        "json",
        "--baseline",
        "b.json",
        cwd=project,
    ).json()
    errors = list(report_validator.iter_errors(both))
    assert not errors, errors[0].message
    assert both["schema_version"] == 1 and len(both["runs"]) == 2
    broken = {**single, "schema_version": 2}
    assert list(report_validator.iter_errors(broken))
