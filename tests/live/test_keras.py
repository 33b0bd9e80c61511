"""The Keras callback on real ``model.fit`` runs (TensorFlow backend; torch was imported
first by tests/conftest.py)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from overfitlint.report import read_report
from tests.live.data import split

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")

from overfitlint.integrations.keras import OverfitLintCallback, keras_model_facts  # noqa: E402


def _model(width: int, dropout: float = 0.0, lr: float = 3e-3) -> keras.Model:
    keras.utils.set_random_seed(0)
    layers = [keras.Input((20,)), keras.layers.Dense(width, activation="relu")]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers += [keras.layers.Dense(width, activation="relu"), keras.layers.Dense(2)]
    model = keras.Sequential(layers, name="mlp")
    model.compile(
        optimizer=keras.optimizers.AdamW(lr, weight_decay=0.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def _fit(model: keras.Model, callback, noisy: bool, epochs: int):
    data = split(noisy)
    history = model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
        batch_size=32,
        verbose=0,
        callbacks=[callback],
    )
    return history.history["val_loss"], data


def test_an_overfitting_run_stops_with_the_best_weights_restored(tmp_path, capsys):
    model = _model(256)
    callback = OverfitLintCallback(action="stop", report=tmp_path / "run.json")
    losses, data = _fit(model, callback, noisy=True, epochs=100)
    assert len(losses) < 40
    best = int(np.argmin(losses))
    assert callback.lint.best_epoch == best
    restored = model.evaluate(data.x_val, data.y_val, verbose=0)
    assert restored == pytest.approx(losses[best], rel=1e-5)
    out = capsys.readouterr().out
    assert "OFL301" in out and f"stopped at epoch {len(losses) - 1}" in out
    report = read_report(tmp_path / "run.json")
    assert report.run.kept_epoch == best
    assert report.model.framework == "keras" and report.model.trainable_params > 70_000


def test_a_healthy_run_is_not_stopped(capsys):
    model = _model(8, lr=1e-3)
    callback = OverfitLintCallback(action="stop")
    losses, _ = _fit(model, callback, noisy=False, epochs=25)
    assert len(losses) == 25 and callback.lint.stopped_at is None
    assert "did not diverge" in capsys.readouterr().out


def test_the_live_model_is_read_like_its_file(tmp_path):
    """The facts of the live model are those of the .keras file it saves to."""
    from overfitlint import api

    model = _model(16, dropout=0.3)
    model.save(tmp_path / "model.keras")
    live, saved = keras_model_facts(model), api.read_model(tmp_path / "model.keras")
    assert live.trainable_params == saved.trainable_params == model.count_params()
    assert [(layer.name, layer.kind, layer.dropout_rate) for layer in live.layers] == [
        (layer.name, layer.kind, layer.dropout_rate) for layer in saved.layers
    ]
    assert live.optimizer.kind == saved.optimizer.kind == "AdamW"


def test_a_worker_that_is_not_the_chief_stays_quiet(tmp_path, monkeypatch, capsys):
    cluster = {"chief": ["host:1"], "worker": ["host:2"]}
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}})
    )
    model = _model(256)
    callback = OverfitLintCallback(action="stop", report=tmp_path / "run.html")
    losses, _ = _fit(model, callback, noisy=True, epochs=100)
    assert len(losses) < 40  # it reaches the chief's decision from the same numbers
    assert capsys.readouterr().out == "" and not (tmp_path / "run.html").exists()
