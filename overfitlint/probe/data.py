"""The probe's data: ``--data FILE.npz`` (a small sample of the user's data) or synthetic inputs.

Only numpy here; the backends turn the arrays into framework tensors.
``np.load(..., allow_pickle=False)``: an npz file never runs code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from overfitlint.errors import InputError

DATA_KEYS = ("x_train", "y_train", "x_val", "y_val")
MAX_DATA_BYTES = 1 << 30
"""The arrays --data may hold in all: the probe needs a sample, not the data set."""


@dataclass
class ProbeData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    source: str

    @property
    def sample_shape(self) -> list[int]:
        return list(self.x_train.shape[1:])

    def summary(self) -> dict[str, object]:
        return {
            "source": self.source,
            "train_samples": len(self.x_train),
            "val_samples": len(self.x_val),
            "sample_shape": self.sample_shape,
        }


def load_data(path: str | Path) -> ProbeData:
    """Read and check ``x_train, y_train, x_val, y_val``; anything wrong is one clear line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file (--data expects an .npz file)")
    declared = _declared_bytes(path)
    if declared > MAX_DATA_BYTES:
        raise InputError(
            f"{path}: the arrays hold {declared:,} bytes once read; the probe takes a sample of "
            f"at most {MAX_DATA_BYTES:,} (save a few thousand rows per split)"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in DATA_KEYS if key not in archive.files]
            if missing:
                raise InputError(
                    f"{path}: --data needs arrays {', '.join(DATA_KEYS)}; missing "
                    f"{', '.join(missing)} (found: {', '.join(archive.files) or 'none'})"
                )
            arrays = {key: archive[key] for key in DATA_KEYS}
    except InputError:
        raise
    except ValueError as exc:  # object arrays need pickle: refused
        raise InputError(f"{path}: cannot read the arrays without pickle ({exc})") from None
    except (OSError, EOFError, KeyError) as exc:
        raise InputError(f"{path}: not a readable .npz file ({exc})") from None
    for split in ("train", "val"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim < 2 or len(x) == 0:
            raise InputError(f"{path}: x_{split} must be (samples, ...) with samples > 0")
        if len(y) != len(x):
            raise InputError(f"{path}: x_{split} has {len(x)} samples but y_{split} has {len(y)}")
        if not np.issubdtype(x.dtype, np.number) or not np.issubdtype(y.dtype, np.number):
            raise InputError(f"{path}: x_{split} and y_{split} must be numeric arrays")
        if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
            raise InputError(f"{path}: x_{split} holds NaN or infinite values")
    if arrays["x_train"].shape[1:] != arrays["x_val"].shape[1:]:
        raise InputError(
            f"{path}: x_train samples are {list(arrays['x_train'].shape[1:])} but x_val samples "
            f"are {list(arrays['x_val'].shape[1:])}"
        )
    return ProbeData(**arrays, source=str(path))


def _declared_bytes(path: Path) -> int:
    """What the .npz's arrays hold, from their .npy headers, before any array is inflated."""
    import math
    import zipfile

    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as handle:
                    version = np.lib.format.read_magic(handle)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
                total += math.prod(shape) * dtype.itemsize
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npz file ({exc})") from None
    return total


def parse_input_shape(text: str) -> tuple[int, ...]:
    """``--input-shape 3,32,32``: one sample's shape, without the batch dimension."""
    parts = [p for p in text.replace("x", ",").replace(" ", ",").split(",") if p]
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if not dims or any(d <= 0 for d in dims):
        raise InputError(
            f"--input-shape {text!r}: expected positive integers such as 3,32,32 "
            "(one sample, without the batch dimension)"
        )
    return dims


def sample_shape_from_facts(input_shapes: dict[str, list[int | str]]) -> list[int] | None:
    """One sample's shape from a graph's single input (the first dimension is the batch)."""
    if len(input_shapes) != 1:
        return None
    dims = next(iter(input_shapes.values()))
    rest = dims[1:]
    if not dims or not all(isinstance(d, int) and d > 0 for d in rest):
        return None
    return [int(d) for d in rest]


def synthetic_inputs(n: int, shape: list[int], seed: int) -> np.ndarray:
    """Standard-normal inputs: the scale most trained networks expect after normalisation."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, *shape), dtype=np.float32)


def random_labels(n: int, classes: int, seed: int) -> np.ndarray:
    """Labels with no relation to the inputs (Zhang et al., 2017); 2 classes for one output."""
    rng = np.random.default_rng(seed + 1)
    return rng.integers(0, max(2, classes), n).astype(np.int64)


def targets(y: np.ndarray, outputs: int) -> tuple[str, np.ndarray]:
    """The task the labels describe: classes (int labels), binary (0/1) or regression."""
    if y.ndim == 2 and y.shape[1] == outputs and outputs > 1:
        rows = y.sum(axis=1)
        if np.all((y == 0) | (y == 1)) and np.allclose(rows, 1):  # one-hot
            return "classes", y.argmax(axis=1).astype(np.int64)
    flat = y.reshape(len(y), -1)
    if np.issubdtype(y.dtype, np.integer) or np.all(np.mod(y, 1) == 0):
        if outputs > 1 and flat.shape[1] == 1:
            return "classes", flat[:, 0].astype(np.int64)
        if outputs == 1 and flat.shape[1] == 1 and set(np.unique(flat)) <= {0, 1}:
            return "binary", flat[:, 0].astype(np.float32)
    return "regression", flat.astype(np.float32)
