"""ONNX graphs built with onnx.helper (no framework needed) and with torch.onnx.export."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def mlp(
    path: Path,
    sizes: list[int],
    dropout: list[float | None] | None = None,
    producer: str = "overfitlint-tests",
    opset: int = 17,
) -> Path:
    """An MLP ``sizes[0] -> ... -> sizes[-1]``; ``dropout[i]`` after hidden layer i (None: none)."""
    rng = np.random.default_rng(0)
    nodes, inits, current = [], [], "x"
    hidden = len(sizes) - 2
    dropout = dropout or [None] * hidden
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        w = numpy_helper.from_array(
            rng.standard_normal((fan_out, fan_in)).astype(np.float32), f"fc{i}.weight"
        )
        b = numpy_helper.from_array(np.zeros(fan_out, np.float32), f"fc{i}.bias")
        inits += [w, b]
        nodes.append(
            helper.make_node("Gemm", [current, w.name, b.name], [f"g{i}"], name=f"fc{i}", transB=1)
        )
        current = f"g{i}"
        if i < hidden:
            nodes.append(helper.make_node("Relu", [current], [f"r{i}"], name=f"relu{i}"))
            current = f"r{i}"
            if dropout[i] is not None:
                if opset >= 12:
                    ratio = numpy_helper.from_array(np.array(dropout[i], np.float32), f"p{i}")
                    inits.append(ratio)
                    nodes.append(
                        helper.make_node(
                            "Dropout", [current, ratio.name], [f"d{i}"], name=f"drop{i}"
                        )
                    )
                else:
                    nodes.append(
                        helper.make_node(
                            "Dropout", [current], [f"d{i}"], name=f"drop{i}", ratio=dropout[i]
                        )
                    )
                current = f"d{i}"
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", sizes[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", sizes[-1]])],
        inits,
    )
    model = helper.make_model(
        graph, producer_name=producer, opset_imports=[helper.make_opsetid("", opset)]
    )
    if opset < 12:
        model.ir_version = 6
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def mlp_params(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in itertools.pairwise(sizes))


def torch_export(
    module, example_input, path: Path, *, training: bool = False, fold: bool | None = None, **kwargs
) -> Path:
    """Export a torch module with the TorchScript-based exporter (producer 'pytorch')."""
    import warnings

    import torch

    mode = torch.onnx.TrainingMode.TRAINING if training else torch.onnx.TrainingMode.EVAL
    if not training:
        module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example_input,),
            str(path),
            dynamo=False,
            training=mode,
            do_constant_folding=(not training) if fold is None else fold,
            **kwargs,
        )
    return path
