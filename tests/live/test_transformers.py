"""The Hugging Face callback on real ``Trainer.train()`` runs of a tiny BERT built from a
config (nothing downloaded)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

pytest.importorskip("transformers")

import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)
from transformers.utils import logging as hf_logging

from overfitlint.integrations.transformers import OverfitLintCallback
from overfitlint.report import read_report

hf_logging.disable_progress_bar()
LENGTH = 12


def _sequences(count: int, seed: int, noise: float) -> list[dict[str, torch.Tensor]]:
    """Token sequences labelled by how many low tokens they hold, ``noise`` of them flipped."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 40, size=(count, LENGTH))
    labels = ((ids < 8).sum(1) >= 2).astype(np.int64)
    flip = rng.random(count) < noise
    labels[flip] = 1 - labels[flip]
    mask = torch.ones(LENGTH, dtype=torch.long)
    return [
        {"input_ids": torch.tensor(i), "attention_mask": mask, "labels": torch.tensor(y)}
        for i, y in zip(ids, labels, strict=True)
    ]


def _model() -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=40,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=16,
        num_labels=2,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return BertForSequenceClassification(config)


def _train(tmp_path, callback, *, noise: float, epochs: int, lr: float, **args):
    options = {
        "eval_strategy": "epoch",
        "save_strategy": "no",
        "logging_strategy": "epoch",
        "num_train_epochs": epochs,
        "learning_rate": lr,
        "per_device_train_batch_size": 16,
        "per_device_eval_batch_size": 160,
        "report_to": [],
        "use_cpu": True,
        "disable_tqdm": True,
        "seed": 0,
        **args,
    }
    trainer = Trainer(
        model=_model(),
        args=TrainingArguments(str(tmp_path / "out"), **options),
        train_dataset=_sequences(160, 0, noise),
        eval_dataset=_sequences(160, 1, noise),
        callbacks=[callback],
    )
    trainer.train()
    losses = [e["eval_loss"] for e in trainer.state.log_history if "eval_loss" in e]
    return trainer, losses


def test_an_overfitting_run_stops_with_the_best_weights_restored(tmp_path, caplog):
    callback = OverfitLintCallback(action="stop", report=tmp_path / "run.json")
    with caplog.at_level(logging.WARNING, logger="transformers.overfitlint"):
        trainer, losses = _train(tmp_path, callback, noise=0.25, epochs=60, lr=1e-3)
    assert len(losses) < 20
    best = int(np.argmin(losses))
    assert trainer.evaluate()["eval_loss"] == pytest.approx(losses[best], rel=1e-5)
    assert any("stopped at epoch" in r.getMessage() for r in caplog.records)
    report = read_report(tmp_path / "run.json")
    assert report.run.kept_epoch == best + 1  # the Trainer counts epochs from 1
    assert report.model.framework == "pytorch" and report.model.optimizer.kind == "AdamW"


def test_a_healthy_run_is_not_stopped(tmp_path):
    callback = OverfitLintCallback(action="stop")
    _, losses = _train(tmp_path, callback, noise=0.0, epochs=12, lr=3e-4)
    assert len(losses) == 12 and callback.lint.stopped_at is None


def test_load_best_model_at_end_is_left_to_the_trainer(tmp_path):
    callback = OverfitLintCallback(action="stop", report=tmp_path / "run.json")
    trainer, losses = _train(
        tmp_path,
        callback,
        noise=0.25,
        epochs=60,
        lr=1e-3,
        save_strategy="epoch",
        load_best_model_at_end=True,
        save_total_limit=1,
    )
    best = int(np.argmin(losses))
    assert callback.weights is None  # the Trainer loads its best checkpoint itself
    assert trainer.evaluate()["eval_loss"] == pytest.approx(losses[best], rel=1e-5)
    report = read_report(tmp_path / "run.json")
    assert report.run.kept_epoch == best + 1
    assert report.run.kept_epoch_source == "load_best_model_at_end"


def test_another_process_does_not_judge_or_log(tmp_path, caplog):
    """Process zero judges; another process only applies the broadcast decision."""
    args = TrainingArguments(str(tmp_path), report_to=[], use_cpu=True)
    state = TrainerState(is_world_process_zero=False, epoch=1.0)
    callback = OverfitLintCallback(action="stop", report=tmp_path / "run.html")
    with caplog.at_level(logging.INFO, logger="transformers.overfitlint"):
        callback.on_train_begin(args, state, TrainerControl(), model=_model())
        callback.on_evaluate(args, state, TrainerControl(), metrics={"eval_loss": 0.5})
        callback.on_train_end(args, state, TrainerControl())
    assert callback.lint is None and not caplog.records
    assert not (tmp_path / "run.html").exists()


def test_the_trainers_best_checkpoint_is_loaded_when_it_tracks_the_metric(tmp_path):
    callback = OverfitLintCallback(action="stop", report=tmp_path / "run.json")
    trainer, losses = _train(
        tmp_path,
        callback,
        noise=0.25,
        epochs=60,
        lr=1e-3,
        save_strategy="epoch",
        metric_for_best_model="eval_loss",
    )
    best = int(np.argmin(losses))
    assert callback.weights.memory._best is None  # no copy was kept in memory
    assert (
        callback.lint.restored == f"restored from the best checkpoint checkpoint-{10 * (best + 1)}"
    )
    assert trainer.evaluate()["eval_loss"] == pytest.approx(losses[best], rel=1e-5)
