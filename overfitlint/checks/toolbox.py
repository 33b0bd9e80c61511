"""2xx, the rest of the regularization toolbox: dropout placement, coupled L2 in adaptive
optimizers, per-layer penalties, data augmentation, normalization in deep networks."""

from __future__ import annotations

import re
from collections.abc import Iterator

from overfitlint.engine.context import CheckContext
from overfitlint.engine.registry import check
from overfitlint.facts import (
    BATCH_NORM_KINDS,
    DROPOUT_KINDS,
    LayerFacts,
    ModelFacts,
    OptimizerFacts,
    Unknown,
)
from overfitlint.findings import Evidence, Finding, Location
from overfitlint.severity import lower_confidence

# Layers that multiply by a weight matrix or kernel (depth, per-layer penalties).
WEIGHT_LAYER = re.compile(
    r"^(?:Linear|LazyLinear|Bilinear|Dense|EinsumDense|Conv|LazyConv|SeparableConv|"
    r"DepthwiseConv|Gemm|MatMul|QLinearConv|QLinearMatMul|ConvInteger|MatMulInteger|"
    r"QuantLinear|NonDynamicallyQuantizableLinear)",
)
IMAGE_CONV_KINDS = frozenset(
    {
        "Conv2d",
        "LazyConv2d",
        "ConvTranspose2d",
        "Conv2D",
        "Conv2DTranspose",
        "SeparableConv2D",
        "DepthwiseConv2D",
        "Convolution2D",
        "QLinearConv",
    }
)
# Dropout layers whose rate is a drop probability (GaussianNoise's "rate" is a stddev).
RATED_DROPOUT = DROPOUT_KINDS - {"GaussianNoise"}
# Optimizers that scale each gradient by running statistics: an L2 term is scaled too.
ADAPTIVE = frozenset(
    {
        "Adam",
        "NAdam",
        "Nadam",
        "RAdam",
        "Adamax",
        "AMSGrad",
        "Adagrad",
        "Adadelta",
        "RMSprop",
        "Adafactor",
        "Ftrl",
    }
)
PENALTY_KEYS = ("kernel_", "depthwise_", "pointwise_", "embeddings_", "recurrent_")


def is_weight_layer(layer: LayerFacts) -> bool:
    return layer.trainable_params > 0 and bool(WEIGHT_LAYER.match(layer.kind))


def _consumers(model: ModelFacts) -> dict[str, list[LayerFacts]]:
    found: dict[str, list[LayerFacts]] = {}
    for layer in model.layers:
        for source in layer.inputs or ():
            found.setdefault(source, []).append(layer)
    return found


def _transparent(layer: LayerFacts) -> bool:
    """Passes activations on without weights, noise or statistics (ReLU, Flatten, pooling)."""
    return (
        not layer.params
        and not layer.is_dropout
        and not layer.is_normalization
        and not layer.is_augmentation
    )


def _downstream(
    start: LayerFacts, consumers: dict[str, list[LayerFacts]], weight_hops: int
) -> list[tuple[LayerFacts, LayerFacts | None]]:
    """The first non-transparent layers after ``start`` (each with the weight layer passed
    on the way, if any), following edges through transparent layers and at most
    ``weight_hops`` weight layers."""
    found: list[tuple[LayerFacts, LayerFacts | None]] = []
    stack: list[tuple[LayerFacts, LayerFacts | None, int]] = [
        (layer, None, weight_hops) for layer in consumers.get(start.name, [])
    ]
    seen: set[tuple[str, int]] = set()
    while stack:
        layer, via, hops = stack.pop()
        if (layer.name, hops) in seen:
            continue
        seen.add((layer.name, hops))
        if _transparent(layer):
            stack += [(nxt, via, hops) for nxt in consumers.get(layer.name, [])]
        elif is_weight_layer(layer) and hops > 0 and via is None:
            found.append((layer, None))
            stack += [(nxt, layer, hops - 1) for nxt in consumers.get(layer.name, [])]
        else:
            found.append((layer, via))
    return found


def _names(layers: list[LayerFacts], limit: int = 5) -> str:
    shown = ", ".join(layer.name for layer in layers[:limit])
    return shown + (f" (+{len(layers) - limit} more)" if len(layers) > limit else "")


@check("OFL202", reads=("max_rate",))
def dead_or_misplaced_dropout(ctx: CheckContext) -> Iterator[Finding]:
    model = ctx.model
    assert model is not None
    rated = [layer for layer in model.dropout_layers if layer.dropout_rate is not None]
    dead = [layer for layer in rated if layer.kind in DROPOUT_KINDS and layer.dropout_rate == 0]
    if dead:
        yield ctx.finding(
            f"{len(dead)} dropout layer(s) with rate 0 drop nothing: {_names(dead)}; the model "
            "trains without the regularization they suggest",
            evidence=[
                Evidence("layers", [layer.name for layer in dead]),
                Evidence("rate", 0.0),
            ],
            location=Location(file=model.source, layer=dead[0].name),
            subject="rate-0",
            confidence="high",
        )
    limit = ctx.threshold("max_rate")
    high = [
        layer
        for layer in rated
        if layer.kind not in DROPOUT_KINDS - RATED_DROPOUT and layer.dropout_rate >= limit
    ]
    if high:
        rates = [layer.dropout_rate for layer in high]
        yield ctx.finding(
            f"dropout rate {max(rates):g} in {_names(high)} (at or above {limit:g}): it keeps "
            f"{1 - max(rates):.0%} of the units and makes the network underfit; rates of "
            "0.1-0.5 regularize without starving it",
            evidence=[
                Evidence("layers", [layer.name for layer in high]),
                Evidence("rates", rates),
                Evidence("max_rate", limit),
            ],
            location=Location(file=model.source, layer=high[0].name),
            subject="rate-too-high",
            confidence="high",
        )
    if not model.layer_graph_known:
        return
    consumers = _consumers(model)
    droppers = [layer for layer in model.layers if layer.kind in RATED_DROPOUT]
    before_bn: list[tuple[LayerFacts, LayerFacts, LayerFacts | None]] = []
    on_output: list[LayerFacts] = []
    for layer in droppers:
        if layer.dropout_rate == 0:
            continue  # already reported as dead
        for target, via in _downstream(layer, consumers, weight_hops=1):
            if target.kind in BATCH_NORM_KINDS:
                before_bn.append((layer, target, via))
                break
        if not any(target.params for target, _ in _downstream(layer, consumers, weight_hops=0)):
            on_output.append(layer)  # only activations (or nothing) between it and the output
    if before_bn:
        drop, norm, via = before_bn[0]
        path = f"{drop.name} -> {via.name} -> {norm.name}" if via else f"{drop.name} -> {norm.name}"
        yield ctx.finding(
            f"dropout feeds BatchNorm in {len(before_bn)} place(s) ({path}): BatchNorm's "
            "running variance is learned on dropped-out activations and no longer fits at "
            "inference (variance shift); move dropout after the last BatchNorm layer",
            evidence=[
                Evidence(
                    "paths",
                    [
                        f"{d.name} -> {v.name} -> {n.name}" if v else f"{d.name} -> {n.name}"
                        for d, n, v in before_bn
                    ],
                ),
                Evidence("dropout_layers", [d.name for d, _, _ in before_bn]),
            ],
            location=Location(file=model.source, layer=drop.name),
            subject="before-batchnorm",
        )
    if on_output:
        yield ctx.finding(
            f"dropout after the last weight layer ({_names(on_output)}): it zeroes the "
            "model's outputs at random during training instead of regularizing features; "
            "put it before the output layer",
            evidence=[Evidence("layers", [layer.name for layer in on_output])],
            location=Location(file=model.source, layer=on_output[0].name),
            subject="on-output",
        )


def _l2_layers(model: ModelFacts) -> list[LayerFacts]:
    """Layers whose kernel carries an L2 (or L1L2 with l2 > 0) penalty."""
    found = []
    for layer in model.layers:
        for text in layer.regularizers:
            key, _, value = text.partition("=")
            if not key.startswith(PENALTY_KEYS):
                continue
            match = re.search(r"l2=([0-9.eE+-]+)", value)
            if (match and float(match.group(1)) > 0) or value.strip().lower() in ("l2", "l1_l2"):
                found.append(layer)
                break
    return found


@check("OFL212", reads=("min_weight_decay",))
def coupled_weight_decay(ctx: CheckContext) -> Iterator[Finding]:
    model = ctx.model
    assert model is not None
    optimizer = model.optimizer
    if not isinstance(optimizer, OptimizerFacts) or not optimizer.kind:
        return
    location = Location(file=model.source)
    kind = optimizer.kind
    decay = optimizer.weight_decay
    if decay > ctx.threshold("min_weight_decay"):
        if optimizer.decoupled is False and kind in ADAPTIVE:
            yield ctx.finding(
                f"{kind} with weight_decay={decay:g} adds {decay:g}*w to the gradient (an L2 "
                f"penalty), which {kind} then divides by its running gradient scale: weights "
                "with large gradients are hardly decayed; decoupled weight decay (AdamW) "
                "regularizes as intended",
                evidence=[
                    Evidence("optimizer", kind),
                    Evidence("weight_decay", decay),
                    Evidence("decoupled", False),
                    Evidence("source", optimizer.source),
                ],
                location=location,
                subject="optimizer",
            )
        elif optimizer.decoupled is None and kind == "Adam or AdamW":
            yield ctx.finding(
                f"weight_decay={decay:g} with Adam or AdamW: the checkpoint does not say "
                "whether the decay is decoupled (AdamW) or an L2 term (Adam); with Adam it "
                "regularizes far less than the value suggests",
                evidence=[
                    Evidence("optimizer", kind),
                    Evidence("weight_decay", decay),
                    Evidence("source", optimizer.source),
                ],
                location=location,
                subject="optimizer",
                severity="info",
                confidence=lower_confidence(ctx.rule.confidence),
            )
        return
    penalized = _l2_layers(model)
    if not penalized or kind not in ADAPTIVE:
        return
    share = (
        100.0 * sum(layer.trainable_params for layer in penalized) / max(model.trainable_params, 1)
    )
    yield ctx.finding(
        f"L2 kernel penalties on {len(penalized)} layer(s) ({_names(penalized, 3)}, "
        f"{share:.0f}% of the trainable parameters) trained with {kind} and no weight decay: "
        f"the penalty's gradient is rescaled by {kind} like any other, so it regularizes far "
        "less than the coefficient suggests; use AdamW's decoupled weight decay instead",
        evidence=[
            Evidence("optimizer", kind),
            Evidence("weight_decay", decay),
            Evidence("l2_layers", [layer.name for layer in penalized]),
            Evidence("l2_share", round(share, 1), "%"),
            Evidence("source", optimizer.source),
        ],
        location=Location(file=model.source, layer=penalized[0].name),
        subject="l2-penalty",
    )


def _penalized(layer: LayerFacts) -> bool:
    return any(text.partition("=")[0].startswith(PENALTY_KEYS) for text in layer.regularizers)


@check("OFL213", reads=("min_params", "min_share", "min_weight_decay", "max_listed"))
def unpenalized_large_layers(ctx: CheckContext) -> Iterator[Finding]:
    model = ctx.model
    assert model is not None
    total = model.trainable_params
    if total < ctx.threshold("min_params"):
        return
    optimizer = model.optimizer
    known = isinstance(optimizer, OptimizerFacts)
    if known and optimizer.weight_decay > ctx.threshold("min_weight_decay"):
        return  # optimizer weight decay covers every layer
    protected = [layer for layer in model.layers if _penalized(layer)]
    if not protected:
        return  # nothing regularized per layer: OFL211 reports the model as a whole
    share = {layer.name: 100.0 * layer.trainable_params / total for layer in model.layers}
    exposed = sorted(
        (
            layer
            for layer in model.layers
            if is_weight_layer(layer)
            and not _penalized(layer)
            and share[layer.name] >= ctx.threshold("min_share")
        ),
        key=lambda layer: -layer.trainable_params,
    )
    if not exposed:
        return
    listed = exposed[: max(1, int(ctx.threshold("max_listed")))]
    shown = ", ".join(f"{layer.name} ({layer.kind}, {share[layer.name]:.0f}%)" for layer in listed)
    exposed_share = sum(share[layer.name] for layer in exposed)
    protected_share = sum(share[layer.name] for layer in protected)
    evidence = [
        Evidence(
            "unpenalized_layers",
            [f"{layer.name}: {share[layer.name]:.1f}%" for layer in exposed],
        ),
        Evidence("unpenalized_share", round(exposed_share, 1), "%"),
        Evidence("penalized_layers", [layer.name for layer in protected]),
        Evidence("penalized_share", round(protected_share, 1), "%"),
    ]
    if known:
        evidence.append(Evidence("weight_decay", optimizer.weight_decay))
        yield ctx.finding(
            f"{len(protected)} layer(s) carry a weight penalty ({protected_share:.0f}% of the "
            f"trainable parameters) but the largest layers have none and the optimizer no "
            f"weight decay: {shown}",
            evidence=evidence,
            location=Location(file=model.source, layer=listed[0].name),
            subject="unpenalized-layers",
        )
        return
    assert isinstance(optimizer, Unknown)
    yield ctx.finding(
        f"{len(protected)} layer(s) carry a weight penalty but the largest layers have none "
        f"({shown}); whether weight decay covers them is unknown: {optimizer.reason}",
        evidence=evidence,
        location=Location(file=model.source, layer=listed[0].name),
        subject="unpenalized-layers",
        severity="info",
        confidence=lower_confidence(ctx.rule.confidence),
    )


def is_image_model(model: ModelFacts) -> bool:
    """2-D convolutions, or an input shaped like images (N, C, H, W) / (N, H, W, C)."""
    if any(layer.kind in IMAGE_CONV_KINDS for layer in model.layers):
        return True
    for shape in model.input_shapes.values():
        if len(shape) == 4 and (shape[1] in (1, 3, 4) or shape[3] in (1, 3, 4)):
            return True
    return False


@check("OFL221")
def no_augmentation(ctx: CheckContext) -> Iterator[Finding]:
    model = ctx.model
    assert model is not None
    stated = ctx.facts.augmentation
    if stated is True or model.augmentation_layers or not is_image_model(model):
        return
    location = Location(file=model.source)
    if stated is False:
        yield ctx.finding(
            "an image model trained without data augmentation (as stated with --augmentation no)",
            evidence=[Evidence("augmentation", "no (stated)"), Evidence("image_model", True)],
            location=location,
            subject="model",
            confidence="high",
        )
        return
    visible = model.augmentation_visible
    if visible is True:
        yield ctx.finding(
            f"no data augmentation layer in a {model.framework} image model (RandomFlip, "
            "RandomRotation, RandomZoom, ...); if the input pipeline augments (tf.data, "
            "ImageDataGenerator), say so with --augmentation yes",
            evidence=[
                Evidence("augmentation_layers", 0, "layers"),
                Evidence("image_model", True),
            ],
            location=location,
            subject="model",
        )
        return
    reason = visible.reason if isinstance(visible, Unknown) else "the file does not show it"
    where = {
        "pytorch": "PyTorch keeps augmentation in the data pipeline (torchvision transforms)",
        "onnx": "an exported graph keeps no training-time augmentation",
    }.get(model.framework, reason)
    yield ctx.finding(
        f"data augmentation is unknown for this image model: {where}",
        evidence=[Evidence("augmentation", "unknown"), Evidence("image_model", True)],
        location=location,
        subject="model",
        severity="info",
        fix=(
            "State it: --augmentation yes if the training data is augmented, --augmentation "
            'no if not (or augmentation = "yes" in the config file). ' + ctx.rule.fix
        ),
    )


def network_depth(model: ModelFacts) -> tuple[int, str]:
    """Weight layers along the longest path (the layer graph is known), else their count."""
    weights = [layer for layer in model.layers if is_weight_layer(layer)]
    if not model.layer_graph_known:
        return len(weights), "weight layers counted (the file does not show the layer order)"
    by_name = {layer.name: layer for layer in model.layers}
    depth: dict[str, int] = {}
    for layer in model.layers:  # loaders list layers with their inputs first
        before = max(
            (depth.get(source, 0) for source in layer.inputs or () if source in by_name),
            default=0,
        )
        depth[layer.name] = before + (1 if is_weight_layer(layer) else 0)
    return max(depth.values(), default=0), "weight layers on the longest path"


@check("OFL231", reads=("min_depth",))
def no_normalization(ctx: CheckContext) -> Iterator[Finding]:
    model = ctx.model
    assert model is not None
    if any(layer.is_normalization for layer in model.layers):
        return
    depth, basis = network_depth(model)
    if depth < ctx.threshold("min_depth"):
        return
    evidence = [Evidence("depth", depth, "weight layers"), Evidence("depth_basis", basis)]
    location = Location(file=model.source)
    if isinstance(model.dropout_visible, Unknown) and model.framework == "onnx":
        # the same inference exports that drop Dropout fold BatchNorm into the convolution
        # before it (and older opsets spell LayerNorm out as elementwise operators)
        exporter = model.provenance.details.get("exporter") or model.provenance.producer
        yield ctx.finding(
            f"no normalization layer in a network {depth} weight layers deep, but "
            f"normalization is unknown: {exporter} folds BatchNorm into the convolution "
            "before it when exporting for inference (and opsets before 17 spell LayerNorm "
            "out as elementwise operators)",
            evidence=evidence,
            location=location,
            subject="model",
            confidence="low",
        )
        return
    yield ctx.finding(
        f"no BatchNorm, LayerNorm or other normalization layer in a network {depth} weight "
        "layers deep: it is harder to train, more sensitive to the learning rate and "
        "initialization, and lacks BatchNorm's mild regularizing noise",
        evidence=evidence,
        location=location,
        subject="model",
    )
