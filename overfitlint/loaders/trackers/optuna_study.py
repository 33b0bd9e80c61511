"""Optuna studies: RDB storage in SQLite (``optuna.db``, ``sqlite:///...``) and journal files
(``JournalFileBackend``), read with ``optuna.load_study``.

Per trial: the intermediate values (``trial.report(value, step)``) are the validation
curve, on the objective's own scale (lower is better when the study minimises). Optuna
keeps one intermediate value per step, so a training curve can only come from the
trial's user attributes; three conventions are read:

- a list with one value per step: ``trial.set_user_attr("train_loss", losses)`` (the
  list grown each epoch; its k-th value belongs to the k-th reported step);
- a dict from step to value: ``trial.set_user_attr("train_loss", {"0": 0.9, "1": 0.7})``;
- one attribute per step: ``trial.set_user_attr("train_loss_step_3", 0.41)``
  (also ``train_loss-3``, ``train_loss/3``, ``train_loss_epoch_3``), a dict value giving
  one curve per key (``{"generator": ..., "discriminator": ...}``).

The training curve is the one whose name marks it as training (``train_loss``,
``loss_train``, ``training/loss``), the twin of the study's metric name
(``study.set_metric_names(["val_loss"])`` pairs with ``train_loss`` or ``loss``) when
there is one. The SQLite file is opened read-only and nothing is written to a journal.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from overfitlint.curves import MetricPair
from overfitlint.errors import InputError
from overfitlint.loaders.logs.metric_names import choose_pairs, parse_name
from overfitlint.loaders.trackers.run import (
    MetricPoints,
    Sweep,
    TrackedRun,
    curves_or_note,
    known_params,
    require_runs,
)

STATES = {"COMPLETE": "finished", "PRUNED": "pruned", "FAIL": "failed"}
PER_STEP_ATTR = re.compile(r"^(?P<name>.+?)(?:[-_/ .](?:step|epoch|iter))?[-_/ .](?P<step>\d+)$")
JOURNAL_KEYS = (b'"op_code"', b'"worker_id"')


def is_journal(path: Path) -> bool:
    """A journal file: JSON lines whose first line is an operation of a worker."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(1 << 16)
    except OSError:
        return False
    return first.startswith(b"{") and all(key in first for key in JOURNAL_KEYS)


def _optuna():
    try:
        import optuna
    except ImportError as exc:
        raise InputError(
            "reading an Optuna study needs optuna: pip install 'overfitlint[optuna]'"
        ) from exc
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna


def _storage(path: Path, kind: str):
    optuna = _optuna()
    if kind == "journal":
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        try:
            return JournalStorage(JournalFileBackend(str(path)))
        except Exception as exc:
            raise InputError(f"{path}: not a readable Optuna journal: {exc}") from exc
    url = f"sqlite:///file:{path.resolve()}?mode=ro&uri=true"
    try:
        return optuna.storages.RDBStorage(url, skip_table_creation=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot open the Optuna storage: {first}") from exc


def load_optuna(path: Path, kind: str, *, study: str | None = None) -> Sweep:
    """``kind``: "sqlite" or "journal"."""
    try:
        return _load(path, kind, study)
    except InputError:
        raise
    except Exception as exc:  # the storage layer's own errors (SQLAlchemy, a damaged journal)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read the Optuna study: {first}") from exc


def _load(path: Path, kind: str, study: str | None) -> Sweep:
    optuna = _optuna()
    storage = _storage(path, kind)
    names = optuna.get_all_study_names(storage)
    if not names:
        raise InputError(f"{path}: the Optuna storage holds no study")
    if study is None:
        if len(names) > 1:
            raise InputError(
                f"{path}: holds {len(names)} Optuna studies ({', '.join(names)}); pick one with "
                "--study NAME"
            )
        study = names[0]
    elif study not in names:
        raise InputError(f"{path}: no Optuna study named {study!r}; studies: {', '.join(names)}")
    loaded = optuna.load_study(study_name=study, storage=storage)
    return _sweep(loaded, f"{path} (study {study})")


def _sweep(study, where: str) -> Sweep:
    notes: list[str] = []
    multi = len(study.directions) > 1
    direction = study.directions[0].name.lower()
    metric_names = study.metric_names
    val_name = metric_names[0] if metric_names else "objective"
    if multi:
        notes.append(
            f"{len(study.directions)} objectives: the curves and ranking use the first "
            f"({val_name}, {direction}); a multi-objective study has no single best trial"
        )
    runs = [_trial(trial, val_name, direction, bool(metric_names)) for trial in study.trials]
    require_runs(runs, where, "Optuna trials")
    best = None
    if not multi:
        complete = [t for t in study.trials if t.state.name == "COMPLETE"]
        if complete:
            best_number = study.best_trial.number
            best = next(run for run in runs if run.source == f"trial {best_number}")
            best.is_best = True
    with_train = sum(
        1 for run in runs if run.curves is not None and run.curves.loss.train is not None
    )
    if with_train == 0:
        notes.append(
            "no trial stored a training curve in its user attributes (e.g. "
            "trial.set_user_attr('train_loss', losses)): the gap to training cannot be measured"
        )
    return Sweep("optuna", where, runs, best, direction, notes, val_name)


def _trial(trial, val_name: str, direction: str, named: bool) -> TrackedRun:
    params = dict(trial.params)
    notes: list[str] = []
    metrics: dict[str, MetricPoints] = {}
    steps = sorted(trial.intermediate_values)
    if steps:
        val = MetricPoints()
        for step in steps:
            val.add(float(step), float(trial.intermediate_values[step]))
        metrics[val_name] = val
    attr_curves = user_attr_curves(trial.user_attrs, steps, notes)
    metrics.update({name: points for name, points in attr_curves.items() if name != val_name})
    train = _train_name(val_name, list(attr_curves), direction, named, notes) if steps else None
    pair = MetricPair(train, val_name if steps else None, direction == "minimize")
    curves = None
    if steps:
        curves = curves_or_note(
            metrics, notes, source=f"trial {trial.number}", fmt="optuna", params=params, pair=pair
        )
    else:
        notes.append("no intermediate values reported")
    values = trial.values
    objective = float(values[0]) if values and math.isfinite(values[0]) else None
    return TrackedRun(
        source=f"trial {trial.number}",
        name=f"trial {trial.number}",
        params=params,
        curves=curves,
        state=STATES.get(trial.state.name, "running"),
        objective=objective,
        notes=notes,
        meta=known_params(params),
    )


def user_attr_curves(
    attrs: dict[str, Any], steps: list[int], notes: list[str]
) -> dict[str, MetricPoints]:
    """Per-step curves stored in user attributes, by the three conventions above."""
    curves: dict[str, MetricPoints] = {}
    for name, value in attrs.items():
        if isinstance(value, list) and value and all(_is_number(v) for v in value):
            x = steps if len(steps) == len(value) else list(range(len(value)))
            if len(steps) != len(value) and steps:
                notes.append(
                    f"user attribute {name!r} has {len(value)} values for {len(steps)} "
                    "reported steps: its k-th value is placed at step k"
                )
            curves[name] = _points(zip(x, value, strict=True))
        elif isinstance(value, dict) and value and all(_is_step(k) for k in value):
            pairs = [(int(k), v) for k, v in value.items() if _is_number(v)]
            if pairs:
                curves[name] = _points(sorted(pairs))
    for name, value in attrs.items():
        match = PER_STEP_ATTR.match(name)
        if match is None or name in curves:
            continue
        step = int(match.group("step"))
        base = match.group("name")
        if _is_number(value):
            curves.setdefault(base, MetricPoints()).add(float(step), float(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                if _is_number(item):
                    curves.setdefault(f"{base}/{key}", MetricPoints()).add(float(step), float(item))
    return curves


def _train_name(
    val_name: str, names: list[str], direction: str, named: bool, notes: list[str]
) -> str | None:
    if not names:
        return None
    if named:
        try:
            pair = choose_pairs([val_name, *names], "", val_metric=val_name).loss
        except InputError:
            pair = None
        if pair is not None and pair.train:
            return pair.train
    marked = [name for name in names if parse_name(name).role == "train"]
    if len(marked) == 1:
        return marked[0]
    wanted = ("loss",) if direction == "minimize" else None
    same = [name for name in marked if parse_name(name).key == wanted]
    if len(same) == 1:
        return same[0]
    if marked:
        notes.append(
            f"several training curves in the user attributes ({', '.join(marked)}): name the "
            "objective with study.set_metric_names([...]) to pair one"
        )
    return None


def _points(pairs) -> MetricPoints:
    points = MetricPoints()
    for step, value in pairs:
        points.add(float(step), float(value))
    return points


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_step(key: Any) -> bool:
    return isinstance(key, int) or (isinstance(key, str) and key.isdigit())
