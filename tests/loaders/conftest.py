"""``check_inprocess(*args, cwd=...)``: the CLI's own entry point, run in this process.

A fresh ``overfitlint`` process costs seconds once PyTorch or TensorFlow is imported;
the exit code, stdout and stderr of ``overfitlint.cli.main`` are the same in-process.
Tests that need a pristine interpreter (imports, the malicious pickle) use ``cli``.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys

import pytest

from tests.conftest import CliResult


def run_inprocess(*args, cwd=None) -> CliResult:
    from overfitlint.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_argv, old_cwd, old_path = sys.argv, os.getcwd(), list(sys.path)
    modules = set(sys.modules)
    sys.argv = ["overfitlint", *map(str, args)]
    code = 0
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)
        sys.path[:] = old_path
        for name in set(sys.modules) - modules:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if cwd is not None and file.startswith(str(cwd)):
                sys.modules.pop(name, None)  # user modules a factory imported
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def check_inprocess(tmp_path):
    def invoke(*args, cwd=None):
        return run_inprocess(*args, cwd=cwd or tmp_path)

    return invoke
