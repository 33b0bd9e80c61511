"""SARIF against the official 2.1.0 schema, JUnit against Jenkins' junit-10.xsd, GitHub
workflow commands and their escaping, and --format/--output pairing."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from overfitlint.render.github import annotation, escape_data, escape_property, render_summary
from overfitlint.render.junit import render_junit
from tests.conftest import EXAMPLES, write
from tests.gate.conftest import diverging, mlp

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
MODEL = "models/a/model.onnx"
LOG = "models/a/logs.csv"
FOUR = "OFL101,OFL201,OFL211,OFL301"  # fixed rules, so that rules added later keep counts


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
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    # models/a's findings are all in the baseline; models/b has notes (early-stopping signature)
    assert uris == {"models/b/model.onnx", "models/b/logs.csv"}
    assert run["properties"]["baseline"]["suppressed"] >= 2


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
    assert names[:2] == ["OFL101 parameter-sample-ratio", "OFL201 no-dropout"]
    assert "OFL301 diverging-validation-loss" in names
    assert int(suite["@failures"]) == failures
    assert int(data["@failures"]) == failures


def test_junit_lists_info_findings_and_skipped_rules(cli, project, junit_schema):
    xml = junit_of(cli, project, LOG, "--fail-on", "error", "--select", FOUR)
    junit_schema.validate(xml)
    suite = junit_schema.to_dict(xml)["testsuite"][0]
    cases = {case["@name"].split()[0]: case for case in suite["testcase"]}
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
    report = {
        "run": {"fail_on": "info", "seconds": 1.5, "started_at": "x"},
        "inputs": [{"path": "m\x00.onnx"}],
        "model": None,
        "rules": {"ran": ["OFL301"], "skipped": {}},
        "findings": [
            {
                "code": "OFL301",
                "name": "diverging-validation-loss",
                "severity": "warning",
                "confidence": "high",
                "message": "<script>]]>\x01\x1b & \"'",
                "evidence": [],
                "fix": "",
                "location": {"file": "a\x07.csv", "line": 3},
                "corroborated_by": [],
                "probe": None,
                "fingerprint": "0" * 16,
            }
        ],
    }
    xml = render_junit(report)
    junit_schema.validate(xml)
    failure = junit_schema.to_dict(xml)["testsuite"][0]["testcase"][0]["failure"][0]
    assert failure["@message"].startswith("<script>]]>")


# ------------------------------------------------------------------------------ GitHub


def test_escaping_follows_the_actions_toolkit():
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    assert escape_data("a:b,c") == "a:b,c"  # only properties escape : and ,


def test_annotation_escapes_hostile_paths_and_messages():
    finding = {
        "code": "OFL301",
        "name": "diverging-validation-loss",
        "severity": "info",
        "confidence": "low",
        "message": "rose 5%\n::error::injected",
        "evidence": [],
        "fix": "",
        "corroborated_by": [],
        "location": {"file": "runs/a,b:c%d\n.csv", "line": 7},
    }
    line = annotation(finding)
    assert "\n" not in line
    assert line.startswith("::notice file=runs/a%2Cb%3Ac%25d%0A.csv,line=7,title=OFL301 ")
    assert line.endswith("::rose 5%25%0A::error::injected")


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
    assert any(line.startswith("::notice ") for line in lines)  # info -> notice
    text = summary.read_text()
    assert text.startswith("earlier step\n## overfitlint: ❌ fail")  # appended, not replaced
    assert f"| error | OFL301 diverging-validation-loss | {LOG}:{onset} |" in text


def test_summary_escapes_markdown_and_html():
    report = {
        "run": {"fail_on": "warning"},
        "summary": {"error": 1, "warning": 0, "info": 0, "total": 1, "failed": True},
        "inputs": [{"path": "x"}],
        "rules": {"skipped": {}},
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
    text = render_summary(report)
    assert "<img" not in text and "&lt;img" in text
    assert "a\\|b.csv" in text and "\\| pipe" in text


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
