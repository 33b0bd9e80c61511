"""``measure``: every data measurement over what a reader produced."""

from __future__ import annotations

import math
from dataclasses import replace

from overfitlint.data.balance import class_balance
from overfitlint.data.columns import column_stats
from overfitlint.data.duplicates import image_duplicates, table_duplicates
from overfitlint.data.facts import DataFacts
from overfitlint.data.noise import label_noise
from overfitlint.data.parallel import each
from overfitlint.data.quality import data_quality, robust_sample
from overfitlint.data.scale import channel_scale, column_scale
from overfitlint.data.shift import distribution_shift
from overfitlint.data.statistics import robust_center_scale
from overfitlint.facts import ModelFacts, Unknown

DEFAULT_NOISE_ROWS = 20_000


def measure(
    facts: DataFacts,
    *,
    model: ModelFacts | None = None,
    noise: bool = True,
    noise_rows: int = DEFAULT_NOISE_ROWS,
) -> DataFacts:
    """The facts with every measurement filled in (a new object; ``facts`` is not changed).

    ``model``: its input size is compared with the data's features (a note on a mismatch).
    ``noise``: run the label-noise fit (a few seconds of scikit-learn); off: ``noise`` stays
    None.
    """
    arrays = facts.arrays
    if arrays is None:
        raise ValueError("these data facts hold no arrays to measure (they were not read)")
    notes = list(facts.notes)
    train, val = arrays.train, arrays.val
    stats = dict(zip(("train", "val"), each(column_stats, [train.x, val.x]), strict=True))
    sample = robust_sample(train.x)
    center, scale = robust_center_scale(sample)
    if facts.kind == "images":
        overlap, inside = image_duplicates(train, val, notes)
        scales = channel_scale(arrays)
    else:
        has_nan = stats["train"].any_missing or stats["val"].any_missing
        overlap, inside = table_duplicates(
            train, val, stats["train"].mean, stats["train"].std, has_nan
        )
        scales = column_scale(arrays, stats["train"], facts.features)
    classification = facts.task == "classification"
    balance = (
        class_balance(train, val, facts.classes)
        if classification
        else Unknown("regression targets have no classes")
    )
    noise_facts = None
    if noise:
        noise_facts = (
            label_noise(train, facts.classes, noise_rows)
            if classification
            else Unknown("the label-noise estimate needs classes (these are regression targets)")
        )
    if model is not None:
        notes.extend(_model_notes(facts, model))
    return replace(
        facts,
        notes=notes,
        overlap=overlap,
        train_duplicates=inside,
        balance=balance,
        scale=scales,
        quality=data_quality(
            train,
            val,
            stats,
            facts.features,
            arrays.categorical,
            center,
            scale,
            sample,
            outliers=facts.kind != "images",
        ),
        shift=distribution_shift(
            train, val, stats, facts.features, arrays.categorical, len(facts.classes)
        ),
        noise=noise_facts,
    )


def _model_notes(facts: DataFacts, model: ModelFacts) -> list[str]:
    if facts.kind not in ("table", "arrays"):
        return []
    notes = []
    for name, shape in model.input_shapes.items():
        sizes = [d for d in shape[1:] if isinstance(d, int) and d > 0]
        if len(sizes) != len(shape) - 1 or not sizes:
            continue
        size = math.prod(sizes)
        if size != len(facts.features):
            notes.append(
                f"the model's input {name!r} takes {size:,} values per sample but the data "
                f"has {len(facts.features):,} features: is this the model's data set?"
            )
    return notes
