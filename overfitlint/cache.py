"""The user's cache folder for what overfitlint can keep between runs (the parsed rule catalogue,
compiled report templates): ``$XDG_CACHE_HOME/overfitlint``, else ``~/.cache/overfitlint``.

It is used only when it is a folder of the current user that nobody else may write to (compiled
templates are code); otherwise, or when it cannot be made, nothing is cached.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def cache_dir(*parts: str) -> Path | None:
    """The cache folder (its sub-folder ``parts``), made if needed; None when unusable."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base, "overfitlint", *parts)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return None
    return folder
