"""A progress bar on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from overfitlint.terminal import is_terminal

_WIDTH = 30
_INTERVAL = 0.1


class Progress:
    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = total > 0 and is_terminal(self.stream)
        self.total = total
        self.label = label
        self.done = 0
        self._shown = 0.0

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and (now - self._shown >= _INTERVAL or self.done >= self.total):
            self._shown = now
            filled = _WIDTH * self.done // self.total
            self.stream.write(
                f"\r{self.label} [{'#' * filled}{'.' * (_WIDTH - filled)}] "
                f"{self.done:,}/{self.total:,}"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
