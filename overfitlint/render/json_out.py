"""``--format json``: the report document itself, as one JSON object."""

from __future__ import annotations

from overfitlint.render.safe import json_text
from overfitlint.report import AnyReport


def render_json(report: AnyReport) -> str:
    """``json.dumps(json_safe(report.to_dict()), indent=2, allow_nan=False)``, with the
    runner's ``##[`` prefix spelt so that it does not read as one (the data is unchanged)."""
    return json_text(report.to_dict())
