"""``--jobs N``: N isolated worker processes, each running ``check_one`` on the targets it is sent.

Workers are ``python -I`` children (nothing of the checked tree is importable) speaking JSON
lines over their pipes: the parent sends ``{"target", "settings", "baseline", ...}`` and reads
back ``{"report": ...}`` or ``{"error": "one line"}``. A target whose worker dies is reported
as the user's error for that file, naming what happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Sequence
from typing import Any

from overfitlint.baseline import Baseline
from overfitlint.errors import InputError
from overfitlint.isolated import python_command
from overfitlint.report import Report
from overfitlint.settings import Settings
from overfitlint.targets import Target

CHILD_ENV = {"PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def _task(index: int, target: Target, settings: Settings, baseline, hash_inputs, config_path):
    return {
        "index": index,
        "target": target.to_dict(),
        "settings": settings.to_dict(),
        "baseline": str(baseline.path) if baseline else None,
        "hash_inputs": hash_inputs,
        "config_path": config_path,
    }


def run_in_processes(
    targets: Sequence[Target],
    settings: Settings,
    *,
    jobs: int,
    baseline: Baseline | None,
    hash_inputs: bool,
    config_path: str | None,
) -> list[Report]:
    pending = [
        _task(i, t, settings, baseline, hash_inputs, config_path) for i, t in enumerate(targets)
    ]
    results: dict[int, dict[str, Any]] = {}
    lock = threading.Lock()

    def serve() -> None:
        env = {**os.environ, **CHILD_ENV}
        proc = subprocess.Popen(
            python_command("overfitlint.executor.worker"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
        )
        try:
            while True:
                with lock:
                    if not pending:
                        break
                    task = pending.pop(0)
                assert proc.stdin is not None and proc.stdout is not None
                try:
                    proc.stdin.write(json.dumps(task) + "\n")
                    proc.stdin.flush()
                    line = proc.stdout.readline()
                except (BrokenPipeError, OSError):
                    line = ""
                if not line:
                    reason = (proc.stderr.read() if proc.stderr else "").strip().splitlines()
                    results[task["index"]] = {
                        "error": f"{task['target']['name']}: the worker process stopped "
                        f"({reason[-1][:200] if reason else 'no message'})"
                    }
                    break
                results[task["index"]] = json.loads(line)
        finally:
            if proc.stdin:
                proc.stdin.close()
            proc.wait()

    threads = [threading.Thread(target=serve, daemon=True) for _ in range(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reports = []
    for index in range(len(targets)):
        result = results.get(index) or {"error": f"{targets[index].name}: not checked"}
        if "error" in result:
            raise InputError(result["error"])
        reports.append(Report.from_dict(result["report"]))
    return reports
