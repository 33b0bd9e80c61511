"""Subprocesses that the checked tree cannot hijack.

In CI the working folder is the pull request's checkout, so a ``json.py`` or an
``overfitlint/`` folder there would be imported by a plain ``python -m ...`` child. Every
child overfitlint starts (probe backends, ``--jobs`` workers) runs isolated: ``python -I``
(no working folder or script folder on ``sys.path``, no ``PYTHON*`` variables, no user site),
with the folder this very package was imported from appended (never prepended) so that the
same overfitlint runs, and with a working folder of the caller's choosing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import overfitlint

PACKAGE_PARENT = str(Path(overfitlint.__file__).resolve().parent.parent)


def python_command(module: str) -> list[str]:
    """The command line that runs ``python -m module`` isolated."""
    bootstrap = (
        "import runpy, sys\n"
        f"sys.path.append({PACKAGE_PARENT!r})\n"
        f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
    )
    return [sys.executable, "-I", "-c", bootstrap]
