"""``--format text``: readable in a terminal, one grep-able line per finding."""

from __future__ import annotations

import textwrap
from typing import Any

ANSI = {
    "error": "\033[1;31m",
    "warning": "\033[33m",
    "info": "\033[36m",
    "dim": "\033[2m",
    "bold": "\033[1m",
}
RESET = "\033[0m"


def _paint(text: str, style: str, color: bool) -> str:
    return f"{ANSI[style]}{text}{RESET}" if color else text


def _format_value(value: Any, unit: str) -> str:
    if isinstance(value, float):
        value = f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    elif isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:,}" if unit in ("params", "samples") else str(value)
    elif isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return f"{value} {unit}".rstrip() if unit and unit not in ("epoch", "line") else str(value)


def _inputs(report: dict[str, Any]) -> list[str]:
    lines = []
    model = report.get("model")
    if model:
        producer = model["provenance"].get("producer") or "unknown producer"
        dropout = len([layer for layer in model["layers"] if layer["dropout_rate"] is not None])
        lines.append(
            f"  model  {model['source']}  {model['format']} ({producer}), "
            f"{model['total_params']:,} params ({model['trainable_params']:,} trainable), "
            f"{dropout} dropout layer(s)"
        )
    for log in report.get("logs", []):
        val = log["loss"]["val"]
        anchor = log["series"].get(val or log["loss"]["train"] or "", {"epochs": []})
        pair = " / ".join(str(x) for x in (log["loss"]["train"], val))
        lines.append(
            f"  log    {log['source']}  {log['format']}, {len(anchor['epochs'])} points ({pair})"
        )
        lines.extend(f"         note: {note}" for note in log.get("notes", []))
    return lines


def _finding(finding: dict[str, Any], color: bool) -> list[str]:
    location = finding["location"]
    where = location["file"] or "-"
    if location["line"]:
        where = f"{where}:{location['line']}"
    severity = finding["severity"]
    head = (
        f"{where}: {_paint(finding['code'], 'bold', color)} "
        f"[{_paint(severity, severity, color)}, {finding['confidence']} confidence] "
        f"{finding['message']}"
    )
    lines = [head]
    if finding["evidence"]:
        items = "; ".join(
            f"{e['name']}={_format_value(e['value'], e['unit'])}" for e in finding["evidence"]
        )
        lines.append(f"    evidence: {items}")
    if finding["corroborated_by"]:
        lines.append(f"    corroborated by: {', '.join(finding['corroborated_by'])}")
    if finding.get("probe"):
        lines.extend(_probe_lines(finding["probe"], color))
    fix = " ".join(finding["fix"].split())
    if fix:
        wrapped = textwrap.wrap(
            fix, width=96, initial_indent="    fix: ", subsequent_indent="         "
        )
        lines.extend(_paint(line, "dim", color) for line in wrapped)
    return lines


def _probe_lines(probe: dict[str, Any], color: bool) -> list[str]:
    """``probe: STATUS on DEVICE in S s (seed N): note`` and the numbers it measured."""
    if not isinstance(probe, dict):
        return [f"    probe: {probe}"]
    status = str(probe.get("status", "?"))
    where = []
    if probe.get("device"):
        where.append(f"on {probe['device']}")
    if isinstance(probe.get("seconds"), int | float) and probe.get("device"):
        where.append(f"in {probe['seconds']:.2f} s")
    if probe.get("seed") is not None and probe.get("device"):
        where.append(f"seed {probe['seed']}")
    head = f"probe: {status}" + (f" ({', '.join(where)})" if where else "")
    if probe.get("severity_from"):
        head += f", downgraded from {probe['severity_from']}"
    note = " ".join(str(probe.get("note") or probe.get("reason") or "").split())
    text = f"{head}: {note}" if note else head
    lines = textwrap.wrap(
        text, width=96, initial_indent="    ", subsequent_indent=" " * 11, break_on_hyphens=False
    )
    metrics = probe.get("metrics")
    if isinstance(metrics, dict) and metrics:
        items = "; ".join(
            f"{name}={_format_value(value, '')}"
            for name, value in metrics.items()
            if isinstance(value, int | float | str | bool) or value is None
        )
        lines.extend(
            _paint(line, "dim", color)
            for line in textwrap.wrap(
                items, width=96, initial_indent="    measured: ", subsequent_indent="              "
            )
        )
    return lines


def _probe_run_line(probe: dict[str, Any]) -> str:
    if not isinstance(probe, dict):
        return f"Probe: {probe}"
    line = f"Probe: {probe.get('status')}"
    if probe.get("status") == "ran":
        parts = [f"on {probe.get('device') or '?'}"]
        if probe.get("framework"):
            parts.append(str(probe["framework"]))
        if isinstance(probe.get("seconds"), int | float):
            budget = probe.get("budget")
            parts.append(
                f"{probe['seconds']:.1f} s of a {budget:g} s budget"
                if isinstance(budget, int | float)
                else f"{probe['seconds']:.1f} s"
            )
        line += " " + ", ".join(parts)
    if probe.get("reason"):
        line += f" ({probe['reason']})"
    return line


def render_text(report: dict[str, Any], *, color: bool = False) -> str:
    out = [f"overfitlint {report['tool']['version']}", *_inputs(report), ""]
    for finding in report["findings"]:
        out.extend(_finding(finding, color))
        out.append("")
    summary = report["summary"]
    if summary["total"]:
        counts = ", ".join(f"{summary[s]} {s}" for s in ("error", "warning", "info") if summary[s])
        out.append(f"Found {summary['total']} finding(s): {counts}.")
    else:
        out.append("No findings.")
    skipped = report["rules"]["skipped"]
    if skipped:
        out.append("Not run: " + "; ".join(f"{code} ({why})" for code, why in skipped.items()))
    probe = report["run"].get("probe") or {}
    if probe:
        out.append(_probe_run_line(probe))
    baseline = report.get("baseline")
    if baseline:  # --baseline: known findings are not shown; fixed ones are listed as gone
        out.append(
            f"Baseline {baseline['path']}: {baseline['suppressed']} known finding(s) suppressed, "
            f"{baseline['new']} new, {len(baseline['gone'])} gone."
        )
        out.extend(
            f"  gone (fixed): {g['file'] or '-'}: {g['code']} {g['name']}" for g in baseline["gone"]
        )
    verdict = "fail" if summary["failed"] else "pass"
    out.append(f"Result: {verdict} (--fail-on {report['run']['fail_on']}).")
    return "\n".join(out) + "\n"
