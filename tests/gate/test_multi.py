"""Several models in one invocation: grouping, the manifest, --jobs, one exit code."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import EXAMPLES, write
from tests.gate.conftest import diverging, healthy, mlp


@pytest.fixture
def two_models(project):
    """models/a overfits (no dropout, diverging log); models/b is the healthy example."""
    shutil.copytree(EXAMPLES / "healthy", project / "models" / "b")
    return project


ARGS = ("models/a/model.onnx", "models/b/model.onnx", "models/b/logs.csv", "models/a/logs.csv")


TIMING = {"started_at", "seconds", "budget_s", "jobs", "executor"}


def without_timing(value):
    """The report less what measures time (wall clock, budgets) and the executor itself."""
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def test_logs_join_the_model_in_their_folder(cli, two_models):
    result = cli("check", *ARGS, "--no-report", "--format", "json", cwd=two_models)
    assert result.code == 1
    report = result.json()
    runs = report["runs"]
    assert [[i["path"] for i in run["inputs"]] for run in runs] == [
        ["models/a/model.onnx", "models/a/logs.csv"],
        ["models/b/model.onnx", "models/b/logs.csv"],
    ]
    assert [run["summary"]["failed"] for run in runs] == [True, False]
    assert report["summary"]["failed"] is True
    assert report["summary"]["total"] == sum(run["summary"]["total"] for run in runs)
    assert len(report["findings"]) == report["summary"]["total"]
    assert report["run"]["models"] == 2


def test_jobs_2_gives_the_same_result_as_jobs_1(cli, two_models):
    one = cli("check", *ARGS, "--no-report", "--format", "json", "--jobs", "1", cwd=two_models)
    two = cli("check", *ARGS, "--no-report", "--format", "json", "--jobs", "2", cwd=two_models)
    assert one.code == two.code == 1
    assert without_timing(one.json()) == without_timing(two.json())
    assert two.json()["run"]["jobs"] == 2


@pytest.mark.parametrize(
    ("fail_on", "code"), [("error", 1), ("warning", 1), ("info", 1), ("never", 0)]
)
def test_one_combined_exit_code(cli, two_models, fail_on, code):
    result = cli("check", *ARGS, "--no-report", "--fail-on", fail_on, cwd=two_models)
    assert result.code == code
    assert f"Overall result: {'fail' if code else 'pass'} (--fail-on {fail_on})" in result.stdout


@pytest.mark.parametrize(
    ("fail_on", "code"), [("error", 0), ("warning", 1), ("info", 1), ("never", 0)]
)
def test_exit_codes_on_a_warning_only_run(cli, tmp_path, fail_on, code):
    mlp(tmp_path / "a" / "model.onnx", dropout=0.3)
    diverging(tmp_path / "a" / "logs.csv")  # OFL301 alone: a warning (nothing corroborates it)
    mlp(tmp_path / "b" / "model.onnx", dropout=0.3)
    healthy(tmp_path / "b" / "logs.csv")
    result = cli(
        "check",
        "a/model.onnx",
        "a/logs.csv",
        "b/model.onnx",
        "b/logs.csv",
        "--no-report",
        "--fail-on",
        fail_on,
        "--weight-decay",
        "0.01",
        "--samples",
        "100000",
        "--select",
        "OFL101,OFL201,OFL211,OFL301",
    )
    assert result.code == code, result.stdout


def test_logs_named_after_their_model(cli, tmp_path):
    mlp(tmp_path / "a.onnx")
    mlp(tmp_path / "b.onnx", dropout=0.3)
    diverging(tmp_path / "a-logs.csv")
    healthy(tmp_path / "b.log.csv")
    result = cli(
        "check", "a.onnx", "b.onnx", "b.log.csv", "a-logs.csv", "--no-report", "--format", "json"
    )
    runs = result.json()["runs"]
    assert [[i["path"] for i in run["inputs"]] for run in runs] == [
        ["a.onnx", "a-logs.csv"],
        ["b.onnx", "b.log.csv"],
    ]


def test_an_ambiguous_log_is_an_error(cli, tmp_path):
    mlp(tmp_path / "a.onnx")
    mlp(tmp_path / "b.onnx")
    diverging(tmp_path / "train.csv")
    result = cli("check", "a.onnx", "b.onnx", "train.csv", "--no-report")
    assert result.code == 2
    assert "cannot tell which model" in result.stderr and "[[models]]" in result.stderr


def test_html_reports_one_per_model(cli, two_models):
    result = cli("check", *ARGS, "--report", "html", cwd=two_models)
    assert result.code == 1
    assert sorted(p.name for p in (two_models / "html").iterdir()) == [
        "a-model.html",
        "b-model.html",
    ]
    refused = cli("check", *ARGS, "--format", "html", "--no-report", cwd=two_models)
    assert refused.code == 2 and "--format html shows one model" in refused.stderr


def test_manifest(cli, two_models):
    write(
        two_models / "pyproject.toml",
        """
[tool.overfitlint]
no-report = true
jobs = 2

[[tool.overfitlint.models]]
name = "overfit"
model = "models/a/model.onnx"
logs = "models/a/*.csv"
samples = 100

[[tool.overfitlint.models]]
name = "healthy"
model = "models/b/model.onnx"
logs = ["models/b/logs.csv"]
samples = 50000
""",
    )
    result = cli("check", "--format", "json", cwd=two_models)
    assert result.code == 1, result.stderr
    runs = result.json()["runs"]
    assert [run["run"]["name"] for run in runs] == ["overfit", "healthy"]
    assert [run["run"]["samples"] for run in runs] == [100, 50000]
    overfit = {f["code"]: f["severity"] for f in runs[0]["findings"]}
    assert overfit["OFL101"] == "error"  # 111 parameters per sample
    # a flag beats the entries' values
    flagged = cli("check", "--format", "json", "--samples", "7", cwd=two_models).json()
    assert [run["run"]["samples"] for run in flagged["runs"]] == [7, 7]
    # PATHS on the command line replace the manifest
    alone = cli("check", "models/b/logs.csv", "--format", "json", cwd=two_models).json()
    assert "runs" not in alone and alone["inputs"][0]["path"] == "models/b/logs.csv"


def test_nothing_to_check(cli, tmp_path):
    result = cli("check", "--no-config")
    assert result.code == 2 and "nothing to check" in result.stderr
