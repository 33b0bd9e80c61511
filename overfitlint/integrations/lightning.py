"""PyTorch Lightning: a callback that lints the run while ``trainer.fit`` trains.

    from overfitlint.integrations.lightning import OverfitLintCallback

    lint = OverfitLintCallback(action="stop", report="run.html")
    trainer = L.Trainer(max_epochs=200, callbacks=[lint])
    trainer.fit(model, train_loader, val_loader)

It reads the LightningModule and its optimizer (``module_facts``, the optimizer's
``state_dict``) when fitting starts, and judges each epoch at ``on_train_epoch_end``, when the
epoch's training metrics and its validation metrics (``callback_metrics``) are both in. A
stop sets ``trainer.should_stop``. The best epoch's weights are the best checkpoint when a
``ModelCheckpoint`` monitors the same metric, else a copy of the state dict in host memory.
Messages go to the ``lightning.pytorch.callbacks.overfitlint`` logger (shown with
Lightning's own).

Several processes (DDP): only rank 0 judges and logs; each epoch it broadcasts its decision
(stop, new best) with ``trainer.strategy.broadcast``, and every rank keeps and restores the
same epoch's weights.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from overfitlint.live.callback import FollowedWeights, LiveCallback, logger_sink
from overfitlint.live.torch_facts import torch_model_facts
from overfitlint.loaders.logs.metric_names import parse_name

LOGGER = logging.getLogger("lightning.pytorch.callbacks.overfitlint")


class LightningWeights(FollowedWeights):
    """The best epoch's weights: the best checkpoint of a ModelCheckpoint that monitors the
    same metric, else a copy of the module's state dict in host memory."""

    def __init__(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        super().__init__(module)
        self.trainer = trainer
        self.module = module

    def _checkpoint(self) -> ModelCheckpoint | None:
        callback = self.trainer.checkpoint_callback
        metric, lower = self.watched()
        if (
            isinstance(callback, ModelCheckpoint)
            and metric is not None
            and callback.monitor == metric
            and callback.mode == ("min" if lower else "max")
        ):
            return callback
        return None

    def snapshot(self) -> None:
        if self._checkpoint() is None:
            self.memory.snapshot()

    def restore(self) -> str | None:
        callback = self._checkpoint()
        if callback is None:
            return self.memory.restore()
        if not callback.best_model_path or not Path(callback.best_model_path).is_file():
            return None
        state = torch.load(callback.best_model_path, map_location="cpu", weights_only=True)
        self.module.load_state_dict(state["state_dict"])
        return f"restored from the best checkpoint {Path(callback.best_model_path).name}"


def _scalar(value: Any) -> float | None:
    if isinstance(value, torch.Tensor):
        return float(value.detach().cpu()) if value.numel() == 1 else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


class OverfitLintCallback(LiveCallback, pl.Callback):
    """Lints the run as it trains; see ``overfitlint.live.Monitor`` for the arguments."""

    _validated = False
    """Validation ran in this epoch (its metrics are new)."""

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        restore = self.options["restore_best"]
        self.weights = LightningWeights(trainer, pl_module) if restore else None
        if not trainer.is_global_zero:
            return
        optimizer = trainer.optimizers[0] if trainer.optimizers else None
        self.start_monitor(
            model_facts=torch_model_facts(
                pl_module, optimizer, f"live LightningModule {type(pl_module).__name__}"
            ),
            max_epochs=trainer.max_epochs if (trainer.max_epochs or -1) > 0 else None,
            name=f"live Lightning run ({type(pl_module).__name__})",
            log=logger_sink(LOGGER),
        )

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._validated = True

    def _metrics(self, trainer: pl.Trainer) -> dict[str, float]:
        metrics = {}
        for name, value in trainer.callback_metrics.items():
            number = _scalar(value)
            if number is None:
                continue
            if parse_name(name).role == "val" and not self._validated:
                continue  # validation did not run this epoch: its value is an old one
            metrics[name] = number
        return metrics

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # every rank reads the metrics: with sync_dist, reading them is a collective
        decision = self.decide(trainer.current_epoch, self._metrics(trainer))
        self._validated = False
        if trainer.world_size > 1:
            decision = trainer.strategy.broadcast(decision, src=0)
        if self.follow(decision):
            trainer.should_stop = True

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.end_run()
