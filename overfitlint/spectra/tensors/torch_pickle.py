"""A pickle reader for PyTorch archives that executes nothing from the file.

``data.pkl`` of a ``torch.save`` zip (state dicts, checkpoints, Lightning ``.ckpt``, whole
pickled modules) and of a TorchScript archive is parsed by a ``pickle.Unpickler`` whose
``find_class`` allows only:

- the tensor rebuild functions (``torch._utils._rebuild_tensor_v2``, ``_rebuild_tensor``,
  ``_rebuild_parameter``, ``_rebuild_parameter_with_state``,
  ``torch._tensor._rebuild_from_type_v2``),
  replaced by functions of this module that record offset, size and stride;
- ``collections.OrderedDict`` and plain builtin containers and scalars;
- torch storage classes and dtypes, mapped to numpy dtypes;
- TorchScript's list builders (``torch.jit._pickle.build_intlist`` ...).

Every global that could run something (``os``, ``subprocess``, ``builtins.eval`` ...) is refused
outright; any other global (a module class, Lightning's ``AttributeDict``, ``argparse.Namespace``)
becomes an inert stand-in that only remembers its name, arguments and state, so that the
tensors inside can still be found. Nothing the file names is imported or called.
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from overfitlint.errors import InputError

# torch storage class -> (numpy dtype, bfloat16 bit patterns)
STORAGE_DTYPES: dict[str, tuple[Any, bool]] = {
    "DoubleStorage": (np.float64, False),
    "FloatStorage": (np.float32, False),
    "HalfStorage": (np.float16, False),
    "BFloat16Storage": (np.uint16, True),
    "LongStorage": (np.int64, False),
    "IntStorage": (np.int32, False),
    "ShortStorage": (np.int16, False),
    "CharStorage": (np.int8, False),
    "ByteStorage": (np.uint8, False),
    "BoolStorage": (np.bool_, False),
    "UntypedStorage": (np.uint8, False),
}
TORCH_DTYPES: dict[str, tuple[Any, bool]] = {
    "float64": (np.float64, False),
    "double": (np.float64, False),
    "float32": (np.float32, False),
    "float": (np.float32, False),
    "float16": (np.float16, False),
    "half": (np.float16, False),
    "bfloat16": (np.uint16, True),
    "int64": (np.int64, False),
    "long": (np.int64, False),
    "int32": (np.int32, False),
    "int": (np.int32, False),
    "int16": (np.int16, False),
    "int8": (np.int8, False),
    "uint8": (np.uint8, False),
    "bool": (np.bool_, False),
}
SAFE_BUILTINS = {
    "set": set,
    "frozenset": frozenset,
    "list": list,
    "dict": dict,
    "tuple": tuple,
    "int": int,
    "float": float,
    "complex": complex,
    "str": str,
    "bytes": bytes,
    "bytearray": bytearray,
    "bool": bool,
    "slice": slice,
    "NoneType": type(None),
}
# Modules whose globals exist to run things: a pickle that names one is refused, not parsed.
DANGEROUS_MODULES = (
    "os",
    "posix",
    "nt",
    "subprocess",
    "sys",
    "shutil",
    "socket",
    "importlib",
    "runpy",
    "pickle",
    "_pickle",
    "marshal",
    "ctypes",
    "code",
    "codeop",
    "pty",
    "commands",
    "webbrowser",
    "multiprocessing",
    "pdb",
    "timeit",
    "operator",
    "torch.hub",
    "torch.ops",
    "torch.utils.cpp_extension",
)
DANGEROUS_BUILTINS = {
    "eval",
    "exec",
    "compile",
    "open",
    "getattr",
    "setattr",
    "delattr",
    "__import__",
    "globals",
    "locals",
    "vars",
    "input",
    "breakpoint",
    "memoryview",
    "object",
    "type",
}
MAX_PICKLE = 512 << 20


@dataclass(frozen=True)
class StorageRef:
    key: str
    dtype: Any
    bfloat16: bool
    numel: int


@dataclass
class TensorRef:
    storage: StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]
    requires_grad: bool | None = None
    parameter: bool = False
    """Rebuilt as an ``nn.Parameter``: ``requires_grad`` is then the trainable flag (a state
    dict's tensors are detached copies whose flag is always False)."""


@dataclass(frozen=True)
class DTypeMarker:
    name: str
    dtype: Any
    bfloat16: bool


class Opaque:
    """An inert stand-in for a global the reader does not trust: it keeps what the pickle
    gave it (constructor arguments, state, items) and runs nothing."""

    qualname = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> Opaque:
        instance = super().__new__(cls)
        instance.args = args
        instance.state = None
        instance.items = {}
        instance.listed = []
        return instance

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.items[key] = value

    def append(self, value: Any) -> None:
        self.listed.append(value)

    def extend(self, values: Any) -> None:
        self.listed.extend(values)

    def __repr__(self) -> str:
        return f"<stand-in for {self.qualname}>"


def _stand_in(qualname: str) -> type[Opaque]:
    return type("StandIn", (Opaque,), {"qualname": qualname})


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *_: Any) -> Any:
    if not isinstance(storage, StorageRef):
        return _stand_in("torch._utils._rebuild_tensor")(storage, offset, size, stride)
    if not (
        isinstance(offset, int)
        and isinstance(size, tuple | list)
        and isinstance(stride, tuple | list)
        and len(size) == len(stride)
        and all(isinstance(v, int) and v >= 0 for v in (*size, *stride, offset))
    ):
        raise PickleRefused("a tensor record with a malformed offset, size or stride")
    return TensorRef(storage, offset, tuple(size), tuple(stride))


def _rebuild_tensor_v2(
    storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = None, *_: Any
) -> Any:
    tensor = _rebuild_tensor(storage, offset, size, stride)
    if isinstance(tensor, TensorRef) and isinstance(requires_grad, bool):
        tensor.requires_grad = requires_grad
    return tensor


def _rebuild_parameter(data: Any, requires_grad: Any = None, *_: Any) -> Any:
    if isinstance(data, TensorRef):
        data.parameter = True
        if isinstance(requires_grad, bool):
            data.requires_grad = requires_grad
    return data


def _rebuild_from_type_v2(func: Any, new_type: Any, args: Any, state: Any = None) -> Any:
    if func in (_rebuild_tensor, _rebuild_tensor_v2, _rebuild_parameter) and isinstance(
        args, tuple
    ):
        return func(*args)
    return _stand_in("torch._tensor._rebuild_from_type_v2")(func, new_type, args, state)


def _passthrough(value: Any, *_: Any) -> Any:
    return value


ALLOWED_CALLS = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("collections", "OrderedDict"): OrderedDict,
    ("torch.jit._pickle", "build_intlist"): _passthrough,
    ("torch.jit._pickle", "build_doublelist"): _passthrough,
    ("torch.jit._pickle", "build_boollist"): _passthrough,
    ("torch.jit._pickle", "build_tensorlist"): _passthrough,
    ("torch.jit._pickle", "build_genericlist"): _passthrough,
    ("torch.jit._pickle", "restore_type_tag"): _passthrough,
    ("torch", "Size"): tuple,
}


class PickleRefused(Exception):
    """The pickle names something that could run code."""


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        allowed = ALLOWED_CALLS.get((module, name))
        if allowed is not None:
            return allowed
        if module in ("builtins", "__builtin__"):
            if name in SAFE_BUILTINS:
                return SAFE_BUILTINS[name]
            if name in DANGEROUS_BUILTINS:
                raise PickleRefused(f"builtins.{name}")
        if module == "torch" and name in STORAGE_DTYPES:
            dtype, bf16 = STORAGE_DTYPES[name]
            return DTypeMarker(name, dtype, bf16)
        if module == "torch" and name in TORCH_DTYPES:
            dtype, bf16 = TORCH_DTYPES[name]
            return DTypeMarker(name, dtype, bf16)
        root = module.split(".", 1)[0]
        if module in DANGEROUS_MODULES or root in DANGEROUS_MODULES:
            raise PickleRefused(f"{module}.{name}")
        return _stand_in(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise PickleRefused(f"an unknown persistent id {str(pid)[:60]!r}")
        marker, key, numel = pid[1], pid[2], pid[4]
        if not isinstance(marker, DTypeMarker) or not isinstance(numel, int) or numel < 0:
            raise PickleRefused("a storage record of an unknown type")
        return StorageRef(str(key), marker.dtype, marker.bfloat16, numel)


def unpickle(data: bytes, where: str) -> Any:
    """The object graph of a PyTorch ``data.pkl``, with stand-ins for untrusted globals."""
    if len(data) > MAX_PICKLE:
        raise InputError(f"{where}: the pickle is {len(data):,} bytes; refusing to parse it")
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="utf-8").load()
    except PickleRefused as exc:
        raise InputError(
            f"{where}: the pickle calls {exc} (code that would run on loading); refusing to "
            "read it. Nothing from the file was executed."
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise InputError(f"{where}: not a readable PyTorch pickle ({exc})") from None
    except (RecursionError, MemoryError):
        raise InputError(f"{where}: the pickle nests too deeply to read") from None
