"""The command line through a subprocess: exit codes, formats, bad input."""

from __future__ import annotations

import json

import pytest

from tests.builders import onnx_models
from tests.builders.logs import keras_csv
from tests.conftest import EXAMPLES, write

OVERFIT = EXAMPLES / "overfit"
FINDING_FIELDS = {
    "code",
    "name",
    "severity",
    "confidence",
    "message",
    "evidence",
    "fix",
    "location",
    "fingerprint",
    "corroborated_by",
    "probe",
}


def test_json_output_holds_every_field(cli):
    result = cli(
        "check",
        OVERFIT / "model.onnx",
        OVERFIT / "logs.csv",
        "--samples",
        "2000",
        "--format",
        "json",
        "--no-report",
    )
    report = result.json()
    assert report["schema_version"] == 1
    assert report["model"]["total_params"] == 72196
    assert [i["kind"] for i in report["inputs"]] == ["model", "log"]
    assert all(len(i["sha256"]) == 64 for i in report["inputs"])
    for finding in report["findings"]:
        assert set(finding) >= FINDING_FIELDS
        assert finding["severity"] in ("error", "warning", "info")
        assert finding["confidence"] in ("low", "medium", "high")
        assert all({"name", "value", "unit"} == set(e) for e in finding["evidence"])


def test_output_file_and_stdout_stay_clean(cli, tmp_path):
    target = tmp_path / "out" / "result.json"
    result = cli("check", OVERFIT / "logs.csv", "--format", "json", "--output", target)
    assert result.code == 1
    assert result.stdout == ""
    assert json.loads(target.read_text())["findings"][0]["code"] == "OFL301"
    assert "HTML report:" in result.stderr


@pytest.mark.parametrize(
    ("fail_on", "code"), [("error", 0), ("warning", 1), ("info", 1), ("never", 0)]
)
def test_fail_on_levels(cli, fail_on, code):
    # logs alone: one OFL301 at warning (nothing to corroborate it)
    result = cli("check", OVERFIT / "logs.csv", "--no-report", "--fail-on", fail_on)
    assert result.code == code, result.stdout


def test_notices_never_fail_the_gate(cli, tmp_path):
    """A log without validation gets an info notice (OFL306): nothing shows overfitting, so
    not even --fail-on info fails; the configuration can make a rule count by setting it."""
    log = write(tmp_path / "train_only.csv", "epoch,loss\n0,1.0\n1,0.9\n")
    assert cli("check", log, "--no-report").code == 0
    assert cli("check", log, "--no-report", "--fail-on", "info").code == 0
    write(tmp_path / "overfitlint.toml", '[severity]\nno-validation-metric = "warning"\n')
    assert cli("check", log, "--no-report").code == 1


def test_select_and_ignore(cli):
    args = (
        "check",
        OVERFIT / "model.onnx",
        OVERFIT / "logs.csv",
        "--no-report",
        "--format",
        "json",
    )
    only_curves = cli(*args, "--select", "OFL3").json()
    curve_codes = {f["code"] for f in only_curves["findings"]}
    assert curve_codes == {"OFL301", "OFL302", "OFL303", "OFL304"}
    ignored = cli(*args, "--ignore", "OFL2,diverging-validation-loss").json()
    assert {f["code"] for f in ignored["findings"]} == {"OFL101", "OFL302", "OFL303", "OFL304"}
    # the more specific selector wins: ignore the group, select one rule back
    specific = cli(*args, "--ignore", "OFL2", "--select", "OFL201").json()
    assert {f["code"] for f in specific["findings"]} == {"OFL201"}


def test_unknown_selector_is_a_usage_error(cli):
    result = cli("check", OVERFIT / "logs.csv", "--select", "OFL777", "--no-report")
    assert result.code == 2
    assert "matches no rule" in result.stderr


def test_text_output_is_grep_stable(cli):
    result = cli("check", OVERFIT / "logs.csv", "--no-report")
    first = next(line for line in result.stdout.splitlines() if "OFL301" in line)
    assert first.startswith(f"{OVERFIT / 'logs.csv'}:")
    assert "[warning, high confidence]" in first
    assert "\033[" not in result.stdout


def test_report_written_under_reports(cli, tmp_path):
    result = cli("check", OVERFIT / "model.onnx", OVERFIT / "logs.csv", "--samples", "2000")
    html = (tmp_path / "reports" / "overfit-model.html").read_text()
    assert "HTML report: reports/overfit-model.html" in result.stdout
    assert "<svg" in html and "OFL301" in html
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "<script" not in html


def test_report_never_overwrites_an_input(cli, tmp_path):
    log = keras_csv(tmp_path / "log.csv", [1.0, 0.9], [1.1, 1.0])
    before = log.read_bytes()
    result = cli("check", log, "--report", log)
    assert result.code == 2
    assert "refusing to overwrite" in result.stderr
    assert log.read_bytes() == before


def test_rules_and_explain(cli):
    listing = cli("rules")
    assert listing.code == 0
    assert "OFL301  diverging-validation-loss" in listing.stdout
    explained = cli("explain", "ofl301")
    assert explained.code == 0
    for heading in (
        "## What it does",
        "## Why is this bad?",
        "## Fix",
        "## Thresholds",
        "patience = 5",
    ):
        assert heading in explained.stdout
    assert cli("explain", "no-dropout").stdout.startswith("OFL201 no-dropout")
    missing = cli("explain", "OFL999")
    assert missing.code == 2 and "no rule" in missing.stderr


def _one_line_error(result) -> str:
    assert result.code == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_missing_file(cli, tmp_path):
    assert "no such file" in _one_line_error(cli("check", tmp_path / "nope.onnx"))


def test_text_file_named_onnx(cli, tmp_path):
    fake = write(tmp_path / "model.onnx", "this is not a model\n")
    assert "not a readable ONNX model" in _one_line_error(cli("check", fake))


def test_truncated_onnx(cli, tmp_path):
    model = onnx_models.mlp(tmp_path / "full.onnx", [50, 200, 10])
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    line = _one_line_error(cli("check", cut))
    assert "cut.onnx" in line and ("truncated" in line or "not a readable" in line)


def test_empty_csv(cli, tmp_path):
    assert "empty" in _one_line_error(cli("check", write(tmp_path / "log.csv", "")))


def test_header_only_csv(cli, tmp_path):
    line = _one_line_error(cli("check", write(tmp_path / "log.csv", "epoch,loss,val_loss\n")))
    assert "no rows" in line


def test_csv_without_loss_columns_lists_columns(cli, tmp_path):
    log = write(tmp_path / "log.csv", "epoch,foo,bar\n0,1,2\n")
    line = _one_line_error(cli("check", log))
    assert "no loss column" in line and "foo, bar" in line and "--val-metric" in line


def test_csv_without_validation_column_is_reported_not_judged(cli, tmp_path):
    log = write(tmp_path / "log.csv", "epoch,loss\n0,1.0\n1,0.9\n")
    result = cli("check", log, "--no-report", "--format", "json")
    assert result.code == 0
    assert [f["code"] for f in result.json()["findings"]] == ["OFL306"]


def test_nan_in_loss_is_a_finding(cli, tmp_path):
    log = write(tmp_path / "log.csv", "epoch,loss,val_loss\n0,1.0,1.1\n1,nan,0.9\n2,0.5,0.8\n")
    result = cli("check", log, "--no-report", "--format", "json")
    assert result.code == 0  # a notice: the run is broken, not shown to overfit
    finding = result.json()["findings"][0]
    assert finding["code"] == "OFL307" and finding["location"]["line"] == 3


def test_text_in_a_metric_cell_names_the_line(cli, tmp_path):
    log = write(tmp_path / "log.csv", "epoch,loss,val_loss\n0,1.0,1.1\n1,oops,0.9\n")
    line = _one_line_error(cli("check", log))
    assert "log.csv:3" in line and "'oops'" in line


def test_binary_junk_that_is_not_onnx(cli, tmp_path):
    junk = tmp_path / "weights.bin"
    junk.write_bytes(bytes(range(256)) * 8)
    _one_line_error(cli("check", junk))


def test_two_models_are_refused(cli):
    line = _one_line_error(cli("check", OVERFIT / "model.onnx", OVERFIT / "model.onnx"))
    assert "second model" in line


def test_generic_csv_with_named_metrics(cli, tmp_path):
    rows = ["step;train_err;holdout_err"] + [
        f"{i};{1 / (i + 1):.4f};{0.5 + abs(i - 5) * 0.05:.4f}" for i in range(20)
    ]
    log = write(tmp_path / "custom.csv", "\n".join(rows) + "\n")
    missing = cli("check", log, "--no-report")
    assert missing.code == 2
    result = cli(
        "check",
        log,
        "--train-metric",
        "train_err",
        "--val-metric",
        "holdout_err",
        "--no-report",
        "--format",
        "json",
    )
    assert result.code == 1
    finding = result.json()["findings"][0]
    assert finding["code"] == "OFL301"
    assert {e["name"]: e["value"] for e in finding["evidence"]}["best_epoch"] == 5
