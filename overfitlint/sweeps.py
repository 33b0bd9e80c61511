"""A sweep judged: the 6xx rules over the runs a tracker reader returned, the per-run curves for
the per-log rules, and the per-trial data the HTML sweep view draws."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from overfitlint.catalogue import load_catalogue
from overfitlint.checks.curves import OFL301_READS
from overfitlint.checks.sweep import trial_outcome
from overfitlint.curves import Curves, json_float
from overfitlint.engine.runner import EngineResult, resolve_thresholds, run_rules
from overfitlint.loaders.trackers.run import Sweep
from overfitlint.settings import Settings

SWEEP_RULES = "OFL6"
MAX_VIEW_POINTS = 200


def judge_sweep(sweep: Sweep, settings: Settings | None = None) -> EngineResult:
    """The sweep rules (OFL6xx) over ``sweep``, with the thresholds and selection of
    ``settings`` (default: every 6xx rule with its defaults)."""
    settings = settings or Settings()
    selected = replace(
        settings, select=[SWEEP_RULES] if settings.select == ["OFL"] else list(settings.select)
    )
    return run_rules(None, [], selected, sweep=sweep)


def sweep_curves(sweep: Sweep) -> list[Curves]:
    """Every run's curves, for the per-log rules (each finding points at its run)."""
    return [run.curves for run in sweep.runs if run.curves is not None]


def sweep_view(sweep: Sweep, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Per trial, what the sweep view of the HTML report draws: the validation curve (at most
    200 points), the best epoch (the logged best), the gap at the end, params and state.
    ``verdict`` is left None for the engine to fill."""
    settings = settings or Settings()
    resolved = resolve_thresholds(load_catalogue()["OFL301"], settings)
    limits = {name: resolved[name] for name in OFL301_READS}
    view = []
    for run in sweep.runs:
        outcome = trial_outcome(run.curves, limits)
        entry: dict[str, Any] = {
            "source": run.source,
            "name": run.name,
            "state": run.state,
            "is_best": run.is_best,
            "objective": None if run.objective is None else json_float(run.objective),
            "params": dict(run.params),
            "axis": run.curves.axis if run.curves else None,
            "metric": run.curves.loss.val if run.curves else None,
            "x": [],
            "y": [],
            "best_epoch": None,
            "best_value": None,
            "gap": None,
            "diverging": None,
            "verdict": None,
        }
        if outcome is not None:
            keep = downsample(outcome.points, MAX_VIEW_POINTS, outcome.best_index)
            entry.update(
                x=[_number(v) for v in outcome.epochs[keep]],
                y=[json_float(float(v)) for v in outcome.values[keep]],
                best_epoch=_number(outcome.epochs[outcome.best_index]),
                best_value=json_float(float(outcome.values[outcome.best_index])),
                gap=None if outcome.gap is None else json_float(outcome.gap),
                diverging=outcome.diverging if outcome.verdict is not None else None,
            )
        view.append(entry)
    return view


def downsample(points: int, limit: int, keep: int | None = None) -> np.ndarray:
    """Indices of at most ``limit`` evenly spread points, the first, last and ``keep`` among
    them (the best point stays on the drawn curve)."""
    if points <= limit:
        return np.arange(points)
    chosen = set(np.linspace(0, points - 1, limit - 1).round().astype(int).tolist())
    if keep is not None:
        chosen.add(int(keep))
    while len(chosen) > limit:  # the best point pushed it over: drop its nearest neighbour
        others = sorted(i for i in chosen if i not in (0, points - 1, keep))
        chosen.discard(min(others, key=lambda i: abs(i - (keep or 0))))
    return np.asarray(sorted(chosen))


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)
