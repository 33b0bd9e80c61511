"""``overfitlint check DIR``: the model and logs a folder holds, found by its layout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

from overfitlint.discovery import discover
from overfitlint.errors import InputError
from tests.builders import onnx_models
from tests.builders.logs import hf_trainer_state, keras_csv, lightning_metrics_csv, overfit_curve
from tests.builders.torch_models import save_safetensors
from tests.conftest import EXAMPLES, write

OVERFIT = EXAMPLES / "overfit"


def _names(found) -> list[str]:
    return [str(p.relative_to(found.folder)) for p in found.paths]


def _hf_output(root: Path) -> Path:
    """Trainer output with two checkpoints; the last one's state names the first as best."""
    out = root / "out"
    for step, evals in ((100, [1.0]), (200, [1.0, 1.3])):
        folder = out / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        save_safetensors(nn.Linear(8, 2), folder / "model.safetensors")
        hf_trainer_state(folder / "trainer_state.json", [2.0, 1.5] * len(evals), evals)
        state = json.loads((folder / "trainer_state.json").read_text())
        state["best_model_checkpoint"] = str(out / "checkpoint-100")
        (folder / "trainer_state.json").write_text(json.dumps(state))
    return out


def test_hf_output_folder_takes_the_best_checkpoint_and_the_longest_history(tmp_path):
    out = _hf_output(tmp_path)
    (found,) = discover(out)
    assert _names(found) == [
        "checkpoint-100/model.safetensors",
        "checkpoint-200/trainer_state.json",
    ]
    assert any("the best checkpoint trainer_state.json names" in n for n in found.notes)
    assert any("1 other checkpoint folder(s) not judged (checkpoint-200)" in n for n in found.notes)


def _lightning_run(version: Path, best: str) -> None:
    train, val = overfit_curve(epochs=12, best=4)
    lightning_metrics_csv(version, [t for t in train for _ in range(2)], val)
    checkpoints = version / "checkpoints"
    checkpoints.mkdir()
    state = {"state_dict": nn.Linear(4, 2).state_dict(), "epoch": 3}
    callbacks = {
        "ModelCheckpoint{'monitor': 'val_loss'}": {"best_model_path": str(checkpoints / best)}
    }
    for name in ("epoch=3-step=80.ckpt", "epoch=11-step=240.ckpt"):
        torch.save({**state, "callbacks": callbacks}, checkpoints / name)


def test_lightning_logs_give_one_run_per_version_with_the_recorded_best(tmp_path):
    root = tmp_path / "lightning_logs"
    _lightning_run(root / "version_0", "epoch=3-step=80.ckpt")
    _lightning_run(root / "version_1", "epoch=11-step=240.ckpt")
    runs = discover(tmp_path)
    assert [_names(r) for r in runs] == [
        ["checkpoints/epoch=3-step=80.ckpt", "metrics.csv"],
        ["checkpoints/epoch=11-step=240.ckpt", "metrics.csv"],
    ]
    assert "ModelCheckpoint's best_model_path" in runs[0].notes[0]


def test_a_plain_folder_is_searched_for_models_and_logs_by_name(tmp_path):
    for sub in ("models", "logs"):
        (tmp_path / sub).mkdir()
    onnx_models.mlp(tmp_path / "models" / "model.onnx", [8, 16, 2])
    keras_csv(tmp_path / "logs" / "training_log.csv", *overfit_curve())
    write(tmp_path / "data" / "train.csv", "x,y\n1,2\n")  # a data table, not a log
    write(tmp_path / "config.json", "{}")
    write(tmp_path / ".venv" / "lib" / "history.csv", "epoch,loss\n0,1\n")  # skipped
    for run in ("train", "validation"):  # Keras's TensorBoard callback: the same curves again
        write(tmp_path / "tb" / run / "events.out.tfevents.1.host", "")
    (found,) = discover(tmp_path)
    assert found.searched
    assert _names(found) == ["models/model.onnx", "logs/training_log.csv"]
    assert any("TensorBoard folder(s) tb not read" in n for n in found.notes)


def test_a_checkpoint_series_counts_once_at_its_highest_epoch(tmp_path):
    for name in ("weights.03-1.21.onnx", "weights.17-1.00.onnx", "weights.09-1.10.onnx"):
        onnx_models.mlp(tmp_path / name, [4, 2])
    (found,) = discover(tmp_path)
    assert _names(found) == ["weights.17-1.00.onnx"]
    assert any("3 checkpoint files of one series" in n for n in found.notes)


def test_tensorboard_folders_are_read_when_there_is_no_text_log(tmp_path):
    for run in ("train", "validation"):
        write(tmp_path / "logs" / run / "events.out.tfevents.1.host", "")
    (found,) = discover(tmp_path)
    assert _names(found) == ["logs"]


def test_a_folder_with_nothing_known_is_one_line(tmp_path, cli):
    write(tmp_path / "notes" / "readme.txt", "nothing here")
    with pytest.raises(InputError, match="no model file or training log found"):
        discover(tmp_path / "notes")
    result = cli("check", tmp_path / "notes", "--no-report")
    assert result.code == 2
    assert (
        result.stderr.strip().count("\n") == 0 and "no model file or training log" in result.stderr
    )


def test_check_dir_gives_the_verdict_of_its_files(tmp_path, cli):
    folder = tmp_path / "run"
    folder.mkdir()
    for name in ("model.onnx", "logs.csv"):
        shutil.copyfile(OVERFIT / name, folder / name)
    write(folder / "eval_results.json", "{not json")  # found by its name, unreadable: left out
    args = ("--samples", "2000", "--format", "json", "--no-report", "--no-probe")
    by_folder = cli("check", folder, *args)
    by_files = cli("check", folder / "model.onnx", folder / "logs.csv", *args)
    assert by_folder.code == by_files.code == 1
    codes = sorted(f["code"] for f in by_folder.json()["findings"])
    assert codes == sorted(f["code"] for f in by_files.json()["findings"])
    notes = " ".join(by_folder.json()["notes"])
    assert "left out" in notes and "eval_results.json" in notes and "searched" in notes


def test_a_keras_tensorboard_run_below_the_folder_is_searched_not_read_whole(tmp_path, cli):
    write(tmp_path / "logs" / "train" / "events.out.tfevents.1.host", "")
    onnx_models.mlp(tmp_path / "model.onnx", [8, 16, 2])
    keras_csv(tmp_path / "history.csv", *overfit_curve())
    result = cli("check", tmp_path, "--format", "json", "--no-report", "--no-probe")
    assert result.code in (0, 1), result.stderr
    report = result.json()
    assert [i["path"] for i in report["inputs"]] == [
        str(tmp_path / "model.onnx"),
        str(tmp_path / "history.csv"),
    ]
