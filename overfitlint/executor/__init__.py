"""Executors: distribute ``check_one`` over many targets; the merge is deterministic.

- ``serial``: one after the other, in this process;
- ``process`` (``--jobs N``): N isolated worker processes (``python -I``, see
  ``overfitlint.isolated``), each running ``check_one`` on the targets it is sent.

Reports come back in the targets' order whatever order the workers finish in.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from overfitlint.baseline import Baseline
from overfitlint.pipeline import check_one
from overfitlint.report import Report
from overfitlint.settings import Settings
from overfitlint.targets import Target

EXECUTORS = ("serial", "process")


def run_targets(
    targets: Sequence[Target],
    settings: Settings,
    *,
    executor: str = "serial",
    jobs: int = 1,
    baseline: Baseline | None = None,
    hash_inputs: bool = False,
    config_path: str | None = None,
) -> list[Report]:
    if jobs == 0:
        jobs = os.cpu_count() or 1
    if executor == "process" and jobs > 1 and len(targets) > 1:
        from overfitlint.executor.process import run_in_processes  # subprocesses, threads

        return run_in_processes(
            targets,
            settings,
            jobs=min(jobs, len(targets)),
            baseline=baseline,
            hash_inputs=hash_inputs,
            config_path=config_path,
        )
    return [
        check_one(t, settings, baseline=baseline, hash_inputs=hash_inputs, config_path=config_path)
        for t in targets
    ]
