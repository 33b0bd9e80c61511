"""Executors: distribute ``check_one`` over many targets; the merge is deterministic.

- ``serial``: one after the other, in this process;
- ``process`` (``--jobs N``): N isolated worker processes (``python -I``, see
  ``overfitlint.isolated``), each running ``check_one`` on the targets it is sent;
- ``ray``: one Ray task per target, on a cluster or a local instance
  (``overfitlint.executor.ray_run``).

Each target is one pure task, ``check_one(target, settings) -> Report``, so every executor gives
the same reports, in the targets' order whatever order the workers finish in. Around the
executor: the cache (``--cache``: unchanged targets are not sent at all), the baseline (applied
here, after the cache, so a new baseline reuses every entry), failures (a target whose worker
died or timed out is an OFL902 report, ``overfitlint.executor.failed``) and the progress bar.
A user's input error in any target stops the run with the first one in the targets' order, as
a check of that target alone would.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from overfitlint.baseline import Baseline
from overfitlint.errors import InputError
from overfitlint.executor.failed import FAILED_CODE, Failure, failed_report
from overfitlint.executor.progress import FleetProgress
from overfitlint.pipeline import check_one, with_baseline
from overfitlint.report import Report
from overfitlint.settings import Settings
from overfitlint.targets import Target

if TYPE_CHECKING:
    from overfitlint.executor.process import Outcome

EXECUTORS = ("serial", "process", "ray")
RETRIES = 1
"""A target whose worker died is tried this many more times before it fails (OFL902)."""


@dataclass(frozen=True)
class FleetOptions:
    ray_address: str | None = None
    ship_inputs: bool = False
    timeout: float | None = None
    """--target-timeout: seconds one target's check may take (process and ray executors)."""
    cache: Path | None = None
    progress: bool | None = None
    """Draw the progress bar (None: when stderr is a terminal)."""


@dataclass(frozen=True)
class FleetRun:
    reports: list[Report]
    cached: int = 0
    """How many reports came from the cache."""


def run_targets(
    targets: Sequence[Target],
    settings: Settings,
    *,
    executor: str = "serial",
    jobs: int = 1,
    baseline: Baseline | None = None,
    hash_inputs: bool = False,
    config_path: str | None = None,
    options: FleetOptions | None = None,
) -> FleetRun:
    options = options or FleetOptions()
    if executor not in EXECUTORS:
        raise InputError(f"--executor {executor}: expected one of {', '.join(EXECUTORS)}")
    if options.timeout is not None and executor == "serial":
        raise InputError(
            "--target-timeout needs --executor process or ray (or --jobs N): a serial check "
            "runs in this process, which cannot stop it"
        )
    if options.ship_inputs and executor != "ray":
        raise InputError("--ship-inputs goes with --executor ray")
    if jobs == 0:
        jobs = os.cpu_count() or 1
    progress = FleetProgress(len(targets), executor=executor, enabled=options.progress)
    cache = _open_cache(options.cache)
    results: dict[int, Report | InputError] = {}
    keys: dict[int, str | None] = {}
    for index, target in enumerate(targets):
        key = (
            cache.key(target, settings, hash_inputs=hash_inputs, config_path=config_path)
            if cache
            else None
        )
        reused = cache.get(key) if cache and key else None
        if reused is None:
            keys[index] = key
        else:
            results[index] = reused
            progress.finish(index, cached=True)
    todo = list(keys)
    events = _dispatch(
        [targets[i] for i in todo], settings, executor, jobs, hash_inputs, config_path, options
    )
    started: dict[int, float] = {}
    try:
        for position, outcome in events:
            index = todo[position]
            if outcome is None:
                started.setdefault(index, time.monotonic())
                progress.start(index)
                continue
            if isinstance(outcome, Failure):
                seconds = time.monotonic() - started.get(index, time.monotonic())
                outcome = failed_report(
                    targets[index], settings, outcome, hash_inputs=hash_inputs,
                    config_path=config_path, seconds=seconds,
                )  # fmt: skip
            elif cache and keys[index] and isinstance(outcome, Report):
                cache.put(keys[index], outcome)
            progress.finish(index, failed=isinstance(outcome, Report) and _not_checked(outcome))
            results[index] = outcome
    except BaseException:
        progress.close(summary=False)
        raise
    finally:
        events.close()  # an executor stops its workers even when this loop is left early
    errors = [results[i] for i in range(len(targets)) if isinstance(results[i], InputError)]
    progress.close(summary=not errors and (len(targets) > 1 or cache is not None))
    if errors:
        raise errors[0]
    reports = [results[i] for i in range(len(targets))]
    if baseline is not None:
        reports = [with_baseline(r, baseline, settings.rules) for r in reports]
    return FleetRun(reports, cached=len(targets) - len(todo))


def _open_cache(folder: Path | None):
    if folder is None:
        return None
    from overfitlint.executor.cache import Cache

    return Cache(folder)


def _not_checked(report: Report) -> bool:
    return any(f.code == FAILED_CODE for f in report.findings)


def _dispatch(
    targets: Sequence[Target],
    settings: Settings,
    executor: str,
    jobs: int,
    hash_inputs: bool,
    config_path: str | None,
    options: FleetOptions,
) -> Iterator[tuple[int, Outcome | None]]:
    if not targets:
        return _serial((), settings, hash_inputs, config_path)
    if executor == "ray":
        from overfitlint.executor.ray_run import RayOptions, run_on_ray

        ray_options = RayOptions(
            address=options.ray_address,
            ship_inputs=options.ship_inputs,
            timeout=options.timeout,
            retries=RETRIES,
            cpus=jobs if jobs > 1 else None,
        )
        return run_on_ray(
            targets, settings, hash_inputs=hash_inputs, config_path=config_path, options=ray_options
        )
    if executor == "process":
        from overfitlint.executor.process import run_in_processes  # subprocesses, threads

        return run_in_processes(
            targets,
            settings,
            jobs=max(1, min(jobs, len(targets))),
            hash_inputs=hash_inputs,
            config_path=config_path,
            timeout=options.timeout,
            retries=RETRIES,
        )
    return _serial(targets, settings, hash_inputs, config_path)


def _serial(
    targets: Sequence[Target], settings: Settings, hash_inputs: bool, config_path: str | None
) -> Iterator[tuple[int, Outcome | None]]:
    for index, target in enumerate(targets):
        yield index, None
        yield index, check_one(target, settings, hash_inputs=hash_inputs, config_path=config_path)
