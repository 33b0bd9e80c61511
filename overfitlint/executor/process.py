"""``--jobs N``: N isolated worker processes, each running ``check_one`` on the targets it is sent.

Workers are ``python -I`` children (nothing of the checked tree is importable) speaking JSON
lines over their pipes: the parent sends ``{"target", "settings", ...}`` and reads back
``{"report": ...}`` or ``{"error": "one line"}`` (the user's input error, which stops the run
as it would in one process).

A worker that dies while checking a target (a signal, the out-of-memory killer, a factory that
exits) is replaced by a fresh one and the target is tried again, ``retries`` times; after that
the target is a failure (``overfitlint.executor.failed``: an OFL902 report) and the other
targets go on. A target still running after ``timeout`` seconds has its worker (and the
worker's probe children) killed, and fails the same way, without a retry.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import IO, Any

from overfitlint.errors import InputError
from overfitlint.executor.failed import CRASHED, TIMED_OUT, Failure
from overfitlint.isolated import python_command
from overfitlint.report import Report
from overfitlint.settings import Settings
from overfitlint.targets import Target

CHILD_ENV = {"PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
Outcome = Report | InputError | Failure
"""What one target's check came to; ``None`` in an event stream means "started"."""


def task_message(target: Target, settings: Settings, hash_inputs: bool, config_path) -> dict:
    return {
        "target": target.to_dict(),
        "settings": settings.to_dict(),
        "hash_inputs": hash_inputs,
        "config_path": config_path,
    }


def outcome_of(line: str) -> Report | InputError | Failure:
    """A worker's answer line; one that cannot be read is a crash of that worker."""
    try:
        answer = json.loads(line)
        if "error" in answer:
            return InputError(str(answer["error"]))
        return Report.from_dict(answer["report"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return Failure(CRASHED, f"an unreadable answer from the worker ({type(exc).__name__})")


class _Worker:
    """One worker process in its own process group (so a kill takes its probe children too)."""

    def __init__(self) -> None:
        self.stderr: IO[str] = tempfile.TemporaryFile(  # noqa: SIM115 (closed in close())
            "w+", encoding="utf-8", errors="replace"
        )
        self.proc = subprocess.Popen(
            python_command("overfitlint.executor.worker"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            encoding="utf-8",
            env={**os.environ, **CHILD_ENV},
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")  # end of stream: the worker is gone

    def ask(self, message: dict[str, Any], timeout: float | None) -> str | None:
        """The worker's answer line; "" when it died; None when it ran past ``timeout``."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except OSError:
            return ""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def why_gone(self) -> str:
        code = self.proc.wait()
        self.stderr.seek(0)
        tail = [line for line in self.stderr.read()[-4000:].splitlines() if line.strip()]
        status = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        self.close()
        return f"{status}; last message: {tail[-1][:200]}" if tail else status

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.close()

    def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self.proc.wait()
        self.stderr.close()


def run_in_processes(
    targets: Sequence[Target],
    settings: Settings,
    *,
    jobs: int,
    hash_inputs: bool,
    config_path: str | None,
    timeout: float | None = None,
    retries: int = 1,
) -> Iterator[tuple[int, Outcome | None]]:
    """``(index, None)`` when a target is sent to a worker, ``(index, outcome)`` when it is
    done; every index is done exactly once, in whatever order the workers finish."""
    pending: deque[tuple[int, int]] = deque((i, 1) for i in range(len(targets)))
    events: queue.Queue[tuple[int, Outcome | None]] = queue.Queue()
    lock = threading.Lock()

    def serve() -> None:
        worker: _Worker | None = None
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    index, tries = pending.popleft()
                worker = worker or _Worker()
                events.put((index, None))
                message = task_message(targets[index], settings, hash_inputs, config_path)
                started = time.monotonic()
                line = worker.ask(message, timeout)
                if line:
                    events.put((index, outcome_of(line)))
                    continue
                if line is None:
                    worker.kill()
                    worker = None
                    events.put((index, Failure(TIMED_OUT, "killed", tries, timeout)))
                    continue
                detail = worker.why_gone()
                worker = None
                if tries <= retries:
                    with lock:
                        pending.appendleft((index, tries + 1))
                    continue
                elapsed = f"after {time.monotonic() - started:.1f} s"
                events.put((index, Failure(CRASHED, f"{detail} ({elapsed})", tries)))
        finally:
            if worker is not None:
                worker.close()

    threads = [threading.Thread(target=serve, daemon=True) for _ in range(jobs)]
    for thread in threads:
        thread.start()
    done = 0
    while done < len(targets):
        index, outcome = events.get()
        done += outcome is not None
        yield index, outcome
    for thread in threads:
        thread.join()
