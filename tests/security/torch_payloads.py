"""Hostile PyTorch files, made with PyTorch itself (imported by the builders that need it).

TorchScript runs a module's ``__setstate__`` when ``torch.jit.load`` restores it, and
TorchScript can reach files through ``torch.from_file``: with ``shared=True`` it creates and
writes one, with ``shared=False`` it reads one. Each gadget keeps what it touched in an
attribute, so TorchScript's dead-code elimination keeps the call.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tests.security import payloads


class Marker(nn.Module):
    """On load: writes ``content`` to ``path`` (a marker file, or a .py file to be imported)."""

    def __init__(self, path: str, content: bytes):
        super().__init__()
        self.path = path
        self.content = list(content)
        self.written = 0.0

    def forward(self, x):
        return x

    @torch.jit.export
    def __getstate__(self) -> tuple[str, list[int], float, bool]:
        return (self.path, self.content, self.written, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[str, list[int], float, bool]) -> None:
        self.path = state[0]
        self.content = state[1]
        self.training = state[3]
        target = torch.from_file(self.path, True, len(self.content), dtype=torch.uint8)
        target.copy_(torch.tensor(self.content, dtype=torch.uint8))
        self.written = float(target.sum().item())


def _read_number(path: str, size: int, start: int, digits: int) -> float:
    """The number written with ``digits`` digits at byte ``start`` of the file at ``path``."""
    data = torch.from_file(path, False, size, dtype=torch.uint8)
    value = 0.0
    for i in range(digits):
        value = value * 10.0 + float(int(data[start + i].item()) - 48)
    return value


with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # torch.jit.script is deprecated, and still what loads
    read_number = torch.jit.script(_read_number)


class Reader(nn.Module):
    """On load: reads the number at ``start`` in the file at ``path`` into ``seen``."""

    def __init__(self, path: str, size: int, start: int, digits: int):
        super().__init__()
        self.path = path
        self.size = size
        self.start = start
        self.digits = digits
        self.seen = 0.0

    def forward(self, x):
        return x

    @torch.jit.export
    def __getstate__(self) -> tuple[str, int, int, int, float, bool]:
        return (self.path, self.size, self.start, self.digits, self.seen, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[str, int, int, int, float, bool]) -> None:
        self.path = state[0]
        self.size = state[1]
        self.start = state[2]
        self.digits = state[3]
        self.training = state[5]
        self.seen = read_number(self.path, self.size, self.start, self.digits)


class Dropout(nn.Module):
    """Named like torch's Dropout, so the loader reports its ``p``; on load ``p`` becomes the
    number at ``start`` in the file at ``path`` (a secret outside the repository)."""

    def __init__(self, path: str, size: int, start: int, digits: int):
        super().__init__()
        self.path = path
        self.size = size
        self.start = start
        self.digits = digits
        self.p = 0.5

    def forward(self, x):
        return x

    @torch.jit.export
    def __getstate__(self) -> tuple[str, int, int, int, float, bool]:
        return (self.path, self.size, self.start, self.digits, self.p, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[str, int, int, int, float, bool]) -> None:
        self.path = state[0]
        self.size = state[1]
        self.start = state[2]
        self.digits = state[3]
        self.training = state[5]
        self.p = read_number(self.path, self.size, self.start, self.digits)


class Spin(nn.Module):
    """On load: never returns."""

    def __init__(self):
        super().__init__()
        self.count = 0.0

    def forward(self, x):
        return x

    @torch.jit.export
    def __getstate__(self) -> tuple[float, bool]:
        return (self.count, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[float, bool]) -> None:
        self.training = state[1]
        self.count = state[0]
        while self.count > -1.0:
            self.count = self.count + 1.0


class Host(nn.Module):
    """A model big enough for the capacity rules (no dropout), carrying one gadget."""

    def __init__(self, gadget: nn.Module):
        super().__init__()
        self.fc1 = nn.Linear(64, 160)
        self.fc2 = nn.Linear(160, 10)
        self.gadget = gadget

    def forward(self, x):
        return self.fc2(torch.relu(self.gadget(self.fc1(x))))


def save_scripted(gadget: nn.Module, path: Path) -> Path:
    """``torch.jit.save`` of the host model with ``gadget`` inside."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(Host(gadget)), str(path))
    return path


def deeply_nested(path: Path, depth: int = 200_000) -> Path:
    """A TorchScript archive whose forward() is ``((((...x...))))`` ``depth`` levels deep: the
    TorchScript parser recurses once per level."""
    save_scripted(Spin(), path)  # any gadget: its source is replaced below
    members = payloads.read_zip(path)
    name = next(n for n in members if n.endswith(".py") and b"    return x\n" in members[n])
    nested = "(" * depth + "x" + ")" * depth
    members[name] = members[name].replace(b"    return x\n", f"    return {nested}\n".encode(), 1)
    return payloads.write_zip(path, members)


# ---------------------------------------------------------------------------- pickles


class Gadget:
    """Unpickling it calls ``function(*args)``: the classic ``__reduce__`` gadget."""

    def __init__(self, function: Any, *args: Any):
        self.function = function
        self.args = args

    def __reduce__(self):
        return (self.function, self.args)


def weights() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {"fc1.weight": torch.randn(160, 64), "fc1.bias": torch.randn(160)}


def checkpoint(path: Path, payload: Any, *, legacy: bool = False) -> Path:
    """``torch.save`` of a Lightning-like checkpoint with ``payload`` among its entries."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"state_dict": weights(), "epoch": 3, "callbacks": payload}
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    return path


def with_data_pkl(path: Path, data_pkl: bytes) -> Path:
    """A real ``torch.save`` zip whose ``data.pkl`` is replaced by ``data_pkl``."""
    checkpoint(path, None)
    members = payloads.read_zip(path)
    name = next(n for n in members if n.endswith("/data.pkl"))
    members[name] = data_pkl
    return payloads.write_zip(path, members)


def deflated_bomb(path: Path, pickle_bytes: bytes, inflated: int) -> Path:
    """A ``torch.save`` zip whose ``data.pkl`` (deflated) inflates to ``inflated`` bytes: the
    pickle, then zeros after its STOP opcode."""
    checkpoint(path, None)
    members = []
    for name, data in payloads.read_zip(path).items():
        if name.endswith("/data.pkl"):
            members.append(payloads.zip_bomb_member(name, pickle_bytes, inflated))
        else:
            members.append(payloads.Member.plain(name, data))
    return payloads.write_members(path, members)


def export_program(path: Path) -> Path:
    """``torch.export.save`` of the host model (without a gadget)."""
    path.parent.mkdir(parents=True, exist_ok=True)

    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 160)
            self.fc2 = nn.Linear(160, 10)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(Plain(), (torch.randn(2, 64),))
        torch.export.save(program, str(path))
    return path


def saved_bytes(value: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def tensor_from(code: str) -> Gadget:
    """A gadget whose unpickling runs ``code`` and then yields a tensor, so loading goes on."""
    return Gadget(eval, f"({code}, __import__('torch').zeros(10))[1]")
