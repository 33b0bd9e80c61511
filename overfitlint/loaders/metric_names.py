"""Which log columns are the training and validation loss (and accuracy)."""

from __future__ import annotations

from collections.abc import Iterable

from overfitlint.curves import MetricPair
from overfitlint.errors import InputError

LOSS_PAIRS = (
    ("loss", "val_loss"),
    ("train_loss", "val_loss"),
    ("train_loss", "valid_loss"),
    ("loss", "eval_loss"),
    ("train_loss", "eval_loss"),
    ("training_loss", "validation_loss"),
)
ACCURACY_PAIRS = (
    ("accuracy", "val_accuracy"),
    ("acc", "val_acc"),
    ("train_acc", "val_acc"),
    ("train_accuracy", "val_accuracy"),
)
HIGHER_IS_BETTER = ("acc", "auc", "f1", "precision", "recall", "iou", "map", "dice", "r2")


def higher_is_better(name: str) -> bool:
    lowered = name.lower()
    return any(token in lowered for token in HIGHER_IS_BETTER) and "loss" not in lowered


def _find(columns: dict[str, str], name: str) -> str | None:
    """The column spelled ``name`` ignoring case, or None."""
    return columns.get(name.lower())


def choose_pairs(
    names: Iterable[str],
    source: str,
    train_metric: str | None = None,
    val_metric: str | None = None,
) -> tuple[MetricPair, MetricPair | None]:
    """The loss pair (train may be None, val may be None) and the accuracy pair if logged."""
    by_lower = {name.lower(): name for name in names}
    if train_metric or val_metric:
        chosen = []
        for option, wanted in (("--train-metric", train_metric), ("--val-metric", val_metric)):
            if wanted is None:
                chosen.append(None)
                continue
            found = _find(by_lower, wanted)
            if found is None:
                raise InputError(
                    f"{source}: {option} {wanted!r} is not a column; columns: "
                    f"{', '.join(by_lower.values())}"
                )
            chosen.append(found)
        reference = chosen[1] or chosen[0]
        return MetricPair(chosen[0], chosen[1], not higher_is_better(reference)), None

    loss = None
    for train, val in LOSS_PAIRS:
        if _find(by_lower, val) or (_find(by_lower, train) and loss is None):
            loss = MetricPair(_find(by_lower, train), _find(by_lower, val))
            if loss.val:
                break
    if loss is None:
        raise InputError(
            f"{source}: no loss column found (looked for {', '.join(dict(LOSS_PAIRS))} and "
            f"their validation twins); columns: {', '.join(by_lower.values()) or 'none'}; "
            "name them with --train-metric and --val-metric"
        )
    accuracy = None
    for train, val in ACCURACY_PAIRS:
        if _find(by_lower, val):
            accuracy = MetricPair(_find(by_lower, train), _find(by_lower, val), False)
            break
    return loss, accuracy
