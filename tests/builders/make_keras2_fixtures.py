"""Write the Keras 2 (tf.keras) fixtures in tests/fixtures/keras2/ with the real tf.keras.

Keras 2 lives on as the ``tf-keras`` package, which depends on the full
``tensorflow`` wheel (not ``tensorflow-cpu``), so it is not a test dependency; the
files it wrote are committed instead. To regenerate them:

    pip install --no-deps tf-keras==2.21.0
    python -m tests.builders.make_keras2_fixtures
    pip uninstall -y tf-keras

``expected.json`` records tf.keras' own counts (``count_params()`` and the trainable
weights) for the test to compare against.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "keras2"


def build():
    import tf_keras as keras
    from tf_keras import layers

    model = keras.Sequential(
        [
            layers.Conv2D(
                4, 3, input_shape=(6, 6, 2), kernel_regularizer=keras.regularizers.l2(1e-3)
            ),
            layers.BatchNormalization(),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(8, activation="relu", bias_regularizer=keras.regularizers.l1(1e-4)),
            layers.Dense(2),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(2e-3, weight_decay=0.01), loss="mse")
    return model, keras


def main() -> None:
    import numpy as np

    model, keras = build()
    model.fit(np.zeros((4, 6, 6, 2)), np.zeros((4, 2)), verbose=0)
    if FIXTURES.exists():
        shutil.rmtree(FIXTURES)
    FIXTURES.mkdir(parents=True)
    model.save(FIXTURES / "model.h5")
    model.save(FIXTURES / "savedmodel", save_format="tf")
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    expected = {
        "keras_version": keras.__version__,
        "count_params": int(model.count_params()),
        "trainable": trainable,
        "dropout": [0.3],
        "optimizer": {"kind": "Adam", "lr": 2e-3, "weight_decay": 0.01},
    }
    (FIXTURES / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")


if __name__ == "__main__":
    main()
