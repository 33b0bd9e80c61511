"""The progress bar: on a terminal only, with done, failed, cached and in flight; one summary."""

from __future__ import annotations

import io

from overfitlint.executor.progress import FleetProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_the_bar_counts_every_state_on_a_terminal():
    stream = Terminal()
    progress = FleetProgress(5, executor="ray", stream=stream, clock=Clock())
    progress.finish(0, cached=True)
    progress.start(1)
    progress.start(2)
    progress.finish(1, failed=True)
    progress.start(3)  # a start redraws the bar (a finish does only when nothing runs)
    last = stream.getvalue().rsplit("\r", 1)[-1]
    assert "2/5 done" in last and "1 failed" in last and "1 cached" in last
    assert "2 in flight" in last
    progress.finish(2)
    progress.finish(3)
    progress.finish(4, cached=True)
    progress.close(summary=True)
    lines = stream.getvalue().splitlines()
    assert lines[-1].startswith("overfitlint: 5 of 5 targets done in ")
    assert "(ray, " in lines[-1] and "1 not checked (OFL902), 2 reused from the cache" in lines[-1]


def test_no_bar_off_a_terminal_only_the_summary():
    stream = io.StringIO()
    progress = FleetProgress(3, executor="process", stream=stream, clock=Clock())
    for index in range(3):
        progress.start(index)
        progress.finish(index)
    progress.close(summary=True)
    assert "\r" not in stream.getvalue()
    assert stream.getvalue().count("\n") == 1 and "3 of 3 targets done" in stream.getvalue()
