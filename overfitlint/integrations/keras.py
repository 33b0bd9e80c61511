"""Keras: a callback that lints the run while ``model.fit`` trains.

    from overfitlint.integrations.keras import OverfitLintCallback

    lint = OverfitLintCallback(action="stop", report="run.html")
    model.fit(x, y, validation_data=(x_val, y_val), epochs=200, callbacks=[lint])

The model is read from the object ``fit`` trains (its config, weights and compiled optimizer,
through the same code that reads a ``.keras`` file), so the static rules run once at the
start without saving anything. A stop sets ``model.stop_training``; the best epoch's weights
are kept with ``get_weights`` and put back with ``set_weights``, as EarlyStopping does.
Epochs are numbered as ``fit`` passes them (from 0, as CSVLogger writes them).

Several workers (``MultiWorkerMirroredStrategy``): the metrics are all-reduced, so every
worker reaches the same decision from the same numbers, as EarlyStopping does; only the
chief logs and writes the report.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras

from overfitlint.facts import ModelFacts, OptimizerFacts
from overfitlint.live.callback import LiveCallback
from overfitlint.loaders.models.keras import KerasModel, Weight, to_facts


class KerasWeights:
    """The best epoch's weights, as EarlyStopping(restore_best_weights=True) keeps them."""

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self._best: list[Any] | None = None

    def snapshot(self) -> None:
        self._best = self.model.get_weights()

    def restore(self) -> str | None:
        if self._best is None:
            return None
        self.model.set_weights(self._best)
        return "restored by the callback"


def _model_config(model: keras.Model) -> dict[str, Any]:
    """The model's config as a ``.keras`` file holds it; for a subclassed model, whose config
    does not list its layers, the layers it tracks."""
    try:
        config = keras.saving.serialize_keras_object(model)
    except (NotImplementedError, TypeError, ValueError):
        config = {"class_name": type(model).__name__, "config": {"name": model.name}}
    inner = config.get("config")
    if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        layers = []
        for layer in model.layers:
            try:
                layers.append(keras.saving.serialize_keras_object(layer))
            except (NotImplementedError, TypeError, ValueError):
                layers.append({"class_name": type(layer).__name__, "config": {"name": layer.name}})
        config = {
            "class_name": type(model).__name__,
            "config": {"name": model.name, "layers": layers},
        }
    return config


def keras_model_facts(model: keras.Model) -> ModelFacts:
    """Model facts of a live Keras model, read as a ``.keras`` file would be."""
    name = f"live Keras model {model.name!r}"
    described = KerasModel(
        Path(name), "live", keras_version=keras.__version__, backend=keras.backend.backend()
    )
    described.model_config = _model_config(model)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        described.optimizer_config = keras.saving.serialize_keras_object(optimizer)
        described.compiled = True
    for variable in model.weights:
        parts = variable.path.split("/")
        described.weights.append(
            Weight(
                owners=list(reversed(parts[:-1])) or [model.name],
                leaf=parts[-1],
                shape=tuple(int(d) for d in variable.shape),
                trainable=bool(variable.trainable),
            )
        )
    facts = to_facts(described)
    if isinstance(facts.optimizer, OptimizerFacts):
        facts.optimizer = replace(facts.optimizer, source="the live model's compiled optimizer")
    return facts


def is_chief() -> bool:
    """The chief of a multi-worker run (``TF_CONFIG``); a single process is its own chief."""
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    except json.JSONDecodeError:
        return True
    task = config.get("task") or {}
    kind, index = task.get("type"), task.get("index", 0)
    if kind is None:
        return True
    if kind == "chief":
        return True
    return kind == "worker" and index == 0 and "chief" not in (config.get("cluster") or {})


class OverfitLintCallback(LiveCallback, keras.callbacks.Callback):
    """Lints the run as it trains; see ``overfitlint.live.Monitor`` for the arguments.

    ``verbose``: 1 prints every message (as Keras callbacks print), 0 sends them to the
    ``overfitlint.live`` logger instead.
    """

    def __init__(
        self,
        action: str = "warn",
        monitor: str | None = None,
        min_epochs: int | None = None,
        restore_best: bool = True,
        report: str | Path | None = None,
        samples: int | None = None,
        config: Any = None,
        verbose: int = 1,
    ) -> None:
        super().__init__(action, monitor, min_epochs, restore_best, report, samples, config)
        self.verbose = verbose

    def _say(self, severity: str, text: str) -> None:
        print(text)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        chief = is_chief()
        self.weights = KerasWeights(self.model) if self.options["restore_best"] else None
        self.start_monitor(
            model_facts=keras_model_facts(self.model),
            max_epochs=(self.params or {}).get("epochs"),
            name=f"live Keras run ({self.model.name})",
            log=(self._say if self.verbose else None) if chief else _silent,
            report=self.options["report"] if chief else None,  # only the chief writes it
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        assert self.lint is not None
        if self.decide(epoch, logs or {}).stop:
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.end_run()


def _silent(severity: str, text: str) -> None:
    """Messages of a worker that is not the chief: the chief says them."""
