"""The shipped examples behave as the README says."""

from __future__ import annotations

from tests.conftest import EXAMPLES

OVERFIT = EXAMPLES / "overfit"
HEALTHY = EXAMPLES / "healthy"


def _by_code(report: dict) -> dict[str, dict]:
    return {f["code"]: f for f in report["findings"]}


def test_overfit_example_fails_with_the_expected_findings(cli, tmp_path):
    result = cli(
        "check",
        OVERFIT / "model.onnx",
        OVERFIT / "logs.csv",
        "--samples",
        "2000",
        "--format",
        "json",
    )
    assert result.code == 1, result.stderr
    findings = _by_code(result.json())
    divergence = findings["OFL301"]
    evidence = {e["name"]: e["value"] for e in divergence["evidence"]}
    # The log's lowest val_loss is at epoch 10 (0.778333).
    assert evidence["best_epoch"] == 10
    assert evidence["best_value"] == 0.778333
    assert divergence["location"]["file"].endswith("logs.csv")
    assert divergence["location"]["line"] == evidence["onset_epoch"] + 2  # header is line 1
    assert findings["OFL201"]["severity"] == "error"  # no dropout, corroborated by OFL301
    assert findings["OFL101"]["severity"] == "info"  # 36 per sample: below warn_ratio (100)
    assert {e["name"]: e["value"] for e in findings["OFL101"]["evidence"]}[
        "params_per_sample"
    ] == 36.098
    assert findings["OFL211"]["severity"] == "info"  # ONNX graph: optimizer unknown
    assert sorted(findings["OFL301"]["corroborated_by"]) == ["OFL201"]
    assert (tmp_path / "reports" / "overfit-model.html").is_file()


def test_healthy_example_passes(cli, tmp_path):
    result = cli("check", HEALTHY / "model.onnx", HEALTHY / "logs.csv", "--samples", "2000")
    assert result.code == 0, result.stdout + result.stderr
    assert "Result: pass" in result.stdout
    assert (tmp_path / "reports" / "healthy-model.html").is_file()
    report = cli(
        "check", HEALTHY / "model.onnx", HEALTHY / "logs.csv", "--samples", "2000",
        "--no-report", "--format", "json",
    ).json()  # fmt: skip
    assert report["verdict"]["status"] == "healthy"
    # notes only: the log ends 5 epochs after its best, an early-stopping signature
    assert {f["severity"] for f in report["findings"]} <= {"info"}


def test_logs_alone_run_the_curve_rules(cli):
    result = cli("check", OVERFIT / "logs.csv", "--no-report", "--format", "json")
    assert result.code == 1
    report = result.json()
    codes = [f["code"] for f in report["findings"]]
    assert sorted(codes) == ["OFL301", "OFL302", "OFL303", "OFL304"]
    assert report["rules"]["skipped"]["OFL201"] == "needs a model file"


def test_model_alone_runs_the_static_rules(cli):
    """Causes alone are a risk, not overfitting: the gate passes unless asked to fail on risk."""
    result = cli("check", OVERFIT / "model.onnx", "--no-report", "--format", "json")
    assert result.code == 0
    report = result.json()
    assert {f["code"] for f in report["findings"]} == {"OFL101", "OFL201", "OFL211"}
    assert report["rules"]["skipped"]["OFL301"] == "needs a training log"
    assert report["verdict"]["status"] == "at-risk"
    risky = cli("check", OVERFIT / "model.onnx", "--no-report", "--fail-on-risk")
    assert risky.code == 1


def test_static_path_imports_no_deep_learning_framework(tmp_path):
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from overfitlint.cli import main\n"
        f"sys.argv = ['overfitlint', 'check', r'{OVERFIT / 'model.onnx'}', "
        f"r'{OVERFIT / 'logs.csv'}', '--no-report', '--format', 'json', '--no-probe']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('torch', 'tensorflow', 'keras', 'onnxruntime', 'jax')"
        " if m in sys.modules)\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert '"findings"' in done.stdout
    assert done.stderr.strip().endswith("HEAVY="), done.stderr[-500:]
