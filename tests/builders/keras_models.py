"""Small Keras 3 models and the files Keras writes them to (.keras, legacy .h5, SavedModel).

Importing this module imports Keras (and TensorFlow); tests import it lazily, after
torch (see tests/conftest.py). Models are tiny: building and saving one takes well
under a second once TensorFlow is loaded.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
from keras import layers


def mlp() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((12,)),
            layers.Dense(32, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-4)),
            layers.Dropout(0.4),
            layers.Dense(3),
        ],
        name="mlp",
    )


def cnn_batchnorm() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            layers.RandomFlip("horizontal"),
            layers.Conv2D(8, 3, padding="same"),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.SpatialDropout2D(0.2),
            layers.Conv2D(16, 3, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10),
        ],
        name="cnn",
    )


def transformer_block() -> keras.Model:
    inputs = keras.Input((6, 16))
    attention = layers.MultiHeadAttention(num_heads=2, key_dim=8, dropout=0.1)(inputs, inputs)
    x = layers.LayerNormalization()(layers.Add()([inputs, attention]))
    ff = layers.Dense(32, activation="relu")(x)
    ff = layers.Dropout(0.1)(layers.Dense(16)(ff))
    x = layers.LayerNormalization()(layers.Add()([x, ff]))
    outputs = layers.Dense(2)(layers.GlobalAveragePooling1D()(x))
    return keras.Model(inputs, outputs, name="transformer")


def embedding_lstm() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((7,), dtype="int32"),
            layers.Embedding(40, 8),
            layers.Bidirectional(layers.LSTM(6, dropout=0.2, recurrent_dropout=0.1)),
            layers.GaussianNoise(0.05),
            layers.Dense(1),
        ],
        name="lstm",
    )


def nested_functional() -> keras.Model:
    inner = keras.Sequential(
        [keras.Input((10,)), layers.Dense(16, activation="relu"), layers.AlphaDropout(0.1)],
        name="inner",
    )
    inputs = keras.Input((10,))
    x = inner(inputs)
    x = layers.BatchNormalization()(x)
    frozen = layers.Dense(8, name="frozen_dense")
    frozen.trainable = False
    outputs = layers.Dense(1)(frozen(x))
    return keras.Model(inputs, outputs, name="nested")


ARCHITECTURES: dict[str, Callable[[], keras.Model]] = {
    "mlp": mlp,
    "cnn-batchnorm": cnn_batchnorm,
    "transformer-block": transformer_block,
    "embedding-lstm": embedding_lstm,
    "nested-functional": nested_functional,
}


def build(name: str, *, compiled: bool = True) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = ARCHITECTURES[name]()
    if compiled:
        model.compile(optimizer=keras.optimizers.AdamW(1e-3, weight_decay=0.004), loss="mse")
    return model


def counts(model: keras.Model) -> tuple[int, int]:
    """Keras' own counts: ``count_params()`` and the trainable weights' sizes."""
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return model.count_params(), trainable


def save_keras(model: keras.Model, path: Path) -> Path:
    model.save(path)
    return path


def save_h5(model: keras.Model, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.saving.save_model(model, path)
    return path


def export_savedmodel(model: keras.Model, path: Path) -> Path:
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        model.export(str(path), verbose=False)
    return path


FORMATS: dict[str, Callable[[keras.Model, Path], Path]] = {
    "keras": lambda m, folder: save_keras(m, folder / "model.keras"),
    "h5": lambda m, folder: save_h5(m, folder / "model.h5"),
}
