"""Hugging Face ``Trainer`` runs on a tiny BERT built from a config (never downloaded).

The run folder is the ``output_dir``: ``checkpoint-N/`` folders (model.safetensors,
optimizer, trainer_state.json), and at the end ``trainer.save_model()`` (config.json,
model.safetensors) and ``trainer.save_state()`` (trainer_state.json) where the spec
says so. Fine-tunes start from weights trained beforehand with a plain loop on a large
clean sample of the same token task, as if the model had been pretrained.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from transformers.utils import logging as hf_logging

from benchmarks.verdict import data, label

warnings.filterwarnings("ignore")
hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()
logging.getLogger("accelerate").setLevel(logging.ERROR)

HELDOUT = 4000
_PRETRAINED: dict[tuple[int, int], dict] = {}


class Sequences(torch.utils.data.Dataset):
    def __init__(self, tokens: data.Tokens) -> None:
        self.ids = torch.from_numpy(tokens.ids)
        self.labels = torch.from_numpy(tokens.labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        ids = self.ids[index]
        mask = torch.ones_like(ids)
        return {"input_ids": ids, "attention_mask": mask, "labels": self.labels[index]}


def _config(spec: dict) -> BertConfig:
    return BertConfig(
        vocab_size=data.VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
        type_vocab_size=1,
        num_labels=2,
        hidden_dropout_prob=spec.get("dropout", 0.0),
        attention_probs_dropout_prob=spec.get("dropout", 0.0),
        classifier_dropout=spec.get("dropout", 0.0),
    )


@torch.no_grad()
def _measure(model: torch.nn.Module, tokens: data.Tokens) -> tuple[float, float]:
    was_training = model.training
    model.eval()
    ids = torch.from_numpy(tokens.ids)
    labels = torch.from_numpy(tokens.labels)
    logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    model.train(was_training)
    loss = torch.nn.functional.cross_entropy(logits, labels).item()
    return loss, (logits.argmax(1) == labels).float().mean().item()


def _pretrained(size: int, epochs: int) -> dict:
    """A state dict trained on ``size`` clean sequences: the 'pretrained' starting point."""
    key = (size, epochs)
    if key not in _PRETRAINED:
        torch.manual_seed(0)
        model = BertForSequenceClassification(_config({}))
        corpus = data.tokens(size, seed=1000)
        ids, labels = torch.from_numpy(corpus.ids), torch.from_numpy(corpus.labels)
        opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
        model.train()
        for _ in range(epochs):
            for start in range(0, len(ids), 64):
                out = model(input_ids=ids[start : start + 64], labels=labels[start : start + 64])
                opt.zero_grad()
                out.loss.backward()
                opt.step()
        _PRETRAINED[key] = {k: v.clone() for k, v in model.state_dict().items()}
    return _PRETRAINED[key]


class HeldOut(TrainerCallback):
    """Every evaluation during training: the same weights on the held-out and training sets."""

    def __init__(self, held: data.Tokens, train: data.Tokens) -> None:
        self.held, self.train_set = held, train
        self.heldout: list[float] = []
        self.accuracy: list[float] = []
        self.train: list[float] = []
        self.training = True

    def on_evaluate(self, args, state, control, model=None, **kwargs) -> None:
        if not self.training:
            return
        loss, accuracy = _measure(model, self.held)
        self.heldout.append(loss)
        self.accuracy.append(accuracy)
        self.train.append(_measure(model, self.train_set)[0])

    def on_train_end(self, args, state, control, **kwargs) -> None:
        self.training = False


def _accuracy(prediction) -> dict[str, float]:
    right = np.argmax(prediction.predictions, 1) == prediction.label_ids
    return {"accuracy": float(right.mean())}


def _number(epoch: float) -> float:
    return round(float(epoch), 4)


def train(name: str, spec: dict, folder: Path) -> dict:
    seed = spec.get("seed", 0)
    d = spec["data"]
    train_set = data.tokens(d["train"], seed=seed, noise=d.get("noise", 0.0))
    val_set = data.tokens(d["val"], seed=seed + 500)
    held = data.tokens(HELDOUT, seed=seed + 900)
    torch.manual_seed(seed)
    model = BertForSequenceClassification(_config(spec))
    pretrain = spec.get("pretrain", {"size": 6000, "epochs": 2})
    if pretrain:
        model.load_state_dict(_pretrained(pretrain["size"], pretrain["epochs"]))
    os.chdir(folder)
    arguments = {
        "output_dir": ".",
        "eval_strategy": "epoch",
        "save_strategy": "epoch",
        "logging_strategy": "epoch",
        "per_device_train_batch_size": 16,
        "per_device_eval_batch_size": 64,
        "learning_rate": 5e-4,
        "save_total_limit": 2,
        "save_only_model": True,
        "use_cpu": True,
        "disable_tqdm": True,
        "seed": seed,
        **spec["args"],
    }
    held_callback = HeldOut(held, train_set)
    trainer = Trainer(
        model=model,
        args=TrainingArguments(**arguments),
        train_dataset=Sequences(train_set),
        eval_dataset=Sequences(val_set),
        compute_metrics=_accuracy,
        callbacks=[held_callback],
    )
    trainer.remove_callback(PrinterCallback)  # disable_tqdm prints every log entry instead
    trainer.train()
    if spec.get("save_model", True):
        trainer.save_model()
    if spec.get("save_state", True):
        trainer.save_state()
    if spec.get("final_evaluate"):
        trainer.evaluate()
        trainer.save_state()
    checkpoints = sorted(Path().glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    last_checkpoint = checkpoints[-1].name
    evaluations = [e for e in trainer.state.log_history if "eval_loss" in e]
    evaluations = evaluations[: len(held_callback.heldout)]
    shipped = spec.get("ship", "model.safetensors").replace("LAST", last_checkpoint)
    weights = model
    if shipped:
        weights = BertForSequenceClassification(_config(spec))
        weights.load_state_dict(load_file(shipped), strict=False)
    measured = label.Measured(
        log_epochs=[_number(e["epoch"]) for e in evaluations],
        log_val=[float(e["eval_loss"]) for e in evaluations],
        heldout_loss=held_callback.heldout,
        train_loss=held_callback.train,
        heldout_accuracy=held_callback.accuracy,
        extra={"steps": [e["step"] for e in evaluations]},
    )
    measured.kept = label.kept_index(held_callback.heldout, _measure(weights, held)[0])
    log = spec.get("log", "trainer_state.json").replace("LAST", last_checkpoint)
    args = ([shipped] if shipped else []) + [log] + spec.get("flags", [])
    best = trainer.state.best_model_checkpoint
    notes = spec.get("notes", "")
    if best:
        notes += f" best_model_checkpoint: {Path(best).name}."
    if arguments.get("load_best_model_at_end"):
        notes += " load_best_model_at_end=True: the saved model is the best checkpoint's."
    params = sum(p.numel() for p in model.parameters())
    notes += f" {params:,} parameters, {d['train']:,} training sequences."
    return label.build(
        name=name,
        framework="transformers",
        writer=spec.get("writer", "transformers Trainer"),
        description=spec["description"],
        measured=measured,
        args=args,
        logged_val={"file": log, "reader": "trainer-state", "epoch": "epoch", "key": "eval_loss"},
        folder_args=[a.replace("LAST", last_checkpoint) for a in spec.get("folder_args", ["."])],
        notes=notes.strip(),
    )
