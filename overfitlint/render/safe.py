"""Neutralising text that came from a file before it reaches an output.

Every name a loader reads (layer and node names, metric columns, file and folder names,
producers, baseline entries) is hostile input: a newline followed by ``::error file=...::``
would forge a GitHub workflow command, an ESC byte would drive the terminal, ``##[`` anywhere
in a line is the runner's legacy command prefix. ``plain()`` makes any such text one line of
printable characters: line breaks and tabs become spaces, every other control character (C0,
C1, the Unicode line/paragraph separators and the bidirectional overrides) is written as a
visible ``\\xNN`` / ``\\uNNNN`` escape, and ``##[`` loses its meaning.

A line must also never *begin* with file text: ``line_start()`` guards a path that opens a
line, ``wrap()`` never lets a continuation line open with ``:``.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections.abc import Mapping
from typing import Any

_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_BREAKS = re.compile(r"[\r\n\t\x0b\x0c]+")
_CONTROLS_BUT_LAYOUT = re.compile(
    "[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
LEGACY_COMMAND = "##["
"""GitHub's runner reads ``##[command]`` anywhere in a line (``##[stop-commands]`` included)."""
SAFE_FIRST = frozenset("_/.~\\")
"""Characters a path may begin a line with besides letters and digits."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(text: Any) -> str:
    """One printable line that no terminal or CI log reads as a command."""
    value = _BREAKS.sub(" ", str(text))
    value = _CONTROLS.sub(_escape, value)
    return value.replace(LEGACY_COMMAND, "#\\x23[")


def visible(text: Any) -> str:
    """Text with its layout (newlines, tabs) kept and every other control character shown as
    an escape: for HTML, where markup is escaped separately."""
    return _CONTROLS_BUT_LAYOUT.sub(_escape, str(text))


def plain_tree(value: Any) -> Any:
    """``plain()`` on every string of a JSON-like value, keys included."""
    if isinstance(value, str):
        return plain(value)
    if isinstance(value, Mapping):
        return {plain(k): plain_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_tree(v) for v in value]
    return value


def line_start(path: str) -> str:
    """``path`` (already plain) fit to open a line: one that begins with anything but a letter,
    a digit or ``_ / . ~ \\`` (``::``, ``-``, a space) is written ``./path``."""
    if not path or path[0].isalnum() or path[0] in SAFE_FIRST:
        return path
    return "./" + path


def wrap(text: str, width: int, initial_indent: str, subsequent_indent: str) -> list[str]:
    """``textwrap.wrap`` whose continuation lines never open with ``:`` (a ``::command``): such
    a line is joined to the one before."""
    lines: list[str] = []
    for line in textwrap.wrap(
        text,
        width=width,
        initial_indent=initial_indent,
        subsequent_indent=subsequent_indent,
        break_on_hyphens=False,
    ):
        if lines and line[len(subsequent_indent) :].lstrip().startswith(":"):
            lines[-1] += " " + line[len(subsequent_indent) :]
        else:
            lines.append(line)
    return lines


def json_text(document: Any) -> str:
    """``document`` as indented JSON that no CI log reads as a command: control characters
    are escaped (``ensure_ascii``) and ``##[`` inside a string is written ``##\\u005b``, the same
    string to any JSON reader."""
    text = json.dumps(json_safe(document), indent=2, allow_nan=False)
    return text.replace(LEGACY_COMMAND, "##\\u005b") + "\n"


def json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: spell them as strings so the document stays valid."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
