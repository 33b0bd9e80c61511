"""The torch backend's loading (in its own subprocess): every format the probe runs in torch.

Formats: TorchScript (``torch.jit.load``), torch.export programs (``torch.export.load``),
an ``nn.Module`` factory given as the model (``module.path:callable``, the user's own code)
with ``--weights`` loaded as the static loader loads them (``weights_only=True`` unless
``--trust-pickle``), a whole pickled module only with ``--trust-pickle``, and ONNX graphs
converted with onnx2torch. When onnx2torch cannot convert a graph, the error names the operator and
the probe falls back to onnxruntime for what inference alone can measure.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overfitlint import formats
from overfitlint.errors import InputError

warnings.filterwarnings("ignore", category=FutureWarning)  # torch.jit's deprecation notices
warnings.filterwarnings("ignore", category=UserWarning)


class Unconvertible(Exception):
    """onnx2torch has no converter for an operator of the graph."""

    def __init__(self, op: str, detail: str):
        super().__init__(detail)
        self.op = op


@dataclass
class LoadedModel:
    build: Callable[[], Any]
    """A fresh copy of the model with the file's weights, on CPU."""
    kind: str
    sample_shape: list[int] | None = None
    fixed_batch: int | None = None
    notes: list[str] = field(default_factory=list)
    can_add_dropout: bool = True


def load(request: dict[str, Any]) -> LoadedModel:
    """The model, through the same no-code paths as the static check unless the request
    carries the user's opt-in (the parent refuses before it sends anything else)."""
    fmt = request["format"]
    path = Path(request["model"])
    if fmt == formats.FACTORY:
        return _from_factory(request)
    if fmt in (formats.TORCH_PICKLE, formats.TORCH_CHECKPOINT):
        if not request.get("trust_pickle"):
            raise InputError(f"{path}: unpickling it can run code; pass --trust-pickle to allow")
        return _pickled_module(path)
    if fmt == formats.TORCHSCRIPT:
        if not request.get("trust_torchscript"):
            raise InputError(f"{path}: running TorchScript runs its code; pass --trust-torchscript")
        return _torchscript(path)
    if fmt == formats.TORCH_EXPORT:
        return _exported(path)
    if fmt == formats.ONNX:
        return _onnx(path)
    raise InputError(f"{path}: the probe cannot run {fmt} files")


def _torchscript(path: Path) -> LoadedModel:
    import torch

    def build():
        return torch.jit.load(str(path), map_location="cpu")

    model = build()
    return LoadedModel(build, "torchscript", _shape_from_layers(model), can_add_dropout=False)


def _exported(path: Path) -> LoadedModel:
    import torch

    program = torch.export.load(str(path))
    shape, batch = None, None
    args = program.example_inputs[0] if program.example_inputs else ()
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if len(tensors) == 1 and tensors[0].dim() >= 1:
        batch = int(tensors[0].shape[0])
        shape = [int(d) for d in tensors[0].shape[1:]]

    def build():
        return torch.export.load(str(path)).module()

    fixed = None
    if shape is not None:
        module = build()
        try:
            with torch.no_grad():
                module(torch.zeros(batch + 1, *shape))
        except Exception:  # the batch size was fixed at export time
            fixed = batch
    notes = [] if fixed is None else [f"the program was exported with a fixed batch of {fixed}"]
    return LoadedModel(build, "torch_export", shape, fixed, notes, can_add_dropout=False)


def _onnx(path: Path) -> LoadedModel:
    import onnx
    import torch

    try:
        import onnx2torch
    except ImportError as exc:  # pragma: no cover - the worker checks before choosing torch
        raise Unconvertible("?", f"onnx2torch is not installed: {exc}") from None

    proto = onnx.load_model(str(path), load_external_data=False)
    external = any(t.data_location == 1 for t in proto.graph.initializer)
    if external:
        proto = onnx.load_model(str(path))  # the loader already confined external data

    def build():
        try:
            model = onnx2torch.convert(proto)
        except NotImplementedError as exc:
            match = re.search(r"operation_type='([^']+)'", str(exc))
            raise Unconvertible(match.group(1) if match else "?", str(exc)) from None
        _initializers_as_parameters(model, torch)
        return model

    model = build()
    return LoadedModel(build, "onnx", _shape_from_onnx(proto) or _shape_from_layers(model))


def _initializers_as_parameters(model, torch) -> None:
    """onnx2torch keeps weights outside Linear/Conv modules as buffers: make them trainable."""
    holder = getattr(model, "initializers", None)
    if holder is None:
        return
    for name, buffer in list(holder.named_buffers(recurse=False)):
        if buffer.is_floating_point() and buffer.dim() >= 1:
            delattr(holder, name)
            holder.register_parameter(name, torch.nn.Parameter(buffer.clone()))


def _shape_from_onnx(proto) -> list[int] | None:
    initializers = {t.name for t in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        return None
    dims = inputs[0].type.tensor_type.shape.dim[1:]
    if not all(d.HasField("dim_value") and d.dim_value > 0 for d in dims):
        return None
    return [int(d.dim_value) for d in dims]


def _shape_from_layers(model) -> list[int] | None:
    """A flat input from the first Linear layer; convolutions need --input-shape."""
    for module in model.modules():
        kind = getattr(module, "original_name", type(module).__name__)
        if kind == "Linear" and hasattr(module, "weight"):
            return [int(module.weight.shape[1])]
        if kind.startswith(("Conv", "Embedding", "LSTM", "GRU", "RNN", "MultiheadAttention")):
            return None
    return None


def _from_factory(request: dict[str, Any]) -> LoadedModel:
    """``module.path:callable`` (the model argument the user gave) plus its ``--weights``,
    built and loaded as the static loader does it (its folder searched last)."""
    from overfitlint.loaders.models.pytorch import build_factory, load_weights

    spec, weights = request["model"], request.get("weights")
    if request.get("factory_path") and request["factory_path"] not in sys.path:
        sys.path.append(request["factory_path"])

    def build():
        model = build_factory(spec)
        if weights:
            load_weights(model, Path(weights), bool(request.get("trust_pickle")))
        return model

    model = build()
    notes = [] if weights else ["no --weights: the factory's own (initial) weights are probed"]
    return LoadedModel(build, "factory", _shape_from_layers(model), notes=notes)


def _pickled_module(path: Path) -> LoadedModel:
    """A whole module saved with torch.save(model): only with --trust-pickle (runs its code)."""
    import torch

    def build():
        loaded = torch.load(str(path), map_location="cpu", weights_only=False)
        if not isinstance(loaded, torch.nn.Module):
            raise InputError(
                f"{path}: holds weights but no architecture; give the model as "
                "MODULE:CALLABLE with --weights FILE"
            )
        return loaded

    model = build()
    return LoadedModel(build, "pickled module", _shape_from_layers(model))
