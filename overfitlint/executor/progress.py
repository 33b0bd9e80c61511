"""Progress of a check of many targets: a bar on stderr (a terminal only), one line at the end.

[##########--------------]  212/500 done  3 failed  180 cached  4 in flight  0:41
"""

from __future__ import annotations

import sys
import time
from typing import IO

from overfitlint.terminal import is_terminal

WIDTH = 24
REDRAW_S = 0.1


class FleetProgress:
    def __init__(
        self,
        total: int,
        *,
        executor: str,
        stream: IO[str] | None = None,
        enabled: bool | None = None,
        clock=time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = (is_terminal(self.stream) and total > 1) if enabled is None else enabled
        self.total = total
        self.executor = executor
        self.clock = clock
        self.started_at = clock()
        self.drawn_at = float("-inf")
        self.done = self.failed = self.cached = 0
        self.running: set[int] = set()

    def start(self, index: int) -> None:
        self.running.add(index)
        self._draw()

    def finish(self, index: int, *, failed: bool = False, cached: bool = False) -> None:
        self.running.discard(index)
        self.done += 1
        self.failed += failed
        self.cached += cached
        if not self.running or self.done == self.total:  # else the next start redraws it
            self._draw(force=self.done == self.total)

    def summary(self) -> str:
        seconds = self.clock() - self.started_at
        rate = f", {60 * self.done / seconds:,.0f} targets/min" if seconds > 0 else ""
        return (
            f"overfitlint: {self.done} of {self.total} targets done in {seconds:.1f} s "
            f"({self.executor}{rate}): {self.failed} not checked (OFL902), "
            f"{self.cached} reused from the cache"
        )

    def close(self, *, summary: bool) -> None:
        if self.enabled and self.drawn_at > float("-inf"):
            self.stream.write("\r" + " " * 100 + "\r")
        if summary:
            self.stream.write(self.summary() + "\n")
        self.stream.flush()

    def _draw(self, *, force: bool = False) -> None:
        now = self.clock()
        if not self.enabled or (not force and now - self.drawn_at < REDRAW_S):
            return
        self.drawn_at = now
        filled = WIDTH * self.done // max(1, self.total)
        elapsed = int(now - self.started_at)
        line = (
            f"[{'#' * filled}{'-' * (WIDTH - filled)}] {self.done:>4}/{self.total} done  "
            f"{self.failed} failed  {self.cached} cached  {len(self.running)} in flight  "
            f"{elapsed // 60}:{elapsed % 60:02d}"
        )
        self.stream.write("\r" + line[:100].ljust(100))
        self.stream.flush()
