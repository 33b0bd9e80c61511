"""onnxruntime: what inference alone can measure (the held-out gap), when torch cannot train.

Used when onnx2torch cannot convert a graph (the reason names the operator) or when
torch is not installed. Training-mode probes report why they cannot run.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from overfitlint.probe import tasks
from overfitlint.probe.budget import Budget
from overfitlint.probe.device import DeviceCaps, DevicePlan, choose_device
from overfitlint.probe.protocol import Emitter


class OrtBackend:
    can_add_dropout = False

    def __init__(self, path: str, reason: str, providers: list):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(path, options, providers=providers)
        inputs = self.session.get_inputs()
        self.input = inputs[0].name
        dims = inputs[0].shape[1:]
        self.sample_shape = (
            [int(d) for d in dims] if all(isinstance(d, int) for d in dims) else None
        )
        if len(inputs) != 1:
            self.sample_shape = None
        self.reason = reason
        self.notes = [reason]

    def _run(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run(None, {self.input: x})[0])

    def head(self, x: np.ndarray) -> tuple[int, str]:
        out = self._run(x)
        outputs = int(out.shape[-1]) if out.ndim >= 2 else 1
        probs = out.min() >= 0 and out.max() <= 1
        if probs and out.ndim >= 2 and outputs > 1:
            probs = bool(np.allclose(out.sum(-1), 1, atol=1e-3))
        return outputs, "probs" if probs else "logits"

    def _training_only(self, *args, **kwargs):
        raise tasks.Unavailable(f"{self.reason}; onnxruntime runs inference only")

    stochasticity = _training_only
    step_seconds = _training_only
    memorize = _training_only
    finetune = _training_only

    def evaluate(self, x, y, task, head) -> dict[str, float]:
        outs = np.concatenate([self._run(x[i : i + 512]) for i in range(0, len(x), 512)])
        return evaluate_numpy(outs, y, task, head)


def evaluate_numpy(out: np.ndarray, y: np.ndarray, task: str, head: str) -> dict[str, float]:
    """Mean loss and accuracy from outputs already computed (onnxruntime, Keras)."""
    out = out.astype(np.float64)
    if task == "classes":
        if head == "probs":
            logp = np.log(np.clip(out, 1e-7, 1.0))
        else:
            shifted = out - out.max(-1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
        loss = float(-logp[np.arange(len(y)), y].mean())
        return {"loss": loss, "accuracy": float((out.argmax(-1) == y).mean())}
    if task == "binary":
        flat = out.reshape(-1)
        p = np.clip(flat if head == "probs" else 1 / (1 + np.exp(-flat)), 1e-7, 1 - 1e-7)
        loss = float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())
        return {"loss": loss, "accuracy": float(((p > 0.5) == (y > 0.5)).mean())}
    return {"loss": float(((out.reshape(y.shape) - y) ** 2).mean())}


def _providers(plan: DevicePlan) -> list:
    if plan.device_type == "cuda":
        index = int(plan.device.split(":", 1)[1])
        return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def run_fallback(request: dict[str, Any], emit: Emitter, *, reason: str) -> None:
    import onnxruntime

    # The device is chosen as every backend chooses it: a device that is not there is the
    # user's error (exit 2), and auto takes CUDA when onnxruntime has its provider.
    cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    caps = DeviceCaps(cuda_devices=1 if cuda else 0, framework="onnxruntime")
    plan = choose_device(request["device"], caps)
    emit.start(
        backend="onnxruntime",
        framework=f"onnxruntime {onnxruntime.__version__}",
        plan=plan.to_dict(),
        fallback=reason,
    )
    budget = Budget(max(0.0, request["deadline"] - time.time()))
    backend = OrtBackend(request["model"], reason, _providers(plan))
    tasks.run_tasks(request, backend, emit, budget)


def run(request: dict[str, Any], emit: Emitter) -> None:
    """The onnxruntime-only backend (torch or onnx2torch is not installed)."""
    run_fallback(request, emit, reason="torch with onnx2torch is not installed")
