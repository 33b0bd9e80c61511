"""PyTorch files: TorchScript archives, torch.save checkpoints, and module factories.

Security: checkpoints are loaded with ``torch.load(..., weights_only=True)``,
PyTorch's restricted unpickler that builds tensors and plain containers and
refuses every other Python object. A checkpoint that needs more (a whole pickled
``nn.Module``, custom classes) is refused with a message naming
``--trust-pickle``; only that flag loads it with full unpickling, which runs
whatever code the file holds. TorchScript archives are loaded with
``torch.jit.load``, which compiles TorchScript (not Python) from the archive.
A factory ``module.path:callable`` runs the user's own code: naming it on the
command line is the explicit choice.

Counting: a module's parameters (``requires_grad`` ones are trainable) plus its
persistent floating-point buffers (BatchNorm running statistics) as
non-trainable parameters, each tensor once (weight tying), as
``sum(p.numel() for p in model.parameters())`` counts the trainable part.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any

from overfitlint.errors import InputError
from overfitlint.facts import LayerFacts, ModelFacts, Provenance, Unknown
from overfitlint.loaders.named_tensors import (
    TORCH_DROPOUT_MODULES as DROPOUT_MODULES,
)
from overfitlint.loaders.named_tensors import NamedTensor, group_layers, no_architecture
from overfitlint.loaders.torch_optim import optimizer_facts
from overfitlint.settings import Settings

TORCH_EXTRA = "pip install 'overfitlint[torch]'"
BUILTIN_DROPOUT_MODULES = {"LSTM", "GRU", "RNN", "MultiheadAttention"}
MODEL_KEYS = ("state_dict", "model_state_dict", "model_state", "model", "net", "network", "module")
OPTIMIZER_KEYS = ("optimizer", "optimizer_state_dict", "optimizer_state", "optim", "opt")
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
        raise InputError(f"{what}: reading PyTorch files needs PyTorch: {TORCH_EXTRA}") from None
    return torch


def load_torch_file(path: Path, kind: str, settings: Settings) -> ModelFacts:
    torch = import_torch(str(path))
    if kind == "torchscript":
        return _torchscript(path, torch)
    loaded = safe_load(path, torch, settings.trust_pickle, zipped=kind == "torch-checkpoint")
    return _checkpoint_facts(loaded, path, torch, settings)


def _first_line(exc: BaseException, limit: int = 240) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line[:limit]


def safe_load(path: Path, torch, trust_pickle: bool, *, zipped: bool) -> Any:
    import pickle

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True, mmap=zipped)
    except pickle.UnpicklingError as exc:
        message = str(exc)
        if "weights only" not in message.lower() and "weights_only" not in message:
            raise InputError(
                f"{path}: not a readable PyTorch checkpoint ({_first_line(exc)})"
            ) from None
        blocked = re.search(r"GLOBAL ([\w.]+)", message)
        what = f" (it stores the Python object {blocked.group(1)})" if blocked else ""
        if not trust_pickle and not blocked:
            detail = re.search(r"WeightsUnpickler error:\s*([^\n]+)", message)
            raise InputError(
                f"{path}: PyTorch's safe loader cannot read this pickle"
                f"{f' ({detail.group(1).strip()[:120]})' if detail else ''}: it is not a "
                "torch.save checkpoint, or it needs full unpickling, which can run any code "
                "the file contains; refused. If you made this file or fully trust it, pass "
                "--trust-pickle"
            ) from None
        if not trust_pickle:
            raise InputError(
                f"{path}: loading this checkpoint needs full unpickling{what}, which can run "
                "any code the file contains; refused. If you made this file or fully trust "
                "it, pass --trust-pickle; better, save model.state_dict() instead"
            ) from None
    except Exception as exc:  # weights_only loading runs no code: any failure is a bad file
        raise InputError(
            f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: "
            f"{_first_line(exc)}); is it truncated or another kind of file?"
        ) from None
    # --trust-pickle: the user vouches for this file
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise InputError(
            f"{path}: cannot unpickle it even with --trust-pickle ({_first_line(exc)}); "
            "the classes it needs may not be importable here"
        ) from None


# ---------------------------------------------------------------- modules


def _kind(module) -> str:
    return getattr(module, "original_name", None) or type(module).__name__


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


def module_facts(module, source: str, fmt: str, *, scripted: bool = False) -> ModelFacts:
    """Facts from a live ``nn.Module`` or TorchScript module."""
    layers: list[LayerFacts] = []
    seen: set[Any] = set()
    tied = 0
    persistent = set(module.state_dict().keys())
    functional: list[str] = []
    checked_classes: set[type] = set()
    for name, sub in module.named_modules():
        kind = _kind(sub)
        entry = LayerFacts(name or "(root)", kind)
        for _, parameter in sub.named_parameters(recurse=False):
            key = _tensor_key(parameter)
            if key in seen:
                tied += 1
                continue
            seen.add(key)
            entry.params += parameter.numel()
            if parameter.requires_grad:
                entry.trainable_params += parameter.numel()
        for buffer_name, buffer in sub.named_buffers(recurse=False):
            full = f"{name}.{buffer_name}" if name else buffer_name
            if full not in persistent or not buffer.is_floating_point():
                continue
            key = _tensor_key(buffer)
            if key in seen:
                continue
            seen.add(key)
            entry.params += buffer.numel()
        if kind in DROPOUT_MODULES:
            entry.dropout_rate = _float(getattr(sub, "p", None))
        elif kind in BUILTIN_DROPOUT_MODULES:
            rate = _float(getattr(sub, "dropout", None))
            entry.dropout_rate = rate if rate else None
        if (
            entry.params
            or entry.dropout_rate is not None
            or kind in DROPOUT_MODULES
            or entry.is_augmentation
            or entry.is_normalization
        ):
            layers.append(entry)
        if not scripted and type(sub) not in checked_classes:
            checked_classes.add(type(sub))
            if _uses_functional_dropout(type(sub)):
                functional.append(name or "(root)")
    _chain_inputs(module, layers)
    notes = []
    if tied:
        notes.append(f"{tied} parameter(s) are shared between modules (weight tying), counted once")
    if scripted and not any(layer.is_dropout for layer in layers):
        for where, rate in _graph_dropouts(module):
            layers.append(LayerFacts(where, "Dropout", dropout_rate=rate))
    for where in functional:
        if not any(layer.is_dropout for layer in layers if layer.name == where):
            layers.append(LayerFacts(f"{where} (functional)", "Dropout"))
            notes.append(f"{where}: forward() calls a functional dropout; its rate is not read")
    return ModelFacts(
        framework="pytorch",
        source=source,
        format=fmt,
        layers=layers,
        provenance=Provenance(producer="pytorch", details={"root_module": _kind(module)}),
        optimizer=NO_OPTIMIZER,
        dropout_visible=True,
        notes=notes,
    )


def _chain_inputs(module, layers: list[LayerFacts]) -> None:
    """When every module that has children is an ``nn.Sequential``, modules run in the order
    ``named_modules()`` lists them: each listed layer reads the one listed before it. Any other
    container has its own forward(), whose data flow is not read: inputs stay unknown."""
    listed = {layer.name: layer for layer in layers}
    order = []
    for name, sub in module.named_modules():
        if next(iter(sub.children()), None) is not None:
            if _kind(sub) != "Sequential":
                return
            continue
        if (name or "(root)") in listed:
            order.append(listed[name or "(root)"])
    previous: list[str] = []
    for entry in order:
        entry.inputs = list(previous)
        previous = [entry.name]


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _uses_functional_dropout(cls: type) -> bool:
    if cls.__module__.startswith("torch."):
        return False
    try:
        source = inspect.getsource(cls.forward)
    except (OSError, TypeError, AttributeError):
        return False
    return bool(FUNCTIONAL_DROPOUT.search(source))


def _graph_dropouts(module) -> list[tuple[str, float | None]]:
    """aten::dropout calls in a TorchScript graph (functional dropout in forward())."""
    found: list[tuple[str, float | None]] = []
    try:
        graph = module.inlined_graph
    except (RuntimeError, AttributeError):
        return found

    def nodes(block, depth=0):
        for node in block.nodes():
            yield node
            if depth < 32:
                for inner in node.blocks():
                    yield from nodes(inner, depth + 1)

    calls = {}
    for node in nodes(graph):
        kind = node.kind()
        if kind.startswith("aten::") and "dropout" in kind:
            calls.setdefault(kind.rstrip("_"), node)  # dropout and dropout_ are two branches
    for kind, node in calls.items():
        rate = None
        try:
            value = list(node.inputs())[1].toIValue()
            rate = float(value) if value is not None else None
        except (RuntimeError, IndexError, TypeError, ValueError):
            pass
        found.append((f"{kind.split('::')[1]}_{len(found)}", rate))
    return found


def _torchscript(path: Path, torch) -> ModelFacts:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # TorchScript loading runs no Python: any failure is a bad file
        raise InputError(
            f"{path}: not a readable TorchScript archive ({type(exc).__name__}: "
            f"{_first_line(exc)}); is it truncated?"
        ) from None
    facts = module_facts(module, str(path), "torchscript", scripted=True)
    facts.provenance.producer = "torch.jit"
    facts.optimizer = Unknown(
        "a TorchScript archive carries no optimizer",
        NO_OPTIMIZER.remedy.replace("the file", "the checkpoint"),
    )
    return facts


# ---------------------------------------------------------------- checkpoints


def _is_tensor_dict(value: Any, torch) -> bool:
    if not isinstance(value, dict) or not value:
        return False
    tensors = sum(1 for v in value.values() if isinstance(v, torch.Tensor))
    return tensors > 0 and tensors >= len(value) // 2 and all(isinstance(k, str) for k in value)


def _state_dict_tensors(state: dict, torch) -> list[NamedTensor]:
    found = []
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor):
            continue
        found.append(
            NamedTensor(
                name,
                tuple(int(d) for d in tensor.shape),
                tensor.is_floating_point(),
                _tensor_key(tensor),
            )
        )
    return found


def _find_model(loaded: Any, torch) -> tuple[str, Any]:
    if isinstance(loaded, torch.nn.Module):
        return "", loaded
    if not isinstance(loaded, dict):
        return "", None
    for key in MODEL_KEYS:
        value = loaded.get(key)
        if isinstance(value, torch.nn.Module) or _is_tensor_dict(value, torch):
            return key, value
    if _is_tensor_dict(loaded, torch):
        return "", loaded
    return "", None


def _find_optimizer(loaded: Any) -> tuple[str, Any, int]:
    if not isinstance(loaded, dict):
        return "", None, 0
    for key in OPTIMIZER_KEYS:
        value = loaded.get(key)
        if isinstance(value, dict) and "param_groups" in value:
            return key, value, 1
    states = loaded.get("optimizer_states")  # PyTorch Lightning
    if isinstance(states, list) and states and isinstance(states[0], dict):
        return "optimizer_states[0]", states[0], len(states)
    return "", None, 0


def _checkpoint_facts(loaded: Any, path: Path, torch, settings: Settings) -> ModelFacts:
    key, model = _find_model(loaded, torch)
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
    if isinstance(model, torch.nn.Module):
        facts = module_facts(model, str(path), "torch-checkpoint")
        facts.notes.append("a whole pickled nn.Module, loaded with --trust-pickle")
    else:
        layers, notes = group_layers(_state_dict_tensors(model, torch))
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
    opt_key, state, count = _find_optimizer(loaded)
    if state is not None:
        facts.optimizer = optimizer_facts(state, f"checkpoint[{opt_key!r}]")
        if count > 1:
            facts.notes.append(f"the checkpoint holds {count} optimizers; the first is read")
    if isinstance(loaded, dict):
        for progress in PROGRESS_KEYS:
            value = _float(loaded.get(progress)) if progress in loaded else None
            if value is not None:
                facts.provenance.details[progress] = value
        hyper = loaded.get("hyper_parameters") or loaded.get("hparams")
        if isinstance(hyper, dict):
            facts.provenance.details["hyper_parameters"] = {
                str(k): v
                for k, v in list(hyper.items())[:30]
                if isinstance(v, int | float | str | bool) and len(str(v)) <= 200
            }
    return facts


# ---------------------------------------------------------------- factories


def load_factory(spec: str, settings: Settings) -> ModelFacts:
    """Build the model by calling the user's ``module.path:callable`` (their own code)."""
    module_name, _, attribute = spec.partition(":")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        with contextlib.redirect_stdout(sys.stderr):  # keep stdout for our own output
            target: Any = importlib.import_module(module_name)
            for part in attribute.split("."):
                target = getattr(target, part)
            if not callable(target):
                raise InputError(f"{spec}: {attribute} is not callable")
            built = target()
    except InputError:
        raise
    except ModuleNotFoundError as exc:
        raise InputError(
            f"{spec}: cannot import {module_name} ({exc}); run from the folder that holds it "
            "or install it"
        ) from None
    except AttributeError as exc:
        raise InputError(f"{spec}: {module_name} has no {attribute} ({exc})") from None
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
    optimizer = None
    if settings.weights is not None:
        optimizer = _load_weights(built, settings.weights, torch, settings)
    facts = module_facts(built, spec, "torch-factory")
    facts.provenance.details["factory"] = spec
    if settings.weights is not None:
        facts.provenance.details["weights"] = str(settings.weights)
    if optimizer is not None:
        facts.optimizer = optimizer
    else:
        facts.optimizer = Unknown(
            "a factory builds the model but not its optimizer",
            "Give the training checkpoint with --weights CKPT (with the optimizer's "
            "state_dict in it), or pass --weight-decay VALUE.",
        )
    return facts


def _load_weights(module, weights: Path, torch, settings: Settings):
    """Load --weights into the built module (strict); return the optimizer it holds, if any."""
    from overfitlint.loaders import models

    if not weights.is_file():
        raise InputError(f"{weights}: no such file (--weights)")
    with weights.open("rb") as handle:
        head = handle.read(4096)
    kind = models.detect(weights, head)
    optimizer = None
    if kind == models.SAFETENSORS:
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise InputError(
                f"{weights}: reading safetensors weights needs safetensors: {TORCH_EXTRA}"
            ) from None
        from overfitlint.loaders.safetensors_model import read_header

        read_header(weights)  # validated before the library sees it
        try:
            state = load_file(str(weights))
        except Exception as exc:
            raise InputError(f"{weights}: cannot read safetensors ({_first_line(exc)})") from None
    elif kind in (models.TORCH_CHECKPOINT, models.TORCH_PICKLE):
        loaded = safe_load(weights, torch, settings.trust_pickle, zipped=kind == "torch-checkpoint")
        _, state = _find_model(loaded, torch)
        if isinstance(state, torch.nn.Module):
            state = state.state_dict()
        if state is None:
            raise InputError(f"{weights}: holds no state_dict to load into the model")
        opt_key, opt_state, _ = _find_optimizer(loaded)
        if opt_state is not None:
            optimizer = optimizer_facts(opt_state, f"{weights.name}[{opt_key!r}]")
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
