"""Zip archives (.keras, PyTorch archives) opened defensively.

Nothing is ever extracted to disk. Every member is size-checked before it is
read: a member that declares more than the caller's limit, or that inflates far
beyond its stored size, is refused (no zip bombs), and so is an archive whose
member names are absolute or climb out of it with ``..``.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from overfitlint.errors import InputError

MAX_MEMBERS = 200_000
# A deflated member may expand this much; Keras and PyTorch store members uncompressed.
MAX_EXPANSION = 100
EXPANSION_FLOOR = 64 << 20  # small members may compress well (JSON): no ratio check below this
JSON_LIMIT = 256 << 20


def open_zip(path: Path, what: str) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(
            f"{path}: not a readable {what} (zip archive: {exc}); is the file truncated?"
        ) from None
    try:
        check_names(archive, path)
    except InputError:
        archive.close()
        raise
    return archive


def check_names(archive: zipfile.ZipFile, path: Path) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InputError(f"{path}: the archive holds {len(infos):,} members; refusing to read it")
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        pure = PurePosixPath(name.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or (len(name) > 1 and name[1] == ":"):
            raise InputError(
                f"{path}: archive member {name!r} points outside the archive; refusing to read it"
            )
        if name in seen:
            raise InputError(f"{path}: archive member {name!r} appears twice; refusing to read it")
        seen.add(name)


def member_info(archive: zipfile.ZipFile, name: str, path: Path, limit: int) -> zipfile.ZipInfo:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise InputError(f"{path}: the archive has no {name}") from None
    if info.file_size > limit:
        raise InputError(
            f"{path}: archive member {name} declares {info.file_size:,} bytes, "
            f"more than the {limit:,} allowed; refusing to read it"
        )
    if (
        info.compress_type != zipfile.ZIP_STORED
        and info.file_size > EXPANSION_FLOOR
        and info.file_size > MAX_EXPANSION * max(info.compress_size, 1)
    ):
        raise InputError(
            f"{path}: archive member {name} would inflate {info.compress_size:,} stored bytes "
            f"to {info.file_size:,}; refusing a possible zip bomb"
        )
    return info


def read_member(archive: zipfile.ZipFile, name: str, path: Path, limit: int | None = None) -> bytes:
    """The bytes of one member, never more than ``limit`` whatever its header says."""
    limit = JSON_LIMIT if limit is None else limit
    info = member_info(archive, name, path, limit)
    try:
        with archive.open(info) as handle:
            data = handle.read(limit + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, zlib.error) as exc:
        raise InputError(f"{path}: cannot read archive member {name}: {exc}") from None
    except NotImplementedError as exc:  # an unsupported compression method
        raise InputError(f"{path}: cannot read archive member {name}: {exc}") from None
    if len(data) > limit or len(data) != info.file_size:
        raise InputError(
            f"{path}: archive member {name} does not hold the {info.file_size:,} bytes its "
            "header declares; the archive is corrupt"
        )
    return data


@contextlib.contextmanager
def open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> Iterator:
    """A member as a (seekable) file; a corrupt local header is the user's one line."""
    try:
        handle = archive.open(info)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot read archive member {info.filename}: {exc}") from None
    except NotImplementedError as exc:
        raise InputError(f"{path}: cannot read archive member {info.filename}: {exc}") from None
    with handle:
        yield handle


@contextlib.contextmanager
def seekable_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> Iterator:
    """A member to read with seeks (HDF5): a stored one directly; a compressed one inflated
    once into a temporary file first, because every backward seek in a compressed member
    inflates it again from its start (quadratic time)."""
    if info.compress_type == zipfile.ZIP_STORED:
        with open_member(archive, info, path) as handle:
            yield handle
        return
    with tempfile.TemporaryFile() as copy, open_member(archive, info, path) as handle:
        try:
            shutil.copyfileobj(handle, copy, 1 << 20)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as exc:
            raise InputError(f"{path}: cannot read archive member {info.filename}: {exc}") from None
        copy.seek(0)
        yield copy
