"""Synthetic learning curves with a known truth, under realistic noise.

Each curve is a noise-free training and validation loss (the truth) plus noise:
multiplicative, heavy-tailed (Student t, 4 degrees of freedom) and, for half of
the curves, autocorrelated (AR(1), phi = 0.6), as epoch-to-epoch fluctuations of
real validation losses are. Kinds:

- overfit: converges, then rises from an onset (linear to convex ramp)
- overfit-short: the same in 10-20 epochs
- overfit-after-drop: a learning-rate drop lowers the loss, which then rises
- overfit-after-warmup: a warm-up bump first, overfitting later
- plateau: converges and stays flat
- improving: still falling slowly at the end
- lr-drop: a learning-rate drop lowers the loss to a new flat level
- lr-bump: a transient rise (a warm restart) that recovers
- warmup: a warm-up bump, then convergence
- recovers: rises, then falls below its old minimum (double descent)
- train-rising: validation and training loss rise together (optimisation trouble)
- tiny-rise: ends 0.5-1.5% above its minimum (within what the label calls flat)

Labels from the truth: ``overfit`` when the true validation loss ends >= 10% above
its minimum, >= 5 epochs after it, with the true training loss falling; ``healthy``
when it ends <= 2% above (or the training loss rises too). The generator draws
until a curve's truth is clearly one or the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOISE_LEVELS = (0.005, 0.02, 0.05, 0.10)
POSITIVE = ("overfit", "overfit-short", "overfit-after-drop", "overfit-after-warmup")
NEGATIVE = (
    "plateau",
    "improving",
    "lr-drop",
    "lr-bump",
    "warmup",
    "recovers",
    "train-rising",
    "tiny-rise",
)
KINDS = POSITIVE + NEGATIVE


@dataclass
class Curve:
    name: str
    kind: str
    noise: float
    train: np.ndarray
    val: np.ndarray
    true_val: np.ndarray
    label: str
    true_best: int


def _base(rng, n: int, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    floor = rng.uniform(0.2, 0.8)
    start = floor + rng.uniform(0.5, 2.0)
    tau = rng.uniform(0.06, 0.2) * n
    val = floor + (start - floor) * np.exp(-t / tau)
    train_floor = floor * rng.uniform(0.6, 1.0)
    train = train_floor + (start - train_floor) * np.exp(-t / (tau * rng.uniform(0.8, 1.2)))
    return train, val


def _ramp(rng, n: int, t: np.ndarray, onset: float, amplitude: float) -> np.ndarray:
    gamma = rng.uniform(1.0, 1.8)
    ramp = np.clip((t - onset) / max(1.0, n - 1 - onset), 0, None) ** gamma
    return amplitude * ramp


def _truth(rng, kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n, dtype=np.float64)
    train, val = _base(rng, n, t)
    floor = val.min()
    # overfitting also keeps the training loss falling: a slow decay towards zero
    train = train - train.min() * 0.5 * (1 - np.exp(-t / (0.5 * n)))
    if kind in ("overfit", "overfit-short"):
        onset = rng.uniform(0.2, 0.7) * (n - 6)
        val = val + _ramp(rng, n, t, onset, floor * rng.uniform(0.15, 0.9))
    elif kind == "overfit-after-drop":
        drop_at = int(rng.uniform(0.3, 0.5) * n)
        val = val * np.where(t >= drop_at, 1 - rng.uniform(0.1, 0.25), 1.0)
        train = train * np.where(t >= drop_at, 1 - rng.uniform(0.2, 0.4), 1.0)
        onset = drop_at + rng.uniform(1, 0.3 * n)
        val = val + _ramp(rng, n, t, min(onset, n - 8), floor * rng.uniform(0.2, 0.8))
    elif kind == "overfit-after-warmup":
        width = rng.uniform(0.05, 0.12) * n
        val = val + floor * rng.uniform(0.2, 0.5) * np.exp(-(((t - width) / (width / 2)) ** 2))
        onset = rng.uniform(0.4, 0.7) * (n - 6)
        val = val + _ramp(rng, n, t, onset, floor * rng.uniform(0.15, 0.7))
    elif kind == "improving":
        tau = rng.uniform(0.5, 1.2) * n
        val = floor + (val[0] - floor) * np.exp(-t / tau)
    elif kind == "lr-drop":
        drop_at = int(rng.uniform(0.4, 0.75) * n)
        val = val * np.where(t >= drop_at, 1 - rng.uniform(0.1, 0.25), 1.0)
        train = train * np.where(t >= drop_at, 1 - rng.uniform(0.2, 0.4), 1.0)
    elif kind == "lr-bump":
        at = rng.uniform(0.35, 0.7) * n
        width = rng.uniform(1.5, 4.0)
        val = val + floor * rng.uniform(0.05, 0.2) * np.exp(-(((t - at) / width) ** 2))
    elif kind == "warmup":
        width = rng.uniform(0.05, 0.15) * n
        val = val + floor * rng.uniform(0.2, 0.6) * np.exp(-(((t - width) / (width / 2)) ** 2))
    elif kind == "recovers":
        up_at, down_at = rng.uniform(0.25, 0.4) * n, rng.uniform(0.55, 0.7) * n
        bump = np.clip((t - up_at) / (down_at - up_at), 0, None)
        bump = np.where(t < down_at, bump, np.exp(-(t - down_at) / 3.0))
        val = val + floor * rng.uniform(0.1, 0.3) * bump
        settle = (t >= down_at) * (1 - np.exp(-(t - down_at) / 4.0))
        val = val - floor * rng.uniform(0.06, 0.15) * settle
    elif kind == "train-rising":
        onset = rng.uniform(0.3, 0.6) * n
        rise = np.clip((t - onset) / (n - onset), 0, None)
        val = val + floor * rng.uniform(0.2, 0.6) * rise
        train = train + train.min() * rng.uniform(0.4, 1.0) * rise + 0.3 * floor * rise
    elif kind == "tiny-rise":
        onset = rng.uniform(0.3, 0.6) * n
        val = val + _ramp(rng, n, t, onset, floor * rng.uniform(0.005, 0.015))
    return train, val


def _noise(rng, n: int, sigma: float, correlated: bool) -> np.ndarray:
    shocks = rng.standard_t(4, n) / np.sqrt(2.0)  # unit variance
    if not correlated:
        return sigma * shocks
    phi = 0.6
    out = np.empty(n)
    out[0] = shocks[0]
    for i in range(1, n):
        out[i] = phi * out[i - 1] + np.sqrt(1 - phi**2) * shocks[i]
    return sigma * out


def label_of(train: np.ndarray, val: np.ndarray, kind: str) -> tuple[str | None, int]:
    best = int(np.argmin(val))
    rise = (val[-1] - val[best]) / val[best]
    if kind == "train-rising":
        return ("healthy" if train[-1] > train[best] else None), best
    if rise >= 0.10 and best <= val.size - 6 and train[-1] < train[best]:
        return "overfit", best
    if rise <= 0.02:
        return "healthy", best
    return None, best


def make_curve(seed: int, kind: str, noise: float) -> Curve:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        n = int(rng.integers(10, 21)) if kind == "overfit-short" else int(rng.choice([30, 60, 120]))
        train, val = _truth(rng, kind, n)
        verdict, best = label_of(train, val, kind)
        wanted = "overfit" if kind in POSITIVE else "healthy"
        if verdict == wanted:
            break
    else:  # pragma: no cover - the kinds are built to land on their label
        raise RuntimeError(f"{kind}: no clear curve drawn")
    correlated = bool(rng.random() < 0.5)
    observed_val = val * (1 + _noise(rng, n, noise, correlated))
    observed_train = train * (1 + _noise(rng, n, noise / 4, False))
    return Curve(
        name=f"{kind}-{noise:g}-{seed}",
        kind=kind,
        noise=noise,
        train=observed_train,
        val=observed_val,
        true_val=val,
        label=verdict,
        true_best=best,
    )


def curves(per_cell: int = 4) -> list[Curve]:
    """``per_cell`` curves for every kind at every noise level (deterministic)."""
    out = []
    for k, kind in enumerate(KINDS):
        for j, noise in enumerate(NOISE_LEVELS):
            for i in range(per_cell):
                out.append(make_curve(10_000 * k + 100 * j + i, kind, noise))
    return out
