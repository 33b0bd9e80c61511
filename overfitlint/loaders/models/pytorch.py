"""PyTorch files: torch.save checkpoints, whole pickled modules, TorchScript, and factories.

Security: nothing in a file is executed. Checkpoints (zip or legacy) and whole pickled
modules are read by ``torch_pickle``'s unpickler, which builds tensor references and inert
stand-ins and calls nothing from the file, so reading them needs no PyTorch and no tensor
bytes. TorchScript archives are read as data (``torchscript``); ``--trust-torchscript`` loads
them with ``torch.jit.load``, which runs their TorchScript. A factory ``module.path:callable``
runs the user's own code: naming it on the command line is the explicit choice.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import os
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from overfitlint import formats
from overfitlint.errors import InputError
from overfitlint.facts import LayerFacts, ModelFacts, OptimizerFacts, Provenance, Unknown
from overfitlint.loaders.models.module_tree import ModuleNode, TensorInfo, layers_from, tied_note
from overfitlint.loaders.models.named_tensors import NamedTensor, group_layers, no_architecture
from overfitlint.loaders.models.torch_optim import optimizer_facts
from overfitlint.loaders.models.torchscript import NO_OPTIMIZER as SCRIPT_NO_OPTIMIZER
from overfitlint.loaders.models.torchscript import load_torchscript_data
from overfitlint.readers import archive as zips
from overfitlint.readers.torch_pickle import (
    MAX_PICKLE,
    StandIn,
    TensorRef,
    load_next,
    unpickle,
)
from overfitlint.settings import LoadHints

TORCH_EXTRA = "pip install 'overfitlint[torch]'"
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
MODEL_KEYS = (
    "state_dict",
    "model_state_dict",
    "model_state",
    "modelstate",
    "modelstatedict",
    "model",
    "net",
    "network",
    "module",
    "weights",
    "params",
    "ema",
    "model_ema",
)
OPTIMIZER_KEYS = (
    "optimizer",
    "optimizer_state_dict",
    "optimizer_state",
    "optimizerstate",
    "optimizerstatedict",
    "optim",
    "opt",
)
PROGRESS_KEYS = ("epoch", "global_step", "step", "iteration", "best_metric", "best_acc")
FUNCTIONAL_DROPOUT = re.compile(r"\b(?:F|functional|torch)\.(?:feature_)?(?:alpha_)?dropout\w*\(")
NO_OPTIMIZER = Unknown(
    "the file holds no optimizer state",
    "Save the optimizer with the model (torch.save({'model': model.state_dict(), "
    "'optimizer': optimizer.state_dict()}, path)), or pass --weight-decay VALUE.",
)


def import_torch(what: str):
    try:
        import torch
    except ImportError:
        raise InputError(f"{what}: this needs PyTorch: {TORCH_EXTRA}") from None
    return torch


def load_torch_file(path: Path, fmt: str, hints: LoadHints) -> ModelFacts:
    if fmt == formats.TORCHSCRIPT:
        if hints.trust_torchscript:
            return _trusted_torchscript(path)
        return load_torchscript_data(path)
    return _checkpoint_facts(read_checkpoint(path, fmt), path)


def _first_line(exc: BaseException, limit: int = 240) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line[:limit]


# ---------------------------------------------------------------- reading pickles as data


def read_checkpoint(path: Path, fmt: str, *, strict: bool = False) -> Any:
    """The object a torch.save file holds, as data (``strict``: allowlisted globals only)."""
    if fmt == formats.TORCH_CHECKPOINT:
        with zips.open_zip(path, "PyTorch checkpoint") as archive:
            names = archive.namelist()
            member = next((n for n in names if n.endswith("data.pkl") and n.count("/") == 1), None)
            if member is None:
                raise InputError(f"{path}: a zip archive without data.pkl; is it truncated?")
            data = zips.read_member(archive, member, path, MAX_PICKLE)
        return unpickle(data, str(path), strict=strict)
    return _legacy(path, strict)


def _legacy(path: Path, strict: bool) -> Any:
    """A legacy torch.save file (magic number, protocol, system info, then the object) or any
    other single pickle; the storages after the pickles are not read."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            data = handle.read(min(size, MAX_PICKLE))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    stream = io.BytesIO(data)
    first = load_next(stream, str(path), strict=strict)
    if first != LEGACY_MAGIC:
        return first
    load_next(stream, str(path), strict=strict)  # protocol version
    load_next(stream, str(path), strict=strict)  # system info
    return load_next(stream, str(path), strict=strict)


# ---------------------------------------------------------------- checkpoints


def _key(name: Any) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _is_tensor_dict(value: Any) -> bool:
    if not isinstance(value, dict) or not value:
        return False
    tensors = sum(1 for v in value.values() if isinstance(v, TensorRef))
    return tensors > 0 and tensors >= len(value) // 2 and all(isinstance(k, str) for k in value)


def _is_module(value: Any) -> bool:
    return isinstance(value, StandIn) and "_modules" in value.state


def find_model(loaded: Any) -> tuple[str, Any]:
    """(key, a module stand-in or a tensor dict) of the model in a checkpoint, or (key, None)."""
    if _is_module(loaded) or _is_tensor_dict(loaded):
        return "", loaded
    if not isinstance(loaded, dict):
        return "", None
    wanted = {_key(k) for k in MODEL_KEYS}
    for key, value in loaded.items():
        if _key(key) in wanted and (_is_module(value) or _is_tensor_dict(value)):
            return str(key), value
    for key, value in loaded.items():  # any other entry that is a module or a state dict
        if _is_module(value) or _is_tensor_dict(value):
            return str(key), value
    return "", None


def find_optimizer(loaded: Any) -> tuple[str, Any, int]:
    if not isinstance(loaded, dict):
        return "", None, 0
    wanted = {_key(k) for k in OPTIMIZER_KEYS}
    for key, value in loaded.items():
        if _key(key) in wanted and isinstance(value, dict) and "param_groups" in value:
            return str(key), value, 1
    states = loaded.get("optimizer_states")  # PyTorch Lightning
    if isinstance(states, list) and states and isinstance(states[0], dict):
        return "optimizer_states[0]", states[0], len(states)
    return "", None, 0


def _state_dict_tensors(state: dict) -> list[NamedTensor]:
    return [
        NamedTensor(name, tensor.shape, tensor.floating, tensor.identity)
        for name, tensor in state.items()
        if isinstance(tensor, TensorRef)
    ]


def pickled_module_nodes(root: StandIn) -> Iterator[ModuleNode]:
    """A whole pickled ``nn.Module`` read as stand-ins, in named_modules() order."""
    seen: set[int] = set()
    stack: list[tuple[str, StandIn]] = [("", root)]
    while stack:
        name, module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        state = module.state
        children = state.get("_modules") if isinstance(state.get("_modules"), dict) else {}
        children = {k: v for k, v in children.items() if isinstance(v, StandIn)}
        node = ModuleNode(name, module.class_name, has_children=bool(children))
        parameters = state.get("_parameters") if isinstance(state.get("_parameters"), dict) else {}
        for tensor in parameters.values():
            if isinstance(tensor, TensorRef):
                node.parameters.append(
                    TensorInfo(tensor.identity, tensor.numel, tensor.requires_grad, tensor.floating)
                )
        buffers = state.get("_buffers") if isinstance(state.get("_buffers"), dict) else {}
        transient = state.get("_non_persistent_buffers_set") or set()
        for buffer_name, tensor in buffers.items():
            if isinstance(tensor, TensorRef) and buffer_name not in transient:
                node.buffers.append(
                    TensorInfo(tensor.identity, tensor.numel, False, tensor.floating)
                )
        node.attributes = {k: v for k, v in state.items() if isinstance(v, int | float | bool)}
        yield node
        for key, child in reversed(list(children.items())):
            stack.append((f"{name}.{key}" if name else str(key), child))


def _checkpoint_facts(loaded: Any, path: Path) -> ModelFacts:
    key, model = find_model(loaded)
    if model is None:
        shown = (
            f"a dict with keys {sorted(map(str, loaded))[:8]}"
            if isinstance(loaded, dict)
            else f"a {type(loaded).__name__}"
        )
        raise InputError(
            f"{path}: holds {shown}, but no model: no state_dict, model_state_dict, model "
            "or tensors; is it a PyTorch model checkpoint?"
        )
    where = f"[{key!r}]" if key else ""
    if _is_module(model):
        layers, tied = layers_from(pickled_module_nodes(model))
        facts = ModelFacts(
            framework="pytorch",
            source=str(path),
            format="torch-checkpoint",
            layers=layers,
            provenance=Provenance(producer="pytorch", details={"root_module": model.class_name}),
            optimizer=NO_OPTIMIZER,
            dropout_visible=True,
            notes=[
                "a whole pickled nn.Module, read as data: its classes were not imported "
                "and nothing from the file was run",
                *tied_note(tied),
            ],
        )
    else:
        layers, notes = group_layers(_state_dict_tensors(model))
        facts = ModelFacts(
            framework="pytorch",
            source=str(path),
            format="torch-checkpoint",
            layers=layers,
            provenance=Provenance(producer="pytorch"),
            optimizer=NO_OPTIMIZER,
            dropout_visible=no_architecture(f"a state_dict{where and ' ' + where}", str(path)),
            notes=notes,
        )
    facts.provenance.details["model_key"] = key or "(top level)"
    opt_key, state, count = find_optimizer(loaded)
    if state is not None:
        facts.optimizer = optimizer_facts(state, f"checkpoint[{opt_key!r}]")
        if count > 1:
            facts.notes.append(f"the checkpoint holds {count} optimizers; the first is read")
    if isinstance(loaded, dict):
        facts.provenance.details.update(_progress(loaded))
    return facts


def _scalar(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _progress(loaded: dict) -> dict[str, Any]:
    """Training progress a checkpoint records: epoch, step, Lightning's callback states."""
    found: dict[str, Any] = {}
    for progress in PROGRESS_KEYS:
        value = _scalar(loaded.get(progress))
        if value is not None:
            found[progress] = value
    hyper = loaded.get("hyper_parameters") or loaded.get("hparams")
    if isinstance(hyper, dict):
        found["hyper_parameters"] = {
            str(k): v
            for k, v in list(hyper.items())[:30]
            if isinstance(v, int | float | str | bool) and len(str(v)) <= 200
        }
    callbacks = loaded.get("callbacks")
    if isinstance(callbacks, dict):
        for name, state in callbacks.items():
            if not isinstance(state, dict):
                continue
            kind = str(name).split("{", 1)[0]
            kept = {
                str(k): v
                for k, v in state.items()
                if isinstance(v, int | float | str | bool) and len(str(v)) <= 300
            }
            if kind in ("ModelCheckpoint", "EarlyStopping") and kept:
                found[_key(kind)] = kept
    return found


# ---------------------------------------------------------------- live modules


def live_module_nodes(module) -> Iterator[ModuleNode]:
    """A live ``nn.Module`` (or a trusted ScriptModule), in named_modules() order."""
    persistent = set(module.state_dict().keys())
    for name, sub in module.named_modules():
        kind = getattr(sub, "original_name", None) or type(sub).__name__
        node = ModuleNode(name, kind, has_children=next(iter(sub.children()), None) is not None)
        for _, parameter in sub.named_parameters(recurse=False):
            node.parameters.append(
                TensorInfo(_tensor_key(parameter), parameter.numel(), parameter.requires_grad)
            )
        for buffer_name, buffer in sub.named_buffers(recurse=False):
            full = f"{name}.{buffer_name}" if name else buffer_name
            if full in persistent:
                node.buffers.append(
                    TensorInfo(
                        _tensor_key(buffer), buffer.numel(), False, buffer.is_floating_point()
                    )
                )
        for attribute in ("p", "dropout"):
            value = getattr(sub, attribute, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                node.attributes[attribute] = float(value)
        yield node


def _tensor_key(tensor) -> Any:
    try:
        if tensor.device.type != "meta" and tensor.numel():
            return (
                tensor.untyped_storage().data_ptr(),
                tensor.storage_offset(),
                tuple(tensor.shape),
                tuple(tensor.stride()),
            )
    except (RuntimeError, NotImplementedError):
        pass
    return id(tensor)


def module_facts(module, source: str, fmt: str) -> ModelFacts:
    """Facts from a live ``nn.Module``: functional dropout is found in forward()'s source."""
    layers, tied = layers_from(live_module_nodes(module))
    notes = tied_note(tied)
    checked: set[type] = set()
    for name, sub in module.named_modules():
        if type(sub) in checked:
            continue
        checked.add(type(sub))
        where = name or "(root)"
        if _uses_functional_dropout(type(sub)) and not any(
            layer.is_dropout for layer in layers if layer.name == where
        ):
            layers.append(LayerFacts(f"{where} (functional)", "Dropout"))
            notes.append(f"{where}: forward() calls a functional dropout; its rate is not read")
    return ModelFacts(
        framework="pytorch",
        source=source,
        format=fmt,
        layers=layers,
        provenance=Provenance(producer="pytorch", details={"root_module": type(module).__name__}),
        optimizer=NO_OPTIMIZER,
        dropout_visible=True,
        notes=notes,
    )


def _uses_functional_dropout(cls: type) -> bool:
    if cls.__module__.startswith("torch."):
        return False
    try:
        source = inspect.getsource(cls.forward)
    except (OSError, TypeError, AttributeError):
        return False
    return bool(FUNCTIONAL_DROPOUT.search(source))


def _trusted_torchscript(path: Path) -> ModelFacts:
    """--trust-torchscript: torch.jit.load, which runs the archive's TorchScript."""
    torch = import_torch(str(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        raise InputError(
            f"{path}: not a readable TorchScript archive ({type(exc).__name__}: "
            f"{_first_line(exc)}); is it truncated?"
        ) from None
    layers, tied = layers_from(live_module_nodes(module))
    facts = load_torchscript_data(path)  # the code scan finds functional dropout
    functional = [layer for layer in facts.layers if layer.name.endswith("(functional)")]
    if not any(layer.is_dropout for layer in layers):
        layers.extend(functional)
    return ModelFacts(
        framework="pytorch",
        source=str(path),
        format="torchscript",
        layers=layers,
        provenance=Provenance(producer="torch.jit", details=dict(facts.provenance.details)),
        optimizer=SCRIPT_NO_OPTIMIZER,
        dropout_visible=True,
        notes=["loaded with torch.jit.load (--trust-torchscript)", *tied_note(tied)],
    )


# ---------------------------------------------------------------- factories


def import_factory(spec: str):
    """The callable ``module.path:callable`` names. The working folder is searched last, so a
    module of the same name elsewhere on the path (the standard library first) wins."""
    module_name, _, attribute = spec.partition(":")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.append(cwd)
    try:
        with contextlib.redirect_stdout(sys.stderr):  # keep stdout for our own output
            target: Any = importlib.import_module(module_name)
            for part in attribute.split("."):
                target = getattr(target, part)
    except ModuleNotFoundError as exc:
        raise InputError(
            f"{spec}: cannot import {module_name} ({exc}); run from the folder that holds it "
            "or install it"
        ) from None
    except AttributeError as exc:
        raise InputError(f"{spec}: {module_name} has no {attribute} ({exc})") from None
    except SystemExit as exc:
        raise InputError(f"{spec}: importing it called exit({exc.code})") from None
    except Exception as exc:
        raise InputError(
            f"{spec}: importing it raised {type(exc).__name__}: {_first_line(exc)}"
        ) from None
    if not callable(target):
        raise InputError(f"{spec}: {attribute} is not callable")
    return target


def build_factory(spec: str):
    """Call the user's factory; it must return an ``nn.Module``."""
    target = import_factory(spec)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            built = target()
    except SystemExit as exc:
        raise InputError(f"{spec}: the factory called exit({exc.code})") from None
    except Exception as exc:
        raise InputError(
            f"{spec}: the factory raised {type(exc).__name__}: {_first_line(exc)}"
        ) from None
    torch = import_torch(spec)
    if not isinstance(built, torch.nn.Module):
        raise InputError(
            f"{spec}: returned a {type(built).__name__}; a factory must return a torch.nn.Module"
        )
    return built


def load_factory(spec: str, hints: LoadHints) -> ModelFacts:
    """Build the model by calling the user's ``module.path:callable`` (their own code)."""
    built = build_factory(spec)
    optimizer = None
    if hints.weights is not None:
        optimizer = load_weights(built, hints.weights, hints.trust_pickle)
    facts = module_facts(built, spec, formats.FACTORY)
    facts.provenance.details["factory"] = spec
    if hints.weights is not None:
        facts.provenance.details["weights"] = str(hints.weights)
    facts.optimizer = optimizer or Unknown(
        "a factory builds the model but not its optimizer",
        "Give the training checkpoint with --weights CKPT (with the optimizer's "
        "state_dict in it), or pass --weight-decay VALUE.",
    )
    return facts


def load_weights(module, weights: Path, trust_pickle: bool) -> OptimizerFacts | Unknown | None:
    """Load --weights into the built module (strict); return the optimizer it holds, if any.

    A checkpoint is checked first with the allowlist unpickler in strict mode (tensor rebuilds
    and containers only), so torch's own weights-only loader never sees a global beyond them."""
    torch = import_torch(str(weights))
    if not weights.is_file():
        raise InputError(f"{weights}: no such file (--weights)")
    fmt = formats.model_format_of(weights, formats.read_head(weights))
    optimizer = None
    if fmt == formats.SAFETENSORS:
        state = _safetensors_state(weights)
    elif fmt in (formats.TORCH_CHECKPOINT, formats.TORCH_PICKLE):
        data = read_checkpoint(weights, fmt, strict=not trust_pickle)
        opt_key, opt_state, _ = find_optimizer(data)
        if opt_state is not None:
            optimizer = optimizer_facts(opt_state, f"{weights.name}[{opt_key!r}]")
        loaded = _torch_load(torch, weights, trust_pickle)
        key, _ = find_model(data)
        state = loaded.get(key) if key and isinstance(loaded, dict) else loaded
        if isinstance(state, torch.nn.Module):
            state = state.state_dict()
        if not isinstance(state, dict):
            raise InputError(f"{weights}: holds no state_dict to load into the model")
    else:
        raise InputError(
            f"{weights}: --weights takes a torch.save checkpoint or a .safetensors file"
        )
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InputError(
            f"{weights}: does not fit the model the factory built ({_first_line(exc)})"
        ) from None
    return optimizer


def _torch_load(torch, weights: Path, trust_pickle: bool) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if trust_pickle:  # --trust-pickle: the user vouches for the file (runs its code)
                return torch.load(weights, map_location="cpu", weights_only=False)
            return torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(f"{weights}: cannot load the weights ({_first_line(exc)})") from None


def _safetensors_state(weights: Path) -> dict:
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise InputError(
            f"{weights}: reading safetensors weights needs safetensors: {TORCH_EXTRA}"
        ) from None
    from overfitlint.readers.safetensors import read_header

    read_header(weights)  # checked before the library sees it
    try:
        return load_file(str(weights))
    except Exception as exc:
        raise InputError(f"{weights}: cannot read safetensors ({_first_line(exc)})") from None
