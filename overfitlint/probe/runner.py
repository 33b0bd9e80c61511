"""Runs one backend in its own subprocess under a hard deadline and collects its events.

The child is told to finish a little before the deadline; at the deadline the
parent kills it, keeping every result it had already reported.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from overfitlint.isolated import python_command
from overfitlint.probe import protocol
from overfitlint.probe.progress import ProgressBar

# Environment for the backend: quiet TensorFlow, no oneDNN notices, one framework only.
CHILD_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1", "KERAS_BACKEND": "tensorflow"}


@dataclass
class BackendRun:
    start: dict[str, Any] | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    budgets: dict[str, float] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    done: dict[str, Any] | None = None
    killed: bool = False
    seconds: float = 0.0
    exit_code: int | None = None
    stderr_tail: str = ""
    current: str = ""
    """The probe that was running when the run ended (killed or crashed)."""


def scratch_homes(scratch: str) -> dict[str, str]:
    """Where the worker's libraries write their settings and caches: the scratch folder, not
    the user's home (Keras writes keras.json; matplotlib, which Keras imports when it is
    installed, builds a font cache; others follow XDG)."""
    return {
        "KERAS_HOME": scratch,
        "MPLCONFIGDIR": os.path.join(scratch, "matplotlib"),
        "XDG_CACHE_HOME": os.path.join(scratch, "cache"),
        "XDG_CONFIG_HOME": os.path.join(scratch, "config"),
    }


def run_backend(
    request: dict[str, Any], *, deadline: float, progress: ProgressBar | None = None
) -> BackendRun:
    """``deadline`` is a ``time.monotonic()`` instant; the child gets it in wall-clock time."""
    run = BackendRun()
    started = time.monotonic()
    # keep a moment for killing and reaping the child inside the budget
    deadline -= min(0.2, 0.05 * max(0.0, deadline - started))
    request = {
        **request,
        "deadline": time.time() + (deadline - started) - _margin(deadline - started),
    }
    env = {**os.environ, **CHILD_ENV}
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errors,
        tempfile.TemporaryDirectory(prefix="overfitlint-probe-") as scratch,
    ):
        # isolated: nothing of the checked tree is importable, and it is not the working folder
        proc = subprocess.Popen(
            python_command("overfitlint.probe.worker"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            encoding="utf-8",
            env={**env, **scratch_homes(scratch)},
            cwd=scratch,
        )
        events: queue.Queue = queue.Queue()
        reader = threading.Thread(target=_read, args=(proc.stdout, events), daemon=True)
        reader.start()
        try:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(request))
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            _collect(run, events, deadline, progress, proc)
        except BaseException:  # Ctrl-C or a bug here: the backend must not outlive us
            proc.kill()
            proc.wait()
            raise
        try:  # the child exits right after its last event; never wait past the deadline
            run.exit_code = proc.wait(timeout=max(0.05, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            run.killed = run.killed or run.done is None
            proc.kill()
            run.exit_code = proc.wait()
        while not events.empty():  # anything that arrived just before the kill
            event = events.get_nowait()
            if event is not None:
                _record(run, event, progress)
        errors.seek(0)
        run.stderr_tail = errors.read()[-2000:]
    run.seconds = time.monotonic() - started
    return run


def _collect(run, events: queue.Queue, deadline: float, progress, proc) -> None:
    """Record events until the child closes its channel, or kill it at the deadline."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            run.killed = True
            proc.kill()
            return
        try:
            event = events.get(timeout=min(0.1, left))
        except queue.Empty:
            if progress:
                progress.update()
            continue
        if event is None:  # the child closed its channel
            return
        _record(run, event, progress)


def _margin(seconds: float) -> float:
    """What the child leaves for reporting and exiting before the parent's deadline."""
    return min(1.0, max(0.05, 0.1 * seconds))


def _read(stream, events: queue.Queue) -> None:
    for line in stream:
        event = protocol.parse(line)
        if event is not None:
            events.put(event)
    events.put(None)


def _record(run: BackendRun, event: dict[str, Any], progress: ProgressBar | None) -> None:
    kind = event["event"]
    if kind == "start":
        run.start = event
        text = f"running on {event['plan']['device']}"
    elif kind == "begin":
        run.current = event["probe"]
        run.budgets[event["probe"]] = event["budget_s"]
        text = f"{event['probe']} (share {event['budget_s']:.1f} s)"
    elif kind == "progress":
        text = f"{event['probe']}: {event['text']}"
    elif kind == "result":
        run.results[event["probe"]] = event
        run.current = ""
        text = f"{event['probe']} done"
    elif kind == "error":
        run.error = event
        text = "error"
    elif kind == "done":
        run.done = event
        text = "done"
    else:
        return
    if progress:
        progress.update(text)
