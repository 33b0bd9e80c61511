"""PyTorch pickles read as data: nothing in the file is executed, and no tensor bytes are read.

``torch.save`` checkpoints (zip and legacy), whole pickled modules and TorchScript's
``data.pkl`` are pickles. Unpickling one for real calls whatever its globals name, and even
``torch.load(weights_only=True)`` admits globals that open files. This module reads them with
an unpickler of its own:

- only a short allowlist of constructors is ever called for real: the containers
  (``collections.OrderedDict``, sets, slices), PyTorch's tensor-rebuild functions -- which
  here build a ``TensorRef`` (storage key, dtype, shape, strides, requires_grad) without
  touching the storage bytes -- dtypes, ``torch.Size``, numpy scalars from their bytes, and
  Lightning's ``AttributeDict`` as a plain dict;
- every other global resolves to an inert stand-in class: calling it, instantiating it or
  setting its state only records what the pickle asked for (so a whole ``torch.save(model)``
  reads as a tree of stand-ins holding their ``_parameters`` and ``_modules``);
- a global from a module that only a pickle gadget would name (``os.system``, ``eval``,
  ``subprocess``...) makes the file refused with one line, although nothing ran.

The bytes read are bounded by the caller (member size limits), and a pickle has no loops, so
the objects built are bounded by its size. Walks over the result use ``walk()``, which visits
each object once (a shared object cannot blow up a traversal).
"""

from __future__ import annotations

import codecs
import io
import math
import pickle
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from overfitlint.errors import InputError

MAX_PICKLE = 512 << 20
"""The largest pickle read: a checkpoint's object graph, its tensor bytes stored apart."""
MAX_STAND_IN_CLASSES = 20_000
DTYPES = {
    "float64": ("float64", True, 8),
    "double": ("float64", True, 8),
    "float32": ("float32", True, 4),
    "float": ("float32", True, 4),
    "float16": ("float16", True, 2),
    "half": ("float16", True, 2),
    "bfloat16": ("bfloat16", True, 2),
    "float8_e4m3fn": ("float8_e4m3fn", True, 1),
    "float8_e5m2": ("float8_e5m2", True, 1),
    "complex64": ("complex64", True, 8),
    "complex128": ("complex128", True, 16),
    "cfloat": ("complex64", True, 8),
    "cdouble": ("complex128", True, 16),
    "int64": ("int64", False, 8),
    "long": ("int64", False, 8),
    "int32": ("int32", False, 4),
    "int": ("int32", False, 4),
    "int16": ("int16", False, 2),
    "short": ("int16", False, 2),
    "int8": ("int8", False, 1),
    "uint8": ("uint8", False, 1),
    "bool": ("bool", False, 1),
    "qint8": ("qint8", False, 1),
    "quint8": ("quint8", False, 1),
    "qint32": ("qint32", False, 4),
}
# legacy typed storages: torch.FloatStorage -> float32 ...
STORAGE_DTYPES = {
    "DoubleStorage": "float64",
    "FloatStorage": "float32",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
    "QInt8Storage": "qint8",
    "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32",
    "UntypedStorage": "uint8",
}
GADGET_MODULES = frozenset(
    {
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
        "pdb",
        "timeit",
        "traceback",
        "linecache",
        "platform",
        "asyncio",
        "multiprocessing",
        "threading",
        "signal",
        "tempfile",
        "glob",
        "io",
        "_io",
        "zipimport",
        "operator",
    }
)
# Submodules of an allowed package that exist to fetch or build code
GADGET_SUBMODULES = ("torch.hub", "torch.ops", "torch.utils.cpp_extension")
GADGET_BUILTINS = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "open",
        "getattr",
        "setattr",
        "delattr",
        "__import__",
        "input",
        "breakpoint",
        "globals",
        "locals",
        "vars",
        "exit",
        "quit",
        "help",
        "memoryview",
    }
)
SAFE_BUILTINS = {
    "object": object,
    "tuple": tuple,
    "list": list,
    "dict": dict,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "bytes": bytes,
    "set": set,
    "frozenset": frozenset,
    "slice": slice,
    "complex": complex,
    "bytearray": bytearray,
    "range": range,
}
ATTRIBUTE_DICTS = frozenset(
    {
        ("lightning.fabric.utilities.data", "AttributeDict"),
        ("lightning_fabric.utilities.data", "AttributeDict"),
        ("pytorch_lightning.utilities.parsing", "AttributeDict"),
        ("lightning.pytorch.utilities.parsing", "AttributeDict"),
    }
)


@dataclass(frozen=True)
class StorageRef:
    """A tensor storage in the file: its key (``data/<key>`` in a zip), dtype and size."""

    key: str
    dtype: str
    numel: int
    location: str = "cpu"

    @property
    def floating(self) -> bool:
        return DTYPES.get(self.dtype, ("", False, 0))[1]

    @property
    def itemsize(self) -> int:
        return DTYPES.get(self.dtype, ("", False, 1))[2]


@dataclass(frozen=True)
class TensorRef:
    """A tensor as the pickle describes it; its bytes are never read here."""

    storage: StorageRef | None
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    requires_grad: bool = False
    parameter: bool = False

    @property
    def numel(self) -> int:
        return math.prod(self.shape) if self.shape else 1

    @property
    def dtype(self) -> str:
        return self.storage.dtype if self.storage else "unknown"

    @property
    def floating(self) -> bool:
        return bool(self.storage and self.storage.floating)

    @property
    def identity(self) -> tuple[Any, ...]:
        """Equal for two names of one stored tensor (weight tying)."""
        key = self.storage.key if self.storage else id(self)
        return (key, self.offset, self.shape, self.stride)


@dataclass(frozen=True)
class DType:
    name: str


class StandIn:
    """An inert stand-in for a class the pickle names: it records, it never runs anything."""

    module = ""
    qualname = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> StandIn:
        instance = object.__new__(cls)
        instance.__dict__["_args"] = args
        instance.__dict__["_state"] = None
        instance.__dict__["_items"] = {}
        instance.__dict__["_list"] = []
        return instance

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and not self._args:
            self.__dict__["_args"] = args

    def __setstate__(self, state: Any) -> None:
        self.__dict__["_state"] = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self._items[key] = value

    def append(self, value: Any) -> None:
        self._list.append(value)

    def extend(self, values: Any) -> None:
        self._list.extend(values)

    @property
    def state(self) -> dict[str, Any]:
        """The instance attributes the pickle set (a ``__dict__`` or ``(dict, slots)`` state)."""
        state = self._state
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict | None):
            merged = dict(state[0] or {})
            if isinstance(state[1], dict):
                merged.update(state[1])
            return merged
        return state if isinstance(state, dict) else {}

    @property
    def class_name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]

    @property
    def full_name(self) -> str:
        """``module.qualname`` as the pickle names the class."""
        return f"{self.module}.{self.qualname}"

    @property
    def set_items(self) -> dict[Any, Any]:
        """What the pickle set with ``obj[key] = value`` (a dict subclass's entries)."""
        return self._items

    @property
    def appended(self) -> list[Any]:
        """What the pickle appended (a list subclass's elements)."""
        return self._list

    def __repr__(self) -> str:
        return f"<stand-in {self.module}.{self.qualname}>"


class AttributeDict(dict):
    """Lightning's AttributeDict, read as the plain dict it is."""


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, *_rest) -> TensorRef:
    return TensorRef(
        _storage(storage), int(offset), _ints(size), _ints(stride), bool(requires_grad)
    )


def _rebuild_tensor(storage, offset, size, stride) -> TensorRef:
    return TensorRef(_storage(storage), int(offset), _ints(size), _ints(stride))


def _rebuild_parameter(data, requires_grad=True, *_rest) -> Any:
    if isinstance(data, TensorRef):
        return TensorRef(
            data.storage, data.offset, data.shape, data.stride, bool(requires_grad), True
        )
    return data


def _rebuild_qtensor(storage, offset, size, stride, _quantizer, requires_grad=False, *_r):
    return TensorRef(
        _storage(storage), int(offset), _ints(size), _ints(stride), bool(requires_grad)
    )


def _rebuild_from_type_v2(func, _new_type, args, _state) -> Any:
    return func(*args)


def _parameter(data=None, requires_grad=True) -> Any:
    return _rebuild_parameter(data, requires_grad)


def _size(*args: Any) -> tuple:
    return tuple(args[0]) if args and isinstance(args[0], list | tuple) else tuple(args)


def _device(*args: Any) -> str:
    return ":".join(str(a) for a in args)


def _codecs_encode(text: Any, encoding: str = "utf-8") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise InputError("a pickle asked _codecs.encode for something other than text")
    return codecs.encode(text, encoding)


def _numpy_dtype(name: Any, *_rest: Any) -> Any:
    """A numeric numpy dtype from its name (parsing a name runs nothing); else a stand-in."""
    if isinstance(name, str):
        try:
            kind = np.dtype(name)
        except TypeError:
            return StandIn()
        if kind.kind in "biufc":
            return kind
    return StandIn()


def _reconstructor(cls: Any, _base: Any = None, _state: Any = None) -> Any:
    """copyreg._reconstructor (protocol 0/1 objects): an empty stand-in of ``cls``."""
    return cls.__new__(cls) if isinstance(cls, type) and issubclass(cls, StandIn) else StandIn()


def _meta_tensor(_dtype: Any, size: Any, stride: Any, requires_grad: Any = False, *_r) -> Any:
    return TensorRef(None, 0, _ints(size), _ints(stride), bool(requires_grad))


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    if isinstance(dtype, np.dtype) and isinstance(data, bytes) and len(data) == dtype.itemsize:
        return np.frombuffer(data, dtype=dtype)[0].item()
    return None


def _identity(value: Any, *_rest: Any) -> Any:
    return value


def _list(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple) else []


def _storage(value: Any) -> StorageRef | None:
    return value if isinstance(value, StorageRef) else None


def _ints(values: Any) -> tuple[int, ...]:
    if not isinstance(values, list | tuple):
        return ()
    return tuple(int(v) for v in values if isinstance(v, int) and not isinstance(v, bool))


REAL = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._utils", "_rebuild_qtensor"): _rebuild_qtensor,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch._utils", "_rebuild_meta_tensor_no_storage"): _meta_tensor,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("torch.nn.parameter", "Parameter"): _parameter,
    ("torch", "Size"): _size,
    ("torch", "device"): _device,
    ("_codecs", "encode"): _codecs_encode,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("torch.jit._pickle", "restore_type_tag"): _identity,
    ("torch.jit._pickle", "build_intlist"): _list,
    ("torch.jit._pickle", "build_doublelist"): _list,
    ("torch.jit._pickle", "build_boollist"): _list,
    ("torch.jit._pickle", "build_tensorlist"): _list,
}


class Refused(Exception):
    """The pickle names a global only a pickle gadget would (nothing was run)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


class DataUnpickler(pickle.Unpickler):
    """``strict``: refuse every global outside the allowlist (for files torch will load)."""

    def __init__(self, stream: io.BytesIO, *, strict: bool = False):
        super().__init__(stream)
        self.strict = strict
        self.classes: dict[tuple[str, str], type] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "__builtin__":  # protocol 2 pickles name the builtins module this way
            module = "builtins"
        root = module.split(".", 1)[0]
        if (
            root in GADGET_MODULES
            or (root == "builtins" and name not in SAFE_BUILTINS)
            or any(module == m or module.startswith(f"{m}.") for m in GADGET_SUBMODULES)
        ):
            raise Refused(f"{module}.{name}")
        if (module, name) in REAL:
            return REAL[(module, name)]
        if root == "builtins":
            return SAFE_BUILTINS[name]
        if module == "torch" and name in DTYPES:
            return DType(DTYPES[name][0])
        if module in ("torch", "torch.storage", "torch.cuda") and name in STORAGE_DTYPES:
            return DType(STORAGE_DTYPES[name])
        if (module, name) in ATTRIBUTE_DICTS:
            return AttributeDict
        if self.strict:
            raise Refused(f"{module}.{name}")
        return self._stand_in(module, name)

    def _stand_in(self, module: str, name: str) -> type:
        key = (module, name)
        if key not in self.classes:
            if len(self.classes) >= MAX_STAND_IN_CLASSES:
                raise InputError("the pickle names too many classes to be a model checkpoint")
            self.classes[key] = type(
                name.rsplit(".", 1)[-1] or "StandIn",
                (StandIn,),
                {"module": module, "qualname": name},
            )
        return self.classes[key]

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage" or len(pid) < 5:
            raise InputError("the pickle refers to an object outside it that is not a storage")
        kind, key, location, numel = pid[1], pid[2], pid[3], pid[4]
        dtype = kind.name if isinstance(kind, DType) else "unknown"
        size = int(numel) if isinstance(numel, int) and not isinstance(numel, bool) else 0
        return StorageRef(str(key), dtype, size, str(location))


def unpickle(data: bytes, what: str, *, strict: bool = False) -> Any:
    """One pickle as data; ``what`` names the file for the user's one line."""
    return load_next(io.BytesIO(data), what, strict=strict)


def load_next(stream: io.BytesIO, what: str, *, strict: bool = False) -> Any:
    try:
        return DataUnpickler(stream, strict=strict).load()
    except Refused as exc:
        raise InputError(
            f"{what}: the pickle calls {exc.name}, which a model file never needs (a pickle "
            "gadget?); refused, and nothing from it was run"
        ) from None
    except InputError as exc:
        raise InputError(f"{what}: {exc}") from None
    except RecursionError:
        raise InputError(f"{what}: the pickle nests too deeply to be a checkpoint") from None
    except MemoryError:
        raise InputError(f"{what}: the pickle is too large to read") from None
    except Exception as exc:  # a malformed pickle: any failure is a bad file, nothing ran
        raise InputError(
            f"{what}: not a readable pickle ({type(exc).__name__}: {str(exc)[:120]})"
        ) from None


def walk(root: Any, limit: int = 5_000_000) -> Iterator[tuple[str, Any]]:
    """(path, value) for every object reachable from ``root``, each visited once."""
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [("", root)]
    visited = 0
    while stack:
        path, value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        visited += 1
        if visited > limit:
            return
        yield path, value
        if isinstance(value, dict):
            children = list(value.items())
        elif isinstance(value, list | tuple):
            children = list(enumerate(value))
        elif isinstance(value, StandIn):
            children = [*value.state.items(), *value._items.items()]
        else:
            continue
        for key, child in reversed(children):
            if isinstance(child, dict | list | tuple | StandIn):
                stack.append((f"{path}.{key}" if path else str(key), child))
