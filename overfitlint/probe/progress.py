"""A one-line progress bar on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import IO

from overfitlint.terminal import is_terminal

WIDTH = 24


class ProgressBar:
    def __init__(
        self,
        budget_s: float,
        *,
        stream: IO[str] | None = None,
        enabled: bool | None = None,
        clock=time.monotonic,
    ):
        self.stream = stream or sys.stderr
        self.enabled = is_terminal(self.stream) if enabled is None else enabled
        self.budget_s = budget_s
        self.clock = clock
        self.started = clock()
        self.text = "starting the backend"
        self.drawn = False

    def update(self, text: str | None = None) -> None:
        if text is not None:
            self.text = text
        if not self.enabled:
            return
        elapsed = self.clock() - self.started
        filled = min(WIDTH, int(WIDTH * elapsed / self.budget_s)) if self.budget_s > 0 else WIDTH
        bar = "#" * filled + "-" * (WIDTH - filled)
        line = f"probe [{bar}] {elapsed:5.1f}/{self.budget_s:.0f} s  {self.text}"
        self.stream.write("\r" + line[:100].ljust(100))
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.enabled and self.drawn:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()
