"""The probes, independent of the framework: what to feed, in which order, for how long.

A backend (torch, Keras, onnxruntime) implements the few primitives in
:class:`Backend`; this module decides the inputs, the labels, the sample counts
and each probe's share of the budget, and reports measured numbers. Judging the
numbers (confirmed / refuted / inconclusive) is the parent's job (judge.py).
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np

from overfitlint.errors import InputError
from overfitlint.probe import data as probe_data
from overfitlint.probe.budget import Budget, Deadline, plan_shares
from overfitlint.probe.protocol import Emitter

# Expected epochs to memorise random labels; sizes the budget-bound sample cap.
EPOCHS_TO_MEMORIZE = 100
MIN_MEMORIZE_SAMPLES = 32


class Unavailable(Exception):
    """This probe cannot measure anything on this model/backend; the message says why."""


class Backend(Protocol):
    sample_shape: list[int] | None
    can_add_dropout: bool
    notes: list[str]

    def head(self, x: np.ndarray) -> tuple[int, str]: ...

    def stochasticity(self, x: np.ndarray, repeats: int, seed: int) -> dict[str, Any]: ...

    def step_seconds(
        self, x: np.ndarray, y: np.ndarray, task: str, head: str, seed: int
    ) -> float: ...

    def memorize(
        self,
        x: np.ndarray,
        y: np.ndarray,
        task: str,
        head: str,
        deadline: Deadline,
        params: dict[str, Any],
        seed: int,
        progress,
    ) -> dict[str, Any]: ...

    def evaluate(self, x: np.ndarray, y: np.ndarray, task: str, head: str) -> dict[str, float]: ...

    def finetune(
        self,
        data: dict[str, np.ndarray],
        task: str,
        head: str,
        *,
        steps: int,
        lr: float,
        weight_decay: float,
        dropout: float,
        seed: int,
    ) -> list[dict[str, float]]: ...


def run_tasks(request: dict[str, Any], backend: Backend, emit: Emitter, budget: Budget) -> None:
    seed = int(request.get("seed", 0))
    data = probe_data.load_data(request["data"]) if request.get("data") else None
    shape = _sample_shape(request, backend, data)
    if shape is None:
        emit.unavailable_all(
            request,
            "the model's input shape is unknown: pass --input-shape (one sample, e.g. 3,32,32) "
            "or --data FILE.npz",
        )
        return
    probe_x = _inputs(data, 8, shape, seed)
    try:
        outputs, head = backend.head(probe_x)
    except Exception as exc:
        emit.unavailable_all(
            request, f"the model does not run on inputs of shape [batch, {_dims(shape)}]: {exc}"
        )
        return
    context = {"shape": shape, "outputs": outputs, "head": head, "data": data, "seed": seed}
    tasks = {task["probe"]: task.get("params", {}) for task in request["tasks"]}
    order = [name for name in RUNNERS if name in tasks]
    for name, weight, pending in plan_shares(order):
        deadline = budget.share(weight, pending)
        emit.begin(name, deadline.seconds)
        started = time.perf_counter()
        try:
            metrics = RUNNERS[name](backend, context, tasks[name], deadline, emit)
        except Unavailable as exc:
            emit.result(name, reason=str(exc), seconds=time.perf_counter() - started)
            continue
        except InputError:
            raise
        except Exception as exc:
            emit.result(
                name,
                reason=f"the probe failed: {type(exc).__name__}: {exc}",
                seconds=time.perf_counter() - started,
            )
            continue
        emit.result(
            name,
            metrics=metrics,
            seconds=time.perf_counter() - started,
            budget_s=deadline.seconds,
        )


def _dims(shape: list[int]) -> str:
    return ", ".join(str(d) for d in shape)


def _sample_shape(request, backend: Backend, data) -> list[int] | None:
    known = backend.sample_shape or request.get("facts_shape")
    given = list(request["input_shape"]) if request.get("input_shape") else None
    if data is not None:
        if known and list(data.sample_shape) != list(known) and not given:
            raise InputError(
                f"{data.source}: samples are [{_dims(data.sample_shape)}] but the model takes "
                f"[{_dims(known)}]"
            )
        return list(data.sample_shape)
    return given or (list(known) if known else None)


def _inputs(data, n: int, shape: list[int], seed: int) -> np.ndarray:
    if data is not None:
        x = data.x_train[:n]
        return x.astype(np.float32) if np.issubdtype(x.dtype, np.floating) else x
    return probe_data.synthetic_inputs(n, shape, seed)


# --- the four probes ------------------------------------------------------------------------


def stochasticity(backend: Backend, ctx, params, deadline: Deadline, emit) -> dict[str, Any]:
    x = _inputs(ctx["data"], int(params.get("batch", 32)), ctx["shape"], ctx["seed"])
    return backend.stochasticity(x, int(params.get("repeats", 4)), ctx["seed"])


def memorization(backend: Backend, ctx, params, deadline: Deadline, emit) -> dict[str, Any]:
    seed, outputs = ctx["seed"], ctx["outputs"]
    wanted = int(params["samples"])
    batch = int(params.get("batch", 128))
    data = ctx["data"]
    if data is not None:
        wanted = min(wanted, len(data.x_train))
    x = _inputs(data, wanted, ctx["shape"], seed)
    task = "classes" if outputs > 1 else "binary"
    y = probe_data.random_labels(len(x), outputs, seed)
    if task == "binary":
        y = y.astype(np.float32)
    limit = "samples"
    step = backend.step_seconds(x[:batch], y[:batch], task, ctx["head"], seed)
    affordable = int(deadline.left() / max(step * EPOCHS_TO_MEMORIZE, 1e-9) * batch)
    n = len(x)
    if affordable < n:
        n = max(MIN_MEMORIZE_SAMPLES, affordable - affordable % min(batch, affordable or 1))
        limit = "budget"
    if n < MIN_MEMORIZE_SAMPLES or deadline.left() <= 0:
        raise Unavailable(
            f"the budget share ({deadline.seconds:.1f} s) is too small: one training step takes "
            f"{step:.3f} s"
        )
    x, y = x[:n], y[:n]

    def progress(fraction: float, text: str) -> None:
        emit.progress("memorization", fraction, text)

    metrics = backend.memorize(x, y, task, ctx["head"], deadline, params, seed, progress)
    classes = max(2, outputs)
    return {
        "samples": n,
        "requested_samples": int(params["samples"]),
        "samples_limited_by": limit,
        "classes": classes,
        "chance": 1.0 / classes,
        "inputs": "data" if data is not None else "synthetic",
        "step_seconds": step,
        **metrics,
    }


def _split(data, split: str, outputs: int, limit: int) -> tuple[np.ndarray, np.ndarray, str]:
    x = getattr(data, f"x_{split}")[:limit]
    y = getattr(data, f"y_{split}")[:limit]
    if np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    task, y = probe_data.targets(y, outputs)
    return x, y, task


def heldout(backend: Backend, ctx, params, deadline: Deadline, emit) -> dict[str, Any]:
    data = ctx["data"]
    if data is None:
        raise Unavailable("needs --data FILE.npz (x_train, y_train, x_val, y_val)")
    limit = int(params.get("max_samples", 4096))
    x_train, y_train, task = _split(data, "train", ctx["outputs"], limit)
    x_val, y_val, _ = _split(data, "val", ctx["outputs"], limit)
    train = backend.evaluate(x_train, y_train, task, ctx["head"])
    val = backend.evaluate(x_val, y_val, task, ctx["head"])
    metrics: dict[str, Any] = {
        "task": task,
        "train_samples": len(x_train),
        "val_samples": len(x_val),
        "train_loss": train["loss"],
        "val_loss": val["loss"],
        "loss_gap": val["loss"] - train["loss"],
        "loss_gap_pct": 100 * (val["loss"] - train["loss"]) / max(abs(train["loss"]), 1e-12),
    }
    if "accuracy" in train:
        metrics["train_accuracy"] = train["accuracy"]
        metrics["val_accuracy"] = val["accuracy"]
        metrics["accuracy_gap"] = train["accuracy"] - val["accuracy"]
    return metrics


def counterfactual(backend: Backend, ctx, params, deadline: Deadline, emit) -> dict[str, Any]:
    """Fine-tune from the given weights as configured (twice: the noise) and with each fix."""
    data = ctx["data"]
    if data is None:
        raise Unavailable("needs --data FILE.npz (x_train, y_train, x_val, y_val)")
    limit = int(params.get("max_samples", 2048))
    x_train, y_train, task = _split(data, "train", ctx["outputs"], limit)
    x_val, y_val, _ = _split(data, "val", ctx["outputs"], limit)
    arrays = {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val}
    fixes: dict[str, float] = dict(params.get("fixes", {}))
    unavailable: dict[str, str] = {}
    if "dropout" in fixes and not backend.can_add_dropout:
        unavailable["dropout"] = (
            "dropout cannot be added to this model format (the probe needs Linear/Conv/Dense "
            "modules to put it in front of)"
        )
        fixes.pop("dropout")
    lr = float(params.get("lr", 1e-3))
    base_wd = float(params.get("base_weight_decay", 0.0))
    head, seed = ctx["head"], ctx["seed"]

    def tune(steps: int, weight_decay: float, dropout: float, run_seed: int):
        return backend.finetune(
            arrays,
            task,
            head,
            steps=steps,
            lr=lr,
            weight_decay=weight_decay,
            dropout=dropout,
            seed=run_seed,
        )

    # Calibration: two short runs give the fixed cost of a run (copying the model, compiling,
    # evaluating) and the cost of one step.
    timings = []
    for calibration_steps in (2, 6):
        started = time.perf_counter()
        tune(calibration_steps, base_wd, 0.0, seed)
        timings.append(time.perf_counter() - started)
    per_step = max((timings[1] - timings[0]) / 4, 1e-6)
    fixed = max(timings[0] - 2 * per_step, 0.0)
    runs = 2 + len(fixes)
    affordable = int((deadline.left() * 0.9 / runs - fixed) / per_step)
    steps = min(int(params.get("max_steps", 300)), affordable)
    if steps < int(params.get("min_steps", 20)):
        raise Unavailable(
            f"the budget share ({deadline.seconds:.1f} s) affords {max(steps, 0)} fine-tuning "
            f"steps per run ({runs} runs, {fixed:.2f} s + {per_step:.4f} s per step each)"
        )
    emit.progress("counterfactual", 0.0, f"fine-tuning {runs} runs of {steps} steps")
    base = tune(steps, base_wd, 0.0, seed)
    emit.progress("counterfactual", 1 / runs, "repeat with another seed (noise)")
    repeat = tune(steps, base_wd, 0.0, seed + 1)
    noise = abs(base[-1]["gap"] - repeat[-1]["gap"])
    results: dict[str, Any] = {}
    for index, (fix, value) in enumerate(fixes.items()):
        emit.progress("counterfactual", (2 + index) / runs, f"with the fix: {fix}")
        wd = value if fix == "weight_decay" else base_wd
        rate = value if fix == "dropout" else 0.0
        run = tune(steps, wd, rate, seed)
        results[fix] = {
            "value": value,
            "gap_end": run[-1]["gap"],
            "val_loss_end": run[-1]["val_loss"],
            "narrowing": base[-1]["gap"] - run[-1]["gap"],
            "trajectory": run,
        }
    for fix, reason in unavailable.items():
        results[fix] = {"value": params["fixes"][fix], "unavailable": reason}
    return {
        "task": task,
        "steps": steps,
        "lr": lr,
        "base_weight_decay": base_wd,
        "train_samples": len(x_train),
        "val_samples": len(x_val),
        "gap_start": base[0]["gap"],
        "gap_end": base[-1]["gap"],
        "val_loss_end": base[-1]["val_loss"],
        "noise": noise,
        "trajectory": base,
        "repeat_trajectory": repeat,
        "fixes": results,
    }


RUNNERS = {
    "stochasticity": stochasticity,
    "heldout": heldout,
    "memorization": memorization,
    "counterfactual": counterfactual,
}
