"""Hugging Face ``Trainer``: a callback that lints the run while ``trainer.train()`` trains.

    from overfitlint.integrations.transformers import OverfitLintCallback

    args = TrainingArguments("out", eval_strategy="epoch", num_train_epochs=50)
    trainer = Trainer(model, args, train_dataset=train, eval_dataset=val,
                      callbacks=[OverfitLintCallback(action="stop", report="run.html")])
    trainer.train()

Each evaluation is a point (at ``state.epoch``, fractional for step evaluations), with the
mean training loss logged since the one before and the learning rate. A stop sets
``control.should_training_stop``. Restoring: with ``load_best_model_at_end`` the Trainer
loads its best checkpoint itself and the report is told which epoch that is; otherwise the
callback loads the best checkpoint the Trainer kept for the same metric, else a copy of the
weights it kept in host memory. Messages go to the ``transformers`` logger.

Several processes: control flags are per process, so only the world's process zero judges
and logs; it broadcasts its decision (``torch.distributed``) and every rank applies it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.utils import logging as hf_logging

from overfitlint.facts import KeptEpoch
from overfitlint.live.callback import Decision, FollowedWeights, LiveCallback, logger_sink
from overfitlint.live.torch_facts import torch_model_facts

LOGGER = hf_logging.get_logger("transformers.overfitlint")
NOT_METRICS = ("_runtime", "_per_second", "_flos")
LOAD_BEST = "load_best_model_at_end"


def broadcast(decision: Decision) -> Decision:
    """Process zero's decision on every process (as is, in a single process)."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        box = [decision]
        dist.broadcast_object_list(box, src=0)
        return box[0]
    return decision


def tracked_metric(args: TrainingArguments) -> str | None:
    """The metric whose best checkpoint the Trainer tracks (``eval_`` prefixed), if any."""
    name = args.metric_for_best_model
    if not name:
        return None
    return name if name.startswith("eval_") else f"eval_{name}"


def _strategy(value: Any) -> str:
    """ "epoch", "steps", "no", ... from an enum or a string."""
    return str(getattr(value, "value", value))


class TrainerWeights(FollowedWeights):
    """The best evaluation's weights: the Trainer's own best checkpoint when it tracks the
    same metric and saves at every evaluation, else a copy in host memory."""

    def __init__(self, model: torch.nn.Module, args: TrainingArguments, state: TrainerState):
        super().__init__(model)
        self.model, self.args, self.state = model, args, state
        self.best_step: int | None = None

    def _trainer_tracks(self) -> bool:
        """Does the Trainer save a checkpoint at every evaluation and track our metric?"""
        args = self.args
        metric, _ = self.watched()
        save, evaluate = _strategy(args.save_strategy), _strategy(args.eval_strategy)
        return (
            metric is not None
            and tracked_metric(args) == metric
            and save == evaluate
            and (save == "epoch" or (save == "steps" and args.save_steps == args.eval_steps))
        )

    def snapshot(self) -> None:
        self.best_step = self.state.global_step
        if not self._trainer_tracks():
            self.memory.snapshot()

    def restore(self) -> str | None:
        folder = self.state.best_model_checkpoint
        if folder and self.best_step is not None and folder.endswith(f"-{self.best_step}"):
            weights = Path(folder) / "model.safetensors"
            if weights.is_file():
                from safetensors.torch import load_file

                result = self.model.load_state_dict(load_file(str(weights)), strict=False)
                if result.missing_keys and hasattr(self.model, "tie_weights"):
                    self.model.tie_weights()  # tied weights are saved once
                return f"restored from the best checkpoint {Path(folder).name}"
        return self.memory.restore()


def _kept_by_trainer(state: TrainerState) -> KeptEpoch | None:
    """The epoch of the checkpoint ``load_best_model_at_end`` loaded."""
    step = state.best_global_step
    if not step:
        return None
    for entry in state.log_history:
        if entry.get("step") == step and "epoch" in entry:
            return KeptEpoch(float(entry["epoch"]), LOAD_BEST)
    return None


class OverfitLintCallback(LiveCallback, TrainerCallback):
    """Lints the run as it trains; see ``overfitlint.live.Monitor`` for the arguments."""

    training = False
    """Inside ``trainer.train()``: an evaluation outside it is not a point of the run."""
    _lr: float | None = None

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        model: torch.nn.Module | None = None,
        optimizer: Any = None,
        **kwargs: Any,
    ) -> None:
        self.training = True
        self._losses: list[float] = []
        restore = self.options["restore_best"] and not args.load_best_model_at_end
        if restore and model is not None:
            self.weights = TrainerWeights(model, args, state)
        if not state.is_world_process_zero:
            return
        epochs = math.ceil(args.num_train_epochs) if args.max_steps <= 0 else None
        self.start_monitor(
            model_facts=(
                torch_model_facts(model, optimizer, f"live {type(model).__name__}")
                if model is not None
                else None
            ),
            max_epochs=epochs,
            name=f"live Trainer run ({type(model).__name__})",
            log=logger_sink(LOGGER),
        )

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self.training:
            return  # logs of an evaluate() outside training
        logs = logs or {}
        if isinstance(logs.get("loss"), int | float):
            self._losses.append(float(logs["loss"]))
        if isinstance(logs.get("learning_rate"), int | float):
            self._lr = float(logs["learning_rate"])

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self.training:
            return  # an evaluate() outside training: not a point of the run
        point = {
            k: v for k, v in (metrics or {}).items() if k != "epoch" and not k.endswith(NOT_METRICS)
        }
        if self._losses:
            point["loss"] = sum(self._losses) / len(self._losses)
        if self._lr is not None:
            point["learning_rate"] = self._lr
        decision = self.decide(float(state.epoch or 0.0), point)
        self._losses = []
        if self.follow(broadcast(decision)):
            control.should_training_stop = True

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.training = False
        kept = _kept_by_trainer(state) if args.load_best_model_at_end else None
        self.end_run(kept=kept)
