"""One check, start to end: load, run the rules, (probe), and build the report document."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from overfitlint.engine import run_rules
from overfitlint.loaders import load_inputs
from overfitlint.report import RunInfo, build_report
from overfitlint.settings import Settings


def probe_status(probe: bool) -> dict[str, Any]:
    return {
        "status": "skipped",
        "reason": "the probe is not available in this version" if probe else "--no-probe",
    }


def run_check(
    paths: list[Path], settings: Settings, *, probe: bool, hash_inputs: bool
) -> dict[str, Any]:
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    inputs = load_inputs(paths, settings)
    result = run_rules(inputs.model, inputs.curves, settings)
    run = RunInfo(started_at, time.perf_counter() - started, probe_status(probe))
    return build_report(inputs, result, settings, run, hash_inputs=hash_inputs)
