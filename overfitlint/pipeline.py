"""One check, start to end: load, run the rules, (probe), and build the report document."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from overfitlint.engine import run_rules
from overfitlint.loaders import load_inputs
from overfitlint.probe import run_probe
from overfitlint.report import RunInfo, build_report
from overfitlint.settings import Settings


def run_check(
    paths: list[Path], settings: Settings, *, probe: bool, hash_inputs: bool
) -> dict[str, Any]:
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    inputs = load_inputs(paths, settings)
    result = run_rules(inputs.model, inputs.curves, settings)
    # The probe checks the static findings on the model itself; its verdicts go in before
    # evidence is combined, so a refuted cause corroborates nothing.
    stage = run_probe(
        inputs.model, inputs.curves, result.findings, result.thresholds, settings, enabled=probe
    )
    if stage.verdicts:
        result = run_rules(inputs.model, inputs.curves, settings, adjust=stage.apply)
    run = RunInfo(started_at, time.perf_counter() - started, stage.summary)
    return build_report(inputs, result, settings, run, hash_inputs=hash_inputs)
