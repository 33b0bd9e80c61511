"""The probe end to end: real models, real backends in their own subprocesses, real budgets.

Each run starts a fresh backend process (import torch or tensorflow: a few seconds), so the
runs select only the rules they are about and use small budgets.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from overfitlint.catalogue import load_catalogue
from overfitlint.facts import Facts
from overfitlint.probe import run_probe
from overfitlint.probe.runner import BackendRun
from overfitlint.render import render
from overfitlint.report import Report
from overfitlint.settings import Settings
from tests.conftest import EXAMPLES, check_paths

torch = pytest.importorskip("torch")
from tests.probe import models  # noqa: E402

OVERFIT = EXAMPLES / "overfit"


def _check(paths, **settings) -> dict:
    settings.setdefault("probe_budget", 40.0)
    return check_paths([Path(p) for p in paths], **settings)


def _finding(report: dict, code: str) -> dict:
    found = [f for f in report["findings"] if f["code"] == code]
    assert len(found) == 1, [f["code"] for f in report["findings"]]
    return found[0]


# Functional dropout under a plain name: no nn.Dropout module, and no ``F.dropout(`` for a
# source scan to find, so the static rule flags the model; only running it shows the noise.
FACTORY_MODULE = """
import torch
from torch import nn
from torch.nn.functional import dropout


class FunctionalDropout(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(20, 128), nn.Linear(128, 128), nn.Linear(128, 4)

    def forward(self, x):
        x = dropout(torch.relu(self.fc1(x)), 0.5, self.training)
        x = dropout(torch.relu(self.fc2(x)), 0.5, self.training)
        return self.out(x)


def build():
    return FunctionalDropout()
"""


def test_functional_dropout_refutes_no_dropout_and_downgrades_it(tmp_path, monkeypatch):
    """No nn.Dropout module to see: the static rule flags the model, the probe refutes it."""
    (tmp_path / "probe_factory_mod.py").write_text(FACTORY_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    weights = tmp_path / "weights.pt"
    torch.manual_seed(0)
    torch.save(models.FunctionalDropout(0.5).state_dict(), weights)
    try:
        report = _check(["probe_factory_mod:build"], select=["OFL201"], weights=weights)
    finally:
        sys.modules.pop("probe_factory_mod", None)
    assert report["run"]["probe"]["model_kind"].startswith("torch.nn.Module built by")
    finding = _finding(report, "OFL201")
    probe = finding["probe"]
    assert probe["status"] == "refuted"
    assert finding["severity"] == "info" and probe["severity_from"] == "warning"  # not hidden
    assert probe["metrics"]["output_spread"] > 0.1
    assert "functional dropout" in probe["note"]
    assert (probe["device"], probe["seed"]) == ("cpu", 0)
    run = report["run"]["probe"]
    assert run["status"] == "ran" and run["backend"] == "torch"
    assert "torch" in run["backend_modules"] and "tensorflow" not in run["backend_modules"]


def test_dropout_with_rate_zero_is_confirmed(tmp_path):
    path = models.save_torchscript(models.mlp(dropout=0.0), tmp_path / "model.pt")
    finding = _finding(_check([path], select=["OFL201"], trust_torchscript=True), "OFL201")
    assert finding["probe"]["status"] == "confirmed"
    assert finding["probe"]["metrics"]["output_spread"] == 0
    assert "rate 0" in finding["probe"]["note"]
    assert finding["severity"] == "warning" and finding["confidence"] == "high"


PARENT_SCRIPT = """
import json, sys
from overfitlint.cli import main
sys.argv = ["overfitlint", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    heavy = [m for m in ("torch", "tensorflow", "onnxruntime", "onnx2torch") if m in sys.modules]
    sys.stderr.write("\\nHEAVY=" + ",".join(heavy) + "\\n")
    raise
"""


def test_overfit_example_the_probe_confirms_what_it_can_check(tmp_path):
    args = [
        "check", OVERFIT / "model.onnx", OVERFIT / "logs.csv", "--samples", "2000",
        "--data", OVERFIT / "data.npz", "--format", "json", "--no-report",
    ]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", PARENT_SCRIPT, json.dumps([str(a) for a in args])],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    # the frameworks ran in the backend's own process, never in the command's
    assert result.stderr.strip().splitlines()[-1] == "HEAVY="
    report = json.loads(result.stdout)
    run = report["run"]["probe"]
    assert run["status"] == "ran", run
    assert "onnx2torch" in run["model_kind"] and run["device"] == "cpu"
    assert run["seconds"] <= run["budget"]
    for code in ("OFL101", "OFL201", "OFL301", "OFL302"):
        assert _finding(report, code)["probe"]["status"] == "confirmed", code
    assert _finding(report, "OFL211")["probe"]["status"] != "refuted"
    memorized = _finding(report, "OFL101")["probe"]["metrics"]
    assert memorized["memorized_fraction"] >= 0.9 and memorized["random_labels"] == 500
    heldout = _finding(report, "OFL301")["probe"]["metrics"]
    assert heldout["val_loss"] > heldout["train_loss"] * 1.1
    # the log's last val_loss (1.065) is what these weights score on the full validation set
    assert abs(heldout["log_final_val_loss"] - 1.065197) < 1e-6
    text = render("text", Report.from_dict(report))
    assert "    probe: confirmed (on cpu, in " in text
    assert "memorized_fraction=" in text and "Probe: ran on cpu" in text


def test_same_seed_same_numbers(tmp_path):
    path = models.save_torchscript(models.mlp(), tmp_path / "model.pt")
    runs = [
        _check([path], select=["OFL101", "OFL201"], samples=64, probe_seed=7,
               trust_torchscript=True)
        for _ in range(2)
    ]  # fmt: skip
    for code in ("OFL101", "OFL201"):
        first, second = (_finding(r, code)["probe"] for r in runs)
        stable = {k: v for k, v in first["metrics"].items() if k != "samples_per_s"}
        assert stable == {k: v for k, v in second["metrics"].items() if k != "samples_per_s"}
        assert first["seed"] == 7 and first["status"] == second["status"]


def test_keras_model_runs_through_tensorflow(tmp_path):
    path = models.save_keras(tmp_path / "model.keras")
    report = _check([path], select=["OFL101", "OFL201"], samples=64)
    run = report["run"]["probe"]
    assert run["backend"] == "keras" and run["framework"].startswith("tensorflow")
    assert "tensorflow" in run["backend_modules"]
    assert not {"torch", "torchvision", "onnx2torch"} & set(run["backend_modules"])
    assert _finding(report, "OFL201")["probe"]["status"] == "confirmed"
    memorized = _finding(report, "OFL101")["probe"]  # capacity alone never confirms
    assert memorized["status"] == "inconclusive", memorized["note"]
    assert memorized["metrics"]["memorized_fraction"] >= 0.9


def test_torch_export_program(tmp_path):
    path = models.save_export(models.mlp(), tmp_path / "model.pt2")
    report = _check([path], select=["OFL201"])
    assert report["run"]["probe"]["model_kind"].startswith("torch.export")
    assert _finding(report, "OFL201")["probe"]["status"] == "confirmed"


def test_unconvertible_onnx_names_the_op_and_falls_back_to_onnxruntime(tmp_path):
    path = models.onnx_with_unconvertible_op(tmp_path / "odd.onnx")
    data = models.write_data(tmp_path / "data.npz")
    report = _check(
        [path, OVERFIT / "logs.csv"], select=["OFL201", "OFL301"], data=str(data), samples=100
    )
    run = report["run"]["probe"]
    assert run["backend"] == "onnxruntime" and "'Shrink'" in run["fallback"]
    dropout = _finding(report, "OFL201")["probe"]
    assert dropout["status"] == "inconclusive" and "'Shrink'" in dropout["note"]
    assert run["probes"]["heldout"]["status"] == "measured"  # inference still measures the gap
    assert _finding(report, "OFL301")["probe"]["metrics"]["val_samples"] == 128


def test_the_onnxruntime_backend_alone_measures_what_inference_can():
    """The backend used when torch or onnx2torch is not installed."""
    from overfitlint.probe.runner import run_backend

    request = {
        "backend": "onnxruntime",
        "model": str(OVERFIT / "model.onnx"),
        "format": "onnx",
        "device": "auto",
        "seed": 0,
        "data": str(OVERFIT / "data.npz"),
        "input_shape": None,
        "facts_shape": [20],
        "tasks": [{"probe": "stochasticity", "params": {}}, {"probe": "heldout", "params": {}}],
    }
    run = run_backend(request, deadline=time.monotonic() + 30)
    assert run.error is None and run.done is not None, run.stderr_tail
    assert run.start["backend"] == "onnxruntime" and run.start["plan"]["device"] == "cpu"
    assert "torch" not in run.done["modules"] and "tensorflow" not in run.done["modules"]
    assert not run.results["stochasticity"]["measured"]
    assert "inference only" in run.results["stochasticity"]["reason"]
    heldout = run.results["heldout"]["metrics"]
    assert heldout["train_samples"] == heldout["val_samples"] == 500
    assert heldout["val_loss"] > 1.0 > 0.5 > heldout["train_loss"]


def test_a_tiny_budget_is_a_hard_cap(tmp_path):
    path = models.save_torchscript(models.mlp(), tmp_path / "model.pt")
    report = _check(
        [path], select=["OFL201", "OFL101"], samples=500, probe_budget=1.0, trust_torchscript=True
    )
    run = report["run"]["probe"]
    # killing and reaping the backend is inside the budget; allow a loaded machine a moment
    assert run["seconds"] <= 1.0 + 0.5, run
    # starting torch takes most of a second: memorising 500 random labels cannot fit in
    memorization = _finding(report, "OFL101")["probe"]
    assert memorization["status"] == "inconclusive"
    assert "budget" in memorization["note"], memorization["note"]
    assert _finding(report, "OFL201")["probe"]["status"] in ("confirmed", "inconclusive")


# --- the stage without a backend process ---------------------------------------------------


def test_a_refuted_cause_is_downgraded_and_corroborates_nothing(monkeypatch):
    def fake_backend(request, *, deadline, progress=None):
        assert request["format"] == "onnx" and request["tasks"][0]["probe"] == "stochasticity"
        return BackendRun(
            start={"plan": {"device": "cuda:0", "name": "fake", "reason": "test"}},
            results={
                "stochasticity": {
                    "measured": True,
                    "metrics": {"repeats": 4, "output_spread": 0.5, "eval_spread": 0.0},
                    "seconds": 0.1,
                    "budget_s": 1.0,
                }
            },
            done={"modules": ["torch"]},
            seconds=0.2,
        )

    monkeypatch.setattr("overfitlint.probe.session.run_backend", fake_backend)
    report = _check([OVERFIT / "model.onnx", OVERFIT / "logs.csv"], select=["OFL201", "OFL301"])
    dropout, curve = _finding(report, "OFL201"), _finding(report, "OFL301")
    assert dropout["severity"] == "info" and dropout["probe"]["status"] == "refuted"
    assert dropout["probe"]["device"] == "cuda:0"
    assert "OFL201" not in curve["corroborated_by"]  # the refuted cause no longer counts
    assert report["run"]["probe"]["device"] == "cuda:0"


def test_why_the_probe_was_skipped(tmp_path):
    assert _check([OVERFIT / "logs.csv"])["run"]["probe"]["reason"] == (
        "no model file: the probe runs the model"
    )
    healthy = _check([EXAMPLES / "healthy" / "model.onnx", EXAMPLES / "healthy" / "logs.csv"])
    assert healthy["run"]["probe"]["reason"] == (
        "no finding the probe can check without --data FILE.npz"
    )
    no_probe = _check([OVERFIT / "model.onnx"], probe=False)
    assert no_probe["run"]["probe"] == {"status": "skipped", "reason": "--no-probe"}
    checkpoint = tmp_path / "weights.pt"
    torch.save(models.mlp().state_dict(), checkpoint)
    stage = run_probe(Facts(), (), {}, Settings(), load_catalogue())
    assert stage.summary["status"] == "skipped"
    script = models.save_torchscript(models.mlp(), tmp_path / "script.pt")
    refused = _check([script], select=["OFL201"])["run"]["probe"]
    assert refused["status"] == "skipped" and "--trust-torchscript" in refused["reason"]
    skipped = _check([checkpoint], select=["OFL201"])["run"]["probe"]
    assert skipped["status"] == "skipped" and "MODULE:CALLABLE" in skipped["reason"]


# --- command line ----------------------------------------------------------------------------


def test_bad_probe_options_are_usage_errors(cli, tmp_path):
    bad = cli("check", OVERFIT / "model.onnx", "--device", "gpu0", "--no-report")
    assert bad.code == 2 and "--device" in bad.stderr
    shape = cli("check", OVERFIT / "model.onnx", "--input-shape", "3,a", "--no-report")
    assert shape.code == 2 and "--input-shape" in shape.stderr
    broken = tmp_path / "data.npz"
    broken.write_bytes(b"not a zip")
    data = cli("check", OVERFIT / "model.onnx", "--data", broken, "--no-report")
    assert data.code == 2 and "data.npz" in data.stderr and "Traceback" not in data.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_a_missing_device_is_a_usage_error(cli):
    result = cli("check", OVERFIT / "model.onnx", "--device", "cuda", "--no-report")
    assert result.code == 2
    assert result.stderr.strip().splitlines() == [
        "overfitlint: error: --device cuda: CUDA is not available to torch on this machine; "
        "use --device auto or cpu"
    ]
