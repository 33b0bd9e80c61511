"""Train the two example models for real and write their ONNX graphs and CSV logs.

    pip install -c constraints.txt -e ".[torch]" && python examples/make_examples.py

Both models learn the same task: 4-class classification of 20 features labelled
by a random two-layer "teacher" network, with 25% of the training labels
replaced by random ones. 2,000 training and 1,000 validation samples.

- overfit/: a 72k-parameter MLP without dropout, trained with Adam and no weight
  decay for 80 epochs. It memorises the noisy labels and its validation loss
  climbs after the first few epochs.
- healthy/: an 804-parameter MLP with dropout, trained with AdamW (weight decay
  0.01) and stopped early (patience 5) on validation loss.

The logs follow Keras' CSVLogger layout (epoch, then the metrics in sorted
order). The graphs are written with onnx.helper from the trained weights so that
Dropout nodes are kept as they were in training (torch.onnx.export in inference
mode removes them, and overfitlint then rightly reports dropout as unknown).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

HERE = Path(__file__).resolve().parent
FEATURES, CLASSES = 20, 4
TRAIN, VAL = 2000, 1000
LABEL_NOISE = 0.25
BATCH = 64


def make_data(seed: int = 0) -> tuple[torch.Tensor, ...]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((TRAIN + VAL, FEATURES)).astype(np.float32)
    w1 = rng.standard_normal((FEATURES, 16))
    w2 = rng.standard_normal((16, CLASSES))
    y = np.argmax(np.tanh(x @ w1) @ w2, axis=1)
    noisy = rng.random(TRAIN) < LABEL_NOISE
    y[:TRAIN][noisy] = rng.integers(0, CLASSES, noisy.sum())
    x, y = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    return x[:TRAIN], y[:TRAIN], x[TRAIN:], y[TRAIN:]


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y).item()
        accuracy = (logits.argmax(1) == y).float().mean().item()
    return loss, accuracy


def train(model, optimizer, data, epochs: int, patience: int | None) -> list[dict[str, float]]:
    x_train, y_train, x_val, y_val = data
    generator = torch.Generator().manual_seed(1)
    history, best, waited = [], float("inf"), 0
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(TRAIN, generator=generator)
        for start in range(0, TRAIN, BATCH):
            batch = order[start : start + BATCH]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
        loss, accuracy = evaluate(model, x_train, y_train)
        val_loss, val_accuracy = evaluate(model, x_val, y_val)
        history.append(
            {
                "epoch": epoch,
                "accuracy": accuracy,
                "loss": loss,
                "val_accuracy": val_accuracy,
                "val_loss": val_loss,
            }
        )
        print(f"epoch {epoch:3d} loss {loss:.4f} val_loss {val_loss:.4f}")
        if patience is not None:
            best, waited = (val_loss, 0) if val_loss < best else (best, waited + 1)
            if waited >= patience:
                break
    return history


def write_log(history: list[dict[str, float]], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(
            handle,
            fieldnames=["epoch", "accuracy", "loss", "val_accuracy", "val_loss"],
            lineterminator="\n",
        )
        writer.writeheader()
        for row in history:
            writer.writerow({k: (v if k == "epoch" else f"{v:.6f}") for k, v in row.items()})


def write_onnx(model: nn.Sequential, path: Path, name: str) -> None:
    """The trained MLP as an ONNX graph: Gemm/Relu/Dropout nodes, weights as initializers."""
    nodes, initializers, current = [], [], "input"
    for index, module in enumerate(model):
        out = f"h{index}"
        if isinstance(module, nn.Linear):
            w, b = f"fc{index}.weight", f"fc{index}.bias"
            initializers += [
                numpy_helper.from_array(module.weight.detach().numpy(), w),
                numpy_helper.from_array(module.bias.detach().numpy(), b),
            ]
            nodes.append(
                helper.make_node("Gemm", [current, w, b], [out], name=f"fc{index}", transB=1)
            )
        elif isinstance(module, nn.ReLU):
            nodes.append(helper.make_node("Relu", [current], [out], name=f"relu{index}"))
        elif isinstance(module, nn.Dropout):
            ratio = f"dropout{index}.ratio"
            initializers.append(numpy_helper.from_array(np.array(module.p, np.float32), ratio))
            nodes.append(
                helper.make_node("Dropout", [current, ratio], [out], name=f"dropout{index}")
            )
        current = out
    nodes[-1].output[0] = "logits"
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", FEATURES])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", CLASSES])],
        initializers,
    )
    proto = helper.make_model(
        graph,
        producer_name="overfitlint-examples",
        producer_version="1",
        opset_imports=[helper.make_opsetid("", 17)],
    )
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def write_data(data: tuple[torch.Tensor, ...], path: Path, n: int = 500) -> None:
    """A small sample of the data for the probe (--data): the first n of each split."""
    x_train, y_train, x_val, y_val = (t[:n].numpy() for t in data)
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val)


def main() -> None:
    torch.manual_seed(0)
    data = make_data()
    write_data(data, HERE / "overfit" / "data.npz")
    overfit = nn.Sequential(
        nn.Linear(FEATURES, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, CLASSES)
    )
    history = train(overfit, torch.optim.Adam(overfit.parameters(), lr=3e-4), data, 80, None)
    write_log(history, HERE / "overfit" / "logs.csv")
    write_onnx(overfit, HERE / "overfit" / "model.onnx", "overfit_mlp")

    torch.manual_seed(0)
    healthy = nn.Sequential(
        nn.Linear(FEATURES, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, CLASSES)
    )
    optimizer = torch.optim.AdamW(healthy.parameters(), lr=3e-3, weight_decay=0.01)
    history = train(healthy, optimizer, data, 80, patience=5)
    write_log(history, HERE / "healthy" / "logs.csv")
    write_onnx(healthy, HERE / "healthy" / "model.onnx", "healthy_mlp")


if __name__ == "__main__":
    main()
