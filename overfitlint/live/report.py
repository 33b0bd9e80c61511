"""A live run's result as the typed ``Report`` every renderer reads, and its file.

The report of a monitored run is the report ``overfitlint check`` would write for the same
model and log: the same rules, verdict and gate; its inputs are the live objects (no file),
so it lists none and its findings point at epochs rather than log lines.
"""

from __future__ import annotations

from pathlib import Path

from overfitlint.api import Judged
from overfitlint.engine import Judgement
from overfitlint.errors import InputError
from overfitlint.facts import Facts
from overfitlint.pipeline import assemble_report
from overfitlint.report import Report
from overfitlint.settings import RuleConfig

FORMATS_BY_SUFFIX = {".html": "html", ".htm": "html", ".json": "json"}


def live_report(
    facts: Facts, judged: Judged, rules: RuleConfig, *, started_at: str, seconds: float, name: str
) -> Report:
    return assemble_report(
        facts,
        judged.evaluation,
        Judgement(judged.findings, judged.verdict),
        rules,
        started_at=started_at,
        seconds=seconds,
        probe={"status": "skipped", "reason": "a live run is judged without the probe"},
        name=name,
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
