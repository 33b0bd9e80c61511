"""Renderers: one module per output format, all reading the same typed report.

Each renderer takes a ``Report`` (one check) or a ``MultiReport`` (several) and returns text.
It is imported only when its format is asked for, so that a plain text run does not pay for
Jinja2 or the XML and SARIF writers.
"""

from __future__ import annotations

from importlib import import_module

from overfitlint.report import AnyReport

# format -> (module, function)
RENDERERS: dict[str, tuple[str, str]] = {
    "text": ("overfitlint.render.text", "render_text"),
    "json": ("overfitlint.render.json_out", "render_json"),
    "html": ("overfitlint.render.html", "render_html"),
    "sarif": ("overfitlint.render.sarif", "render_sarif"),
    "junit": ("overfitlint.render.junit", "render_junit"),
    "github": ("overfitlint.render.github", "render_github"),
}


def render(fmt: str, report: AnyReport, *, color: bool = False, full_series: bool = False) -> str:
    """``color``: ANSI colours in text; ``full_series``: every point of every curve in JSON."""
    module, function = RENDERERS[fmt]
    renderer = getattr(import_module(module), function)
    if fmt == "text":
        return renderer(report, color=color)
    if fmt == "json":
        return renderer(report, full_series=full_series)
    return renderer(report)


def github_summary(report: AnyReport) -> str:
    """The Markdown job summary appended to ``$GITHUB_STEP_SUMMARY``."""
    from overfitlint.render.github import render_summary

    return render_summary(report)
