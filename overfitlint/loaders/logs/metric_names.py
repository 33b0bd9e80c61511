"""Which log columns are the training and validation loss (and accuracy).

Names are compared as tokens: ``val_loss``, ``validation/epoch_loss``, ``Loss/val``,
``eval_loss`` and ``valid_loss`` are all the validation loss; ``loss``,
``train_loss``, ``train/epoch_loss`` and ``train_loss_epoch`` the training loss.
Tokens that only say *when* a value was logged (``epoch``, ``step``, ``mean``) do
not change what it measures. When more than one column fits and nothing breaks the
tie, the user is asked to pick with ``--train-metric`` / ``--val-metric``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from overfitlint.curves import MetricPair
from overfitlint.errors import InputError

# Exact pairs that tools write, tried first (any case).
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
TRAIN_TOKENS = frozenset({"train", "training", "trn"})
VAL_TOKENS = frozenset(
    {"val", "valid", "validation", "eval", "evaluation", "dev", "holdout", "heldout"}
)
TEST_TOKENS = frozenset({"test", "testing"})
WHEN_TOKENS = frozenset({"epoch", "epochs", "mean", "avg", "average", "total"})
LOSS_LIKE = frozenset(
    {("mse",), ("mae",), ("rmse",), ("nll",), ("ce",), ("bce",), ("cross", "entropy")}
)
"""What a validation column measures when it is the loss under another name (Valid MSE)."""
ACCURACY_KEYS = frozenset(
    {
        ("acc",),
        ("accuracy",),
        ("binary", "accuracy"),
        ("categorical", "accuracy"),
        ("accuracy", "categorical", "sparse"),
        ("accuracy", "top1"),
        ("acc", "top1"),
    }
)
LR_KEYS = frozenset({("lr",), ("learning", "rate"), ("learningrate",)})
HIGHER_IS_BETTER = ("acc", "auc", "f1", "precision", "recall", "iou", "map", "dice", "r2")


def higher_is_better(name: str) -> bool:
    lowered = name.lower()
    return any(token in lowered for token in HIGHER_IS_BETTER) and "loss" not in lowered


@dataclass(frozen=True)
class NameParts:
    name: str
    role: str | None  # "train", "val" or None (unmarked: Keras' "loss" is training)
    key: tuple[str, ...]  # what it measures, e.g. ("loss",) or ("box", "loss")
    step_level: bool  # logged per step (Lightning's "_step" twin)
    epoch_level: bool  # says it is an epoch aggregate ("_epoch", Keras' "epoch_loss")


def tokens(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [t for t in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if t]


def parse_name(name: str) -> NameParts:
    parts = tokens(name)
    role = None
    if any(t in VAL_TOKENS for t in parts):
        role = "val"
    elif any(t in TRAIN_TOKENS for t in parts):
        role = "train"
    elif any(t in TEST_TOKENS for t in parts):
        role = "test"
    # lr/pg0 (Ultralytics) and lr-Adam (Lightning) are learning rates of a param group
    key = tuple(
        sorted(
            {
                t
                for t in parts
                if t not in VAL_TOKENS
                and t not in TRAIN_TOKENS
                and t not in TEST_TOKENS
                and t not in WHEN_TOKENS
                and t != "step"
            }
        )
    )
    return NameParts(name, role, key, "step" in parts, bool({"epoch", "epochs"} & set(parts)))


def is_learning_rate(name: str) -> bool:
    parts = parse_name(name)
    if parts.key in LR_KEYS:
        return True
    head = tokens(name)[:1]
    return head == ["lr"] or (head == ["learning"] and "rate" in tokens(name))


@dataclass
class Pairing:
    """The pairs found, and loss series to derive by summing components (Ultralytics)."""

    loss: MetricPair
    accuracy: MetricPair | None = None
    derived: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _find(columns: dict[str, str], name: str) -> str | None:
    """The column spelled ``name`` ignoring case, or None."""
    return columns.get(name.lower())


def _rank(parts: NameParts) -> tuple[int, int]:
    """Lower is preferred: epoch aggregates over per-step values."""
    return (int(parts.step_level), int(not parts.epoch_level))


def _pick(candidates: list[NameParts], what: str, source: str, all_names: list[str]) -> str | None:
    if not candidates:
        return None
    ranked = sorted(candidates, key=_rank)
    if len(ranked) > 1 and _rank(ranked[0]) == _rank(ranked[1]):
        tied = [c.name for c in ranked if _rank(c) == _rank(ranked[0])]
        raise InputError(
            f"{source}: ambiguous {what}: {', '.join(tied)} all fit; columns: "
            f"{', '.join(all_names)}; pick one with "
            f"{'--val-metric' if 'validation' in what else '--train-metric'} NAME"
        )
    return ranked[0].name


def _twin(
    parsed: list[NameParts], key: tuple[str, ...], role: str, source: str, names: list[str]
) -> str | None:
    what = "validation" if role == "val" else "training"
    if role == "val":
        found = [p for p in parsed if p.role == "val" and p.key == key]
    else:
        found = [p for p in parsed if p.role == "train" and p.key == key]
        if not found:
            found = [p for p in parsed if p.role is None and p.key == key]
    return _pick(found, f"{what} {' '.join(key)} column", source, names)


def choose_pairs(
    names: Iterable[str],
    source: str,
    train_metric: str | None = None,
    val_metric: str | None = None,
    *,
    unmarked_metrics_are_validation: bool = False,
) -> Pairing:
    """The loss pair (train may be None, val may be None) and the accuracy pair if logged.

    ``unmarked_metrics_are_validation``: metrics other than losses without a train/val
    token were computed on the validation set (fastai's ``accuracy``, ``error_rate``).
    """
    names = list(names)
    by_lower = {name.lower(): name for name in names}
    parsed = [parse_name(n) for n in names if not is_learning_rate(n)]
    if train_metric or val_metric:
        return Pairing(_chosen(by_lower, parsed, source, names, train_metric, val_metric))

    loss = None
    for train, val in LOSS_PAIRS:
        if _find(by_lower, val) and _find(by_lower, train):
            loss = MetricPair(_find(by_lower, train), _find(by_lower, val))
            break
    pairing = Pairing(MetricPair(None, None))
    if loss is None:
        val = _twin(parsed, ("loss",), "val", source, names)
        train = _twin(parsed, ("loss",), "train", source, names)
        if val or train:
            loss = MetricPair(train, val)
    if loss is not None and loss.val is None:
        loss = _held_out(loss, parsed, pairing.notes)
    if loss is None or loss.val is None:
        summed = _component_losses(parsed)
        if summed is not None:
            pairing.derived, note = summed
            pairing.notes.append(note)
            loss = MetricPair("train/loss", "val/loss")
    if loss is None:
        raise InputError(
            f"{source}: no loss column found (looked for {', '.join(dict(LOSS_PAIRS))} and "
            f"their validation twins); columns: {', '.join(names) or 'none'}; "
            "name them with --train-metric and --val-metric"
        )
    pairing.loss = loss
    pairing.accuracy = _accuracy(by_lower, parsed, source, names, unmarked_metrics_are_validation)
    return pairing


def _held_out(loss: MetricPair, parsed: list[NameParts], notes: list[str]) -> MetricPair:
    """No validation loss: a test loss, or a validation column that is the loss under another
    name (``Valid MSE`` beside ``Train loss``), is the held-out curve; the notes say which."""
    tests = [p for p in parsed if p.role == "test" and p.key == ("loss",)]
    if len(tests) == 1:
        notes.append(
            f"no validation loss: {tests[0].name} (the test set) is taken as the held-out "
            "curve; a test set that guides training (early stopping, model choice) is no "
            "longer an unbiased test"
        )
        return MetricPair(loss.train, tests[0].name, loss.lower_is_better)
    others = [p for p in parsed if p.role == "val" and p.key in LOSS_LIKE]
    if len(others) == 1 and loss.train is not None:
        notes.append(
            f"no validation column named loss: {others[0].name} is taken as the validation twin "
            f"of {loss.train}"
        )
        return MetricPair(loss.train, others[0].name, loss.lower_is_better)
    return loss


def _chosen(by_lower, parsed, source, names, train_metric, val_metric) -> MetricPair:
    chosen: list[str | None] = []
    for option, wanted in (("--train-metric", train_metric), ("--val-metric", val_metric)):
        if wanted is None:
            chosen.append(None)
            continue
        found = _find(by_lower, wanted)
        if found is None:
            raise InputError(
                f"{source}: {option} {wanted!r} is not a column; columns: {', '.join(names)}"
            )
        chosen.append(found)
    train, val = chosen
    # one option given: the other side is its twin when the log has exactly one
    if val and train is None:
        key = parse_name(val).key
        candidates = [p for p in parsed if p.role != "val" and p.key == key and p.name != val]
        train = candidates[0].name if len(candidates) == 1 else None
    elif train and val is None:
        key = parse_name(train).key
        candidates = [p for p in parsed if p.role == "val" and p.key == key and p.name != train]
        val = candidates[0].name if len(candidates) == 1 else None
    reference = val or train or ""
    return MetricPair(train, val, not higher_is_better(reference))


def _accuracy(by_lower, parsed, source, names, unmarked_val: bool) -> MetricPair | None:
    for train, val in ACCURACY_PAIRS:
        if _find(by_lower, val) and _find(by_lower, train):
            return MetricPair(_find(by_lower, train), _find(by_lower, val), False)
    val_found = [p for p in parsed if p.role == "val" and p.key in ACCURACY_KEYS]
    if unmarked_val:
        val_found += [p for p in parsed if p.role is None and p.key in ACCURACY_KEYS]
    try:
        val = _pick(val_found, "validation accuracy column", source, names)
    except InputError:
        return None  # accuracy is optional: several candidates, judge the loss alone
    if val is None:
        return None
    key = parse_name(val).key
    train_found = [p for p in parsed if p.role == "train" and p.key == key]
    if not train_found and not unmarked_val:
        train_found = [p for p in parsed if p.role is None and p.key == key]
    try:
        train = _pick(train_found, "training accuracy column", source, names)
    except InputError:
        train = None
    return MetricPair(train, val, False)


def _component_losses(parsed: list[NameParts]) -> tuple[dict[str, list[str]], str] | None:
    """Validation loss split into parts (box_loss, cls_loss, dfl_loss): sum each side."""
    parts = {
        role: {
            p.key: p.name
            for p in parsed
            if p.role == role and "loss" in p.key and p.key != ("loss",)
        }
        for role in ("train", "val")
    }
    shared = sorted(set(parts["train"]) & set(parts["val"]))
    if len(shared) < 2:
        return None
    derived = {
        "train/loss": [parts["train"][k] for k in shared],
        "val/loss": [parts["val"][k] for k in shared],
    }
    note = "the loss is logged in parts; train/loss and val/loss are the sums of " + ", ".join(
        "_".join(k) for k in shared
    )
    return derived, note
