"""Running overfitlint inside the test process: the CLI's ``main()`` and ``check_one``.

Faster than a subprocess per test; the CLI tests elsewhere keep a few real subprocess runs.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

from overfitlint import formats
from overfitlint.cli import main
from overfitlint.pipeline import check_one
from overfitlint.report import Report
from overfitlint.targets import Target
from tests.conftest import CliResult, settings_of


def run_main(*args: str | Path, cwd: Path) -> CliResult:
    """``overfitlint ARGS`` through the CLI's ``main()``, in ``cwd``, output captured."""
    out, err = io.StringIO(), io.StringIO()
    before, argv, color = Path.cwd(), sys.argv, os.environ.get("NO_COLOR")
    os.environ["NO_COLOR"] = "1"
    sys.argv = ["overfitlint", *map(str, args)]
    code = 0
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.chdir(before)
        sys.argv = argv
        if color is None:
            del os.environ["NO_COLOR"]
        else:
            os.environ["NO_COLOR"] = color
    return CliResult(code, out.getvalue(), err.getvalue())


def check_report(*paths: str | Path, hash_inputs: bool = True, **flat) -> Report:
    """``check_one`` on these paths as one target (the probe off unless asked for)."""
    flat.setdefault("probe", False)
    target = Target("", tuple(formats.detect(Path(p)) for p in paths))
    return check_one(target, settings_of(**flat), hash_inputs=hash_inputs)
