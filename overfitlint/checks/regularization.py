"""2xx: regularization (dropout, weight decay) the model was or was not trained with."""

from __future__ import annotations

from collections.abc import Iterator

from overfitlint.engine.context import CheckContext, Checked
from overfitlint.engine.registry import check
from overfitlint.facts import LayerFacts, OptimizerFacts, Unknown
from overfitlint.findings import Evidence, Finding, Location
from overfitlint.severity import lower_confidence


@check("OFL201", reads=("min_params",))
def no_dropout(ctx: CheckContext) -> Iterator[Finding | Checked]:
    model = ctx.model
    assert model is not None
    params = model.trainable_params
    # A dropout layer with rate 0 regularizes nothing (an unknown rate counts as active).
    active = [layer for layer in model.dropout_layers if layer.dropout_rate != 0]
    if active:
        yield ctx.checked("dropout", _dropout_summary(active))
        return
    if params < ctx.threshold("min_params"):
        return
    dead = len(model.dropout_layers)
    evidence = [
        Evidence("trainable_params", params, "params"),
        Evidence("dropout_layers", 0, "layers"),
    ]
    if dead:
        evidence.append(Evidence("zero_rate_dropout_layers", dead, "layers"))
    location = Location(file=model.source)
    if isinstance(model.dropout_visible, Unknown):
        yield ctx.finding(
            f"no dropout layer in the file, but dropout is unknown: "
            f"{model.dropout_visible.reason}. {model.dropout_visible.remedy}".strip(),
            evidence=evidence,
            location=location,
            subject="model",
            severity="info",
            confidence=lower_confidence(ctx.rule.confidence),
        )
        return
    dead_note = f" ({dead} dropout layer(s), all with rate 0)" if dead else ""
    yield ctx.finding(
        f"no dropout or other stochastic regularization in a model with {params:,} "
        f"trainable parameters{dead_note}",
        evidence=evidence,
        location=location,
        subject="model",
    )


@check("OFL211", reads=("min_params", "min_weight_decay"))
def no_weight_decay(ctx: CheckContext) -> Iterator[Finding | Checked]:
    model = ctx.model
    assert model is not None
    params = model.trainable_params
    if params < ctx.threshold("min_params"):
        return
    location = Location(file=model.source)
    optimizer = model.optimizer
    if isinstance(optimizer, Unknown):
        yield ctx.finding(
            f"weight decay is unknown: {optimizer.reason}",
            evidence=[Evidence("trainable_params", params, "params")],
            location=location,
            subject="model",
            severity="info",
            fix=optimizer.remedy or ctx.rule.fix,
        )
        return
    if optimizer.weight_decay > ctx.threshold("min_weight_decay"):
        yield ctx.checked("weight decay", _decay_summary(optimizer))
        return
    if model.regularized_layers:
        count = len(model.regularized_layers)
        yield ctx.checked("weight decay", f"weight penalties on {count} layer(s)")
        return
    yield ctx.finding(
        f"trained without weight decay or an L2 penalty (weight_decay={optimizer.weight_decay:g}, "
        f"from {optimizer.source}) on a model with {params:,} trainable parameters",
        evidence=[
            Evidence("weight_decay", optimizer.weight_decay),
            Evidence("regularized_layers", 0, "layers"),
            Evidence("trainable_params", params, "params"),
        ],
        location=location,
        subject="model",
    )


def _dropout_summary(layers: list[LayerFacts]) -> str:
    rates = sorted({layer.dropout_rate for layer in layers if layer.dropout_rate is not None})
    shown = "/".join(f"{rate:g}" for rate in rates) or "rate not read"
    kinds = sorted({layer.kind for layer in layers})
    return f"{'/'.join(kinds)} {shown} in {len(layers)} layer(s)"


def _decay_summary(optimizer: OptimizerFacts) -> str:
    kind = optimizer.kind or "optimizer"
    coupling = {True: ", decoupled", False: ", coupled (L2)"}.get(optimizer.decoupled, "")
    return f"{kind}, weight decay {optimizer.weight_decay:g}{coupling}"
