"""Baselines: write, re-run clean, a new problem is reported alone, fixed ones are gone."""

from __future__ import annotations

import json
import shutil

from tests.conftest import write
from tests.gate.conftest import diverging, healthy, mlp

MODEL = "models/a/model.onnx"
LOG = "models/a/logs.csv"


def check(cli, project, *args):
    return cli("check", *args, "--no-report", "--format", "json", cwd=project)


def check_two_rules(cli, project, *args):
    """Only OFL201 and OFL301, so that rules added later cannot change the counts."""
    return check(cli, project, *args, "--select", "OFL201,OFL301")


def test_round_trip(cli, project):
    # a model with dropout and a diverging log: OFL301 today
    mlp(project / MODEL, dropout=0.3)
    first = check_two_rules(cli, project, MODEL, LOG, "--fail-on", "info")
    assert first.code == 1
    today = {f["code"] for f in first.json()["findings"]}
    assert today == {"OFL301"}

    written = check_two_rules(
        cli,
        project,
        MODEL,
        LOG,
        "--fail-on",
        "info",
        "--write-baseline",
        ".overfitlint-baseline.json",
    )
    assert written.code == 0, written.stderr
    assert f"recorded {len(today)} finding(s)" in written.stderr
    baseline = json.loads((project / ".overfitlint-baseline.json").read_text())
    assert baseline["format"] == "overfitlint-baseline" and baseline["version"] == 1
    assert [(e["code"], e["file"]) for e in baseline["findings"]] == [("OFL301", LOG)]

    # re-run: clean, and it says how many were suppressed
    clean = check_two_rules(
        cli, project, MODEL, LOG, "--fail-on", "info", "--baseline", ".overfitlint-baseline.json"
    )
    assert clean.code == 0, clean.stdout
    report = clean.json()
    assert report["findings"] == []
    assert report["baseline"]["suppressed"] == len(today)
    assert report["baseline"]["gone"] == []

    # retrained: same files, different numbers and a longer log: still known
    diverging(project / LOG, wobble=0.013)
    retrained = check_two_rules(
        cli, project, MODEL, LOG, "--fail-on", "info", "--baseline", ".overfitlint-baseline.json"
    )
    assert retrained.code == 0 and retrained.json()["findings"] == []

    # a new problem: dropout removed. It is reported, and the accepted OFL301 comes back too:
    # the new cause corroborates it, so it escalated from warning to error
    mlp(project / MODEL, dropout=None)
    new = check_two_rules(
        cli, project, MODEL, LOG, "--fail-on", "info", "--baseline", ".overfitlint-baseline.json"
    )
    assert new.code == 1
    report = new.json()
    assert sorted(f["code"] for f in report["findings"]) == ["OFL201", "OFL301"]
    assert report["summary"]["total"] == 2
    assert report["baseline"]["suppressed"] == 0
    assert report["baseline"]["new"] == 2
    assert [(e["code"], e["change"]) for e in report["baseline"]["escalated"]] == [
        ("OFL301", "severity rose from warning to error")
    ]

    # the curve is fixed: OFL301 is reported as gone, so the baseline can be tightened
    healthy(project / LOG)
    fixed = check_two_rules(
        cli, project, MODEL, LOG, "--fail-on", "info", "--baseline", ".overfitlint-baseline.json"
    )
    gone = fixed.json()["baseline"]["gone"]
    assert [(g["code"], g["file"]) for g in gone] == [("OFL301", LOG)]
    text = cli(
        "check",
        MODEL,
        LOG,
        "--no-report",
        "--baseline",
        ".overfitlint-baseline.json",
        "--select",
        "OFL201,OFL301",
        cwd=project,
    ).stdout
    assert "1 gone" in text and f"gone (fixed): {LOG}: OFL301 diverging-validation-loss" in text


def test_baseline_works_from_another_working_directory(cli, project):
    check(cli, project, MODEL, LOG, "--write-baseline", "ci/baseline.json")
    (project / "sub").mkdir()
    result = cli(
        "check",
        f"../{MODEL}",
        f"../{LOG}",
        "--no-report",
        "--format",
        "json",
        "--baseline",
        "../ci/baseline.json",
        cwd=project / "sub",
    )
    assert result.code == 0
    assert result.json()["findings"] == []


def test_same_file_name_in_two_folders_are_different_entries(cli, project):
    shutil.copytree(project / "models" / "a", project / "models" / "b")
    check(cli, project, MODEL, LOG, "--write-baseline", "baseline.json")
    result = check(
        cli, project, "models/b/model.onnx", "models/b/logs.csv", "--baseline", "baseline.json"
    )
    assert result.code == 1
    assert {f["code"] for f in result.json()["findings"]} >= {"OFL201", "OFL301"}
    assert result.json()["baseline"]["suppressed"] == 0
    assert result.json()["baseline"]["gone"] == []  # models/a was not checked: nothing is gone


def test_rules_not_run_are_not_gone(cli, project):
    check(cli, project, MODEL, LOG, "--write-baseline", "baseline.json")
    result = check(cli, project, MODEL, LOG, "--baseline", "baseline.json", "--select", "OFL3")
    assert result.json()["baseline"]["gone"] == []


def test_bad_baselines_are_one_line_errors(cli, project):
    missing = cli("check", LOG, "--baseline", "nope.json", cwd=project)
    assert missing.code == 2 and "no such baseline" in missing.stderr
    assert "--write-baseline" in missing.stderr
    write(project / "bad.json", '{"findings": []}')
    bad = cli("check", LOG, "--baseline", "bad.json", cwd=project)
    assert bad.code == 2 and "not an overfitlint baseline" in bad.stderr
    write(project / "junk.json", "{")
    junk = cli("check", LOG, "--baseline", "junk.json", cwd=project)
    assert junk.code == 2 and "not a readable baseline" in junk.stderr
    inputs = cli("check", LOG, "--write-baseline", LOG, cwd=project)
    assert inputs.code == 2 and "refusing to overwrite" in inputs.stderr
