"""The probe's loops in torch: forward spread, memorisation, evaluation, brief fine-tuning.

Written the way a practitioner writes a fast loop on a GPU: the batches are moved
from pinned host memory with non-blocking copies, the forward pass runs under
autocast where the device supports it (bfloat16, or float16 with loss scaling),
and nothing inside the loop waits on the device: counters stay on the device and
are read (one host sync) only every ``check_every`` steps. Every host read goes
through :class:`HostReads`, so tests can count them.

Each function takes a :class:`~overfitlint.probe.device.DevicePlan`; on CPU the
same code runs without autocast or pinning (or with them, when a test asks).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from overfitlint.probe.budget import Deadline
from overfitlint.probe.device import DevicePlan

Progress = Callable[[float, str], None]
EVAL_WHEN_STALE = 3
"""Checks without loss progress after which the memorization loop also measures in eval mode."""


def _no_progress(fraction: float, text: str) -> None:
    pass


@dataclass
class HostReads:
    """Counts the device-to-host reads (each one is a sync on an accelerator)."""

    count: int = 0

    def item(self, tensor: torch.Tensor) -> float:
        self.count += 1
        return float(tensor.item())


@dataclass
class Mover:
    """Host arrays to device tensors: pinned and non-blocking on an accelerator."""

    plan: DevicePlan
    pin: Callable[[torch.Tensor], torch.Tensor] = field(default=lambda t: t.pin_memory())
    pinned: int = 0

    def __call__(self, array: np.ndarray | torch.Tensor) -> torch.Tensor:
        tensor = torch.as_tensor(array)
        if self.plan.pin_memory:
            tensor = self.pin(tensor)
            self.pinned += 1
        return tensor.to(self.plan.device, non_blocking=self.plan.non_blocking)


def autocast(plan: DevicePlan) -> AbstractContextManager:
    if plan.amp_dtype is None:
        return nullcontext()
    return torch.autocast(device_type=plan.device_type, dtype=getattr(torch, plan.amp_dtype))


def grad_scaler(plan: DevicePlan) -> torch.amp.GradScaler:
    return torch.amp.GradScaler(plan.device_type, enabled=plan.grad_scaler)


def first_tensor(output: Any) -> torch.Tensor:
    """Models may return a tensor, a tuple/list or a dict: the probe uses the first tensor."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, dict):
        output = list(output.values())
    for item in output:
        if isinstance(item, torch.Tensor):
            return item
    raise TypeError(f"the model returned {type(output).__name__} without a tensor")


def set_mode(model: nn.Module, training: bool) -> str:
    """Put the model in training/eval mode; programs that cannot switch keep their export mode."""
    try:
        model.train(training)
    except (NotImplementedError, RuntimeError):
        return "as exported"
    return "train" if training else "eval"


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


# --- output interpretation and losses -------------------------------------------------------


def output_kind(output: torch.Tensor) -> str:
    """'probs' when every row is a probability vector (a softmax/sigmoid head), else 'logits'."""
    out = output.detach().float()
    if out.numel() == 0 or out.min() < 0 or out.max() > 1:
        return "logits"
    if out.dim() >= 2 and out.shape[-1] > 1:
        return "probs" if torch.allclose(out.sum(-1), torch.ones(()), atol=1e-3) else "logits"
    return "probs"


def loss_fn(task: str, head: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The training loss for ``task`` (classes|binary|regression) and head (logits|probs)."""
    if task == "classes":
        if head == "probs":
            return lambda out, y: F.nll_loss(torch.log(out.float().clamp_min(1e-7)), y)
        return lambda out, y: F.cross_entropy(out.float(), y)
    if task == "binary":
        if head == "probs":
            return lambda out, y: F.binary_cross_entropy(
                out.float().reshape(-1).clamp(1e-7, 1 - 1e-7), y
            )
        return lambda out, y: F.binary_cross_entropy_with_logits(out.float().reshape(-1), y)
    return lambda out, y: F.mse_loss(out.float().reshape(y.shape), y)


def correct_count(task: str, head: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Correct predictions in a batch, as a device tensor (no host read)."""
    if task == "classes":
        return (out.argmax(-1) == y).sum()
    if task == "binary":
        threshold = 0.5 if head == "probs" else 0.0
        return ((out.reshape(-1) > threshold).float() == y).sum()
    return torch.zeros((), device=out.device)


# --- re-initialisation ----------------------------------------------------------------------


@torch.no_grad()
def reinitialise(model: nn.Module, seed: int) -> int:
    """Fresh weights, as the framework's defaults would draw them; returns the parameter count.

    Matrices and kernels: Kaiming-uniform (PyTorch's default for Linear/Conv); 1-D
    scales: ones; biases and other vectors: zeros; running statistics: reset.
    Works on any module (TorchScript, fx graphs) because it only touches tensors.
    """
    generator = torch.Generator().manual_seed(seed)
    count = 0
    for name, param in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if param.dim() >= 2:
            fan_in = param[0].numel()
            bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
            fresh = (torch.rand(param.shape, generator=generator) * 2 - 1) * bound
            param.copy_(fresh.to(param.dtype))
        elif leaf in ("weight", "gamma", "scale"):
            param.fill_(1.0)
        else:
            param.zero_()
        count += param.numel() if param.requires_grad else 0
    for name, buffer in model.named_buffers():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "running_mean":
            buffer.zero_()
        elif leaf == "running_var":
            buffer.fill_(1.0)
        elif leaf == "num_batches_tracked":
            buffer.zero_()
    return count


def trainable_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# --- probe 1: stochasticity -----------------------------------------------------------------


@torch.no_grad()
def output_spread(
    model: nn.Module, x: torch.Tensor, repeats: int, *, training: bool = True
) -> tuple[float, float, str]:
    """The largest relative difference between ``repeats`` forward passes of the same batch."""
    mode = set_mode(model, training)
    outputs = [first_tensor(model(x)).float() for _ in range(repeats)]
    reference = outputs[0]
    scale = reference.norm().item() or 1.0
    relative = max((o - reference).norm().item() / scale for o in outputs[1:])
    absolute = max((o - reference).abs().max().item() for o in outputs[1:])
    return relative, absolute, mode


def stochasticity(
    model: nn.Module, x: np.ndarray, *, plan: DevicePlan, repeats: int, seed: int
) -> dict[str, Any]:
    seed_everything(seed)
    model.to(plan.device)
    batch = Mover(plan)(x)
    relative, absolute, mode = output_spread(model, batch, repeats, training=True)
    eval_relative, _, _ = output_spread(model, batch, 2, training=False)
    return {
        "repeats": repeats,
        "batch": len(x),
        "output_spread": relative,
        "output_spread_abs": absolute,
        "eval_spread": eval_relative,
        "mode": mode,
    }


# --- probe 2: memorisation ------------------------------------------------------------------


@dataclass
class TrainStats:
    steps: int = 0
    epochs: int = 0
    seconds: float = 0.0
    samples: int = 0
    stopped: str = ""
    running_fraction: float = 0.0
    loss: float = float("nan")
    host_syncs: int = 0

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0


def memorize(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    task: str,
    head: str,
    plan: DevicePlan,
    deadline: Deadline | None,
    batch: int = 128,
    lr: float = 1e-3,
    stop_fraction: float = 0.99,
    max_steps: int | None = None,
    check_every: int = 20,
    plateau_checks: int = 15,
    seed: int = 0,
    progress: Progress = _no_progress,
    mover: Mover | None = None,
) -> TrainStats:
    """Train ``model`` on (x, y) until it fits ``stop_fraction`` of them, plateaus or time is up.

    The fraction fitted is counted from the training batches themselves (no extra
    forward pass) and read from the device every ``check_every`` steps.
    """
    seed_everything(seed)
    mover = mover or Mover(plan)
    model.to(plan.device)
    set_mode(model, True)
    xs, ys = mover(x), mover(y)
    n = len(x)
    batch = min(batch, n)
    steps_per_epoch = math.ceil(n / batch)
    check_every = max(check_every, steps_per_epoch)
    check_every -= check_every % steps_per_epoch  # checks fall on epoch ends
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scaler = grad_scaler(plan)
    criterion = loss_fn(task, head)
    generator = torch.Generator(device=plan.device).manual_seed(seed)
    reads = HostReads()
    stats = TrainStats()
    correct = torch.zeros((), device=plan.device)
    loss_sum = torch.zeros((), device=plan.device)
    seen = 0
    best_loss, stale = math.inf, 0
    started = time.perf_counter()
    while not stats.stopped:
        order = torch.randperm(n, device=plan.device, generator=generator)
        out_of_time = False
        # count what the batches get right only in an epoch that ends at a check: the fraction
        # read then is the latest epoch's, and the other epochs run the bare training step
        counting = (stats.steps + steps_per_epoch) % check_every == 0
        for start in range(0, n, batch):
            index = order[start : start + batch]
            xb, yb = xs[index], ys[index]
            with autocast(plan):
                out = first_tensor(model(xb))
                loss = criterion(out, yb)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if counting:
                correct += correct_count(task, head, out.detach(), yb)
                loss_sum += loss.detach() * len(index)
                seen += len(index)
            stats.samples += len(index)
            stats.steps += 1
            if deadline is not None and deadline.passed():  # a host clock read: no sync
                out_of_time = True
                break
        stats.epochs += 1
        at_limit = max_steps is not None and stats.steps >= max_steps
        if stats.steps % check_every and not (out_of_time or at_limit):
            continue
        # two host reads per check: the fraction fitted and the mean loss of the last epoch
        counted = seen > 0
        if counted:
            stats.running_fraction = reads.item(correct) / seen
            stats.loss = reads.item(loss_sum) / seen
            correct.zero_()
            loss_sum.zero_()
            seen = 0
        else:  # stopped inside an epoch that was not counted
            stats.running_fraction = _fitted(model, xs, ys, task, head, plan, batch, reads)
            set_mode(model, True)
        if counted and stats.loss < best_loss * 0.99:
            best_loss, stale = stats.loss, 0
        elif counted:
            stale += 1
        fitted = stats.running_fraction
        if fitted < stop_fraction and stale >= EVAL_WHEN_STALE:
            # the training loss has stalled: dropout or noise may hide a fit that eval mode shows
            fitted = max(fitted, _fitted(model, xs, ys, task, head, plan, batch, reads))
            set_mode(model, True)
        progress(fitted, f"{100 * fitted:.0f}% of {n} random labels fitted")
        if fitted >= stop_fraction:
            stats.stopped = "fitted"
        elif counted and not math.isfinite(stats.loss):
            stats.stopped = "diverged"
        elif stale >= plateau_checks:
            stats.stopped = "plateau"
        elif at_limit:
            stats.stopped = "max_steps"
        elif out_of_time:
            stats.stopped = "budget"
    stats.seconds = time.perf_counter() - started
    stats.host_syncs = reads.count
    return stats


@torch.no_grad()
def _fitted(model, xs, ys, task, head, plan, batch, reads: HostReads) -> float:
    """The fraction of (xs, ys) the model gets right in eval mode (one host read)."""
    set_mode(model, False)
    correct = torch.zeros((), device=plan.device)
    for start in range(0, len(xs), batch):
        with autocast(plan):
            out = first_tensor(model(xs[start : start + batch]))
        correct += correct_count(task, head, out, ys[start : start + batch])
    return reads.item(correct) / len(xs)


# --- evaluation and fine-tuning -------------------------------------------------------------


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    task: str,
    head: str,
    plan: DevicePlan,
    batch: int = 512,
    mover: Mover | None = None,
) -> dict[str, float]:
    """Mean loss (and accuracy for classification) in eval mode; one host read at the end."""
    mover = mover or Mover(plan)
    set_mode(model, False)
    criterion = loss_fn(task, head)
    xs, ys = mover(x), mover(y)  # one (pinned, non-blocking) copy; the probe's data is small
    loss_sum = torch.zeros((), device=plan.device)
    correct = torch.zeros((), device=plan.device)
    for start in range(0, len(x), batch):
        xb, yb = xs[start : start + batch], ys[start : start + batch]
        with autocast(plan):
            out = first_tensor(model(xb))
        loss_sum += criterion(out, yb).float() * len(xb)
        correct += correct_count(task, head, out, yb)
    result = {"loss": float(loss_sum.item()) / len(x)}
    if task in ("classes", "binary"):
        result["accuracy"] = float(correct.item()) / len(x)
    return result


def add_dropout(model: nn.Module, rate: float) -> int:
    """Dropout on the input of every Linear/Conv layer but the first (after each hidden layer).

    Returns how many layers got it; 0 when the model has no such modules (TorchScript
    graphs and exported programs cannot take hooks).
    """
    if isinstance(model, torch.jit.ScriptModule):
        return 0
    layers = [m for m in model.modules() if isinstance(m, nn.Linear | nn.modules.conv._ConvNd)]

    def hook(module: nn.Module, args: tuple) -> tuple:
        return (F.dropout(args[0], rate, module.training), *args[1:])

    for layer in layers[1:]:
        layer.register_forward_pre_hook(hook)
    return max(0, len(layers) - 1)


def finetune(
    model: nn.Module,
    data: dict[str, np.ndarray],
    *,
    task: str,
    head: str,
    plan: DevicePlan,
    steps: int,
    lr: float,
    weight_decay: float,
    seed: int,
    checkpoints: int = 5,
    batch: int = 64,
) -> list[dict[str, float]]:
    """``steps`` of AdamW from the given weights; train/val loss at ``checkpoints`` points."""
    seed_everything(seed)
    mover = Mover(plan)
    model.to(plan.device)
    xs, ys = mover(data["x_train"]), mover(data["y_train"])
    n = len(xs)
    batch = min(batch, n)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scaler = grad_scaler(plan)
    criterion = loss_fn(task, head)
    generator = torch.Generator(device=plan.device).manual_seed(seed)
    every = max(1, steps // checkpoints)
    trajectory = [_point(model, data, 0, task, head, plan, mover)]
    step = 0
    while step < steps:
        set_mode(model, True)
        order = torch.randperm(n, device=plan.device, generator=generator)
        for start in range(0, n, batch):
            index = order[start : start + batch]
            with autocast(plan):
                loss = criterion(first_tensor(model(xs[index])), ys[index])
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            step += 1
            if step % every == 0 or step == steps:
                trajectory.append(_point(model, data, step, task, head, plan, mover))
                set_mode(model, True)
            if step >= steps:
                break
    return trajectory


def _point(model, data, step, task, head, plan, mover) -> dict[str, float]:
    train = evaluate(
        model, data["x_train"], data["y_train"], task=task, head=head, plan=plan, mover=mover
    )
    val = evaluate(
        model, data["x_val"], data["y_val"], task=task, head=head, plan=plan, mover=mover
    )
    return {
        "step": step,
        "train_loss": train["loss"],
        "val_loss": val["loss"],
        "gap": val["loss"] - train["loss"],
    }
