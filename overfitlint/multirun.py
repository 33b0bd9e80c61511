"""Several models in one invocation: group the inputs, run the groups (in parallel processes
with ``--jobs N``), and combine the reports into one document with one verdict.

Grouping of ``overfitlint check PATHS...`` when PATHS hold two or more model files:

- every model starts a run;
- a log joins the model in its own folder, else the model in the nearest folder above it;
- when that folder holds several models, the log joins the one whose file stem starts its
  name (``a.onnx`` takes ``a-logs.csv``) or whose stem names the log's sub-folder
  (``a.onnx`` takes ``a/metrics.csv``); anything still ambiguous is an error that points to
  the ``[[models]]`` manifest in the config file;
- logs with no model above them are checked on their own, one run per folder.

With at most one model, all PATHS are one run (as before).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from overfitlint import __version__
from overfitlint.baseline import summarize
from overfitlint.errors import InputError
from overfitlint.report import SCHEMA_VERSION
from overfitlint.settings import Settings


@dataclass
class RunGroup:
    name: str
    paths: list[Path]
    overrides: dict[str, Any] = field(default_factory=dict)


def _owner(log: Path, models: list[Path]) -> Path | None:
    folder = log.resolve().parent
    for ancestor in (folder, *folder.parents):
        here = [m for m in models if m.resolve().parent == ancestor]
        if not here:
            continue
        if len(here) == 1:
            return here[0]
        first_part = log.resolve().relative_to(ancestor).parts[0]
        by_folder = [m for m in here if first_part == m.stem and first_part != log.name]
        by_stem = [m for m in here if log.stem.startswith(m.stem)]
        longest = max((len(m.stem) for m in by_stem), default=0)
        by_stem = [m for m in by_stem if len(m.stem) == longest]
        for candidates in (by_folder, by_stem):
            if len(candidates) == 1:
                return candidates[0]
        names = ", ".join(str(m) for m in here)
        raise InputError(
            f"{log}: cannot tell which model this log belongs to ({names}); name it after "
            f"its model (e.g. {here[0].stem}-logs{log.suffix}) or list the models in a "
            "[[models]] manifest in the config file"
        )
    return None


def group_paths(paths: list[Path]) -> list[RunGroup]:
    from overfitlint.loaders import sniff

    kinds = [(path, sniff(path)) for path in paths]
    models = [path for path, kind in kinds if kind == "model"]
    if len(models) <= 1:
        anchor = models[0] if models else paths[0]
        return [RunGroup(str(anchor), list(paths))]
    groups: dict[str, RunGroup] = {}
    for path, kind in kinds:
        if kind == "model":
            groups.setdefault(f"model:{path}", RunGroup(str(path), []))
            groups[f"model:{path}"].paths.insert(0, path)
            continue
        owner = _owner(path, models)
        key = f"model:{owner}" if owner else f"logs:{path.resolve().parent}"
        if key not in groups:
            groups[key] = RunGroup(str(owner) if owner else str(path.parent), [])
        groups[key].paths.append(path)
    return list(groups.values())


def _run_one(task: tuple[list[Path], Settings, dict[str, Any]]) -> dict[str, Any]:
    from overfitlint.pipeline import run_check

    paths, settings, check_kwargs = task
    return run_check(paths, settings, **check_kwargs)


def run_groups(
    groups: list[RunGroup], settings: Settings, jobs: int, check_kwargs: dict[str, Any]
) -> list[dict[str, Any]]:
    """One report per group, in the groups' order whatever order the processes finish in."""
    tasks = [(g.paths, replace(settings, **g.overrides), check_kwargs) for g in groups]
    if jobs == 0:
        jobs = os.cpu_count() or 1
    if jobs <= 1 or len(tasks) <= 1:
        reports = [_run_one(task) for task in tasks]
    else:
        # spawn: a fresh interpreter per worker, so no framework state is ever forked
        with ProcessPoolExecutor(
            max_workers=min(jobs, len(tasks)), mp_context=get_context("spawn")
        ) as pool:
            reports = list(pool.map(_run_one, tasks))
    if len(groups) > 1:
        for group, report in zip(groups, reports, strict=True):
            report["run"]["name"] = group.name
    return reports


def combine(
    reports: list[dict[str, Any]], fail_on: str, *, started_at: str, seconds: float, jobs: int
) -> dict[str, Any]:
    """One document for several runs: ``runs`` holds each run's full report; ``inputs``,
    ``findings`` and ``summary`` cover them all; ``failed`` if any run failed."""
    findings = [finding for report in reports for finding in report["findings"]]
    summary = summarize(findings, fail_on)
    summary["failed"] = any(report["summary"]["failed"] for report in reports)
    combined: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "overfitlint", "version": __version__},
        "run": {
            "started_at": started_at,
            "seconds": round(seconds, 3),
            "fail_on": fail_on,
            "jobs": jobs,
            "models": len(reports),
        },
        "inputs": [item for report in reports for item in report["inputs"]],
        "summary": summary,
        "findings": findings,
        "runs": reports,
    }
    baselines = [report["baseline"] for report in reports if "baseline" in report]
    if baselines:
        combined["baseline"] = {
            "path": baselines[0]["path"],
            "suppressed": sum(b["suppressed"] for b in baselines),
            "new": sum(b["new"] for b in baselines),
            "gone": [g for b in baselines for g in b["gone"]],
        }
    return combined


def now() -> tuple[str, float]:
    return datetime.now(UTC).isoformat(timespec="seconds"), time.perf_counter()
