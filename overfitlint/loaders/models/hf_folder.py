"""What a Hugging Face model folder says beside its weights (``save_pretrained`` / Trainer).

A ``model.safetensors`` (or ``pytorch_model.bin``) holds tensors only. The files the Trainer
writes next to it tell the rest, and are read as data:

- ``config.json``: the dropout probabilities the architecture applies
  (``hidden_dropout_prob``, ``attention_probs_dropout_prob``, ``classifier_dropout``,
  ``attn_pdrop``, ``dropout``...), each recorded as a dropout of the model;
- ``training_args.bin``: the ``TrainingArguments`` (a ``torch.save`` pickle, read by
  overfitlint's own unpickler, nothing in it runs): weight decay (AdamW, decoupled), learning
  rate, optimizer, ``load_best_model_at_end``;
- ``trainer_state.json``: the best checkpoint and the step the weights were saved at, so the
  kept epoch is the best checkpoint's when ``load_best_model_at_end`` loaded it, the saving
  step's in a ``checkpoint-N/`` folder.

Nothing here guesses: a file that is missing or unreadable leaves the fact unknown, with a note.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from overfitlint import formats
from overfitlint.errors import InputError
from overfitlint.facts import LayerFacts, ModelFacts, OptimizerFacts, Provenance
from overfitlint.paths import confine, find_root

MAX_JSON_BYTES = 16 << 20
DROPOUT_KEY = re.compile(r"(dropout|pdrop|drop_prob|drop_rate|drop_path)", re.I)
CHECKPOINT = re.compile(r"checkpoint-(\d+)$")
DECOUPLED = ("adamw", "adafactor", "lion", "lomo", "adalomo", "schedule_free_adamw")


def last_part(path_text: str) -> str:
    """The last component of a path as a training run wrote it (POSIX or Windows)."""
    return path_text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file of an HF output folder (at most ``MAX_JSON_BYTES``, inside its
    repository); None when it is missing, too large or not an object."""
    if not path.is_file():
        return None
    confine(path, find_root(path), f"the {path.name} beside the model")
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def hf_config(folder: Path) -> dict[str, Any] | None:
    """``config.json`` when it is a transformers config (names a model type or architecture)."""
    config = read_json(folder / "config.json")
    if config is None or not ("model_type" in config or "architectures" in config):
        return None
    return config


def config_dropouts(config: dict[str, Any]) -> list[tuple[str, float]]:
    """(key, probability) of every dropout setting in a transformers config."""
    found = []
    for key, value in config.items():
        if not DROPOUT_KEY.search(key) or isinstance(value, bool):
            continue
        if isinstance(value, int | float) and math.isfinite(value) and 0 <= value < 1:
            found.append((key, float(value)))
    return found


def _plain(value: Any) -> Any:
    """An enum the pickle named (a stand-in) as its value: ``IntervalStrategy('epoch')``."""
    args = getattr(value, "_args", None)
    if isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], str | int | float):
        return args[0]
    return value


def training_args(folder: Path) -> dict[str, Any] | None:
    """The ``TrainingArguments`` in ``training_args.bin``, as plain values (None: no file)."""
    path = folder / "training_args.bin"
    if not path.is_file():
        return None
    confine(path, find_root(path), "the training_args.bin beside the model")
    from overfitlint.loaders.models.pytorch import read_checkpoint

    try:
        fmt = formats.detect(path).format
        args = read_checkpoint(path, fmt or formats.TORCH_CHECKPOINT)
    except InputError:
        return None
    state = getattr(args, "state", None)
    if not isinstance(state, dict):
        return None
    return {str(key): _plain(value) for key, value in state.items()}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _optimizer(args: dict[str, Any]) -> OptimizerFacts | None:
    weight_decay = _number(args.get("weight_decay"))
    if weight_decay is None:
        return None
    name = str(args.get("optim") or "adamw_torch")
    details = {
        key: args[key]
        for key in ("adam_beta1", "adam_beta2", "adam_epsilon", "lr_scheduler_type", "warmup_ratio")
        if isinstance(args.get(key), int | float | str) and not isinstance(args.get(key), bool)
    }
    return OptimizerFacts(
        kind=name,
        lr=_number(args.get("learning_rate")),
        weight_decay=weight_decay,
        decoupled=name.lower().startswith(DECOUPLED) or None,
        source="training_args.bin (TrainingArguments)",
        details=details,
    )


def _eval_epoch(state: dict[str, Any], step: int) -> float | None:
    """The epoch of the evaluation logged at ``step`` (else of any entry at that step)."""
    history = state.get("log_history")
    if not isinstance(history, list):
        return None
    at_step = [e for e in history if isinstance(e, dict) and e.get("step") == step]
    evals = [e for e in at_step if any(str(k).startswith("eval_") for k in e)]
    for entry in evals or at_step:
        epoch = _number(entry.get("epoch"))
        if epoch is not None:
            return epoch
    return None


def kept_epoch(folder: Path, args: dict[str, Any] | None) -> tuple[float, str] | None:
    """The epoch whose weights the folder's model holds, and how that is known."""
    state = read_json(folder / "trainer_state.json")
    if state is None:
        return None
    saved = CHECKPOINT.search(folder.name)
    if saved:
        epoch = _number(state.get("epoch"))
        if epoch is None:
            return None
        step = state.get("global_step", saved.group(1))
        return epoch, f"trainer_state.json of {folder.name} (saved at step {step})"
    best = state.get("best_model_checkpoint")
    best_step = state.get("best_global_step")
    if not isinstance(best_step, int) and isinstance(best, str):
        match = CHECKPOINT.search(last_part(best))
        best_step = int(match.group(1)) if match else None
    if not isinstance(best_step, int) or args is None or not args.get("load_best_model_at_end"):
        return None
    epoch = _eval_epoch(state, best_step)
    if epoch is None:
        return None
    return epoch, (
        f"trainer_state.json: best checkpoint at step {best_step}, loaded at the end "
        "(load_best_model_at_end=True in training_args.bin)"
    )


def with_folder_facts(facts: ModelFacts, path: Path) -> ModelFacts:
    """``facts`` of a weights file completed from the Hugging Face files beside it."""
    folder = path.parent
    config = hf_config(folder)
    args = training_args(folder)
    if config is None and args is None:
        return facts
    notes = list(facts.notes)
    layers = list(facts.layers)
    dropout_visible = facts.dropout_visible
    if config is not None:
        dropouts = config_dropouts(config)
        layers += [
            LayerFacts(name=f"config.json {key}", kind="Dropout", dropout_rate=rate)
            for key, rate in dropouts
        ]
        dropout_visible = True
        shown = ", ".join(f"{key}={rate:g}" for key, rate in dropouts) or "none"
        notes.append(f"config.json ({config.get('model_type', '?')}): dropout settings {shown}")
    optimizer = facts.optimizer
    if args is not None:
        found = _optimizer(args)
        if found is not None:
            optimizer = found
            notes.append(
                f"training_args.bin: {found.kind}, weight decay {found.weight_decay:g}, "
                f"learning rate {found.lr if found.lr is not None else '?'}"
            )
    details = dict(facts.provenance.details)
    kept = kept_epoch(folder, args)
    if kept is not None:
        details["kept_epoch"], details["kept_epoch_source"] = kept
    elif args is None and (read_json(folder / "trainer_state.json") or {}).get(
        "best_model_checkpoint"
    ):
        notes.append(
            "trainer_state.json names the run's best checkpoint, but without training_args.bin "
            "it cannot tell whether the saved model is that one (load_best_model_at_end); "
            "pass --kept-epoch N if it is"
        )
    version = facts.provenance.producer_version
    if not version and config is not None:
        version = str(config.get("transformers_version", ""))
    provenance = Provenance(facts.provenance.producer or "transformers", version, details)
    return replace(
        facts,
        layers=layers,
        dropout_visible=dropout_visible,
        optimizer=optimizer,
        provenance=provenance,
        notes=notes,
    )
