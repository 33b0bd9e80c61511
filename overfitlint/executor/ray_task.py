"""The Ray task: one target's ``check_one`` on a Ray worker, answered as one JSON text.

A Ray worker is kept as isolated as a ``--jobs`` worker. Its working folder is an empty
scratch folder the driver made (``runtime_env`` ``working_dir``; by default Ray would put the
driver's working folder, the checked tree, first on every worker's ``sys.path``), so nothing
of the checked tree is importable. For the check it moves into the folder the paths are
relative to -- the driver's working folder on shared storage, or, with ``--ship-inputs``, a
scratch copy of the shipped files laid out at the same absolute paths -- and afterwards
restores its working folder and ``sys.path`` (a factory appends its folder), so the next
task on this worker starts clean.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

from overfitlint.errors import InputError
from overfitlint.executor.inputs import below, relocated, unpack
from overfitlint.executor.worker import answer
from overfitlint.settings import Settings
from overfitlint.targets import Target


def check_remote(message: str, shipped: Mapping[str, Any] | None) -> str:
    task = json.loads(message)
    home, saved_path = os.getcwd(), list(sys.path)
    scratch = tempfile.mkdtemp(prefix="overfitlint-inputs-") if shipped is not None else None
    try:
        folder = task["cwd"]
        if scratch is not None:
            base = os.path.realpath(scratch)
            unpack(shipped, base)
            folder = below(base, folder)
            os.makedirs(folder, exist_ok=True)
            target, settings = relocated(
                Target.from_dict(task["target"]), Settings.from_dict(task["settings"]), base
            )
            task = {**task, "target": target.to_dict(), "settings": settings.to_dict()}
        try:
            os.chdir(folder)
        except OSError as exc:
            raise InputError(
                f"{task['target']['name']}: the worker cannot enter {folder} ({exc.strerror}): "
                "the inputs must be on storage every worker shares, or give --ship-inputs"
            ) from None
        text = json.dumps(answer(task), allow_nan=False)
    except InputError as exc:
        text = json.dumps({"error": str(exc)})
    finally:
        os.chdir(home)
        sys.path[:] = saved_path
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if scratch is not None:  # the paths a report names are the driver's, not the copy's
        text = text.replace(json.dumps(os.path.realpath(scratch))[1:-1], "")
    return text
