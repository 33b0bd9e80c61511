"""A LightningModule and a fit on the test data; run as a script, a 2-process DDP fit on CPU
that writes what each rank ended with to OUT/rank<N>.json."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from overfitlint.integrations.lightning import OverfitLintCallback
from tests.live.data import split

warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
logging.getLogger("lightning.fabric").setLevel(logging.WARNING)


class Classifier(L.LightningModule):
    def __init__(self, width: int, lr: float) -> None:
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(
            nn.Linear(20, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 2)
        )

    def training_step(self, batch, index):
        loss = nn.functional.cross_entropy(self.net(batch[0]), batch[1])
        self.log("train_loss", loss, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def validation_step(self, batch, index):
        loss = nn.functional.cross_entropy(self.net(batch[0]), batch[1])
        self.log("val_loss", loss, sync_dist=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def loaders(noisy: bool, val_batch: int = 300):
    data = split(noisy)
    train = TensorDataset(torch.from_numpy(data.x_train), torch.from_numpy(data.y_train))
    val = TensorDataset(torch.from_numpy(data.x_val), torch.from_numpy(data.y_val))
    return DataLoader(train, batch_size=32, shuffle=True), DataLoader(val, batch_size=val_batch)


@torch.no_grad()
def validation_loss(module: Classifier, val: DataLoader) -> float:
    x, y = val.dataset.tensors
    return nn.functional.cross_entropy(module.net(x), y).item()


def fit(callback, noisy: bool, epochs: int, width: int = 256, lr: float = 3e-3, **trainer):
    L.seed_everything(0, verbose=False)
    module = Classifier(width, lr)
    options = {
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        **trainer,
    }
    run = L.Trainer(
        max_epochs=epochs, callbacks=[callback, *options.pop("callbacks", [])], **options
    )
    train, val = loaders(noisy, 150 if options.get("devices", 1) != 1 else 300)
    run.fit(module, train, val)
    return run, module, val


if __name__ == "__main__":
    out = Path(sys.argv[1])
    callback = OverfitLintCallback(action="stop", report=out / "run.json")
    run, module, val = fit(callback, True, 100, strategy="ddp", devices=2, accelerator="cpu")
    result = {
        "rank": run.global_rank,
        "epochs": run.current_epoch,
        "val_loss": validation_loss(module, val),
        "judges": callback.lint is not None,
    }
    (out / f"rank{run.global_rank}.json").write_text(json.dumps(result))
