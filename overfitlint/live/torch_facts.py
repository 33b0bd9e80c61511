"""Model facts of a live PyTorch module and optimizer, read from the objects (no file)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from overfitlint.facts import ModelFacts, OptimizerFacts, Unknown
from overfitlint.loaders.models.pytorch import module_facts
from overfitlint.loaders.models.torch_optim import ALWAYS_DECOUPLED, optimizer_facts

LIVE_FORMAT = "live"


def unwrap_optimizer(optimizer: Any) -> Any:
    """The torch optimizer inside a wrapper (Accelerate's AcceleratedOptimizer, Lightning's
    LightningOptimizer)."""
    for _ in range(4):
        inner = getattr(optimizer, "optimizer", None) or getattr(optimizer, "_optimizer", None)
        if inner is None or inner is optimizer:
            break
        optimizer = inner
    return optimizer


def torch_optimizer_facts(optimizer: Any) -> OptimizerFacts | Unknown:
    """The optimizer's settings from its ``state_dict()``; its class names the kind, so
    Adam and AdamW are told apart even where the param groups cannot tell them."""
    optimizer = unwrap_optimizer(optimizer)
    kind = type(optimizer).__name__
    facts = optimizer_facts(optimizer.state_dict(), f"the live optimizer ({kind})")
    if not isinstance(facts, OptimizerFacts):
        return facts
    decoupled = facts.decoupled
    if kind in ALWAYS_DECOUPLED and facts.weight_decay > 0:
        decoupled = True
    elif facts.kind == "Adam or AdamW" and kind == "Adam":
        decoupled = False if facts.weight_decay > 0 else None
    return replace(facts, kind=kind, decoupled=decoupled, source=f"the live optimizer ({kind})")


def torch_model_facts(module: Any, optimizer: Any = None, source: str | None = None) -> ModelFacts:
    """Layers, parameters and dropout of ``module`` (``module_facts``), and the optimizer."""
    facts = module_facts(module, source or f"live {type(module).__name__}", LIVE_FORMAT)
    if optimizer is not None:
        facts.optimizer = torch_optimizer_facts(optimizer)
    return facts
