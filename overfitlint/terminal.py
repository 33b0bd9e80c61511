"""Whether a stream is a terminal (progress bars are drawn only there)."""

from __future__ import annotations

from typing import IO


def is_terminal(stream: IO[str]) -> bool:
    """``stream.isatty()``, False for a stream without one or a closed one."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
