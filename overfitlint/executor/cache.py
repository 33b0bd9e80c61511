"""``--cache DIR``: a target whose inputs and settings did not change is not checked again.

The key of a target is a SHA-256 over everything its report depends on: the content of every
file the check reads (``overfitlint.executor.inputs``), the target itself (paths as given,
per-model overrides), the resolved settings (``Settings.to_dict``), the rule catalogue, the
tool's version and source, and the versions of the frameworks that read the files. The entry
is the report's JSON (``Report.to_dict``), so a reused report is the JSON a fresh check
writes, apart from its timing. A baseline is applied after the cache, so a changed baseline
reuses every entry.

The folder is the user's, and may be shared by concurrent runs (CI jobs): an entry is written
to a temporary file in its own folder and moved in place with ``os.replace``, so readers see
a whole entry or none. Nothing in it is trusted further than JSON: entries are never
unpickled, a symlink anywhere below the folder is never followed, and an entry that is
damaged, too large or for another key is a miss, checked again and rewritten.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
import sys
import tempfile
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import overfitlint
from overfitlint import __version__
from overfitlint.catalogue import rules_dir
from overfitlint.errors import InputError
from overfitlint.executor.inputs import files_read
from overfitlint.report import Report, file_sha256
from overfitlint.settings import Settings
from overfitlint.targets import Target

FORMAT = 1
MAX_ENTRY_BYTES = 64 << 20
FRAMEWORKS = (
    "numpy",
    "onnx",
    "onnxruntime",
    "protobuf",
    "torch",
    "torchvision",
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "h5py",
    "safetensors",
    "tensorboard",
)
"""Packages whose version can change what a check reads or measures."""


class Cache:
    def __init__(self, folder: Path) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"--cache {folder}: cannot create it: {exc.strerror}") from None
        if not folder.is_dir():
            raise InputError(f"--cache {folder}: not a folder")
        self.root = folder.resolve()
        self.entries = self.root / f"v{FORMAT}"

    def key(
        self, target: Target, settings: Settings, *, hash_inputs: bool, config_path: str | None
    ) -> str | None:
        """The entry's key; None for a target that cannot be cached (a model factory)."""
        files = files_read(target, settings)
        if files is None:
            return None
        document = {
            "format": FORMAT,
            "tool": tool_digest(),
            "catalogue": catalogue_digest(),
            "environment": environment(),
            "target": target.to_dict(),
            "settings": settings.to_dict(),
            "hash_inputs": hash_inputs,
            "config_path": config_path,
            "files": [[str(path), file_sha256(path)] for path in files],
        }
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.entries / key[:2] / f"{key}.json"

    def get(self, key: str) -> Report | None:
        path = self._path(key)
        if not (_plain_folder(self.entries) and _plain_folder(path.parent)):
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None  # missing, or a symlink (ELOOP)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES:
                return None
            raw = handle.read(MAX_ENTRY_BYTES + 1)
        try:
            entry = json.loads(raw.decode("utf-8"))
            if entry.get("format") != FORMAT or entry.get("key") != key:
                return None
            return Report.from_dict(entry["report"])
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None

    def put(self, key: str, report: Report) -> None:
        """Write an entry; a cache that cannot be written is skipped with a warning, once."""
        folder = self._path(key).parent
        try:
            for part in (self.entries, folder):
                with contextlib.suppress(FileExistsError):
                    part.mkdir()
                if not _plain_folder(part):
                    raise OSError(errno.ELOOP, "a symlink or not a folder", str(part))
            text = json.dumps(
                {"format": FORMAT, "key": key, "report": report.to_dict()}, allow_nan=False
            )
            fd, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.replace(temporary, self._path(key))
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except (OSError, ValueError) as exc:
            _warn_once(f"--cache {self.root}: cannot write an entry ({exc}); not caching")


def _plain_folder(path: Path) -> bool:
    """A real folder, not a symlink to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        print(f"overfitlint: warning: {message}", file=sys.stderr)


@cache
def tool_digest() -> str:
    """The version, and a digest of the package's source: a check that changed without a
    version bump (a development install) does not reuse old reports."""
    return f"{__version__}+{_digest(Path(overfitlint.__file__).resolve().parent, '*.py')}"


@cache
def catalogue_digest() -> str:
    """A digest of the rule files (thresholds, severities, roles)."""
    return _digest(rules_dir(), "*.toml")


def _digest(folder: Path, pattern: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob(pattern)):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@cache
def environment() -> dict[str, Any]:
    versions = {}
    for name in FRAMEWORKS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {"python": sys.version.split()[0], "packages": versions}
