"""A live run's result as the typed ``Report`` every renderer reads, and its file.

The report of a monitored run is the report ``overfitlint check`` would write for the same
model and log: the same rules, verdict and gate; its inputs are the live objects (no file),
so it lists none and its findings point at epochs rather than log lines.
"""

from __future__ import annotations

from pathlib import Path

from overfitlint.api import Judged
from overfitlint.engine.gate import failed
from overfitlint.errors import InputError
from overfitlint.facts import Facts
from overfitlint.report import Report, RulesRun, RunInfo, Summary
from overfitlint.settings import RuleConfig

FORMATS_BY_SUFFIX = {".html": "html", ".htm": "html", ".json": "json"}


def live_report(
    facts: Facts, judged: Judged, rules: RuleConfig, *, started_at: str, seconds: float, name: str
) -> Report:
    evaluation = judged.evaluation
    findings = judged.findings
    return Report(
        run=RunInfo(
            started_at=started_at,
            seconds=seconds,
            fail_on=rules.fail_on,
            fail_on_risk=rules.fail_on_risk,
            samples=facts.samples.value if facts.samples else None,
            samples_source=facts.samples.source if facts.samples else None,
            kept_epoch=facts.kept.epoch if facts.kept else None,
            kept_epoch_source=facts.kept.source if facts.kept else None,
            probe={"status": "skipped", "reason": "a live run is judged without the probe"},
            name=name,
        ),
        inputs=(),
        model=facts.model,
        logs=facts.curves,
        rules=RulesRun(
            evaluation.ran, evaluation.skipped, evaluation.thresholds, evaluation.crashed
        ),
        findings=findings,
        verdict=judged.verdict,
        summary=Summary.of(
            findings,
            failed(
                findings,
                fail_on=rules.fail_on,
                fail_on_risk=rules.fail_on_risk,
                severities=rules.severities,
            ),
        ),
        checked=tuple(c.to_dict() for c in evaluation.checked),
        notes=facts.notes,
    )


def report_format(path: Path) -> str:
    fmt = FORMATS_BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: a live report is HTML or JSON; name the file .html or .json")
    return fmt


def write_report(report: Report, path: Path) -> Path:
    """Write ``report`` as HTML or JSON, by the suffix of ``path``."""
    from overfitlint.render import render

    fmt = report_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(fmt, report), encoding="utf-8")
    return path
