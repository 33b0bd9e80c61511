"""14x: what the weight spectra say (heavy-tailed self-regularisation, Martin & Mahoney).

The spectra are measured by ``overfitlint.spectra`` and attached to the model facts; these
checks only judge them, and do nothing when spectra were not computed. Layers whose spectrum
the file or the reference shows was not made by this training (``origin`` frozen, unchanged,
inherited) are never counted; in a model that looks like a fine-tune, layers of unknown origin
are reported as information only, since their spectrum may be the pretrained one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from overfitlint.engine.context import CheckContext
from overfitlint.engine.registry import check
from overfitlint.facts import ModelFacts
from overfitlint.findings import Evidence, Finding, Location
from overfitlint.severity import lower_confidence

NOT_THIS_TRAINING = frozenset({"frozen", "unchanged", "inherited"})


def spectral_layers(model: ModelFacts | None) -> list[dict[str, Any]]:
    """Every layer spectrum: those on the layers, then the unattached ones."""
    if model is None or model.spectral is None:
        return []
    found = [layer.spectral for layer in model.layers if layer.spectral is not None]
    return found + list(model.spectral.get("unattached", []))


def _listed(layers: list[dict[str, Any]], limit: int) -> str:
    shown = ", ".join(f"{layer['name']} ({layer['alpha']:.2f})" for layer in layers[:limit])
    return shown + (f" (+{len(layers) - limit} more)" if len(layers) > limit else "")


def _fitted(model: ModelFacts | None) -> list[dict[str, Any]]:
    return [layer for layer in spectral_layers(model) if layer.get("alpha") is not None]


def _split(layers: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(layers this training made, layers it did not)."""
    ours = [layer for layer in layers if layer.get("origin") not in NOT_THIS_TRAINING]
    theirs = [layer for layer in layers if layer.get("origin") in NOT_THIS_TRAINING]
    return ours, theirs


def _excluded_evidence(theirs: list[dict[str, Any]]) -> list[Evidence]:
    if not theirs:
        return []
    return [
        Evidence("not_counted", [f"{layer['name']}: {layer.get('origin')}" for layer in theirs])
    ]


def _fine_tune(model: ModelFacts) -> list[str]:
    return list((model.spectral or {}).get("fine_tune", []))


@check("OFL141", reads=("max_alpha", "min_layers", "min_tail", "max_listed"))
def over_trained_layers(ctx: CheckContext) -> Iterator[Finding]:
    model = ctx.model
    fitted = _fitted(model)
    if model is None or not fitted:
        return
    limit = ctx.threshold("max_alpha")
    low = sorted((layer for layer in fitted if layer["alpha"] < limit), key=lambda x: x["alpha"])
    ours, theirs = _split(low)
    if len(ours) < ctx.threshold("min_layers"):
        return
    listed = int(ctx.threshold("max_listed"))
    lowest = ours[0]["alpha"]
    small_tails = [layer for layer in ours if (layer.get("tail") or 0) < ctx.threshold("min_tail")]
    evidence = [
        Evidence("over_trained_layers", [f"{x['name']}: {x['alpha']:.3f}" for x in ours]),
        Evidence("layers_fitted", len(fitted), "layers"),
        Evidence("lowest_alpha", round(lowest, 3)),
        Evidence("below_threshold_by", round(limit - lowest, 3)),
        Evidence("max_alpha", limit),
        *_excluded_evidence(theirs),
    ]
    message = (
        f"{len(ours)} of {len(fitted)} layers have a weight spectrum with alpha below "
        f"{limit:g} (over-trained by WeightWatcher's measure): {_listed(ours, listed)}; the "
        f"lowest is {limit - lowest:.2f} below {limit:g}"
    )
    confidence = ctx.rule.confidence
    if len(small_tails) == len(ours):
        confidence = lower_confidence(confidence)
        message += f" (every such fit rests on fewer than {ctx.threshold('min_tail')} eigenvalues)"
    location = Location(file=model.source, layer=ours[0]["name"])
    fine_tune = _fine_tune(model)
    unknown = [layer for layer in ours if layer.get("origin") == "unknown"]
    if fine_tune and len(unknown) == len(ours):
        yield ctx.finding(
            message + "; the model looks like a fine-tune (" + "; ".join(fine_tune) + "), so "
            "whether the fine-tune or the pretraining made these spectra heavy-tailed is unknown",
            evidence=evidence,
            location=location,
            subject="over-trained-layers",
            severity="info",
            confidence="low",
            fix="Give the base model as the spectral reference, so that layers whose spectrum "
            "was inherited are told apart. " + ctx.rule.fix,
        )
        return
    yield ctx.finding(
        message,
        evidence=evidence,
        location=location,
        subject="over-trained-layers",
        confidence=confidence,
    )


@check("OFL142", reads=("min_traps", "max_listed"))
def correlation_traps(ctx: CheckContext) -> Iterator[Finding]:
    model = ctx.model
    layers = [layer for layer in spectral_layers(model) if layer.get("traps") is not None]
    if model is None or not layers:
        return
    trapped = sorted(
        (layer for layer in layers if layer["traps"] >= ctx.threshold("min_traps")),
        key=lambda x: -x["traps"],
    )
    ours, theirs = _split(trapped)
    if not ours:
        return
    listed = int(ctx.threshold("max_listed"))
    shown = ", ".join(f"{x['name']} ({x['traps']})" for x in ours[:listed])
    if len(ours) > listed:
        shown += f" (+{len(ours) - listed} more)"
    unknown_fine_tune = _fine_tune(model) and all(x.get("origin") == "unknown" for x in ours)
    yield ctx.finding(
        f"{len(ours)} of {len(layers)} layers hold correlation traps (eigenvalues of an "
        f"element-resampled copy above its random-matrix bulk, a sign of a few outsized "
        f"weights): {shown}",
        evidence=[
            Evidence("trap_layers", [f"{x['name']}: {x['traps']}" for x in ours]),
            Evidence("traps", sum(x["traps"] for x in ours), "eigenvalues"),
            Evidence("layers_tested", len(layers), "layers"),
            *_excluded_evidence(theirs),
        ],
        location=Location(file=model.source, layer=ours[0]["name"]),
        subject="correlation-traps",
        severity="info" if unknown_fine_tune else None,
    )


@check("OFL143", reads=("min_alpha", "min_layers", "max_listed"))
def under_trained_layers(ctx: CheckContext) -> Iterator[Finding]:
    model = ctx.model
    fitted = _fitted(model)
    if model is None or not fitted:
        return
    limit = ctx.threshold("min_alpha")
    high = sorted((layer for layer in fitted if layer["alpha"] > limit), key=lambda x: -x["alpha"])
    ours, theirs = _split(high)
    if len(ours) < ctx.threshold("min_layers"):
        return
    yield ctx.finding(
        f"{len(ours)} of {len(fitted)} layers have a weight spectrum with alpha above "
        f"{limit:g} (under-trained, close to their random initialisation): "
        f"{_listed(ours, int(ctx.threshold('max_listed')))}; training stopped early or the "
        "learning rate was too low for them. This is not overfitting",
        evidence=[
            Evidence("under_trained_layers", [f"{x['name']}: {x['alpha']:.3f}" for x in ours]),
            Evidence("layers_fitted", len(fitted), "layers"),
            Evidence("share", round(100.0 * len(ours) / len(fitted), 1), "%"),
            Evidence("min_alpha", limit),
            *_excluded_evidence(theirs),
        ],
        location=Location(file=model.source, layer=ours[0]["name"]),
        subject="under-trained-layers",
    )
