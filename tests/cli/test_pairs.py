"""The gate's verdict on models whose truth is known: runs trained by the real frameworks
(``benchmarks/verdict/runs``, labelled by a held-out set), checked as a user checks them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT

RUNS = ROOT / "benchmarks" / "verdict" / "runs"
NO_PROBE = ("--format", "json", "--no-report", "--no-probe")


def _copy(name: str, tmp_path: Path) -> tuple[Path, dict]:
    """The run in a scratch folder (nothing of the repository is written), and its label."""
    folder = tmp_path / name
    shutil.copytree(RUNS / name, folder)
    return folder, json.loads((folder / "label.json").read_text())


def _judge(cli, folder: Path, *args: str) -> tuple[int, dict]:
    result = cli("check", *args, cwd=folder)
    assert result.code in (0, 1), result.stderr
    return result.code, result.json()


@pytest.mark.parametrize(
    ("name", "form", "code", "status"),
    [
        # Dropout 0.3 + L2 1e-3 + EarlyStopping + Adam, flat healthy curves
        ("keras_healthy_dropout_l2_es", "files", 0, "healthy"),
        # AdamW(weight_decay=0.01), Dropout 0.3, 26,122 parameters for 1,200 samples
        ("torch_healthy_mlp_adamw", "files", 0, "healthy"),
        # best.pt holds 'epoch': 10 of a log that diverges after it
        ("torch_best_pt_diverges_csv", "files", 0, "healthy"),
        ("keras_overfit_noisy_labels", "files", 1, "overfitting"),
        # HF output folder: load_best_model_at_end, the best checkpoint is what ships
        ("hf_load_best_at_end", "folder", 0, "healthy"),
        ("hf_finetune_overfit_epochs", "folder", 1, "overfitting"),
        # Lightning version_N: ModelCheckpoint's best .ckpt; final.ckpt of an overfit run
        ("lightning_best_ckpt_diverges", "folder", 0, "healthy"),
        ("lightning_overfit_final_ckpt", "files", 1, "overfitting"),
    ],
)
def test_each_pair_gets_the_verdict_its_truth_calls_for(cli, tmp_path, name, form, code, status):
    folder, label = _copy(name, tmp_path)
    assert label["expected_gate"] == ("fail" if code else "pass")
    args = label["folder_args"] if form == "folder" else label["args"]
    exit_code, report = _judge(cli, folder, *args, *NO_PROBE)
    assert (exit_code, report["verdict"]["status"]) == (code, status), report["verdict"]


def test_resnet50_at_imagenet_size_does_not_fail_on_capacity(cli, tmp_path):
    torchvision = pytest.importorskip("torchvision")
    import torch

    path = tmp_path / "resnet50.pt"
    torch.save(torchvision.models.resnet50(weights=None).state_dict(), path)
    exit_code, report = _judge(cli, tmp_path, path, "--samples", "1281167", *NO_PROBE)
    ratio = next(f for f in report["findings"] if f["code"] == "OFL101")
    evidence = {e["name"]: e["value"] for e in ratio["evidence"]}
    assert evidence["params_per_sample"] == pytest.approx(19.9, abs=0.05)
    assert ratio["severity"] == "info"
    # a state dict shows neither dropout nor an optimizer: not judged, and nothing fails
    assert exit_code == 0 and report["verdict"]["status"] in ("at-risk", "unknown")


def test_restored_early_stopping_is_told_apart_by_the_probe_with_data(cli, tmp_path):
    """EarlyStopping(patience=15, restore_best_weights=True): nothing in model.keras says the
    weights were restored, so the log's end is judged; with --data the probe measures the
    weights' validation loss, finds the log's best epoch, and refutes the divergence."""
    pytest.importorskip("tensorflow")
    from benchmarks.verdict import specs
    from benchmarks.verdict.evaluate import write_data

    folder, label = _copy("keras_es_restore_p15_tensorboard", tmp_path)
    assert write_data(specs.KERAS["keras_es_restore_p15_tensorboard"], folder)
    exit_code, report = _judge(cli, folder, *label["args"], *NO_PROBE)
    assert (exit_code, report["verdict"]["status"]) == (1, "overfitting")
    probed = ("--format", "json", "--no-report", "--data", "data.npz", "--probe-budget", "60")
    exit_code, report = _judge(cli, folder, *label["args"], *probed)
    assert (exit_code, report["verdict"]["status"]) == (0, "healthy"), report["run"]["probe"]
    divergence = next(f for f in report["findings"] if f["code"] == "OFL301")
    assert divergence["probe"]["status"] == "refuted"
    assert "closest to this at epoch 13" in divergence["probe"]["note"]
