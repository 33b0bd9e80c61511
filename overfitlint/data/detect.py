"""Which reader a data path needs, told by its content (never by its extension)."""

from __future__ import annotations

from pathlib import Path

from overfitlint.data.hf import is_hf_folder
from overfitlint.data.images import looks_like_class_folders, split_folders
from overfitlint.errors import InputError

_SNIFF = 1 << 16


def sniff(path: Path) -> str:
    """ "npz", "parquet", "csv", "hf-datasets", "image-folder" (train/ and val/ inside) or
    "image-split" (class folders of one split)."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        return _sniff_folder(path)
    with path.open("rb") as handle:
        head = handle.read(_SNIFF)
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 4))
        tail = handle.read(4)
    if not head:
        raise InputError(f"{path}: the file is empty")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "npz"
    if head.startswith(b"PAR1") and tail == b"PAR1":
        return "parquet"
    if head.startswith(b"PAR1"):
        raise InputError(f"{path}: a truncated Parquet file (no closing magic bytes)")
    if head.startswith(b"\x93NUMPY"):
        raise InputError(
            f"{path}: a single .npy array has no splits: save x_train, y_train, x_val, y_val "
            "with numpy.savez"
        )
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise InputError(f"{path}: a pickle file, which is never loaded (it can run code)")
    if head.startswith(b"ARROW1") or head.startswith(b"\xff\xff\xff\xff"):
        raise InputError(
            f"{path}: an Arrow IPC file; give its datasets folder (save_to_disk) or a Parquet file"
        )
    if _is_text(head):
        return "csv"
    raise InputError(
        f"{path}: not a data set overfitlint reads (npz, CSV, Parquet, an image folder or a "
        "datasets folder)"
    )


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 4  # a character cut at the end of the sniffed block
    return True


def _sniff_folder(path: Path) -> str:
    if is_hf_folder(path):
        return "hf-datasets"
    folders = split_folders(path)
    if folders and looks_like_class_folders(folders["train"]):
        return "image-folder"
    if looks_like_class_folders(path):
        return "image-split"
    raise InputError(
        f"{path}: a folder that is neither an image folder (train/<class>/*.png and "
        "val/<class>/...) nor a datasets folder (save_to_disk)"
    )
