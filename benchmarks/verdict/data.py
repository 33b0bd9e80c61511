"""Small real data sets, split into train / a small validation set / a large held-out set.

Only scikit-learn's bundled data (digits, breast_cancer, wine, diabetes) and its
generators (make_classification, make_moons), plus tiny synthetic token sequences for
the Hugging Face runs. Everything is seeded; label noise is planted in the training
split only, so the held-out set measures the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_held: np.ndarray
    y_held: np.ndarray
    classes: int  # 0 for regression
    x_extra: np.ndarray  # a clean sample of the same task for pretraining (often empty)
    y_extra: np.ndarray

    @property
    def features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))


def _standardize(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    mean, std = reference.mean(axis=0), reference.std(axis=0)
    return ((x - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)


def _plant_noise(y: np.ndarray, share: float, classes: int, rng: np.random.Generator) -> None:
    """Give ``share`` of the labels another class, in place."""
    flip = rng.random(y.size) < share
    shift = rng.integers(1, classes, int(flip.sum()))
    y[flip] = (y[flip] + shift) % classes


def _split(
    x: np.ndarray,
    y: np.ndarray,
    train: int,
    val: int,
    classes: int,
    noise: float,
    seed: int,
    standardize: bool = True,
    extra: int = 0,
) -> Split:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    x, y = x[order], y[order].copy()
    cuts = np.cumsum([train, val, extra])
    parts = (slice(0, cuts[0]), slice(cuts[0], cuts[1]), slice(cuts[2], None))
    parts += (slice(cuts[1], cuts[2]),)
    xs = [x[p] for p in parts]
    if standardize:
        xs = [_standardize(part, xs[0]) for part in xs]
    ys = [y[p].copy() for p in parts]
    if noise:
        _plant_noise(ys[0], noise, classes, rng)
    return Split(xs[0], ys[0], xs[1], ys[1], xs[2], ys[2], classes, xs[3], ys[3])


def load(spec: dict) -> Split:
    """The data set a run spec names, e.g. ``{"set": "digits", "train": 500, "val": 150}``."""
    from sklearn import datasets

    kind, seed = spec["set"], spec.get("seed", 0)
    train, val, noise = spec["train"], spec["val"], spec.get("noise", 0.0)
    extra = spec.get("extra", 0)
    if kind == "digits":
        bunch = datasets.load_digits()
        x = (bunch.data / 16.0).astype(np.float32)
        return _split(x, bunch.target, train, val, 10, noise, seed, False, extra)
    if kind in ("breast_cancer", "wine", "iris"):
        bunch = getattr(datasets, f"load_{kind}")()
        classes = int(bunch.target.max()) + 1
        x = bunch.data.astype(np.float32)
        return _split(x, bunch.target, train, val, classes, noise, seed, extra=extra)
    if kind == "diabetes":
        bunch = datasets.load_diabetes()
        y = ((bunch.target - bunch.target.mean()) / bunch.target.std()).astype(np.float32)
        return _split(bunch.data.astype(np.float32), y, train, val, 0, 0.0, seed)
    total = train + val + extra + spec.get("held", 8000)
    if kind == "classification":
        x, y = datasets.make_classification(
            n_samples=total,
            n_features=spec.get("features", 20),
            n_informative=spec.get("informative", 8),
            n_redundant=spec.get("redundant", 4),
            n_classes=spec.get("classes", 4),
            n_clusters_per_class=spec.get("clusters", 2),
            class_sep=spec.get("sep", 1.0),
            random_state=seed,
        )
        classes = spec.get("classes", 4)
        return _split(x.astype(np.float32), y, train, val, classes, noise, seed, extra=extra)
    if kind == "moons":
        spread = spec.get("spread", 0.25)
        x, y = datasets.make_moons(n_samples=total, noise=spread, random_state=seed)
        return _split(x.astype(np.float32), y, train, val, 2, noise, seed, extra=extra)
    raise ValueError(f"unknown data set {kind!r}")


# -- token sequences for the Hugging Face runs ----------------------------------------------

VOCAB = 200
SEQUENCE = 24
CLS, PAD = 1, 0
FIRST_WORD = 5
POSITIVE = range(FIRST_WORD, 60)
NEGATIVE = range(60, 115)


@dataclass
class Tokens:
    ids: np.ndarray  # (n, SEQUENCE) int64, CLS first
    labels: np.ndarray  # (n,) int64


def tokens(count: int, seed: int, noise: float = 0.0) -> Tokens:
    """Sequences labelled 1 when they hold more 'positive' than 'negative' words.

    Words come from one fixed Zipf-like distribution over the vocabulary (the same for
    every seed), so most sequences hold few sentiment words and the task needs counting.
    """
    words = np.random.default_rng(VOCAB).permutation(np.arange(FIRST_WORD, VOCAB))
    weights = 1.0 / np.arange(1, VOCAB - FIRST_WORD + 1) ** 0.6
    rng = np.random.default_rng(seed)
    body = rng.choice(words, size=(count, SEQUENCE - 1), p=weights / weights.sum())
    positive = np.isin(body, list(POSITIVE)).sum(axis=1)
    negative = np.isin(body, list(NEGATIVE)).sum(axis=1)
    labels = (positive > negative).astype(np.int64)
    ties = positive == negative
    labels[ties] = rng.integers(0, 2, int(ties.sum()))
    if noise:
        _plant_noise(labels, noise, 2, rng)
    ids = np.concatenate([np.full((count, 1), CLS), body], axis=1).astype(np.int64)
    return Tokens(ids, labels)
