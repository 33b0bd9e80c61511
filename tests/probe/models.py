"""Models for the probe tests, saved in the formats the probe runs (small: fast to train)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn
from torch.nn import functional as F

FEATURES, CLASSES, HIDDEN = 20, 4, 128  # 19,716 trainable parameters: above OFL201's floor


class FunctionalDropout(nn.Module):
    """Dropout through torch.nn.functional only: no nn.Dropout module to find statically."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = p
        self.fc1 = nn.Linear(FEATURES, HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, HIDDEN)
        self.out = nn.Linear(HIDDEN, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.dropout(torch.relu(self.fc1(x)), self.p, self.training)
        x = F.dropout(torch.relu(self.fc2(x)), self.p, self.training)
        return self.out(x)


def mlp(dropout: float | None = None) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(FEATURES, HIDDEN), nn.ReLU()]
    if dropout is not None:
        layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(HIDDEN, HIDDEN), nn.ReLU()]
    if dropout is not None:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(HIDDEN, CLASSES))
    return nn.Sequential(*layers)


def build_mlp() -> nn.Module:
    """The factory the ``module:callable`` test names."""
    return mlp()


def save_torchscript(module: nn.Module, path: Path) -> Path:
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(module), str(path))
    return path


def save_export(module: nn.Module, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(module.eval(), (torch.randn(8, FEATURES),))
        torch.export.save(program, str(path))
    return path


def save_keras(path: Path, *, dropout: float | None = None) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    layers = [keras.Input((FEATURES,)), keras.layers.Dense(HIDDEN, activation="relu")]
    if dropout is not None:
        layers.append(keras.layers.Dropout(dropout))
    layers += [keras.layers.Dense(HIDDEN, activation="relu"), keras.layers.Dense(CLASSES)]
    keras.Sequential(layers).save(str(path))
    keras.backend.clear_session()  # later tests' layer names must not depend on this model
    return path


def onnx_with_unconvertible_op(path: Path, op: str = "Shrink") -> Path:
    """An MLP with one operator onnx2torch has no converter for (onnxruntime runs it)."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(
            (rng.standard_normal((512, FEATURES)) * 0.2).astype(np.float32), "w1"
        ),
        numpy_helper.from_array(np.zeros(512, np.float32), "b1"),
        numpy_helper.from_array(
            (rng.standard_normal((CLASSES, 512)) * 0.2).astype(np.float32), "w2"
        ),
        numpy_helper.from_array(np.zeros(CLASSES, np.float32), "b2"),
    ]
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1, name="fc1"),
        helper.make_node(op, ["h"], ["s"], lambd=0.1, name="odd"),
        helper.make_node("Gemm", ["s", "w2", "b2"], ["y"], transB=1, name="fc2"),
    ]
    graph = helper.make_graph(
        nodes,
        "odd_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", CLASSES])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_data(path: Path, n: int = 128, seed: int = 0, features: int = FEATURES) -> Path:
    rng = np.random.default_rng(seed)
    np.savez(
        path,
        x_train=rng.standard_normal((n, features)).astype(np.float32),
        y_train=rng.integers(0, CLASSES, n),
        x_val=rng.standard_normal((n, features)).astype(np.float32),
        y_val=rng.integers(0, CLASSES, n),
    )
    return path
