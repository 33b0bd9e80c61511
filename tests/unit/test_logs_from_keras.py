"""Logs written by Keras itself: CSVLogger (resumed with append=True), the TensorBoard
callback (train/ and validation/ run folders, TF2 tensor scalars), history JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from overfitlint import api

keras = pytest.importorskip("keras")


def _fit(tmp_path, epochs, initial_epoch, callbacks):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model.fit(
        x,
        y,
        validation_split=0.25,
        epochs=epochs,
        initial_epoch=initial_epoch,
        batch_size=16,
        verbose=0,
        callbacks=callbacks,
    )


def test_keras_csvlogger_resumed_tensorboard_and_history(tmp_path):
    log = tmp_path / "training.csv"
    _fit(tmp_path, 6, 0, [keras.callbacks.CSVLogger(str(log))])
    # resume from the checkpoint of epoch 4: Keras repeats epochs 4 and 5 in the same file
    history = _fit(
        tmp_path,
        9,
        4,
        [
            keras.callbacks.CSVLogger(str(log), append=True),
            keras.callbacks.TensorBoard(str(tmp_path / "tb")),
        ],
    )
    curves = api.read_log(log)
    assert curves.format == "keras-csvlogger"
    assert curves.val_loss.epochs.tolist() == list(range(9))
    assert (curves.loss.train, curves.loss.val) == ("loss", "val_loss")
    assert curves.accuracy.val == "val_accuracy"
    assert any("resumed run" in note for note in curves.notes)
    assert curves.lr in (None, "learning_rate")

    board = api.read_log(tmp_path / "tb")
    assert board.format == "tensorboard" and board.axis == "epoch"
    assert (board.loss.train, board.loss.val) == ("train/epoch_loss", "validation/epoch_loss")
    assert board.val_loss.epochs.tolist() == [4, 5, 6, 7, 8]
    assert board.val_loss.values.tolist() == pytest.approx(history.history["val_loss"], rel=1e-5)

    dumped = tmp_path / "history.json"
    dumped.write_text(json.dumps(history.history))
    from_json = api.read_log(dumped)
    assert from_json.val_loss.values.tolist() == pytest.approx(history.history["val_loss"])
