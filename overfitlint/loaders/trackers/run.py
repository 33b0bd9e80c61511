"""What every tracker reader returns: runs (trials) with their curves, and the sweep they form.

A reader collects, per run, named metric series as (x, value) points; ``build_curves`` turns
them into the same ``Curves`` the log loaders produce: the train/validation pairs chosen by
``overfitlint.loaders.metric_names`` and per-step values placed on epochs where the run says
how (an ``epoch`` metric, steps that count epochs, or an ``epochs`` parameter).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from overfitlint.curves import Curves, MetricPair, Series
from overfitlint.errors import InputError
from overfitlint.loaders.logs.metric_names import Pairing, choose_pairs, is_learning_rate, tokens

EPOCH_KEYS = ("epoch", "epochs", "trainer/epoch", "train/epoch")


@dataclass
class MetricPoints:
    """One metric of one run as read: x (a step, iteration or epoch) and values, in order."""

    x: list[float] | np.ndarray = field(default_factory=list)
    values: list[float] | np.ndarray = field(default_factory=list)
    lines: list[int] | np.ndarray = field(default_factory=list)
    """File line of each point; empty when the store has no lines (a database)."""
    origin: int = 0
    """Index of the file it was read from in the run's ``sources``."""

    def add(self, x: float, value: float, line: int = 0) -> None:
        self.x.append(x)
        self.values.append(value)
        self.lines.append(line)


@dataclass
class TrackedRun:
    """One run of an experiment tracker, or one trial of a hyperparameter study."""

    source: str
    """Names the run: its id, trial number or folder."""
    name: str
    params: dict[str, Any]
    curves: Curves | None
    """None when the run logged no metric (a trial that failed before its first report)."""
    state: str
    """finished, pruned, failed or running."""
    objective: float | None = None
    """The value the sweep ranked this run by (None: not reported)."""
    is_best: bool = False
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    """Settings with known meanings read from the params (dropout, weight_decay, lr, ...)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "name": self.name,
            "params": {key: _jsonable(value) for key, value in self.params.items()},
            "state": self.state,
            "objective": _jsonable(self.objective),
            "is_best": self.is_best,
            "notes": list(self.notes),
            "meta": {key: _jsonable(value) for key, value in self.meta.items()},
            "curves": self.curves.to_dict() if self.curves else None,
        }


@dataclass
class Sweep:
    """The runs of one experiment or study, judged together by the 6xx rules."""

    kind: str
    """mlflow, wandb, optuna or ray."""
    source: str
    runs: list[TrackedRun]
    best_run: TrackedRun | None
    direction: str
    """minimize or maximize: how the objective ranks runs."""
    notes: list[str] = field(default_factory=list)
    objective_name: str | None = None
    """The metric the runs are ranked by, when the store names it."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "direction": self.direction,
            "objective_name": self.objective_name,
            "best_run": self.best_run.source if self.best_run else None,
            "notes": list(self.notes),
            "runs": [run.to_dict() for run in self.runs],
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


# -- parameters with known meanings -----------------------------------------------------------

KNOWN_PARAMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "dropout": (
        ("dropout",),
        ("drop", "rate"),
        ("drop", "prob"),
        ("p", "drop"),
        ("dropout", "rate"),
    ),
    "weight_decay": (("weight", "decay"), ("wd",), ("l2",), ("l2", "reg"), ("decay", "weight")),
    "lr": (("lr",), ("learning", "rate"), ("learningrate",), ("base", "lr"), ("init", "lr")),
    "batch_size": (("batch", "size"), ("bs",), ("batchsize",), ("train", "batch", "size")),
    "epochs": (("epochs",), ("num", "epochs"), ("max", "epochs"), ("n", "epochs"), ("epoch",)),
}


def param_key(name: str) -> tuple[str, ...]:
    """The tokens of a parameter name without its path (``model.dropout`` -> ("dropout",))."""
    last = re.split(r"[./]", name)[-1]
    return tuple(tokens(last))


@functools.lru_cache(maxsize=4096)
def _meaning(name: str) -> str | None:
    key = param_key(name)
    return next((meaning for meaning, spellings in KNOWN_PARAMS.items() if key in spellings), None)


def known_params(params: dict[str, Any]) -> dict[str, Any]:
    """{"dropout": 0.3, "lr": 0.001, ...} for params whose names say what they are."""
    found: dict[str, Any] = {}
    for name, value in params.items():
        meaning = _meaning(name)
        number = as_number(value) if meaning else None
        if number is None or meaning in found:
            continue
        found[meaning] = int(number) if meaning in ("batch_size", "epochs") else number
    return found


def as_number(value: Any) -> float | None:
    """A parameter as a number: ints, floats, bools and numeric strings ("0.5", "True")."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("true", "false"):
            return float(text.lower() == "true")
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def parse_param(text: str) -> Any:
    """A parameter stored as text (MLflow): the number or bool it spells, else the text."""
    stripped = text.strip()
    if stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    for kind in (int, float):
        try:
            return kind(stripped)
        except ValueError:
            pass
    return text


# -- curves from metric points ----------------------------------------------------------------


def build_curves(
    metrics: dict[str, MetricPoints],
    *,
    source: str,
    fmt: str,
    params: dict[str, Any],
    sources: list[str] | None = None,
    train_metric: str | None = None,
    val_metric: str | None = None,
    epoch_key: str | None = None,
    pair: MetricPair | None = None,
) -> Curves | None:
    """The run's curves; None when it logged no metric with a finite value.

    ``pair``: the train/validation pair when the store says which it is (an Optuna trial's
    intermediate values); otherwise it is chosen from the names, as for a log file.
    """
    notes: list[str] = []
    series = {name: _series(name, points) for name, points in metrics.items() if len(points.x)}
    series = {name: s for name, s in series.items() if np.isfinite(s.values).any()}
    if not series:
        return None
    epoch_name = epoch_key or next((n for n in series if n.lower() in EPOCH_KEYS), None)
    epoch_series = series.pop(epoch_name, None) if epoch_name else None
    if not series:
        return None
    if pair is not None:
        pairing = Pairing(pair)
    else:
        pairing = _pairing(tuple(series), source, train_metric, val_metric)
    notes.extend(pairing.notes)
    for name, parts in pairing.derived.items():
        series[name] = _summed(name, [series[p] for p in parts])
    judged = [n for n in (pairing.loss.val, pairing.loss.train) if n]
    axis = _place_on_epochs(series, judged, epoch_series, params, notes)
    lr = next((name for name in series if is_learning_rate(name)), None)
    return Curves(
        source=source,
        format=fmt,
        series=series,
        loss=pairing.loss,
        accuracy=pairing.accuracy,
        notes=notes,
        axis=axis,
        lr=lr,
        meta=known_params(params),
        sources=list(sources or [source]),
    )


def curves_or_note(
    metrics: dict[str, MetricPoints], notes: list[str], **options: Any
) -> Curves | None:
    """``build_curves(metrics, **options)``, where a run whose metrics cannot be paired gets
    the reason as a note and no curves: the other runs of its sweep are still judged."""
    try:
        return build_curves(metrics, **options)
    except InputError as exc:
        notes.append(str(exc))
        return None


@functools.lru_cache(maxsize=1024)
def _same_names_pairing(
    names: tuple[str, ...], train_metric: str | None, val_metric: str | None
) -> Pairing:
    return choose_pairs(list(names), "", train_metric, val_metric)


def _pairing(
    names: tuple[str, ...], source: str, train_metric: str | None, val_metric: str | None
) -> Pairing:
    """The pairs of a run's metric names: the runs of a sweep mostly log the same names, so
    the choice is made once per set of names (a failed choice is redone to name the run)."""
    try:
        cached = _same_names_pairing(names, train_metric, val_metric)
    except InputError:
        return choose_pairs(list(names), source, train_metric, val_metric)
    accuracy = cached.accuracy
    return Pairing(
        MetricPair(cached.loss.train, cached.loss.val, cached.loss.lower_is_better),
        None
        if accuracy is None
        else MetricPair(accuracy.train, accuracy.val, accuracy.lower_is_better),
        {name: list(parts) for name, parts in cached.derived.items()},
        list(cached.notes),
    )


def _series(name: str, points: MetricPoints) -> Series:
    """One value per x (the last one logged), sorted by x."""
    x = np.asarray(points.x, dtype=np.float64)
    values = np.asarray(points.values, dtype=np.float64)
    lines = np.asarray(points.lines if len(points.lines) else np.zeros(x.size), dtype=np.int64)
    steps = np.diff(x)
    if np.all(steps > 0):  # the usual case: logged in order, once per x
        return Series(name, x, values, lines, np.full(x.size, points.origin, dtype=np.int64))
    if np.any(steps < 0):
        order = np.argsort(x, kind="stable")
        x, values, lines = x[order], values[order], lines[order]
    last = np.concatenate((x[1:] != x[:-1], [True]))
    origins = np.full(int(last.sum()), points.origin, dtype=np.int64)
    return Series(name, x[last], values[last], lines[last], origins)


def _summed(name: str, parts: list[Series]) -> Series:
    common = parts[0].epochs
    for part in parts[1:]:
        common = np.intersect1d(common, part.epochs)
    values = np.zeros(common.size)
    for part in parts:
        values += part.values[np.searchsorted(part.epochs, common)]
    return Series(name, common, values, np.zeros(common.size, np.int64))


def _place_on_epochs(
    series: dict[str, Series],
    judged: list[str],
    epoch_series: Series | None,
    params: dict[str, Any],
    notes: list[str],
) -> str:
    """Move every series from steps to epochs where the run says how; the axis it ends on."""
    if epoch_series is not None:
        steps, epochs = epoch_series.epochs, epoch_series.values
        keep = np.isfinite(epochs)
        steps, epochs = steps[keep], epochs[keep]
        if steps.size >= 2 and not np.any(np.diff(epochs) < 0):
            if np.array_equal(steps, epochs):
                return "epoch"
            for item in series.values():
                item.epochs = np.interp(item.epochs, steps, epochs)
            notes.append(f"steps are placed on epochs with the {epoch_series.name!r} metric")
            return "epoch"
    reference = series.get(judged[0]) if judged else None
    if reference is None or len(reference) == 0:
        return "step"
    x = reference.epochs
    if x.size and np.all(x == np.round(x)) and x[0] in (0, 1) and np.all(np.diff(x) == 1):
        return "epoch"  # one point per step, the steps counting 0..N or 1..N: they are epochs
    epochs = known_params(params).get("epochs")
    if epochs and x.size == epochs:
        mapping = {float(step): float(i) for i, step in enumerate(x)}
        for item in series.values():
            if all(float(v) in mapping for v in item.epochs):
                item.epochs = np.asarray([mapping[float(v)] for v in item.epochs])
        notes.append(
            f"{reference.name} has one point for each of the {epochs} epochs the 'epochs' "
            "parameter names: its k-th point is epoch k"
        )
        return "epoch"
    return "step"


# -- the sweep's best run ---------------------------------------------------------------------


def rank_runs(
    runs: list[TrackedRun], metric: str | None, direction: str | None = None
) -> tuple[TrackedRun | None, str]:
    """The best run and the direction, ranking by ``metric``: a run's objective is the value
    its store keeps (set already) else the last value it logged; the direction is the one the
    store names, else the validation metric's."""
    for run in runs:
        if run.objective is None:
            run.objective = last_value(run.curves, metric)
    direction = direction or direction_of([run.curves for run in runs])
    return choose_best(runs, direction), direction


def choose_best(runs: list[TrackedRun], direction: str) -> TrackedRun | None:
    """The run with the best objective among those that report one (ties: the first)."""
    ranked = [run for run in runs if run.objective is not None and math.isfinite(run.objective)]
    if not ranked:
        return None
    sign = 1.0 if direction == "minimize" else -1.0
    best = min(ranked, key=lambda run: sign * float(run.objective))
    best.is_best = True
    return best


def direction_of(curves_list: list[Curves | None]) -> str:
    """minimize unless the validation metric the runs are ranked by is higher-is-better."""
    for curves in curves_list:
        if curves is not None and curves.loss.val:
            return "minimize" if curves.loss.lower_is_better else "maximize"
    return "minimize"


def objective_metric(runs: list[TrackedRun]) -> str | None:
    """The validation metric most runs share (the one their objective is read from)."""
    names = [run.curves.loss.val for run in runs if run.curves and run.curves.loss.val]
    if not names:
        return None
    return max(set(names), key=names.count)


def last_value(curves: Curves | None, name: str | None) -> float | None:
    series = curves.get(name) if curves is not None else None
    if series is None:
        return None
    finite = series.finite()
    return float(finite.values[-1]) if len(finite) else None


def require_runs(runs: list[TrackedRun], where: str, what: str) -> None:
    """One line when nothing in the store has a metric to judge."""
    if not runs:
        raise InputError(f"{where}: no {what} found")
    if any(run.curves is not None for run in runs):
        return
    why = next((note for run in runs for note in run.notes if note.startswith(run.source)), None)
    if why is not None:
        raise InputError(f"{where}: no run can be judged: {why}")
    raise InputError(
        f"{where}: {len(runs)} {what} found but none logged a metric with a number; "
        "nothing to judge"
    )
