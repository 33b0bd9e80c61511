"""1xx: capacity of the model relative to its data."""

from __future__ import annotations

from collections.abc import Iterator

from overfitlint.engine.context import CheckContext
from overfitlint.engine.registry import check
from overfitlint.findings import Evidence, Finding, Location


@check("OFL101", reads=("warn_ratio", "info_ratio"))
def parameter_sample_ratio(ctx: CheckContext) -> Iterator[Finding]:
    model = ctx.model
    assert model is not None
    params = model.trainable_params
    location = Location(file=model.source)
    if params == 0:
        return
    samples = ctx.facts.samples.value if ctx.facts.samples else None
    if samples is None:
        yield ctx.finding(
            f"the parameter-to-sample ratio is unknown: the model has {params:,} trainable "
            "parameters but the number of training samples was not given",
            evidence=[Evidence("trainable_params", params, "params")],
            location=location,
            subject="model",
            severity="info",
            fix="Pass --samples N (the number of training samples) to compute the ratio.",
        )
        return
    ratio = params / samples
    evidence = [
        Evidence("trainable_params", params, "params"),
        Evidence("training_samples", samples, "samples"),
        Evidence("params_per_sample", round(ratio, 3), "params/sample"),
    ]
    if ratio >= ctx.threshold("warn_ratio"):
        severity = None
    elif ratio >= ctx.threshold("info_ratio"):
        severity = "info"
    else:
        return
    yield ctx.finding(
        f"{params:,} trainable parameters for {samples:,} training samples: "
        f"{ratio:,.1f} parameters per sample",
        evidence=evidence,
        location=location,
        subject="model",
        severity=severity,
    )
