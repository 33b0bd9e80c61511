"""A ``--jobs`` worker: ``check_one`` for each JSON task line on stdin, one JSON line back."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from overfitlint.baseline import read_baseline
from overfitlint.errors import InputError
from overfitlint.pipeline import check_one
from overfitlint.settings import Settings
from overfitlint.targets import Target


def main() -> None:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever a framework prints goes to stderr, not into the channel
    sys.stdout = sys.stderr
    baselines = {}
    for line in sys.stdin:
        task = json.loads(line)
        try:
            baseline = None
            if task.get("baseline"):
                path = task["baseline"]
                baselines.setdefault(path, read_baseline(Path(path)))
                baseline = baselines[path]
            report = check_one(
                Target.from_dict(task["target"]),
                Settings.from_dict(task["settings"]),
                baseline=baseline,
                hash_inputs=bool(task.get("hash_inputs")),
                config_path=task.get("config_path"),
            )
            answer = {"report": report.to_dict()}
        except InputError as exc:
            answer = {"error": str(exc)}
        except Exception as exc:  # never a traceback: the parent reports it as one line
            answer = {
                "error": f"{task['target']['name']}: internal error: {type(exc).__name__}: {exc}"
            }
        channel.write(json.dumps(answer, allow_nan=False) + "\n")
        channel.flush()
    channel.close()
    os._exit(0)


if __name__ == "__main__":
    main()
