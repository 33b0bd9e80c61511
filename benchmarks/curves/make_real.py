"""Train small PyTorch models into and out of overfitting and write their logs.

    python -m benchmarks.curves.make_real      (CPU, about 3 minutes)

Each run trains an MLP on a synthetic task and writes a Keras-CSVLogger-style log
(``epoch, accuracy, loss, learning_rate, val_accuracy, val_loss``; regression runs
have no accuracy) with the validation loss measured on a *small* validation set,
as real projects do, so the logged curve is noisy. The label comes from the same
model evaluated every epoch on a large held-out set (20,000 samples): that curve is
nearly noise-free and says whether the run really overfitted.

Label: ``overfit`` when the held-out loss ends >= 10% above its minimum, the minimum
lies >= 5 epochs before the end and the training loss fell after it;
``healthy`` when it ends <= 2% above its minimum; ``borderline`` otherwise (kept
in the folder, left out of precision and recall). ``labels.json`` records the
label, the held-out curve, its best epoch and the run's configuration.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent / "real"
FEATURES, CLASSES, HELDOUT = 20, 4, 20000


def task(kind: str, train_size: int, val_size: int, label_noise: float, seed: int):
    rng = np.random.default_rng(seed)
    total = train_size + val_size + HELDOUT
    x = rng.standard_normal((total, FEATURES)).astype(np.float32)
    w1 = rng.standard_normal((FEATURES, 16))
    w2 = rng.standard_normal((16, CLASSES if kind == "classify" else 1))
    hidden = np.tanh(x @ w1) @ w2
    if kind == "classify":
        y = np.argmax(hidden, axis=1)
        noisy = rng.random(train_size) < label_noise
        y[:train_size][noisy] = rng.integers(0, CLASSES, int(noisy.sum()))
        target = torch.from_numpy(y.astype(np.int64))
    else:
        y = hidden[:, 0] / hidden[:, 0].std()
        y[:train_size] += label_noise * 2 * rng.standard_normal(train_size)
        target = torch.from_numpy(y.astype(np.float32))
    x = torch.from_numpy(x)
    cut = (train_size, train_size + val_size)
    return (
        (x[: cut[0]], target[: cut[0]]),
        (x[cut[0] : cut[1]], target[cut[0] : cut[1]]),
        (x[cut[1] :], target[cut[1] :]),
    )


def measure(model, data, kind):
    model.eval()
    with torch.no_grad():
        out = model(data[0])
        if kind == "classify":
            loss = nn.functional.cross_entropy(out, data[1]).item()
            acc = (out.argmax(1) == data[1]).float().mean().item()
        else:
            loss = nn.functional.mse_loss(out[:, 0], data[1]).item()
            acc = None
    return loss, acc


def run(config: dict) -> tuple[list[dict], list[float]]:
    torch.manual_seed(config["seed"])
    kind = config["kind"]
    train, val, held = task(
        kind, config["train_size"], config["val_size"], config["label_noise"], config["seed"]
    )
    width, dropout = config["width"], config["dropout"]
    layers: list[nn.Module] = [nn.Linear(FEATURES, width), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(width, width), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(width, CLASSES if kind == "classify" else 1))
    model = nn.Sequential(*layers)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"]
    )
    epochs, warmup, drop_at = config["epochs"], config["warmup"], config["drop_at"]

    def lr_factor(epoch: int) -> float:
        factor = min(1.0, (epoch + 1) / warmup) if warmup else 1.0
        return factor * (0.1 if drop_at and epoch >= drop_at else 1.0)

    generator = torch.Generator().manual_seed(config["seed"])
    rows, truth = [], []
    size = len(train[0])
    for epoch in range(epochs):
        for group in optimizer.param_groups:
            group["lr"] = config["lr"] * lr_factor(epoch)
        model.train()
        order = torch.randperm(size, generator=generator)
        losses = []
        for start in range(0, size, config["batch"]):
            batch = order[start : start + config["batch"]]
            optimizer.zero_grad()
            out = model(train[0][batch])
            if kind == "classify":
                loss = nn.functional.cross_entropy(out, train[1][batch])
            else:
                loss = nn.functional.mse_loss(out[:, 0], train[1][batch])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        train_loss, train_acc = measure(model, train, kind)
        val_loss, val_acc = measure(model, val, kind)
        held_loss, _ = measure(model, held, kind)
        row = {"epoch": epoch, "loss": train_loss, "learning_rate": config["lr"] * lr_factor(epoch)}
        row["val_loss"] = val_loss
        if kind == "classify":
            row["accuracy"], row["val_accuracy"] = train_acc, val_acc
        rows.append(row)
        truth.append(held_loss)
    return rows, truth


def label(truth: list[float], train: list[float]) -> tuple[str, int, float]:
    t = np.asarray(truth)
    best = int(np.argmin(t))
    rise = 100.0 * (t[-1] - t[best]) / t[best]
    train_fell = train[-1] < train[best]
    if rise >= 10 and best <= len(t) - 6 and train_fell:
        return "overfit", best, rise
    if rise <= 2:
        return "healthy", best, rise
    return "borderline", best, rise


def configs(count: int, seed: int = 7) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for index in range(count):
        kind = "classify" if index % 4 != 3 else "regress"
        big = rng.random() < 0.55
        out.append(
            {
                "name": f"run{index:02d}",
                "seed": int(rng.integers(1_000_000)),
                "kind": kind,
                "train_size": int(rng.choice([300, 600, 1500, 3000])),
                "val_size": int(rng.choice([150, 300, 1000])),
                "label_noise": float(rng.choice([0.0, 0.2, 0.35])),
                "width": int(rng.choice([128, 256]) if big else rng.choice([8, 16, 32])),
                "dropout": float(0.0 if big and rng.random() < 0.8 else rng.choice([0.0, 0.3])),
                "weight_decay": float(0.0 if big else rng.choice([0.01, 0.1])),
                "lr": float(rng.choice([1e-3, 3e-3])),
                "epochs": int(rng.choice([15, 40, 80, 120])),
                "batch": 64,
                "warmup": int(rng.choice([0, 0, 5])),
                "drop_at": 0,
            }
        )
        if rng.random() < 0.25:
            out[-1]["drop_at"] = int(out[-1]["epochs"] * 0.6)
    return out


def write_log(rows: list[dict], path: Path) -> None:
    names = ["epoch", *sorted(k for k in rows[0] if k != "epoch")]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow(
                [
                    row["epoch"],
                    *(f"{row[n]:.6g}" if not math.isnan(row[n]) else "nan" for n in names[1:]),
                ]
            )


def main(count: int = 48) -> None:
    torch.set_num_threads(1)
    HERE.mkdir(parents=True, exist_ok=True)
    labels = {}
    for config in configs(count):
        rows, truth = run(config)
        name = config["name"]
        write_log(rows, HERE / f"{name}.csv")
        verdict, best, rise = label(truth, [r["loss"] for r in rows])
        labels[name] = {
            "label": verdict,
            "true_best_epoch": best,
            "true_rise_pct": round(rise, 2),
            "heldout_loss": [round(v, 6) for v in truth],
            "config": config,
        }
        print(f"{name}: {verdict:10s} best {best:3d} rise {rise:6.1f}%  {config}", flush=True)
    (HERE / "labels.json").write_text(json.dumps(labels, indent=1) + "\n")


if __name__ == "__main__":
    main()
