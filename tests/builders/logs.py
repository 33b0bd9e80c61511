"""Training logs in the formats real tools write (byte-faithful to each tool's writer).

Where a tool is installed in the test environment (Keras, PyTorch's SummaryWriter,
TensorBoard) the tests also let the tool itself write the file; these builders
cover the tools that are not (Lightning, Hugging Face, fastai, Ultralytics,
pandas), following the code that writes each format.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path


def keras_csv(
    path: Path,
    loss: Sequence[float],
    val_loss: Sequence[float] | None,
    *,
    sep: str = ",",
    extra: dict[str, Sequence[float]] | None = None,
    newline: str = "\n",
    first_epoch: int = 0,
) -> Path:
    """A Keras CSVLogger file: ``epoch`` first, then the metrics in sorted order."""
    columns = {"loss": loss, **(extra or {})}
    if val_loss is not None:
        columns["val_loss"] = val_loss
    names = sorted(columns)
    rows = [sep.join(["epoch", *names])]
    for epoch in range(len(loss)):
        rows.append(
            sep.join([str(epoch + first_epoch), *(repr(float(columns[n][epoch])) for n in names)])
        )
    path.write_text(newline.join(rows) + newline, encoding="utf-8", newline="")
    return path


def overfit_curve(epochs: int = 30, best: int = 10) -> tuple[list[float], list[float]]:
    """A training loss that keeps falling and a validation loss rising after ``best``."""
    loss = [1.2 * 0.9**e for e in range(epochs)]
    val = [
        0.5 + 0.7 * 0.8**e if e <= best else 0.5 + 0.7 * 0.8**best + 0.02 * (e - best)
        for e in range(epochs)
    ]
    return loss, val


def lightning_metrics_csv(
    folder: Path,
    train_steps: Sequence[float],
    val_loss: Sequence[float],
    *,
    steps_per_epoch: int = 20,
    log_every: int = 10,
    hparams: str | None = "batch_size: 32\nlr: 0.001\nhidden: 128\n",
) -> Path:
    """Lightning's CSVLogger: ``version_0/metrics.csv`` (sorted header, CRLF, blanks).

    Per-step rows carry ``train_loss_step``; at each epoch end one row with
    ``val_loss`` and one with ``train_loss_epoch`` share the epoch's last step.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    per_epoch = steps_per_epoch // log_every
    for epoch, val in enumerate(val_loss):
        epoch_values = train_steps[epoch * per_epoch : (epoch + 1) * per_epoch]
        for index, value in enumerate(epoch_values):
            step = epoch * steps_per_epoch + (index + 1) * log_every - 1
            rows.append({"epoch": epoch, "step": step, "train_loss_step": value})
        last = (epoch + 1) * steps_per_epoch - 1
        rows.append({"epoch": epoch, "step": last, "val_loss": val})
        mean = sum(epoch_values) / max(1, len(epoch_values))
        rows.append({"epoch": epoch, "step": last, "train_loss_epoch": mean})
    keys = sorted({k for row in rows for k in row})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys)  # csv's default line ending: \r\n
    writer.writeheader()
    writer.writerows(rows)
    path = folder / "metrics.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    if hparams is not None:
        (folder / "hparams.yaml").write_text(hparams, encoding="utf-8")
    return path


def hf_trainer_state(
    path: Path,
    loss: Sequence[float],
    eval_loss: Sequence[float],
    *,
    steps_per_epoch: int = 100,
    batch_size: int = 16,
    logs_per_epoch: int = 2,
    final_evaluate: bool = True,
) -> Path:
    """transformers' TrainerState.save_to_json: json.dumps(indent=2, sort_keys=True) + "\\n"."""
    history: list[dict[str, object]] = []
    epochs = len(eval_loss)
    for epoch in range(epochs):
        for part in range(logs_per_epoch):
            step = epoch * steps_per_epoch + (part + 1) * steps_per_epoch // logs_per_epoch
            history.append(
                {
                    "epoch": round(step / steps_per_epoch, 2),
                    "grad_norm": 1.5,
                    "learning_rate": 5e-05 * (1 - step / (epochs * steps_per_epoch)),
                    "loss": loss[epoch * logs_per_epoch + part],
                    "step": step,
                }
            )
        step = (epoch + 1) * steps_per_epoch
        history.append(
            {
                "epoch": float(epoch + 1),
                "eval_accuracy": 0.8,
                "eval_loss": eval_loss[epoch],
                "eval_runtime": 1.25,
                "eval_samples_per_second": 800.0,
                "eval_steps_per_second": 25.0,
                "step": step,
            }
        )
    total = epochs * steps_per_epoch
    history.append(
        {
            "epoch": float(epochs),
            "step": total,
            "total_flos": 123456789.0,
            "train_loss": sum(loss) / len(loss),
            "train_runtime": 60.5,
            "train_samples_per_second": 120.0,
            "train_steps_per_second": 7.5,
        }
    )
    if final_evaluate:
        history.append(
            {
                "epoch": float(epochs),
                "eval_accuracy": 0.8,
                "eval_loss": min(eval_loss),
                "eval_runtime": 1.2,
                "eval_samples_per_second": 800.0,
                "eval_steps_per_second": 25.0,
                "step": total,
            }
        )
    state = {
        "best_global_step": None,
        "best_metric": None,
        "best_model_checkpoint": None,
        "epoch": float(epochs),
        "eval_steps": 500,
        "global_step": total,
        "is_hyper_param_search": False,
        "is_local_process_zero": True,
        "is_world_process_zero": True,
        "log_history": history,
        "logging_steps": steps_per_epoch // logs_per_epoch,
        "max_steps": total,
        "num_input_tokens_seen": 0,
        "num_train_epochs": epochs,
        "save_steps": 500,
        "stateful_callbacks": {
            "TrainerControl": {
                "args": {"should_epoch_stop": False, "should_evaluate": False},
                "attributes": {},
            }
        },
        "total_flos": 123456789.0,
        "train_batch_size": batch_size,
        "trial_name": None,
        "trial_params": None,
    }
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def keras_history_json(path: Path, history: dict[str, Sequence[float]]) -> Path:
    """``json.dump(model.fit(...).history, f)``: one line, keys in insertion order."""
    path.write_text(json.dumps({k: list(map(float, v)) for k, v in history.items()}))
    return path


def pandas_history_csv(path: Path, history: dict[str, Sequence[float]]) -> Path:
    """``pd.DataFrame(history.history).to_csv(path)``: an unnamed index column first."""
    names = list(history)
    rows = ["," + ",".join(names)]
    for index in range(len(history[names[0]])):
        rows.append(",".join([str(index), *(repr(float(history[n][index])) for n in names)]))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def fastai_csv(path: Path, train: Sequence[float], valid: Sequence[float]) -> Path:
    """fastai's CSVLogger: epoch,train_loss,valid_loss,<metrics>,time (time as mm:ss)."""
    rows = ["epoch,train_loss,valid_loss,accuracy,time"]
    for epoch, (t, v) in enumerate(zip(train, valid, strict=True)):
        rows.append(f"{epoch},{t:.6f},{v:.6f},{0.9 - v / 10:.6f},00:0{epoch % 10}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


ULTRALYTICS_COLUMNS = (
    "epoch",
    "train/box_loss",
    "train/cls_loss",
    "train/dfl_loss",
    "metrics/precision(B)",
    "metrics/recall(B)",
    "metrics/mAP50(B)",
    "metrics/mAP50-95(B)",
    "val/box_loss",
    "val/cls_loss",
    "val/dfl_loss",
    "lr/pg0",
    "lr/pg1",
    "lr/pg2",
)


def ultralytics_results_csv(path: Path, train: Sequence[float], val: Sequence[float]) -> Path:
    """Ultralytics 8.0 results.csv: headers and values right-aligned to 20 characters,
    epochs from 1, each loss split into box/cls/dfl parts (here 0.5/0.3/0.2 of it)."""
    rows = [",".join(f"{name:>20s}" for name in ULTRALYTICS_COLUMNS)]
    for index, (t, v) in enumerate(zip(train, val, strict=True)):
        values = [
            index + 1,
            0.5 * t,
            0.3 * t,
            0.2 * t,
            0.6,
            0.5,
            0.55,
            0.35,
            0.5 * v,
            0.3 * v,
            0.2 * v,
            0.001,
            0.001,
            0.001,
        ]
        rows.append(
            ",".join(
                f"{value:>20}" if isinstance(value, int) else f"{value:>20.5g}" for value in values
            )
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def json_lines(path: Path, rows: Sequence[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def torch_summary_writer(folder: Path, loss: Sequence[float], val: Sequence[float]) -> Path:
    """PyTorch's SummaryWriter with add_scalar('Loss/train'|'Loss/val', value, epoch)."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(folder))
    for epoch, (t, v) in enumerate(zip(loss, val, strict=True)):
        writer.add_scalar("Loss/train", t, epoch)
        writer.add_scalar("Loss/val", v, epoch)
    writer.close()
    return folder
