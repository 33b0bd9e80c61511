"""One check, start to end, as one pure function of its target and settings:

    detect -> load -> evaluate -> probe -> finalize -> baseline -> gate -> Report

Each stage runs once and returns new values; nothing is patched afterwards. Many targets are
distributed by an executor (``overfitlint.executor``), each calling ``check_one``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from overfitlint import formats, loaders
from overfitlint.baseline import Baseline, apply_baseline
from overfitlint.catalogue import load_catalogue
from overfitlint.checks import registered
from overfitlint.engine import Evaluation, Judgement, evaluate, finalize
from overfitlint.engine.gate import failed
from overfitlint.facts import Facts
from overfitlint.findings import Finding
from overfitlint.probe import run_probe
from overfitlint.report import (
    InputFile,
    Report,
    RulesRun,
    RunInfo,
    Summary,
    file_sha256,
    input_size,
)
from overfitlint.settings import RuleConfig, Settings
from overfitlint.targets import Target


def check_one(
    target: Target,
    settings: Settings,
    *,
    baseline: Baseline | None = None,
    hash_inputs: bool = False,
    config_path: str | None = None,
) -> Report:
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    settings = settings.with_load(**target.overrides)
    detected = target.inputs
    facts = loaders.load(detected, settings.load)
    catalogue = load_catalogue()
    evaluation = evaluate(facts, settings.rules, registered(), catalogue)
    outcome = run_probe(facts, evaluation.findings, evaluation.thresholds, settings, catalogue)
    judgement = finalize(evaluation, facts, settings.rules, catalogue, outcome.verdicts)
    inputs = tuple(_input(d, hash_inputs) for d in detected) + tuple(
        InputFile(str(path), "data", input_size(path), None) for path in settings.load.data
    )
    report = assemble_report(
        facts,
        evaluation,
        judgement,
        settings.rules,
        started_at=started_at,
        seconds=time.perf_counter() - started,
        inputs=inputs,
        probe=outcome.summary,
        config_path=config_path,
        name=target.name or None,
        notes=target.notes,
    )
    return report if baseline is None else with_baseline(report, baseline, settings.rules)


def assemble_report(
    facts: Facts,
    evaluation: Evaluation,
    judgement: Judgement,
    rules: RuleConfig,
    *,
    started_at: str,
    seconds: float,
    inputs: tuple[InputFile, ...] = (),
    probe: Mapping[str, Any] | None = None,
    config_path: str | None = None,
    name: str | None = None,
    notes: tuple[str, ...] = (),
) -> Report:
    """The ``Report`` of one judged set of facts (a check, a sweep's run, a live run)."""
    run = RunInfo(
        started_at=started_at,
        seconds=seconds,
        fail_on=rules.fail_on,
        fail_on_risk=rules.fail_on_risk,
        samples=facts.samples.value if facts.samples else None,
        samples_source=facts.samples.source if facts.samples else None,
        kept_epoch=facts.kept.epoch if facts.kept else None,
        kept_epoch_source=facts.kept.source if facts.kept else None,
        probe=dict(probe or {}),
        config=config_path,
        name=name,
    )
    return Report(
        run=run,
        inputs=inputs,
        model=facts.model,
        logs=facts.curves,
        rules=RulesRun(
            evaluation.ran, evaluation.skipped, evaluation.thresholds, evaluation.crashed
        ),
        findings=judgement.findings,
        verdict=judgement.verdict,
        summary=Summary.of(judgement.findings, failed_gate(judgement.findings, rules)),
        checked=tuple(c.to_dict() for c in evaluation.checked),
        notes=notes + tuple(facts.notes),
        data=facts.data.to_dict() if facts.data is not None else None,
    )


def with_baseline(report: Report, baseline: Baseline, rules: RuleConfig) -> Report:
    """The baseline stage: known findings move to ``suppressed``, the gate is decided again."""
    findings, suppressed, info = apply_baseline(
        baseline, report.findings, report.inputs, report.rules.ran, report.model
    )
    return replace(
        report,
        findings=findings,
        suppressed=suppressed,
        baseline=info,
        summary=Summary.of(findings, failed_gate(findings, rules)),
    )


def failed_gate(findings: tuple[Finding, ...], rules: RuleConfig) -> bool:
    return failed(
        findings,
        fail_on=rules.fail_on,
        fail_on_risk=rules.fail_on_risk,
        severities=rules.severities,
    )


def _input(detected: formats.Detected, hash_inputs: bool) -> InputFile:
    path = detected.path
    sha = (
        file_sha256(path)
        if hash_inputs and detected.format != formats.FACTORY and path.is_file()
        else None
    )
    return InputFile(
        str(path),
        "model" if detected.kind == formats.MODEL else "log",
        input_size(path) if detected.format != formats.FACTORY else 0,
        sha,
    )
