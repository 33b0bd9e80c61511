"""A ``--jobs`` worker: ``check_one`` for each JSON task line on stdin, one JSON line back."""

from __future__ import annotations

import json
import os
import sys

from overfitlint.errors import InputError
from overfitlint.pipeline import check_one
from overfitlint.settings import Settings
from overfitlint.targets import Target


def answer(task: dict) -> dict:
    """``{"report": ...}``, or ``{"error": "one line"}`` for the parent to report."""
    try:
        report = check_one(
            Target.from_dict(task["target"]),
            Settings.from_dict(task["settings"]),
            hash_inputs=bool(task.get("hash_inputs")),
            config_path=task.get("config_path"),
        )
        return {"report": report.to_dict()}
    except InputError as exc:
        return {"error": str(exc)}
    except Exception as exc:  # never a traceback: the parent reports it as one line
        return {"error": f"{task['target']['name']}: internal error: {type(exc).__name__}: {exc}"}


def main() -> None:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever a framework prints goes to stderr, not into the channel
    sys.stdout = sys.stderr
    for line in sys.stdin:
        channel.write(json.dumps(answer(json.loads(line)), allow_nan=False) + "\n")
        channel.flush()
    channel.close()
    os._exit(0)


if __name__ == "__main__":
    main()
