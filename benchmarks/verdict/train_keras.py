"""Keras 3 (TensorFlow backend) runs, written the way a new user writes them.

``model.fit`` with ``CSVLogger``, ``TensorBoard``, ``EarlyStopping`` and
``ModelCheckpoint(save_best_only=True)`` as configured by the run's spec; ``model.save``
at the end. A callback placed first in the list measures the same weights on the
large held-out set and on the whole training set after every epoch (before
EarlyStopping can restore anything) and writes nothing into the logs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np

from benchmarks.verdict import data, label


def _loss_and_accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    probabilities = np.asarray(model(x, training=False), dtype=np.float64)
    picked = np.clip(probabilities[np.arange(len(y)), y], 1e-7, 1.0)
    return float(-np.log(picked).mean()), float((probabilities.argmax(1) == y).mean())


class HeldOut(keras.callbacks.Callback):
    def __init__(self, split: data.Split) -> None:
        super().__init__()
        self.split = split
        self.heldout: list[float] = []
        self.accuracy: list[float] = []
        self.train: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        s = self.split
        loss, accuracy = _loss_and_accuracy(self.model, s.x_held, s.y_held)
        self.heldout.append(loss)
        self.accuracy.append(accuracy)
        self.train.append(_loss_and_accuracy(self.model, s.x_train, s.y_train)[0])


def _model(spec: dict, split: data.Split) -> keras.Model:
    layers = keras.layers
    regularizer = keras.regularizers.L2(spec["l2"]) if spec.get("l2") else None
    inputs = keras.Input(shape=split.x_train.shape[1:])
    x = inputs
    if spec.get("conv"):
        x = layers.Reshape((8, 8, 1))(x)
        if spec.get("augment"):
            x = layers.RandomFlip("horizontal", seed=1)(x)
            x = layers.RandomTranslation(0.125, 0.125, fill_mode="constant", seed=2)(x)
            x = layers.GaussianNoise(0.1, seed=3)(x)
        for filters in spec["conv"]:
            x = layers.Conv2D(filters, 3, padding="same", kernel_regularizer=regularizer)(x)
            if spec.get("batchnorm"):
                x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
            x = layers.MaxPooling2D()(x)
        x = layers.Flatten()(x)
    elif spec.get("augment"):
        x = layers.GaussianNoise(spec["augment"], seed=3)(x)
    for width in spec["hidden"]:
        x = layers.Dense(width, kernel_regularizer=regularizer)(x)
        if spec.get("batchnorm"):
            x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        if spec.get("dropout"):
            x = layers.Dropout(spec["dropout"], seed=4)(x)
    outputs = layers.Dense(split.classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    name, lr = spec.get("optimizer", "adam"), spec.get("lr", 1e-3)
    if name == "adamw":
        optimizer = keras.optimizers.AdamW(lr, weight_decay=spec["weight_decay"])
    elif name == "sgd":
        optimizer = keras.optimizers.SGD(lr, momentum=0.9)
    else:
        optimizer = keras.optimizers.Adam(lr)
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _checkpoint_epoch(pattern: str, name: str) -> int:
    """The 1-based epoch Keras wrote into a ModelCheckpoint file name."""
    head = re.escape(pattern.split("{epoch", 1)[0])
    return int(re.match(head + r"(\d+)", name).group(1))


def _newest_checkpoint(pattern: str) -> Path:
    glob = re.sub(r"\{[^}]*\}", "*", pattern)
    return max(Path().glob(glob), key=lambda p: _checkpoint_epoch(pattern, p.name))


def train(name: str, spec: dict, folder: Path) -> dict:
    keras.utils.set_random_seed(spec.get("seed", 0))
    split = data.load(spec["data"])
    os.chdir(folder)
    model = _model(spec, split)
    heldout = HeldOut(split)
    callbacks: list[keras.callbacks.Callback] = [heldout]
    csv_name = spec.get("csv")
    if csv_name:
        callbacks.append(keras.callbacks.CSVLogger(csv_name))
    if spec.get("tensorboard"):
        callbacks.append(keras.callbacks.TensorBoard(log_dir="logs"))
    stopper = None
    if spec.get("early_stopping"):
        es = spec["early_stopping"]
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=es["patience"], restore_best_weights=es["restore"]
        )
        callbacks.append(stopper)
    pattern = spec.get("checkpoint")
    if pattern:
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                pattern,
                monitor="val_loss",
                save_best_only=True,
                save_weights_only=pattern.endswith(".weights.h5"),
            )
        )
    history = model.fit(
        split.x_train,
        split.y_train,
        validation_data=(split.x_val, split.y_val),
        epochs=spec["epochs"],
        batch_size=spec.get("batch", 32),
        callbacks=callbacks,
        verbose=0,
    )
    if spec.get("save", True):
        model.save("model.keras")
    shipped = spec.get("ship", "model.keras")
    restored = model  # a run with logs alone: the weights training ended with
    if shipped == "checkpoint":
        path = _newest_checkpoint(pattern)
        if path.name.endswith(".weights.h5"):
            restored = _model(spec, split)
            restored.load_weights(path)
        else:
            restored = keras.models.load_model(path)
        shipped = path.name
    elif shipped:
        restored = keras.models.load_model(shipped)
    val = [float(v) for v in history.history["val_loss"]]
    measured = label.Measured(
        log_epochs=list(range(len(val))),
        log_val=val,
        heldout_loss=heldout.heldout,
        train_loss=heldout.train,
        heldout_accuracy=heldout.accuracy,
    )
    measured.kept = label.kept_index(
        heldout.heldout, _loss_and_accuracy(restored, split.x_held, split.y_held)[0]
    )
    if spec.get("log_arg") == "tensorboard":
        logs = ["logs"]
        logged_val = {"file": "logs/validation", "reader": "tensorboard", "key": "epoch_loss"}
    else:
        logs = [csv_name]
        logged_val = {"file": csv_name, "reader": "csv", "epoch": "epoch", "key": "val_loss"}
    if spec.get("model_only"):
        logs = []  # the log was written, but the user checks the model alone
    args = ([shipped] if shipped else []) + logs
    if spec.get("samples_flag", True) and shipped:
        args += ["--samples", str(len(split.y_train))]
    notes = spec.get("notes", "")
    if stopper is not None:
        notes += (
            f" EarlyStopping(patience={spec['early_stopping']['patience']}, "
            f"restore_best_weights={spec['early_stopping']['restore']}) "
            + (
                f"stopped the run after epoch {stopper.stopped_epoch}."
                if stopper.stopped_epoch
                else "never stopped the run."
            )
        )
    if pattern:
        newest = _newest_checkpoint(pattern).name
        notes += (
            f" ModelCheckpoint numbers files from epoch 1: the newest, {newest}, holds the"
            f" weights of the log's epoch {_checkpoint_epoch(pattern, newest) - 1}."
        )
    return label.build(
        name=name,
        framework="keras",
        writer=spec["writer"],
        description=spec["description"],
        measured=measured,
        args=args,
        logged_val=logged_val,
        folder_args=label.single_model_folder(folder),
        notes=notes.strip(),
    )
