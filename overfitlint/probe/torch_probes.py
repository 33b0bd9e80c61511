"""The torch implementation of the probe primitives (see tasks.Backend)."""

from __future__ import annotations

import importlib.util
import time
from typing import Any

import numpy as np
import torch

from overfitlint import formats
from overfitlint.errors import InputError
from overfitlint.probe import tasks, torch_loops
from overfitlint.probe.budget import Budget, Deadline
from overfitlint.probe.device import DevicePlan, choose_device, detect_torch_caps
from overfitlint.probe.protocol import Emitter
from overfitlint.probe.torch_backend import LoadedModel, Unconvertible, load

SMALL_MODEL = 1_000_000
"""Trainable parameters below which the CPU probe runs single-threaded."""


class FixedBatch(torch.nn.Module):
    """Runs a program exported with a fixed batch size on any batch: zero-pad, split, join."""

    def __init__(self, inner: torch.nn.Module, size: int):
        super().__init__()
        self.inner = inner
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        pad = (-n) % self.size
        if pad:
            x = torch.cat([x, x.new_zeros((pad, *x.shape[1:]))])
        parts = [torch_loops.first_tensor(self.inner(chunk)) for chunk in x.split(self.size)]
        return torch.cat(parts)[:n]

    def train(self, mode: bool = True):  # exported programs keep their mode
        self.training = mode
        return self


class TorchBackend:
    def __init__(self, loaded: LoadedModel, plan: DevicePlan):
        self.loaded = loaded
        self.plan = plan
        self.sample_shape = loaded.sample_shape
        self.can_add_dropout = loaded.can_add_dropout
        self.notes = list(loaded.notes)
        self._given = self.fresh()

    def fresh(self) -> torch.nn.Module:
        model = self.loaded.build()
        if self.loaded.fixed_batch:
            model = FixedBatch(model, self.loaded.fixed_batch)
        return model.to(self.plan.device)

    def head(self, x: np.ndarray) -> tuple[int, str]:
        model = self._given
        torch_loops.set_mode(model, False)
        with torch.no_grad():
            out = torch_loops.first_tensor(model(torch_loops.Mover(self.plan)(x)))
        outputs = int(out.shape[-1]) if out.dim() >= 2 else 1
        return outputs, torch_loops.output_kind(out)

    def stochasticity(self, x: np.ndarray, repeats: int, seed: int) -> dict[str, Any]:
        # a fresh copy: training-mode passes update BatchNorm statistics
        return torch_loops.stochasticity(
            self.fresh(), x, plan=self.plan, repeats=repeats, seed=seed
        )

    def _fresh_init(self, seed: int) -> tuple[torch.nn.Module, int]:
        model = self.fresh()
        count = torch_loops.reinitialise(model, seed)
        return model, count

    def step_seconds(self, x, y, task: str, head: str, seed: int) -> float:
        """Seconds per training step, after two warm-up steps (lazy allocation, autotuning)."""
        model, _ = self._fresh_init(seed)
        times = []
        for steps in (2, 3):
            stats = torch_loops.memorize(
                model, x, y, task=task, head=head, plan=self.plan, deadline=None,
                batch=len(x), max_steps=steps, check_every=1, seed=seed,
            )  # fmt: skip
            times.append(stats.seconds / max(stats.steps, 1))
        return times[-1]

    def memorize(self, x, y, task, head, deadline: Deadline, params, seed, progress):
        model, count = self._fresh_init(seed)
        if count == 0:
            raise tasks.Unavailable("the model has no trainable parameters in torch")
        stats = torch_loops.memorize(
            model,
            x,
            y,
            task=task,
            head=head,
            plan=self.plan,
            deadline=deadline,
            batch=int(params.get("batch", 128)),
            lr=float(params.get("lr", 1e-3)),
            stop_fraction=float(params.get("stop_fraction", 0.99)),
            max_steps=params.get("max_steps"),
            seed=seed,
            progress=progress,
        )
        final = torch_loops.evaluate(model, x, y, task=task, head=head, plan=self.plan)
        return {
            "trainable_params": count,
            "memorized_fraction": final.get("accuracy", 0.0),
            "running_fraction": stats.running_fraction,
            "final_loss": final["loss"],
            "steps": stats.steps,
            "epochs": stats.epochs,
            "train_seconds": stats.seconds,
            "samples_per_s": stats.samples_per_s,
            "stopped": stats.stopped,
            "host_syncs": stats.host_syncs,
            "batch": min(int(params.get("batch", 128)), len(x)),
        }

    def evaluate(self, x, y, task, head) -> dict[str, float]:
        return torch_loops.evaluate(self._given, x, y, task=task, head=head, plan=self.plan)

    def finetune(self, data, task, head, *, steps, lr, weight_decay, dropout, seed):
        model = self.fresh()
        if dropout and not torch_loops.add_dropout(model, dropout):
            raise tasks.Unavailable("no Linear/Conv modules to put dropout in front of")
        return torch_loops.finetune(
            model,
            data,
            task=task,
            head=head,
            plan=self.plan,
            steps=steps,
            lr=lr,
            weight_decay=weight_decay,
            seed=seed,
        )


def run_tasks(request: dict[str, Any], loaded: LoadedModel, plan: DevicePlan, emit: Emitter):
    budget = Budget(max(0.0, request["deadline"] - time.time()))
    backend = TorchBackend(loaded, plan)
    if plan.device_type == "cpu" and torch_loops.trainable_count(backend.fresh()) < SMALL_MODEL:
        # A small model gains nothing from several threads, and on a shared machine their
        # spin-waiting can make every step many times slower.
        torch.set_num_threads(1)
    if plan.is_accelerator and plan.device_type == "cuda":
        torch.backends.cudnn.benchmark = True
    tasks.run_tasks(request, backend, emit, budget)


def run(request: dict[str, Any], emit: Emitter) -> None:
    """The torch backend's entry (``worker.py``): load the model, run the probes, report."""
    plan = choose_device(request["device"], detect_torch_caps())
    emit.start(backend="torch", framework=f"torch {torch.__version__}", plan=plan.to_dict())
    try:
        loaded = load(request)
    except InputError as exc:  # the static loader read the file; the probe cannot run it
        emit.unavailable_all(request, str(exc))
        return
    except Unconvertible as exc:
        reason = (
            f"onnx2torch cannot convert the ONNX operator {exc.op!r}, so the model cannot train"
        )
        if (
            request["format"] == formats.ONNX
            and importlib.util.find_spec("onnxruntime") is not None
        ):
            from overfitlint.probe import ort_backend

            ort_backend.run_fallback(request, emit, reason=reason)
            return
        emit.unavailable_all(request, reason)
        return
    run_tasks(request, loaded, plan, emit)
