"""A PyTorch optimizer's ``state_dict()``: which optimizer, its lr and weight decay.

The class is not stored; it is inferred from the keys of ``param_groups`` (each
torch.optim class has its own set of hyper-parameters) and, failing that, from
the per-parameter state (``exp_avg``/``exp_avg_sq`` mean an Adam-like method).
Adam and AdamW share their keys except ``decoupled_weight_decay`` (PyTorch 2.x);
a file from an older PyTorch that lacks it says "Adam or AdamW" and leaves the
coupling unknown rather than guess.
"""

from __future__ import annotations

import math
from typing import Any

from overfitlint.facts import OptimizerFacts, Unknown

# (keys that must all be present, keys that must be absent) -> class
SIGNATURES: list[tuple[set[str], set[str], str]] = [
    ({"beta2_decay"}, set(), "Adafactor"),
    ({"ns_steps"}, set(), "Muon"),
    ({"momentum_decay"}, set(), "NAdam"),
    ({"lr_decay", "initial_accumulator_value"}, set(), "Adagrad"),
    ({"rho"}, set(), "Adadelta"),
    ({"centered", "alpha"}, set(), "RMSprop"),
    ({"lambd", "t0"}, set(), "ASGD"),
    ({"etas", "step_sizes"}, set(), "Rprop"),
    ({"history_size", "max_iter"}, set(), "LBFGS"),
    ({"dampening", "nesterov"}, set(), "SGD"),
    ({"betas", "amsgrad"}, set(), "Adam"),
    ({"betas", "decoupled_weight_decay"}, {"amsgrad"}, "RAdam"),
    ({"betas"}, {"amsgrad", "weight_decay"}, "SparseAdam"),
    ({"betas", "weight_decay"}, {"amsgrad", "decoupled_weight_decay"}, "Adamax or Adam-like"),
]
# weight decay is decoupled by construction
ALWAYS_DECOUPLED = {"AdamW", "Adafactor", "Muon"}
# weight decay is an L2 term added to the gradient (unless decoupled_weight_decay says otherwise)
COUPLED = {"SGD", "Adam", "Adagrad", "Adadelta", "RMSprop", "ASGD", "Adamax", "NAdam", "RAdam"}
DETAIL_KEYS = (
    "momentum",
    "nesterov",
    "betas",
    "eps",
    "amsgrad",
    "dampening",
    "alpha",
    "initial_lr",
)


def _number(value: Any) -> float | None:
    try:
        number = float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError, RuntimeError):
        return None
    return number if math.isfinite(number) else None


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, bool | str) or value is None:
        return value
    number = _number(value)
    return number if number is not None else str(value)[:50]


def infer_kind(keys: set[str], state_keys: set[str], groups: list[dict]) -> str | None:
    for required, absent, kind in SIGNATURES:
        if required <= keys and not (absent & keys):
            if kind == "Adam" and "decoupled_weight_decay" in keys:
                return "AdamW" if any(g.get("decoupled_weight_decay") for g in groups) else "Adam"
            if kind == "Adam":
                return "Adam or AdamW"
            if kind == "Adamax or Adam-like":
                return "Adamax" if "exp_inf" in state_keys else None
            return kind
    if {"exp_avg", "exp_avg_sq"} <= state_keys:
        return "Adam or AdamW"
    if "momentum_buffer" in state_keys:
        return "SGD"
    if "square_avg" in state_keys:
        return "RMSprop"
    if "sum" in state_keys:
        return "Adagrad"
    return None


def optimizer_facts(state: Any, source: str) -> OptimizerFacts | Unknown:
    groups = state.get("param_groups") if isinstance(state, dict) else None
    if not isinstance(groups, list) or not groups or not all(isinstance(g, dict) for g in groups):
        return Unknown(
            f"{source} has no readable param_groups",
            "Save optimizer.state_dict() in the checkpoint, or pass --weight-decay VALUE.",
        )
    keys = set().union(*(g.keys() for g in groups))
    per_param = state.get("state") if isinstance(state.get("state"), dict) else {}
    state_keys: set[str] = set()
    for entry in list(per_param.values())[:8]:
        if isinstance(entry, dict):
            state_keys |= {str(k) for k in entry}
    kind = infer_kind(keys, state_keys, groups)
    decays = [_number(g.get("weight_decay", 0.0)) or 0.0 for g in groups]
    weight_decay = max(decays)
    rates = [_number(g.get("lr")) for g in groups]
    lr = rates[0]
    if "decoupled_weight_decay" in keys:
        decoupled: bool | None = any(bool(g.get("decoupled_weight_decay")) for g in groups)
    elif kind in ALWAYS_DECOUPLED:
        decoupled = True
    elif kind in COUPLED:
        decoupled = False
    else:
        decoupled = None  # "Adam or AdamW", or an optimizer we do not know
    if weight_decay <= 0 and decoupled is not None and kind not in ALWAYS_DECOUPLED:
        decoupled = decoupled or None
    details = {key: _plain(groups[0][key]) for key in DETAIL_KEYS if key in groups[0]}
    if kind is None:
        details["group_keys"] = sorted(k for k in keys if k != "params")[:20]
    param_groups = []
    if len(groups) > 1:
        for g, wd, rate in zip(groups, decays, rates, strict=True):
            params = g.get("params")
            param_groups.append(
                {
                    "tensors": len(params) if isinstance(params, list) else None,
                    "lr": rate,
                    "weight_decay": wd,
                }
            )
    what = kind or "an optimizer of unknown class"
    note = ""
    if kind == "Adam or AdamW":
        note = " (the file does not say whether weight decay is decoupled)"
    return OptimizerFacts(
        kind,
        lr,
        weight_decay,
        decoupled,
        f"{source}: {what}{note}",
        details=details,
        param_groups=param_groups,
    )
