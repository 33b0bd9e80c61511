"""Neutralising text that came from a file before it reaches an output.

Every name a loader reads (layer and node names, metric columns, file names, producers) is
hostile input: a newline followed by ``::error file=...::`` would forge a GitHub workflow
command, an ESC byte would drive the terminal. ``plain()`` makes any such text one line of
printable characters: line breaks and tabs become spaces, every other control character (and
the Unicode line/paragraph separators and bidirectional overrides) is written as a visible
``\\xNN`` / ``\\uNNNN`` escape.
"""

from __future__ import annotations

import math
import re
from typing import Any

_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_BREAKS = re.compile(r"[\r\n\t\x0b\x0c]+")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(text: Any) -> str:
    """One printable line."""
    value = _BREAKS.sub(" ", str(text))
    return _CONTROLS.sub(_escape, value)


def json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: spell them as strings so the document stays valid."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
