"""Inputs for the CI-gate tests: small ONNX models and Keras CSV logs built on the spot."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import onnx_models
from tests.builders.logs import keras_csv

SIZES = [20, 128, 64, 2]  # 11,074 parameters: above OFL201/OFL211 min_params


def diverging(path: Path, wobble: float = 0.0) -> Path:
    """30 epochs: training loss falls; validation loss is best at epoch 10, then rises."""
    loss = [1.0 / (1 + 0.3 * e) for e in range(30)]
    val = [0.9 - 0.04 * e if e <= 10 else 0.5 + 0.03 * (e - 10) + wobble for e in range(30)]
    return keras_csv(path, loss, val)


def healthy(path: Path) -> Path:
    loss = [1.0 / (1 + 0.2 * e) for e in range(20)]
    val = [1.1 / (1 + 0.18 * e) + 0.05 for e in range(20)]
    return keras_csv(path, loss, val)


def mlp(path: Path, dropout: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return onnx_models.mlp(path, SIZES, [dropout, dropout])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository with one overfitting model (no dropout, diverging log) in models/a."""
    mlp(tmp_path / "models" / "a" / "model.onnx")
    diverging(tmp_path / "models" / "a" / "logs.csv")
    return tmp_path


@pytest.fixture
def cli(cli):
    """The suite's ``cli`` with ``--no-probe`` on every check: these tests are about the gate,
    and the probe's short training runs would only make them slow."""

    def invoke(*args, **kwargs):
        if args and args[0] == "check":
            args = ("check", "--no-probe", *args[1:])
        return cli(*args, **kwargs)

    return invoke
