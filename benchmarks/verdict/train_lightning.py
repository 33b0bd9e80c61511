"""PyTorch Lightning runs: ``CSVLogger`` (``lightning_logs/version_0/metrics.csv`` and
``hparams.yaml``), ``ModelCheckpoint(monitor="val_loss")`` writing
``checkpoints/epoch=N-step=M.ckpt``, optionally ``save_last`` and ``EarlyStopping``.

``checkpoint: None`` in a spec is Lightning's default ModelCheckpoint (no monitor: it
keeps the newest epoch); ``ship`` names the file that ships: the ModelCheckpoint's file
(``checkpoint``), ``last.ckpt`` (``last``), ``trainer.save_checkpoint('final.ckpt')``
(``final``) or nothing (the log alone).

A short fine-tune starts from weights trained beforehand (silently, on a clean extra
sample of the same task) and trains a few epochs on a small set, as a user adapting a
model would.
"""

from __future__ import annotations

import csv
import logging
import os
import warnings
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.verdict import data, label
from benchmarks.verdict.torch_common import augment, loss_fn, measure, network, optimizer, tensors

warnings.filterwarnings("ignore")
logging.getLogger("lightning").setLevel(logging.ERROR)
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)


class Classifier(L.LightningModule):
    def __init__(self, spec: dict, split: data.Split, batch_size: int) -> None:
        super().__init__()
        self.save_hyperparameters(
            {
                "hidden": spec["hidden"],
                "dropout": spec.get("dropout", 0.0),
                "lr": spec.get("lr", 1e-3),
                "weight_decay": spec.get("weight_decay", 0.0),
                "optimizer": spec.get("optimizer", "adam"),
                "batch_size": batch_size,
            }
        )
        self.spec, self.split = spec, split
        self.net = network(spec, split)
        self.generator = torch.Generator().manual_seed(spec.get("seed", 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_index):
        x, y = batch
        loss = loss_fn(self.split, self.net(augment(self.spec, x, self.generator)), y)
        on_step = self.spec.get("log_steps", False)
        self.log("train_loss", loss, on_step=on_step, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_index):
        x, y = batch
        out = self.net(x)
        self.log("val_loss", loss_fn(self.split, out, y), on_epoch=True)
        self.log("val_acc", (out.argmax(1) == y).float().mean(), on_epoch=True)

    def configure_optimizers(self):
        return optimizer(self.spec, self.parameters())


class HeldOut(L.Callback):
    """After every validation (not the sanity check): the same weights on the held-out set."""

    def __init__(self, split: data.Split) -> None:
        self.split, self.parts = split, tensors(split)
        self.heldout: list[float] = []
        self.accuracy: list[float] = []
        self.train: list[float] = []

    def on_validation_epoch_end(self, trainer: L.Trainer, module: Classifier) -> None:
        if trainer.sanity_checking:
            return
        loss, accuracy = measure(module.net, self.split, *self.parts["held"])
        self.heldout.append(loss)
        self.accuracy.append(accuracy)
        self.train.append(measure(module.net, self.split, *self.parts["train"])[0])


def _pretrained(spec: dict, split: data.Split) -> dict:
    """Weights trained beforehand on a clean extra sample of the same task (not logged)."""
    torch.manual_seed(spec["pretrain"].get("seed", 1))
    model = network(spec, split)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.from_numpy(split.x_extra), torch.from_numpy(split.y_extra)
    for _ in range(spec["pretrain"]["epochs"]):
        for start in range(0, len(x), 64):
            opt.zero_grad()
            loss_fn(split, model(x[start : start + 64]), y[start : start + 64]).backward()
            opt.step()
    return model.state_dict()


def _val_rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return [row for row in csv.DictReader(handle) if row.get("val_loss")]


def _load(path: Path, spec: dict, split: data.Split) -> torch.nn.Module:
    state = torch.load(path, weights_only=True)["state_dict"]
    model = network(spec, split)
    model.load_state_dict({k.removeprefix("net."): v for k, v in state.items()})
    return model


def train(name: str, spec: dict, folder: Path) -> dict:
    L.seed_everything(spec.get("seed", 0), verbose=False)
    split = data.load(spec["data"])
    os.chdir(folder)
    batch = spec.get("batch", 32)
    module = Classifier(spec, split, batch)
    if spec.get("pretrain"):
        module.net.load_state_dict(_pretrained(spec, split))
        torch.manual_seed(spec.get("seed", 0))
    held = HeldOut(split)
    monitor = spec.get("checkpoint", "val_loss")  # None: Lightning's default, the newest epoch
    checkpoint = ModelCheckpoint(monitor=monitor, save_last=spec.get("save_last", False))
    callbacks: list[L.Callback] = [held, checkpoint]
    if spec.get("early_stopping"):
        callbacks.append(EarlyStopping(monitor="val_loss", patience=spec["early_stopping"]))
    trainer = L.Trainer(
        max_epochs=spec["epochs"],
        logger=CSVLogger("."),
        callbacks=callbacks,
        accelerator="cpu",
        devices=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=True,
        log_every_n_steps=spec.get("log_every_n_steps", 10),
    )
    parts = tensors(split)
    train_loader = DataLoader(
        TensorDataset(*parts["train"]),
        batch_size=batch,
        shuffle=True,
        generator=torch.Generator().manual_seed(spec.get("seed", 0)),
    )
    val_loader = DataLoader(TensorDataset(*parts["val"]), batch_size=256)
    trainer.fit(module, train_loader, val_loader)
    if spec.get("ship") == "final":
        trainer.save_checkpoint("final.ckpt")
    log_dir = Path("lightning_logs/version_0")
    rows = _val_rows(log_dir / "metrics.csv")
    shipped = {
        "checkpoint": Path(checkpoint.best_model_path),
        "last": Path(checkpoint.last_model_path),
        "final": Path("final.ckpt"),
    }.get(spec.get("ship", "checkpoint"))
    if shipped is not None and shipped.is_absolute():
        shipped = shipped.relative_to(Path.cwd())
    measured = label.Measured(
        log_epochs=[int(row["epoch"]) for row in rows],
        log_val=[float(row["val_loss"]) for row in rows],
        heldout_loss=held.heldout,
        train_loss=held.train,
        heldout_accuracy=held.accuracy,
    )

    def kept(model: torch.nn.Module) -> int:
        return label.kept_index(held.heldout, measure(model, split, *parts["held"])[0])

    measured.kept = kept(_load(shipped, spec, split) if shipped else module.net)
    # the version folder is a faithful folder form when its checkpoints hold the kept weights
    in_folder = {kept(_load(p, spec, split)) for p in log_dir.glob("checkpoints/*.ckpt")}
    folder_args = [str(log_dir)] if in_folder == {measured.kept} else None
    logs = [str(log_dir / "metrics.csv")]
    args = ([str(shipped)] if shipped else []) + logs + spec.get("flags", [])
    notes = spec.get("notes", "")
    if spec.get("early_stopping"):
        notes += (
            f" EarlyStopping(monitor='val_loss', patience={spec['early_stopping']}) "
            f"ran {len(rows)} of {spec['epochs']} epochs; Lightning keeps the last weights."
        )
    params = sum(p.numel() for p in module.net.parameters())
    notes += f" {params:,} parameters, {len(split.y_train):,} training samples."
    return label.build(
        name=name,
        framework="lightning",
        writer="lightning CSVLogger + "
        + ("ModelCheckpoint(monitor='val_loss')" if monitor else "default ModelCheckpoint")
        + (" + EarlyStopping" if spec.get("early_stopping") else ""),
        description=spec["description"],
        measured=measured,
        args=args,
        logged_val={
            "file": logs[0],
            "reader": "csv",
            "epoch": "epoch",
            "key": "val_loss",
        },
        folder_args=folder_args,
        notes=notes.strip(),
    )
