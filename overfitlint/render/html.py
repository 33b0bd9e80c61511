"""``--report``: one self-contained HTML file (inline CSS and SVG, no scripts, no network)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from overfitlint.catalogue import load_catalogue
from overfitlint.render.charts import charts_for


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("overfitlint", "render/templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    return env


def render_html(report: dict[str, Any]) -> str:
    catalogue = load_catalogue()
    rules = {
        code: catalogue[code].to_dict()
        for code in {f["code"] for f in report["findings"]}
        if code in catalogue
    }
    template = _environment().get_template("report.html.j2")
    return template.render(report=report, charts=charts_for(report), rules=rules)
