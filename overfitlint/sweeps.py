"""A sweep checked: the runs of one tracker store or study, each judged like a log file, and
the sweep as a whole judged by the 6xx rules.

    load_sweep -> per run: evaluate -> finalize -> Report  (the rules of one log)
               -> the sweep: evaluate -> finalize -> Report (OFL6xx) -> MultiReport

There is no probe (a tracker holds no model) and each report is built once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from overfitlint import downsample, loaders
from overfitlint.baseline import Baseline
from overfitlint.catalogue import load_catalogue
from overfitlint.checks import registered
from overfitlint.checks.divergence import READS as OFL301_READS
from overfitlint.checks.sweep import trial_outcome
from overfitlint.curves import json_float
from overfitlint.engine import evaluate, finalize
from overfitlint.engine.evaluate import resolve_thresholds
from overfitlint.facts import Facts
from overfitlint.loaders.trackers.run import Sweep, TrackedRun
from overfitlint.pipeline import assemble_report, with_baseline
from overfitlint.report import (
    InputFile,
    MultiReport,
    MultiRunInfo,
    Report,
    SweepInfo,
    TrialInfo,
    file_sha256,
    input_size,
)
from overfitlint.settings import RuleConfig, Settings

SWEEP_GROUP = "OFL6"
MAX_VIEW_POINTS = 200


@dataclass(frozen=True)
class SweepTarget:
    """One tracker store or study to check: a path, a ``sqlite:///`` URL or a server URL."""

    source: str
    kind: str
    """One of ``loaders.trackers.KINDS``."""

    @property
    def path(self) -> Path | None:
        """The file or folder read (None for a tracking server)."""
        if self.kind == "mlflow-server":
            return None
        if self.source.startswith("sqlite:///"):
            return Path(self.source[len("sqlite:///") :].split("?", 1)[0])
        return Path(self.source)


def split_rules(rules: RuleConfig) -> tuple[RuleConfig, RuleConfig]:
    """The rules of each run (everything but 6xx) and of the sweep (6xx only)."""
    codes = rules.selected if rules.selected is not None else tuple(load_catalogue())
    per_run = tuple(c for c in codes if not c.startswith(SWEEP_GROUP))
    whole = tuple(c for c in codes if c.startswith(SWEEP_GROUP))
    return replace(rules, selected=per_run), replace(rules, selected=whole)


def check_sweep(
    target: SweepTarget,
    settings: Settings,
    *,
    baseline: Baseline | None = None,
    hash_inputs: bool = False,
    config_path: str | None = None,
) -> MultiReport:
    clock = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    sweep = loaders.load_sweep(target.source, settings.load)
    store = _store_input(target, hash_inputs)
    run_rules, sweep_rules = split_rules(settings.rules)
    runs = tuple(
        _run_report(run, store, settings, run_rules, config_path, started_at) for run in sweep.runs
    )
    verdicts = {r.trial.source: r.verdict.status for r in runs if r.trial is not None}
    whole = _sweep_report(sweep, store, settings, sweep_rules, verdicts, config_path, started_at)
    if baseline is not None:
        runs = tuple(with_baseline(r, baseline, settings.rules) for r in runs)
        whole = with_baseline(whole, baseline, settings.rules)
    info = MultiRunInfo(
        started_at, time.perf_counter() - clock, settings.rules.fail_on, 1, "serial", config_path
    )
    return MultiReport(info, runs, sweep=whole)


def _store_input(target: SweepTarget, hash_inputs: bool) -> InputFile:
    path = target.path
    if path is None:
        return InputFile(target.source, "tracker", 0, None)
    sha = file_sha256(path) if hash_inputs and path.is_file() else None
    return InputFile(str(path), "tracker", input_size(path), sha)


def _run_report(
    run: TrackedRun,
    store: InputFile,
    settings: Settings,
    rules: RuleConfig,
    config_path: str | None,
    started_at: str,
) -> Report:
    clock = time.perf_counter()
    facts = loaders.run_facts(run, settings.load)
    trial = TrialInfo(
        run.source,
        run.name,
        {key: _plain(value) for key, value in run.params.items()},
        run.state,
        _plain(run.objective),
        run.is_best,
    )
    notes = tuple(run.notes) + (
        () if run.curves is not None else ("the run logged no metric: nothing to judge",)
    )
    return _report(facts, rules, store, notes, config_path, started_at, clock, run.source, trial)


def _sweep_report(
    sweep: Sweep,
    store: InputFile,
    settings: Settings,
    rules: RuleConfig,
    verdicts: Mapping[str, str],
    config_path: str | None,
    started_at: str,
) -> Report:
    clock = time.perf_counter()
    info = SweepInfo(
        kind=sweep.kind,
        source=sweep.source,
        direction=sweep.direction,
        objective_name=sweep.objective_name,
        best_run=sweep.best_run.source if sweep.best_run else None,
        runs=len(sweep.runs),
        notes=tuple(sweep.notes),
        trials=tuple(
            {**entry, "verdict": verdicts.get(entry["source"])}
            for entry in sweep_view(sweep, settings.rules)
        ),
    )
    report = _report(
        Facts(sweep=sweep),
        rules,
        store,
        tuple(sweep.notes),
        config_path,
        started_at,
        clock,
        f"sweep {sweep.source}",
        None,
    )
    return replace(report, sweep=info)


def _report(
    facts: Facts,
    rules: RuleConfig,
    store: InputFile,
    notes: tuple[str, ...],
    config_path: str | None,
    started_at: str,
    clock: float,
    name: str,
    trial: TrialInfo | None,
) -> Report:
    catalogue = load_catalogue()
    evaluation = evaluate(facts, rules, registered(), catalogue)
    judgement = finalize(evaluation, facts, rules, catalogue)
    report = assemble_report(
        facts,
        evaluation,
        judgement,
        rules,
        started_at=started_at,
        seconds=time.perf_counter() - clock,
        inputs=(store,),
        config_path=config_path,
        name=name,
        notes=notes,
    )
    return replace(report, trial=trial)


def _plain(value: Any) -> Any:
    """A param or objective as JSON can hold it (a non-finite number as text)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def sweep_view(sweep: Sweep, rules: RuleConfig | None = None) -> list[dict[str, Any]]:
    """Per trial, what the sweep view of the HTML report draws: the validation curve (at most
    200 points, chosen by the downsampler of the JSON result and the charts, the logged best
    among them), the best epoch (the logged minimum), the gap at the end, params and state,
    and whether OFL301's criteria call the curve diverging."""
    resolved = resolve_thresholds(load_catalogue(), rules or RuleConfig())["OFL301"]
    limits = {name: resolved[name] for name in OFL301_READS}
    view = []
    for run in sweep.runs:
        outcome = trial_outcome(run.curves, limits)
        entry: dict[str, Any] = {
            "source": run.source,
            "name": run.name,
            "state": run.state,
            "is_best": run.is_best,
            "objective": _plain(run.objective),
            "params": {key: _plain(value) for key, value in run.params.items()},
            "axis": run.curves.axis if run.curves else None,
            "metric": run.curves.loss.val if run.curves else None,
            "lower_is_better": run.curves.loss.lower_is_better if run.curves else True,
            "x": [],
            "y": [],
            "best_epoch": None,
            "best_value": None,
            "gap": None,
            "diverging": None,
        }
        if outcome is not None:
            keep = downsample.positions(
                outcome.epochs, outcome.values, MAX_VIEW_POINTS, [outcome.best_index]
            )
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


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)
