"""``--format text``: readable in a terminal, one grep-able line per finding.

Every finding line begins with the file it points at; everything taken from a file is made
``plain`` first, and a path that could be read as something else at the start of a line
(``::command``, ``-option``) is written ``./path``. Several models: each run as one model
shows it, then the overall verdict and result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from overfitlint.facts import ModelFacts
from overfitlint.findings import Finding
from overfitlint.render.reading import (
    best_epoch,
    checked_line,
    counts_text,
    finding_context,
    finding_head,
    gate_word,
    number,
    value_at,
    verdict_line,
)
from overfitlint.render.safe import line_start, plain, wrap
from overfitlint.report import AnyReport, MultiReport, Report

ANSI = {
    "error": "\033[1;31m",
    "warning": "\033[33m",
    "info": "\033[36m",
    "dim": "\033[2m",
    "bold": "\033[1m",
}
RESET = "\033[0m"
WIDTH = 96


def _paint(text: str, style: str, color: bool) -> str:
    return f"{ANSI[style]}{text}{RESET}" if color and style in ANSI else text


def _format_value(value: Any, unit: str) -> str:
    if isinstance(value, float):
        value = f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    elif isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:,}" if unit in ("params", "samples") else str(value)
    elif isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    text = plain(value)
    return f"{text} {plain(unit)}" if unit and unit not in ("epoch", "line") else text


def _model_line(model: ModelFacts) -> str:
    producer = plain(model.provenance.producer) or "unknown producer"
    dropout = sum(1 for layer in model.layers if layer.dropout_rate is not None)
    return (
        f"  model  {plain(model.source)}  {plain(model.format)} ({producer}), "
        f"{model.total_params:,} params ({model.trainable_params:,} trainable), "
        f"{dropout} dropout layer(s)"
    )


def _inputs(report: Report) -> list[str]:
    lines = [_model_line(report.model)] if report.model else []
    for log in report.logs:
        anchor = log.val_loss if log.val_loss is not None else log.train_loss
        points = anchor.count if anchor is not None else 0
        pair = " / ".join(plain(x) for x in (log.loss.train, log.loss.val))
        line = f"  log    {plain(log.source)}  {plain(log.format)}, {points} points ({pair})"
        best = best_epoch(report, log)
        if best is not None:
            value = value_at(log.val_loss, best)
            shown = f" {_format_value(value, '')}" if value is not None else ""
            line += f", best {plain(log.loss.val)}{shown} at epoch {_format_value(best, 'epoch')}"
        lines.append(line)
        lines.extend(f"         note: {plain(note)}" for note in log.notes)
    lines.extend(f"  note   {plain(note)}" for note in report.notes)
    return lines


def _finding(report: Report, finding: Finding, color: bool) -> list[str]:
    lines = [finding_head(finding, lambda text, style: _paint(text, style, color))]
    evidence = "; ".join(
        f"{plain(e.name)}={_format_value(e.value, e.unit)}" for e in finding.evidence
    )
    if evidence:
        lines.append(f"    evidence: {evidence}")
    lines.extend(f"    {line}" for line in finding_context(report, finding))
    if finding.probe:
        lines.extend(_probe_lines(finding.probe, color))
    fix = plain(" ".join(finding.fix.split()))
    if fix:
        wrapped = wrap(fix, WIDTH, "    fix: ", "         ")
        lines.extend(_paint(line, "dim", color) for line in wrapped)
    return lines


def _probe_lines(probe: Any, color: bool) -> list[str]:
    """``probe: STATUS on DEVICE in S s (seed N): note`` and the numbers it measured."""
    if not isinstance(probe, Mapping):
        return [f"    probe: {plain(probe)}"]
    status = plain(probe.get("status", "?"))
    where_run = []
    if probe.get("device"):
        where_run.append(f"on {plain(probe['device'])}")
        if number(probe.get("seconds")) is not None:
            where_run.append(f"in {float(probe['seconds']):.2f} s")
        if probe.get("seed") is not None:
            where_run.append(f"seed {plain(probe['seed'])}")
    head = f"probe: {status}" + (f" ({', '.join(where_run)})" if where_run else "")
    if probe.get("severity_from"):
        head += f", downgraded from {plain(probe['severity_from'])}"
    note = plain(" ".join(str(probe.get("note") or probe.get("reason") or "").split()))
    lines = wrap(f"{head}: {note}" if note else head, WIDTH, "    ", " " * 11)
    metrics = probe.get("metrics")
    if isinstance(metrics, Mapping) and metrics:
        items = "; ".join(
            f"{plain(name)}={_format_value(value, '')}"
            for name, value in metrics.items()
            if isinstance(value, int | float | str | bool) or value is None
        )
        lines.extend(
            _paint(line, "dim", color) for line in wrap(items, WIDTH, "    measured: ", " " * 14)
        )
    return lines


def _probe_run_line(probe: Mapping[str, Any]) -> str:
    line = f"Probe: {plain(probe.get('status'))}"
    if probe.get("status") == "ran":
        parts = [f"on {plain(probe.get('device') or '?')}"]
        if probe.get("framework"):
            parts.append(plain(probe["framework"]))
        seconds, budget = number(probe.get("seconds")), number(probe.get("budget"))
        if seconds is not None:
            of_budget = f" of a {budget:g} s budget" if budget is not None else ""
            parts.append(f"{seconds:.1f} s{of_budget}")
        line += " " + ", ".join(parts)
    if probe.get("reason"):
        line += f" ({plain(probe['reason'])})"
    return line


def _baseline_lines(report: Report) -> list[str]:
    baseline = report.baseline
    if baseline is None:
        return []
    lines = [
        f"Baseline {plain(baseline.path)}: {baseline.suppressed} known finding(s) suppressed, "
        f"{baseline.new} new, {len(baseline.escalated)} worse than accepted, "
        f"{len(baseline.gone)} gone."
    ]
    lines.extend(
        f"  worse than accepted: {plain(e.file) or '-'}: {plain(e.code)}: {plain(e.change)}"
        for e in baseline.escalated
    )
    lines.extend(
        f"  gone (fixed): {plain(g.file) or '-'}: {plain(g.code)} {plain(g.name)}"
        for g in baseline.gone
    )
    return lines


def _run_lines(report: Report, color: bool) -> list[str]:
    out = [f"overfitlint {plain(report.tool_version)}", *_inputs(report), ""]
    for finding in report.findings:
        out.extend(_finding(report, finding, color))
        out.append("")
    summary = report.summary
    out.append(f"Found {counts_text(summary)}." if summary.total else "No findings.")
    if report.rules.crashed:
        out.append(
            "Could not run (crashed): "
            + ", ".join(map(plain, report.rules.crashed))
            + "; the verdict is incomplete."
        )
    skipped = report.rules.skipped
    if skipped:
        reasons = (f"{plain(code)} ({plain(why)})" for code, why in skipped.items())
        out.append("Not run: " + "; ".join(reasons))
    if report.run.probe:
        out.append(_probe_run_line(report.run.probe))
    out.extend(_baseline_lines(report))
    out.append(f"Verdict: {verdict_line(report.verdict)}")
    checked = checked_line(report.verdict)
    if checked:
        out.append(checked)
    out.append(f"Result: {gate_word(summary)} (--fail-on {plain(report.run.fail_on)}).")
    return out


def _trial_line(run: Report, trial_view: Mapping[str, Any] | None) -> str:
    trial = run.trial
    assert trial is not None
    mark = " *best*" if trial.is_best else ""
    codes = " ".join(dict.fromkeys(plain(f.code) for f in run.findings)) or "-"
    params = ", ".join(f"{plain(k)}={plain(v)}" for k, v in list(trial.params.items())[:6])
    best = ""
    if trial_view and trial_view.get("best_epoch") is not None:
        points = len(trial_view.get("x") or ())
        best = f"best {plain(trial_view.get('axis') or 'epoch')} {plain(trial_view['best_epoch'])}"
        best += f" of {points} points; " if points else "; "
    return (
        f"  {line_start(plain(trial.source))}{mark} [{plain(trial.state)}] "
        f"{plain(run.verdict.status)}; {best}findings {codes}" + (f"; {params}" if params else "")
    )


def _sweep_lines(report: MultiReport, color: bool) -> list[str]:
    """A sweep: the store, one line per trial, then every finding (the sweep's first)."""
    whole = report.sweep
    assert whole is not None and whole.sweep is not None
    info = whole.sweep
    objective = plain(info.objective_name or "objective")
    best = f"; best trial {plain(info.best_run)}" if info.best_run else ""
    out = [
        f"overfitlint {plain(report.tool_version)}",
        f"  sweep  {plain(info.source)}  {plain(info.kind)}, {info.runs} run(s), "
        f"{plain(info.direction)} {objective}{best}",
    ]
    out.extend(f"  note   {plain(note)}" for note in info.notes)
    views = {str(t.get("source")): t for t in info.trials}
    out.append("")
    out.append("Trials:")
    out.extend(_trial_line(run, views.get(run.trial.source)) for run in report.runs if run.trial)
    out.append("")
    for part in report.parts:
        for finding in part.findings:
            out.extend(_finding(part, finding, color))
            out.append("")
    summary = report.summary
    out.append(f"Found {counts_text(summary)}." if summary.total else "No findings.")
    skipped = whole.rules.skipped
    if skipped:
        reasons = (f"{plain(code)} ({plain(why)})" for code, why in skipped.items())
        out.append("Sweep rules not run: " + "; ".join(reasons))
    for part in report.parts:
        out.extend(_baseline_lines(part))
    failed = sum(1 for run in report.runs if run.summary.failed)
    out.append(f"Checked {len(report.runs)} run(s) ({failed} failed) and the sweep.")
    out.append(f"Verdict: {verdict_line(report.verdict)}")
    out.append(f"Result: {gate_word(summary)} (--fail-on {plain(report.run.fail_on)}).")
    return out


def render_text(report: AnyReport, *, color: bool = False) -> str:
    if not isinstance(report, MultiReport):
        return "\n".join(_run_lines(report, color)) + "\n"
    if report.sweep is not None:
        return "\n".join(_sweep_lines(report, color)) + "\n"
    out = []
    for run in report.runs:
        out.append(f"== {plain(run.name)}")
        out.extend(_run_lines(run, color))
        out.append("")
    summary = report.summary
    failed = sum(1 for run in report.runs if run.summary.failed)
    out.append(f"Checked {len(report.runs)} models ({failed} failed), {counts_text(summary)}.")
    if report.run.cached:
        out.append(
            f"Reused {report.run.cached} of {len(report.runs)} reports from the cache "
            "(their files, settings and the tool unchanged)."
        )
    out.append(f"Overall verdict: {verdict_line(report.verdict)}")
    out.append(f"Overall result: {gate_word(summary)} (--fail-on {plain(report.run.fail_on)}).")
    return "\n".join(out) + "\n"
