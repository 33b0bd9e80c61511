"""Renderers: one module per output format, all reading the same report document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from overfitlint.render.html import render_html
from overfitlint.render.json_out import render_json
from overfitlint.render.text import render_text

Renderer = Callable[..., str]

RENDERERS: dict[str, Renderer] = {
    "text": render_text,
    "json": render_json,
    "html": render_html,
}


def render(fmt: str, report: dict[str, Any], *, color: bool = False) -> str:
    if fmt == "text":
        return render_text(report, color=color)
    return RENDERERS[fmt](report)
