"""``--format json``: the report document itself, as one JSON object."""

from __future__ import annotations

import json

from overfitlint.render.safe import json_safe
from overfitlint.report import AnyReport


def render_json(report: AnyReport) -> str:
    return json.dumps(json_safe(report.to_dict()), indent=2, allow_nan=False) + "\n"
