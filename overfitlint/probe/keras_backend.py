"""The TensorFlow/Keras backend (runs in its own subprocess, never next to torch).

Models load with ``keras.saving.load_model(path, safe_mode=True, compile=False)``: a
``.keras`` archive cannot run arbitrary code (lambda layers are refused). Training
runs in full precision (a loaded model keeps the dtype policy it was saved with).
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from overfitlint.errors import InputError
from overfitlint.probe import tasks
from overfitlint.probe.budget import Budget, Deadline
from overfitlint.probe.device import DevicePlan, choose_device, detect_tf_caps
from overfitlint.probe.ort_backend import evaluate_numpy
from overfitlint.probe.protocol import Emitter


def _tf_device(plan: DevicePlan) -> str:
    if plan.device_type == "cuda":
        return f"/GPU:{plan.device.split(':')[1]}"
    if plan.device_type == "mps":
        return "/GPU:0"
    return "/CPU:0"


def _seed(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)


class KerasBackend:
    def __init__(self, path: str, plan: DevicePlan):
        import keras

        self.keras = keras
        self.path = path
        self.plan = plan
        self.notes: list[str] = []
        self._given = self.fresh()
        inputs = getattr(self._given, "inputs", None) or []
        self.sample_shape = None
        if len(inputs) == 1:
            dims = list(inputs[0].shape)[1:]
            if all(isinstance(d, int) and d > 0 for d in dims):
                self.sample_shape = [int(d) for d in dims]
        self.can_add_dropout = isinstance(self._given, keras.Sequential)

    def fresh(self):
        try:
            return self.keras.saving.load_model(self.path, safe_mode=True, compile=False)
        except ValueError as exc:
            raise InputError(
                f"{self.path}: Keras cannot load this model safely: {str(exc).splitlines()[0]}"
            ) from None

    def _out(self, model, x: np.ndarray, training: bool = False) -> np.ndarray:
        out = model(x, training=training)
        if isinstance(out, dict):
            out = next(iter(out.values()))
        if isinstance(out, list | tuple):
            out = out[0]
        return np.asarray(out)

    def _predict(self, model, x: np.ndarray) -> np.ndarray:
        return np.concatenate([self._out(model, x[i : i + 512]) for i in range(0, len(x), 512)])

    def head(self, x: np.ndarray) -> tuple[int, str]:
        out = self._out(self._given, x)
        outputs = int(out.shape[-1]) if out.ndim >= 2 else 1
        probs = bool(out.min() >= 0 and out.max() <= 1)
        if probs and out.ndim >= 2 and outputs > 1:
            probs = bool(np.allclose(out.sum(-1), 1, atol=1e-3))
        return outputs, "probs" if probs else "logits"

    def stochasticity(self, x: np.ndarray, repeats: int, seed: int) -> dict[str, Any]:
        _seed(seed)
        model = self.fresh()  # training-mode passes update BatchNormalization statistics
        outs = [self._out(model, x, training=True).astype(np.float64) for _ in range(repeats)]
        ref = outs[0]
        scale = float(np.linalg.norm(ref)) or 1.0
        evals = [self._out(model, x).astype(np.float64) for _ in range(2)]
        return {
            "repeats": repeats,
            "batch": len(x),
            "output_spread": max(float(np.linalg.norm(o - ref)) / scale for o in outs[1:]),
            "output_spread_abs": max(float(np.abs(o - ref).max()) for o in outs[1:]),
            "eval_spread": float(np.linalg.norm(evals[1] - evals[0]))
            / (float(np.linalg.norm(evals[0])) or 1.0),
            "mode": "train",
        }

    def _loss(self, task: str, head: str):
        losses = self.keras.losses
        if task == "classes":
            return losses.SparseCategoricalCrossentropy(from_logits=head == "logits")
        if task == "binary":
            return losses.BinaryCrossentropy(from_logits=head == "logits")
        return losses.MeanSquaredError()

    def _compiled_clone(self, task, head, lr, seed, weight_decay=None, weights=None, dropout=0.0):
        keras = self.keras
        _seed(seed)
        model = keras.models.clone_model(self._given)
        if weights is not None:
            model.set_weights(weights)
        if dropout:
            model = self._with_dropout(model, dropout)
        optimizer = (
            keras.optimizers.Adam(lr)
            if weight_decay is None
            else keras.optimizers.AdamW(lr, weight_decay=weight_decay)
        )
        metrics = ["accuracy"] if task in ("classes", "binary") else []
        model.compile(optimizer=optimizer, loss=self._loss(task, head), metrics=metrics)
        return model

    def _with_dropout(self, model, rate: float):
        keras = self.keras
        dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        layers: list = [keras.Input(tuple(self.sample_shape or model.input_shape[1:]))]
        for layer in model.layers:
            layers.append(layer)
            if isinstance(layer, keras.layers.Dense) and layer is not dense[-1]:
                layers.append(keras.layers.Dropout(rate))
        return keras.Sequential(layers)

    def step_seconds(self, x, y, task, head, seed) -> float:
        """Seconds per step; the compiled clone is kept for memorize (tracing costs seconds)."""
        model = self._compiled_clone(task, head, 1e-3, seed)
        initial = model.get_weights()
        model.train_on_batch(x, y)  # traces the step
        started = time.perf_counter()
        for _ in range(3):
            model.train_on_batch(x, y)
        seconds = (time.perf_counter() - started) / 3
        self._calibrated = (task, head, seed, model, initial)
        return seconds

    def _memorizer(self, task, head, lr, seed):
        """The calibration clone, back at its initial weights with a fresh optimizer state."""
        cached = getattr(self, "_calibrated", None)
        if cached is not None and cached[:3] == (task, head, seed) and lr == 1e-3:
            model, initial = cached[3], cached[4]
            model.set_weights(initial)
            for variable in model.optimizer.variables:  # step count and moments, not the rate
                if variable.name != "learning_rate":
                    variable.assign(np.zeros(variable.shape, variable.dtype))
            return model
        return self._compiled_clone(task, head, lr, seed)

    def memorize(self, x, y, task, head, deadline: Deadline, params, seed, progress):
        keras = self.keras
        model = self._memorizer(task, head, float(params.get("lr", 1e-3)), seed)
        stop = float(params.get("stop_fraction", 0.99))
        max_steps = params.get("max_steps")
        batch = min(int(params.get("batch", 128)), len(x))
        steps_per_epoch = -(-len(x) // batch)
        state = {"stopped": "", "best": float("inf"), "stale": 0, "epochs": 0, "fraction": 0.0}

        class Watch(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                state["epochs"] = epoch + 1
                fraction = float(logs.get("accuracy", 0.0))
                loss = float(logs.get("loss", float("nan")))
                state["fraction"] = fraction
                progress(fraction, f"{100 * fraction:.0f}% of {len(x)} random labels fitted")
                if loss < state["best"] * 0.99:
                    state["best"], state["stale"] = loss, 0
                else:
                    state["stale"] += 1
                if fraction >= stop:
                    state["stopped"] = "fitted"
                elif not np.isfinite(loss):
                    state["stopped"] = "diverged"
                elif state["stale"] >= 15 * max(1, 20 // steps_per_epoch):
                    state["stopped"] = "plateau"
                elif max_steps is not None and (epoch + 1) * steps_per_epoch >= max_steps:
                    state["stopped"] = "max_steps"
                elif deadline.passed():
                    state["stopped"] = "budget"
                if state["stopped"]:
                    self.model.stop_training = True

        started = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=10**6, verbose=0, shuffle=True,
                  callbacks=[Watch()])  # fmt: skip
        seconds = time.perf_counter() - started
        final = evaluate_numpy(self._predict(model, x), y, task, head)
        steps = state["epochs"] * steps_per_epoch
        return {
            "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
            "memorized_fraction": final.get("accuracy", 0.0),
            "running_fraction": state["fraction"],
            "final_loss": final["loss"],
            "steps": steps,
            "epochs": state["epochs"],
            "train_seconds": seconds,
            "samples_per_s": steps * batch / seconds if seconds else 0.0,
            "stopped": state["stopped"] or "budget",
            "batch": batch,
        }

    def evaluate(self, x, y, task, head) -> dict[str, float]:
        return evaluate_numpy(self._predict(self._given, x), y, task, head)

    def finetune(self, data, task, head, *, steps, lr, weight_decay, dropout, seed):
        model = self._compiled_clone(
            task, head, lr, seed, weight_decay=weight_decay, weights=self._given.get_weights(),
            dropout=dropout,
        )  # fmt: skip
        rng = np.random.default_rng(seed)
        x, y = data["x_train"], data["y_train"]
        batch = min(64, len(x))
        every = max(1, steps // 5)

        def point(step: int) -> dict[str, float]:
            train = evaluate_numpy(self._predict(model, x), y, task, head)
            val = evaluate_numpy(self._predict(model, data["x_val"]), data["y_val"], task, head)
            return {"step": step, "train_loss": train["loss"], "val_loss": val["loss"],
                    "gap": val["loss"] - train["loss"]}  # fmt: skip

        trajectory = [point(0)]
        order = rng.permutation(len(x))
        cursor = 0
        for step in range(1, steps + 1):
            if cursor + batch > len(x):
                order, cursor = rng.permutation(len(x)), 0
            index = order[cursor : cursor + batch]
            cursor += batch
            model.train_on_batch(x[index], y[index])
            if step % every == 0 or step == steps:
                trajectory.append(point(step))
        return trajectory


def run(request: dict[str, Any], emit: Emitter) -> None:
    import keras
    import tensorflow as tf

    plan = choose_device(request["device"], detect_tf_caps())
    # Keras models are loaded with their saved dtype policy: no autocast here.
    plan = DevicePlan(plan.device, None, False, False, False, plan.reason, plan.name)
    if plan.device_type == "cpu":
        tf.config.experimental.enable_op_determinism()
    emit.start(
        backend="keras",
        framework=f"tensorflow {tf.__version__}, keras {keras.__version__}",
        plan=plan.to_dict(),
    )
    with tf.device(_tf_device(plan)):
        budget = Budget(max(0.0, request["deadline"] - time.time()))
        try:
            backend = KerasBackend(request["model"], plan)
        except InputError as exc:  # the static loader read it; Keras cannot run it safely
            emit.unavailable_all(request, str(exc))
            return
        tasks.run_tasks(request, backend, emit, budget)
