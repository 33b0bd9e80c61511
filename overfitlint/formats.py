"""The one vocabulary of input formats, and ``detect()``: what a path holds, from its content.

A file's name is only a hint: the first bytes decide (zip members, the HDF5 signature, the pickle
protocol, the safetensors header, protobuf fields, a TFRecord header). A folder is a TensorFlow
SavedModel when it holds ``saved_model.pb``, a TensorBoard run when it holds event files, and
otherwise a folder to search for inputs. ``module.path:callable`` names a Python factory the user
asked us to call. Every stage (loaders, the probe, grouping of several models) takes the format
from here, and a path is sniffed once: ``detect()`` keeps the bytes it read.
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from overfitlint import protowire as wire
from overfitlint.errors import InputError

# -- model formats ---------------------------------------------------------------------------
ONNX = "onnx"
TORCHSCRIPT = "torchscript"
TORCH_EXPORT = "torch-export"
TORCH_CHECKPOINT = "torch-checkpoint"
TORCH_PICKLE = "torch-pickle"  # legacy (non-zip) torch.save, or any pickle
SAFETENSORS = "safetensors"
KERAS = "keras"
KERAS_H5 = "keras-h5"
SAVEDMODEL = "savedmodel"
FACTORY = "torch-factory"
ZIP = "zip"  # a zip archive of no known model layout
EMPTY = "empty"
# -- logs and folders --------------------------------------------------------------------------
TENSORBOARD = "tensorboard"
TEXT_LOG = "text"  # CSV, JSON or JSON lines: the log loader tells them apart by their text
FOLDER = "folder"  # a folder that is neither a SavedModel nor a TensorBoard run: searched

MODEL, LOG = "model", "log"

SUFFIXES = {
    ".onnx": ONNX,
    ".pt": TORCH_CHECKPOINT,
    ".pth": TORCH_CHECKPOINT,
    ".ckpt": TORCH_CHECKPOINT,
    ".bin": TORCH_CHECKPOINT,
    ".tar": TORCH_CHECKPOINT,
    ".pkl": TORCH_PICKLE,
    ".pt2": TORCH_EXPORT,
    ".safetensors": SAFETENSORS,
    ".keras": KERAS,
    ".h5": KERAS_H5,
    ".hdf5": KERAS_H5,
}
DESCRIPTIONS = {
    ONNX: "an ONNX model",
    TORCHSCRIPT: "a TorchScript archive",
    TORCH_EXPORT: "a torch.export program",
    TORCH_CHECKPOINT: "a PyTorch checkpoint",
    TORCH_PICKLE: "a pickle",
    SAFETENSORS: "a safetensors file",
    KERAS: "a Keras archive",
    KERAS_H5: "an HDF5 (Keras .h5) file",
    SAVEDMODEL: "a TensorFlow SavedModel",
    FACTORY: "a torch.nn.Module built by a MODULE:CALLABLE factory",
    TENSORBOARD: "TensorBoard event files",
    TEXT_LOG: "a text training log",
    FOLDER: "a folder",
}
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
SNIFF_BYTES = 4096
FACTORY_SPEC = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
# ModelProto fields and their wire types, to recognise an ONNX file by its first bytes.
ONNX_MODEL_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}
# Event-file search in a folder: bounded, so a huge tree cannot stall detection.
MAX_EVENT_FILES = 2000
MAX_WALK_ENTRIES = 20000
MAX_WALK_DEPTH = 8


@dataclass(frozen=True)
class Detected:
    """What a path holds: ``kind`` is "model", "log" or "folder"; ``format`` one of the names
    above."""

    path: Path
    kind: str
    format: str
    head: bytes = b""
    optional: bool = False
    """Found by searching a folder, not named: a log that cannot be read is left out (with a
    note) instead of ending the check."""

    @property
    def description(self) -> str:
        return DESCRIPTIONS.get(self.format, self.format)


def is_factory_spec(path: Path | str) -> bool:
    """``module.path:callable`` that names no existing file."""
    text = str(path)
    return bool(FACTORY_SPEC.match(text)) and not Path(text).exists()


def read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def is_savedmodel(path: Path) -> bool:
    return (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file()


def event_files_here(path: Path) -> bool:
    """A TensorBoard run: event files in the folder or one level down (Keras writes
    ``logs/train`` and ``logs/validation``)."""
    try:
        for child in path.iterdir():
            if child.name.startswith("events.out.tfevents") and child.is_file():
                return True
            nested = child.is_dir() and not child.is_symlink()
            if nested and any(g.name.startswith("events.out.tfevents") for g in child.iterdir()):
                return True
    except OSError:
        return False
    return False


def detect(path: Path) -> Detected:
    """Detect once; a path that is none of our inputs is one line for the user."""
    if is_factory_spec(path):
        return Detected(path, MODEL, FACTORY)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        if is_savedmodel(path):
            return Detected(path, MODEL, SAVEDMODEL)
        if event_files_here(path):
            return Detected(path, LOG, TENSORBOARD)
        return Detected(path, FOLDER, FOLDER)  # searched by overfitlint.discovery
    head = read_head(path)
    if is_event_header(head):  # TensorBoard: binary, so before the model formats
        return Detected(path, LOG, TENSORBOARD, head)
    model_format = model_format_of(path, head)
    if model_format is not None:
        return Detected(path, MODEL, model_format, head)
    return Detected(path, LOG, TEXT_LOG, head)


def model_format_of(path: Path, head: bytes) -> str | None:
    """The model format of a file from its first bytes; None when it is no model we know."""
    by_name = SUFFIXES.get(path.suffix.lower())
    if not head:
        return EMPTY if by_name else None
    if head.startswith(ZIP_MAGIC):
        return _zip_format(path) or (KERAS if by_name == KERAS else ZIP if by_name else None)
    if head.startswith(HDF5_MAGIC):
        return KERAS_H5
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return TORCH_PICKLE
    if _looks_like_safetensors(path, head):
        return SAFETENSORS
    if _looks_like_onnx(head):
        return ONNX
    return by_name


def _zip_format(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    return zip_layout(names)


def zip_layout(names: list[str]) -> str | None:
    """Which model archive a list of zip member names describes."""
    if "config.json" in names and ("model.weights.h5" in names or "metadata.json" in names):
        return KERAS
    tails = {name.split("/", 1)[1] if "/" in name else name for name in names}
    if "archive_format" in tails or "serialized_exported_program.json" in tails:
        return TORCH_EXPORT
    if "constants.pkl" in tails or any(tail.startswith("code/") for tail in tails):
        return TORCHSCRIPT
    if "data.pkl" in tails:
        return TORCH_CHECKPOINT
    return None


def _looks_like_safetensors(path: Path, head: bytes) -> bool:
    if len(head) < 10 or head[8:9] != b"{":
        return False
    size = int.from_bytes(head[:8], "little")
    try:
        return 2 <= size <= path.stat().st_size - 8
    except OSError:
        return False


def _looks_like_onnx(head: bytes) -> bool:
    """The first bytes parse as ModelProto fields, starting with a small ir_version."""
    if len(head) < 4 or head[0] != 0x08 or not 1 <= head[1] <= 30:
        return False
    seen = 0
    try:
        for item in wire.fields(head):
            if ONNX_MODEL_FIELDS.get(item.number) != item.wire_type:
                return False
            seen += 1
    except wire.WireError:
        # the head cuts a field short: fine, if what came before was a ModelProto
        return seen >= 1
    return True


# -- TensorBoard: TFRecord framing (length, masked CRC-32C of the length, ...) -----------------
_U32 = struct.Struct("<I")
_MASK_DELTA = 0xA282EAD8


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc32c_python(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes, crc=crc32c_python) -> int:
    value = crc(data)
    return (((value >> 15) | (value << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def is_event_header(head: bytes) -> bool:
    """True when the first 12 bytes are a TFRecord header (length and its masked CRC)."""
    if len(head) < 12:
        return False
    return masked_crc(bytes(head[:8])) == _U32.unpack_from(head, 8)[0]


def event_files(path: Path) -> list[Path]:
    """Event files in a folder (sorted by sub-folder and name, i.e. by time), or the file.

    The walk is bounded (entries, depth, files found) and never follows a symlinked folder."""
    if path.is_file():
        return [path]
    found: list[Path] = []
    seen = 0
    root_depth = len(path.parts)
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        if len(Path(folder).parts) - root_depth >= MAX_WALK_DEPTH:
            dirs[:] = []
        for name in sorted(files):
            seen += 1
            if seen > MAX_WALK_ENTRIES or len(found) >= MAX_EVENT_FILES:
                return found
            if ".tfevents" not in name and not name.startswith("events"):
                continue
            candidate = Path(folder) / name
            try:
                with candidate.open("rb") as handle:
                    head = handle.read(12)
            except OSError:
                continue
            if is_event_header(head) or (".tfevents" in name and len(head) == 0):
                found.append(candidate)
    return found
