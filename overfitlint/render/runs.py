"""Text output of a multi-model report: each run as ``text`` shows it, then the overall verdict."""

from __future__ import annotations

from typing import Any

from overfitlint.render.text import render_text


def render_text_runs(report: dict[str, Any], *, color: bool = False) -> str:
    out = []
    for run in report["runs"]:
        name = run["run"].get("name") or run["inputs"][0]["path"]
        out.append(f"== {name}\n{render_text(run, color=color)}")
    summary = report["summary"]
    failed = [run for run in report["runs"] if run["summary"]["failed"]]
    counts = ", ".join(f"{summary[s]} {s}" for s in ("error", "warning", "info") if summary[s])
    found = f"{summary['total']} finding(s): {counts}" if summary["total"] else "no findings"
    verdict = "fail" if summary["failed"] else "pass"
    out.append(
        f"Checked {len(report['runs'])} models ({len(failed)} failed), {found}.\n"
        f"Overall result: {verdict} (--fail-on {report['run']['fail_on']}).\n"
    )
    return "\n".join(out)
