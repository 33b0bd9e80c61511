"""Plain PyTorch training loops, with the logs and checkpoints such loops usually write.

Logs: CSV, a JSON dict of lists (flat or nested by split), a JSON list of per-epoch
dicts, JSON lines. Checkpoints: ``best.pt`` saved whenever the validation loss reaches
a new minimum (``{'epoch', 'model_state_dict', 'optimizer_state_dict', 'val_loss'}``),
``last.pt`` at the end, a bare ``state_dict`` and an ONNX export.
"""

from __future__ import annotations

import csv
import json
import os
import warnings
from pathlib import Path

import torch

from benchmarks.verdict import data, label
from benchmarks.verdict.torch_common import augment, loss_fn, measure, network, optimizer, tensors

DEFAULT_NAMES = {"train_loss": "train_loss", "val_loss": "val_loss", "train_acc": "train_acc"}
DEFAULT_NAMES["val_acc"] = "val_acc"


def _write_log(kind: str, path: str, rows: list[dict], nested: bool) -> None:
    if kind == "csv":
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    elif kind == "json-lists" and nested:
        history: dict[str, dict[str, list]] = {}
        for row in rows:
            for key, value in row.items():
                if key != "epoch":
                    side, metric = key.split("_", 1)
                    history.setdefault(side, {}).setdefault(metric, []).append(value)
        Path(path).write_text(json.dumps(history, indent=2))
    elif kind == "json-lists":
        history = {key: [row[key] for row in rows] for key in rows[0]}
        Path(path).write_text(json.dumps(history, indent=2))
    elif kind == "json-records":
        Path(path).write_text(json.dumps(rows, indent=2))
    else:
        Path(path).write_text("".join(json.dumps(row) + "\n" for row in rows))


def _export_onnx(model: torch.nn.Module, features: int, path: str) -> None:
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.zeros(1, features),),
            path,
            dynamo=False,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}},
        )


def _file_loss(path: str, spec: dict, split: data.Split, held: tuple) -> float:
    """The held-out loss of the weights in a shipped file, loaded back from disk."""
    if path.endswith(".onnx"):
        import onnxruntime

        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        out = torch.from_numpy(session.run(None, {"input": held[0].numpy()})[0])
        return loss_fn(split, out, held[1]).item()
    state = torch.load(path, weights_only=True)
    model = network(spec, split)
    model.load_state_dict(state.get("model_state_dict", state))
    return measure(model, split, *held)[0]


def train(name: str, spec: dict, folder: Path) -> dict:
    torch.manual_seed(spec.get("seed", 0))
    split = data.load(spec["data"])
    parts = tensors(split)
    os.chdir(folder)
    model = network(spec, split)
    opt = optimizer(spec, model.parameters())
    generator = torch.Generator().manual_seed(spec.get("seed", 0))
    names = {**DEFAULT_NAMES, **spec.get("names", {})}
    first = spec.get("first_epoch", 0)
    patience = spec.get("patience")
    rows, heldout, held_acc, train_eval = [], [], [], []
    best, since_best = float("inf"), 0
    x_train, y_train = parts["train"]
    for epoch in range(first, first + spec["epochs"]):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        total, count = 0.0, 0
        for start in range(0, len(order), spec.get("batch", 32)):
            batch = order[start : start + spec.get("batch", 32)]
            opt.zero_grad()
            loss = loss_fn(split, model(augment(spec, x_train[batch], generator)), y_train[batch])
            loss.backward()
            opt.step()
            total, count = total + loss.item() * len(batch), count + len(batch)
        val_loss, val_acc = measure(model, split, *parts["val"])
        row = {"epoch": epoch, names["train_loss"]: total / count, names["val_loss"]: val_loss}
        if split.classes:
            row[names["train_acc"]] = measure(model, split, *parts["train"])[1]
            row[names["val_acc"]] = val_acc
        rows.append(row)
        held_loss, accuracy = measure(model, split, *parts["held"])
        heldout.append(held_loss)
        held_acc.append(accuracy)
        train_eval.append(measure(model, split, *parts["train"])[0])
        if val_loss < best:
            best, since_best = val_loss, 0
            if "best.pt" in spec.get("save", ()):
                torch.save(
                    {
                        "epoch": epoch,
                        "model_state_dict": model.state_dict(),
                        "optimizer_state_dict": opt.state_dict(),
                        "val_loss": val_loss,
                    },
                    "best.pt",
                )
        else:
            since_best += 1
        if patience and since_best >= patience:
            break
    log = spec["log"]
    _write_log(log["kind"], log["file"], rows, log.get("nested", False))
    saved = spec.get("save", ())
    if "last.pt" in saved:
        torch.save(
            {
                "epoch": rows[-1]["epoch"],
                "model_state_dict": model.state_dict(),
                "optimizer_state_dict": opt.state_dict(),
            },
            "last.pt",
        )
    if "model.pt" in saved:
        torch.save(model.state_dict(), "model.pt")
    if "model.onnx" in saved:
        _export_onnx(model, split.features, "model.onnx")
    shipped = spec.get("ship")
    measured = label.Measured(
        log_epochs=[row["epoch"] for row in rows],
        log_val=[row[names["val_loss"]] for row in rows],
        heldout_loss=heldout,
        train_loss=train_eval,
        heldout_accuracy=held_acc if split.classes else None,
    )
    file_loss = (
        _file_loss(shipped, spec, split, parts["held"])
        if shipped
        else measure(model, split, *parts["held"])[0]
    )
    measured.kept = label.kept_index(heldout, file_loss)
    args = ([shipped] if shipped else []) + [log["file"]]
    if shipped and spec.get("samples_flag", True):
        args += ["--samples", str(len(split.y_train))]
    args += spec.get("flags", [])
    key = names["val_loss"]
    if log.get("nested"):
        key = "val/" + key.split("_", 1)[1]
    logged_val = {"file": log["file"], "reader": log["kind"], "epoch": "epoch", "key": key}
    if log.get("nested"):
        logged_val.pop("epoch")
    params = sum(p.numel() for p in model.parameters())
    notes = spec.get("notes", "")
    notes += f" {params:,} parameters, {len(split.y_train):,} training samples."
    if patience:
        notes += f" Hand-written early stopping with patience {patience}."
    return label.build(
        name=name,
        framework="torch",
        writer=spec["writer"],
        description=spec["description"],
        measured=measured,
        args=args,
        logged_val=logged_val,
        folder_args=label.single_model_folder(folder),
        notes=notes.strip(),
    )
