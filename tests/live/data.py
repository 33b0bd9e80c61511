"""Small classification sets for real training runs: noisy ones that a wide network
overfits within a few epochs, and clean ones that a small model learns steadily."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import make_classification


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def split(noisy: bool, samples: int = 600, seed: int = 0) -> Split:
    """Half for training, half for validation; ``noisy`` flips 30% of the labels."""
    x, y = make_classification(
        n_samples=samples,
        n_features=20,
        n_informative=6,
        flip_y=0.3 if noisy else 0.0,
        class_sep=1.0 if noisy else 2.0,
        random_state=seed,
    )
    x, y = x.astype(np.float32), y.astype(np.int64)
    half = samples // 2
    return Split(x[:half], y[:half], x[half:], y[half:])
