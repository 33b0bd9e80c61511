"""Where a check may read and write: the scanned tree is hostile.

In CI the files of a pull request are checked, so a symlink in the repository may point at
``~/.ssh/id_rsa`` and a repository's own config may name ``~/.bashrc`` as an output. Reads
(every input, and every file a loader opens beside one) must resolve inside the repository
root -- the nearest folder above the input holding ``.git``, else the input's own folder --
and paths that come from a config file must stay inside the config's repository, symlinks
resolved. Paths the user typed on the command line are the user's own choice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from overfitlint.errors import InputError

ROOT_MARKERS = (".git",)


def absolute(path: Path) -> Path:
    """``path`` made absolute without resolving symlinks (so a link is judged by its target)."""
    return Path(os.path.abspath(path))


def find_root(path: Path) -> Path:
    """The repository ``path`` lies in (its lexical location), else its own folder."""
    start = absolute(path)
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in ROOT_MARKERS):
            return candidate
    return folder


def is_inside(path: Path, root: Path) -> bool:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False
    return resolved == root.resolve() or resolved.is_relative_to(root.resolve())


def confine(path: Path, root: Path, what: str = "the file") -> Path:
    """``path`` if it resolves inside ``root``; else one line saying why it is refused."""
    if is_inside(path, root):
        return path
    try:
        target = str(path.resolve())
    except (OSError, RuntimeError):
        target = "a symlink loop"
    raise InputError(
        f"{path}: {what} resolves to {target}, outside {root}; refusing to read it "
        "(a symlink out of the repository?)"
    )


def confine_write(path: Path, root: Path, what: str) -> Path:
    """A path from a config file: it must stay inside the repository, symlinks resolved."""
    if is_inside(path, root):
        return path
    raise InputError(
        f"{what} {path} points outside the repository {root}; a path from a config file must "
        "stay inside it (give it on the command line to write elsewhere)"
    )


def single_link(path: Path, what: str) -> Path:
    """Refuse a file with several hard links: a hard link can reach outside any folder."""
    try:
        links = path.stat().st_nlink
    except OSError:
        return path
    if links > 1 and path.is_file():
        raise InputError(
            f"{path}: {what} has {links} hard links; a hard link may point at a file outside "
            "the repository, so it is refused"
        )
    return path


MAX_TREE_ENTRIES = 500_000


def confine_tree(
    folder: Path, root: Path, what: str = "the store", reads: Callable[[Path], bool] = bool
) -> Path:
    """``folder`` if no symlink inside it that a reader would follow resolves outside ``root``
    (a store whose files are opened one by one: MLflow's mlruns/, a W&B or Ray Tune folder);
    else one line. Linked folders always count; linked files when ``reads(path)`` says the
    reader opens them (W&B links its debug logs into ~/.cache: those are never read)."""
    confine(folder, root, what)
    seen = 0
    for current, folders, files in os.walk(folder, followlinks=False):
        for name, is_folder in [*((n, True) for n in folders), *((n, False) for n in files)]:
            seen += 1
            if seen > MAX_TREE_ENTRIES:
                raise InputError(
                    f"{folder}: {what} holds more than {MAX_TREE_ENTRIES:,} files and folders"
                )
            entry = Path(current) / name
            if entry.is_symlink() and (is_folder or entry.is_dir() or reads(entry)):
                confine(entry, root, f"a file in {what}")
    return folder
