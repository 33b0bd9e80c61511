"""A one-line progress bar on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 28


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()

    @staticmethod
    def wanted(stream: TextIO | None = None) -> bool:
        target = stream or sys.stderr
        return bool(getattr(target, "isatty", lambda: False)())

    def step(self, name: str) -> None:
        filled = WIDTH * self.done // self.total
        elapsed = time.perf_counter() - self.started
        label = name if len(name) <= 40 else "…" + name[-39:]
        self.stream.write(
            f"\rspectra [{'#' * filled}{'.' * (WIDTH - filled)}] "
            f"{self.done}/{self.total} {elapsed:5.1f}s {label:<40}"
        )
        self.stream.flush()
        self.done += 1

    def close(self) -> None:
        self.stream.write("\r" + " " * (WIDTH + 70) + "\r")
        self.stream.flush()
