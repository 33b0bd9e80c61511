"""Renderers: one module per output format, all reading the same report document.

Each renderer is imported only when its format is asked for, so that a plain text
run does not pay for Jinja2 or the XML and SARIF writers.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# format -> (module, function); every function takes the report dict and returns text
RENDERERS: dict[str, tuple[str, str]] = {
    "text": ("overfitlint.render.text", "render_text"),
    "json": ("overfitlint.render.json_out", "render_json"),
    "html": ("overfitlint.render.html", "render_html"),
    "sarif": ("overfitlint.render.sarif", "render_sarif"),
    "junit": ("overfitlint.render.junit", "render_junit"),
    "github": ("overfitlint.render.github", "render_github"),
}


def render(fmt: str, report: dict[str, Any], *, color: bool = False) -> str:
    if fmt == "text" and "runs" in report:  # several models: each run, then the verdict
        from overfitlint.render.runs import render_text_runs

        return render_text_runs(report, color=color)
    module, function = RENDERERS[fmt]
    renderer = getattr(import_module(module), function)
    return renderer(report, color=color) if fmt == "text" else renderer(report)
