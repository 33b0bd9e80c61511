"""Zip members read in place: where a stored member's bytes begin, as a memory map or a file.

PyTorch archives and Keras ``.keras`` files store their tensor members uncompressed, so the
bytes of a tensor can be memory-mapped straight out of the archive: nothing is extracted and
nothing is read until a layer's spectrum is taken. The archive is opened (and its member names
checked) by ``overfitlint.readers.archive``; a compressed member, or a member that reaches past
the end of the file, is refused here.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np

from overfitlint.errors import InputError

LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
LOCAL_MAGIC = b"PK\x03\x04"


def stored_offset(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> int:
    """The file offset of a stored (uncompressed) member's first byte."""
    if info.compress_type != zipfile.ZIP_STORED:
        raise InputError(
            f"{path}: archive member {info.filename} is compressed; tensors are read in place "
            "from stored members only (re-save the file with the framework's own writer)"
        )
    handle = archive.fp
    assert handle is not None
    handle.seek(info.header_offset)
    raw = handle.read(LOCAL_HEADER.size)
    if len(raw) < LOCAL_HEADER.size or raw[:4] != LOCAL_MAGIC:
        raise InputError(f"{path}: archive member {info.filename} has a damaged local header")
    fields = LOCAL_HEADER.unpack(raw)
    start = info.header_offset + LOCAL_HEADER.size + fields[9] + fields[10]
    if start + info.file_size > path.stat().st_size:
        raise InputError(f"{path}: archive member {info.filename} runs past the end of the file")
    return start


def map_bytes(path: Path, offset: int, size: int) -> np.ndarray:
    """A read-only byte view of ``size`` bytes at ``offset`` (nothing read until used)."""
    if size == 0:
        return np.zeros(0, dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=(size,))


class MemberFile(io.RawIOBase):
    """A stored member as a seekable read-only file (for h5py), a window onto the archive."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        super().__init__()
        self._handle = path.open("rb")
        self._offset = offset
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, position: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + position)
        return self._position

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        self._handle.seek(self._offset + self._position)
        got = self._handle.readinto(memoryview(buffer)[:wanted])
        self._position += got or 0
        return got or 0

    def close(self) -> None:
        self._handle.close()
        super().close()
