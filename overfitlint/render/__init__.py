"""Renderers: one module per output format, all reading the same typed report.

Each renderer is imported only when its format is asked for, so that a plain text
run does not pay for Jinja2 or the XML and SARIF writers.
"""

from __future__ import annotations

from importlib import import_module

from overfitlint.render.safe import json_safe
from overfitlint.report import AnyReport, MultiReport

# format -> (module, function); every function takes the report document and returns text
RENDERERS: dict[str, tuple[str, str]] = {
    "text": ("overfitlint.render.text", "render_text"),
    "json": ("overfitlint.render.json_out", "render_json"),
    "html": ("overfitlint.render.html", "render_html"),
    "sarif": ("overfitlint.render.sarif", "render_sarif"),
    "junit": ("overfitlint.render.junit", "render_junit"),
    "github": ("overfitlint.render.github", "render_github"),
}


def render(fmt: str, report: AnyReport, *, color: bool = False) -> str:
    document = json_safe(report.to_dict())
    if fmt == "text" and isinstance(report, MultiReport):  # each run, then the verdict
        from overfitlint.render.runs import render_text_runs

        return render_text_runs(document, color=color)
    module, function = RENDERERS[fmt]
    renderer = getattr(import_module(module), function)
    return renderer(document, color=color) if fmt == "text" else renderer(document)


def github_summary(report: AnyReport) -> str:
    """The Markdown job summary appended to ``$GITHUB_STEP_SUMMARY``."""
    from overfitlint.render.github import render_summary

    return render_summary(json_safe(report.to_dict()))
