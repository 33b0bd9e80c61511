"""5xx: the data set itself (read and measured by overfitlint.data)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from overfitlint.engine.context import CheckContext
from overfitlint.engine.registry import check
from overfitlint.facts import Unknown
from overfitlint.findings import Evidence, Finding, Location

if TYPE_CHECKING:  # the data package needs the data extra; the checks only read its facts
    from overfitlint.data.facts import DataFacts, DuplicatePair, Duplicates, Quality
    from overfitlint.facts import ModelFacts

INPUT_SCALING_KINDS = frozenset({"Rescaling", "Normalization", "Normalize"})
"""Layers that rescale or standardise the model's input (Keras preprocessing, torchvision)."""
EXAMPLES_SHOWN = 3
DECODED_IMAGE_FORMATS = ("image-folder", "hf-datasets")


def _data(ctx: CheckContext) -> DataFacts:
    data = ctx.data
    assert data is not None and data.measured, "the data checks need measured DataFacts"
    return data


def _finding(ctx: CheckContext, message: str, **options: Any) -> Finding:
    """A 5xx finding, located at the data set (its file or folder)."""
    return ctx.finding(message, location=Location(file=_data(ctx).source), **options)


def _count(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def _pairs_text(pairs: list[DuplicatePair]) -> str:
    return "; ".join(f"{p.first} = {p.second}" for p in pairs[:EXAMPLES_SHOWN])


def _near_pairs(duplicates: Duplicates, max_hamming: int) -> list[DuplicatePair]:
    return [p for p in duplicates.examples if p.distance is None or p.distance <= max_hamming]


@check("OFL501", reads=("max_val_share", "max_hamming"))
def train_val_overlap(ctx: CheckContext) -> Iterator[Finding]:
    data = _data(ctx)
    overlap = data.overlap
    max_hamming = int(ctx.threshold("max_hamming"))
    copies = max(overlap.near(max_hamming), overlap.exact)
    share = copies / overlap.rows
    if share <= ctx.threshold("max_val_share"):
        return
    pairs = _near_pairs(overlap, max_hamming)
    near = copies - overlap.exact
    evidence = [
        Evidence("val_copies", copies, "examples"),
        Evidence("exact_copies", overlap.exact, "examples"),
        Evidence("near_copies", near, "examples"),
        Evidence("val_examples", overlap.rows, "examples"),
        Evidence("val_share", round(100 * share, 2), "%"),
        Evidence("label_conflicts", overlap.label_conflicts, "examples"),
        Evidence("examples", [f"{p.first} = {p.second}" for p in pairs], ""),
        Evidence("method", overlap.method, ""),
    ]
    text = (
        f"{copies:,} of {overlap.rows:,} validation examples ({_pct(share)}) are copies of "
        f"training examples ({overlap.exact:,} exact, {near:,} near; e.g. {_pairs_text(pairs)})"
    )
    if overlap.label_conflicts:
        text += f"; {overlap.label_conflicts:,} exact copies carry a different label"
    evidence.append(Evidence("curves_untrustworthy", True))
    yield _finding(
        ctx,
        text + ": validation measures memorisation there, so the learning curves cannot show "
        "overfitting and the run cannot be called healthy",
        evidence=evidence,
        subject="train-val",
    )


@check("OFL502", reads=("max_share", "max_hamming"))
def train_duplicates(ctx: CheckContext) -> Iterator[Finding]:
    data = _data(ctx)
    inside = data.train_duplicates
    max_hamming = int(ctx.threshold("max_hamming"))
    share = max(inside.near_share(max_hamming), inside.exact_share)
    copies = max(inside.near(max_hamming), inside.exact)
    if share <= ctx.threshold("max_share"):
        return
    compared = inside.rows if inside.near_rows is None else inside.near_rows
    pairs = _near_pairs(inside, max_hamming)
    evidence = [
        Evidence("train_repeats", copies, "examples"),
        Evidence("exact_repeats", inside.exact, "examples"),
        Evidence("train_examples", compared, "examples"),
        Evidence("train_share", round(100 * share, 2), "%"),
        Evidence("label_conflicts", inside.label_conflicts, "examples"),
        Evidence("examples", [f"{p.first} = {p.second}" for p in pairs], ""),
    ]
    text = (
        f"{copies:,} of {compared:,} training examples ({_pct(share)}) repeat an earlier one "
        f"({inside.exact:,} exact)"
    )
    if pairs:
        text += f", e.g. {_pairs_text(pairs)}"
    if inside.label_conflicts:
        text += f"; {inside.label_conflicts:,} exact repeats carry a different label"
    yield _finding(ctx, text, evidence=evidence, subject="train")


@check("OFL503", reads=("max_imbalance_ratio", "min_class_samples", "max_params_per_class_sample"))
def class_balance(ctx: CheckContext) -> Iterator[Finding]:
    data = _data(ctx)
    balance = data.balance
    if isinstance(balance, Unknown):
        return
    counts = balance.train_counts
    smallest = counts[balance.minority]
    if balance.unseen_in_train:
        unseen = list(balance.unseen_in_train)
        yield _finding(
            ctx,
            f"{_count(len(unseen), 'class occurs', 'classes occur')} in validation but never in "
            "training "
            f"({', '.join(map(repr, unseen[:5]))}): the model cannot predict them",
            evidence=[
                Evidence("unseen_classes", unseen, "classes"),
                Evidence(
                    "val_samples_of_unseen", sum(balance.val_counts[c] for c in unseen), "samples"
                ),
            ],
            subject="unseen-classes",
        )
    if balance.imbalance_ratio >= ctx.threshold("max_imbalance_ratio"):
        yield _finding(
            ctx,
            f"class {balance.majority!r} has {counts[balance.majority]:,} training samples and "
            f"class {balance.minority!r} {smallest:,}: a {balance.imbalance_ratio:,.1f}x "
            "imbalance (plain accuracy rewards predicting the majority)",
            evidence=[
                Evidence("imbalance_ratio", round(balance.imbalance_ratio, 2), "x"),
                Evidence("majority_samples", counts[balance.majority], "samples"),
                Evidence("minority_samples", smallest, "samples"),
            ],
            subject="imbalance",
        )
    small = sorted(
        (c for c, n in counts.items() if 0 < n < ctx.threshold("min_class_samples")),
        key=lambda c: counts[c],
    )
    if small:
        yield _finding(
            ctx,
            f"{_count(len(small), 'class has', 'classes have')} fewer than "
            f"{ctx.threshold('min_class_samples')} "
            f"training samples ({', '.join(f'{c!r}: {counts[c]}' for c in small[:5])})",
            evidence=[
                Evidence("small_classes", {c: counts[c] for c in small}, "samples"),
            ],
            subject="few-samples",
        )
    model = ctx.model
    if model is not None and model.trainable_params and smallest:
        per_sample = model.trainable_params / smallest
        if per_sample >= ctx.threshold("max_params_per_class_sample"):
            yield _finding(
                ctx,
                f"{model.trainable_params:,} trainable parameters for the {smallest:,} training "
                f"samples of class {balance.minority!r}: {per_sample:,.0f} parameters per "
                "sample of the smallest class",
                evidence=[
                    Evidence("trainable_params", model.trainable_params, "params"),
                    Evidence("smallest_class_samples", smallest, "samples"),
                    Evidence("params_per_class_sample", round(per_sample, 1), "params/sample"),
                ],
                subject="params-per-class",
            )


def _scales_input(model: ModelFacts) -> bool:
    return any(layer.kind in INPUT_SCALING_KINDS for layer in model.layers)


@check("OFL504", reads=("max_std_ratio",))
def features_not_normalised(ctx: CheckContext) -> Iterator[Finding]:
    data = _data(ctx)
    scale = data.scale
    if isinstance(scale, Unknown):
        return
    model = ctx.model
    scaled_in_model = model is not None and _scales_input(model)
    if scale.raw_pixels:
        decoded_files = data.format in DECODED_IMAGE_FORMATS
        if scaled_in_model or (model is None and decoded_files):
            return  # image files always decode to 0..255; the input pipeline scales them
        who = (
            f"into a model ({model.source}) with no rescaling or normalisation layer"
            if model is not None
            else "as they are stored (no model given to show a normalisation layer)"
        )
        yield _finding(
            ctx,
            f"the {scale.unit}s hold raw integer pixel values {scale.minimum:g}..{scale.maximum:g} "
            f"{who}: scale them to 0..1 and standardise per channel",
            evidence=[
                Evidence("pixel_min", scale.minimum),
                Evidence("pixel_max", scale.maximum),
                Evidence("model_normalises_input", scaled_in_model),
            ],
            subject="raw-pixels",
        )
        return
    if scale.std_ratio is None or scale.std_ratio < ctx.threshold("max_std_ratio"):
        return
    if scaled_in_model:
        return
    index = scale.names.index
    yield _finding(
        ctx,
        f"the training {scale.unit}s' standard deviations span {scale.std_ratio:,.0f}x: "
        f"{scale.largest!r} {scale.stds[index(scale.largest)]:.4g} vs {scale.smallest!r} "
        f"{scale.stds[index(scale.smallest)]:.4g}; standardise them with training statistics",
        evidence=[
            Evidence("std_ratio", round(scale.std_ratio, 1), "x"),
            Evidence("largest", scale.largest),
            Evidence("largest_std", scale.stds[index(scale.largest)]),
            Evidence("smallest", scale.smallest),
            Evidence("smallest_std", scale.stds[index(scale.smallest)]),
        ],
        subject="scale-spread",
    )


@check("OFL505", reads=("max_share",))
def label_noise(ctx: CheckContext) -> Iterator[Finding]:
    data = _data(ctx)
    noise = data.noise
    if noise is None or data.task != "classification":
        return
    if isinstance(noise, Unknown):
        yield _finding(
            ctx,
            f"label noise is unknown: {noise.reason}",
            evidence=[Evidence("reason", noise.reason)],
            subject="labels",
            severity="info",
            fix=noise.remedy or None,
        )
        return
    if noise.estimated_share < ctx.threshold("max_share"):
        return
    shown = "; ".join(
        f"{e.example} labelled {e.given!r}, looks like {e.suggested!r} ({e.confidence:.2f})"
        for e in noise.examples[:EXAMPLES_SHOWN]
    )
    yield _finding(
        ctx,
        f"an estimated {_pct(noise.estimated_share)} of the training labels are wrong "
        f"(confident learning on {noise.rows:,} examples; {noise.flagged:,} flagged, e.g. "
        f"{shown})",
        evidence=[
            Evidence("estimated_share", round(100 * noise.estimated_share, 2), "%"),
            Evidence("flagged", noise.flagged, "examples"),
            Evidence("examples_checked", noise.rows, "examples"),
            Evidence("out_of_fold_accuracy", round(noise.out_of_fold_accuracy, 4)),
            Evidence("model", noise.model),
            Evidence("suspects", [e.to_dict() for e in noise.examples], ""),
        ],
        subject="labels",
    )


def _share_rows(quality: Quality, attribute: str) -> tuple[int, int]:
    counts = [getattr(split, attribute) for split in quality.splits.values()]
    rows = [split.rows for split in quality.splits.values()]
    return sum(counts), sum(rows)


@check("OFL506", reads=("max_missing_share", "max_outlier_share"))
def data_quality(ctx: CheckContext) -> Iterator[Finding]:
    data = _data(ctx)
    quality = data.quality
    splits = quality.splits

    def where(attribute: str) -> str:
        return ", ".join(f"{getattr(s, attribute):,} in {name}" for name, s in splits.items())

    def worst(kind: str) -> str:
        names = {
            feature: counts[kind]
            for split in splits.values()
            for feature, counts in split.worst_features.items()
            if counts[kind]
        }
        top = sorted(names, key=lambda f: -names[f])[:EXAMPLES_SHOWN]
        return ", ".join(repr(f) for f in top)

    def examples() -> list[str]:
        return [e for s in splits.values() for e in s.examples][:10]

    missing, rows = _share_rows(quality, "rows_with_missing")
    if missing and missing / rows > ctx.threshold("max_missing_share"):
        yield _finding(
            ctx,
            f"{missing:,} rows ({_pct(missing / rows)}) have missing feature values "
            f"({where('missing_cells')} cells; most in {worst('missing')})",
            evidence=[
                Evidence("rows_with_missing", missing, "rows"),
                Evidence("missing_share", round(100 * missing / rows, 3), "%"),
                Evidence("examples", examples()),
            ],
            subject="missing",
        )
    infinite, _ = _share_rows(quality, "rows_with_nonfinite")
    if infinite:
        yield _finding(
            ctx,
            f"{infinite:,} rows hold infinite feature values ({where('nonfinite_cells')} "
            f"cells; in {worst('nonfinite')}): the loss becomes NaN",
            evidence=[Evidence("rows_with_nonfinite", infinite, "rows")],
            subject="nonfinite",
            severity="error",
        )
    labels, _ = _share_rows(quality, "missing_labels")
    if labels:
        yield _finding(
            ctx,
            f"{labels:,} examples have no label ({where('missing_labels')})",
            evidence=[Evidence("missing_labels", labels, "examples")],
            subject="labels",
        )
    outliers, _ = _share_rows(quality, "outlier_rows")
    label_outliers, _ = _share_rows(quality, "label_outliers")
    if outliers / rows > ctx.threshold("max_outlier_share"):
        yield _finding(
            ctx,
            f"{outliers:,} rows ({_pct(outliers / rows)}) hold values more than "
            f"{quality.outlier_z:g} robust standard deviations from the training median "
            f"(most in {worst('outliers')})",
            evidence=[
                Evidence("outlier_rows", outliers, "rows"),
                Evidence("outlier_share", round(100 * outliers / rows, 3), "%"),
                Evidence("outlier_z", quality.outlier_z),
            ],
            subject="outliers",
        )
    if label_outliers / rows > ctx.threshold("max_outlier_share"):
        yield _finding(
            ctx,
            f"{label_outliers:,} regression targets lie more than {quality.outlier_z:g} robust "
            "standard deviations from the training median",
            evidence=[Evidence("label_outliers", label_outliers, "examples")],
            subject="label-outliers",
        )


@check("OFL507", reads=("min_ks", "max_p_value", "min_label_distance"))
def train_val_shift(ctx: CheckContext) -> Iterator[Finding]:
    data = _data(ctx)
    shift = data.shift
    if isinstance(shift, Unknown):
        return
    min_ks, max_p = ctx.threshold("min_ks"), ctx.threshold("max_p_value")
    gap_note = (
        "; a gap between training and validation metrics already present at the best epoch "
        "(OFL302) may come from this shift rather than from overfitting"
    )
    label_shifted = (
        shift.label_distance >= ctx.threshold("min_label_distance")
        if shift.label_test == "total variation"
        else shift.label_distance >= min_ks
    ) and shift.label_p_value <= max_p
    if label_shifted:
        what = (
            "the class shares differ by a total variation distance of "
            if shift.label_test == "total variation"
            else "the targets' KS statistic is "
        )
        train_counts = getattr(data.balance, "train_counts", {})
        val_counts = getattr(data.balance, "val_counts", {})
        yield _finding(
            ctx,
            f"labels shift between training and validation: {what}{shift.label_distance:.3f} "
            f"(p = {shift.label_p_value:.2g})" + gap_note,
            evidence=[
                Evidence("label_distance", round(shift.label_distance, 4)),
                Evidence("label_test", shift.label_test),
                Evidence("label_p_value", shift.label_p_value),
                Evidence("train_counts", dict(train_counts)),
                Evidence("val_counts", dict(val_counts)),
            ],
            subject="labels",
        )
    shifted = [f for f in shift.features if f.ks >= min_ks and f.p_value <= max_p]
    if shifted:
        top = shifted[0]
        listed = ", ".join(
            f"{f.name!r} (KS {f.ks:.2f}, SMD {f.smd:+.2f}, PSI {f.psi:.2f})"
            for f in shifted[:EXAMPLES_SHOWN]
        )
        yield _finding(
            ctx,
            f"{len(shifted)} of {len(shift.features)} features shift between training and "
            f"validation, most: {listed}" + gap_note,
            evidence=[
                Evidence("shifted_features", len(shifted), "features"),
                Evidence("features_tested", len(shift.features), "features"),
                Evidence("largest_ks", round(top.ks, 4)),
                Evidence("most_shifted", [f.to_dict() for f in shifted[:10]]),
            ],
            subject="features",
        )
