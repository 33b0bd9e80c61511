"""``--format json``: the report document itself, as one JSON object."""

from __future__ import annotations

from overfitlint.render.safe import json_text
from overfitlint.report import AnyReport


def render_json(report: AnyReport, full_series: bool = False) -> str:
    """``json.dumps(json_safe(report.to_dict()), indent=2, allow_nan=False)``, with the
    runner's ``##[`` prefix spelt so that it does not read as one (the data is unchanged).
    Learning curves are bounded (``Report.to_dict``) unless ``full_series``."""
    return json_text(report.to_dict(full_series=full_series))
