"""``.npz`` archives: x/y arrays for train and validation under the names people use.

``np.load(allow_pickle=False)`` only, after every member's header was read: object arrays
(pickled Python objects) and arrays larger than the budget are refused before any data is.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

import numpy as np

from overfitlint.data.arrays import MISSING_CLASS, DataArrays, SplitArrays
from overfitlint.data.budget import DataBudget
from overfitlint.data.images import (
    THUMB_FEATURES,
    channel_names,
    image_signatures,
    raw_pixel_values,
    to_channels_last,
)
from overfitlint.data.tables import capped_rows
from overfitlint.errors import InputError

ROLE_WORDS = {
    "x": ("x", "data", "images", "image", "imgs", "features", "inputs", "input", "samples"),
    "y": ("y", "labels", "label", "targets", "target", "classes"),
}
SPLIT_WORDS = {
    "train": ("train", "training", "tr"),
    "val": ("val", "valid", "validation", "dev", "eval"),
    "test": ("test", "testing", "te"),
}
_ROLE = "|".join(w for words in ROLE_WORDS.values() for w in words)
_SPLIT = "|".join(w for words in SPLIT_WORDS.values() for w in words)
_NAME = re.compile(
    rf"^(?:(?P<r1>{_ROLE})[_\-.]?(?P<s1>{_SPLIT})|(?P<s2>{_SPLIT})[_\-.]?(?P<r2>{_ROLE}))$"
)


def parse_name(name: str) -> tuple[str, str] | None:
    """("x" | "y", "train" | "val" | "test") for a name such as X_train, train_x or y_valid."""
    match = _NAME.match(name.lower())
    if not match:
        return None
    role_word = match.group("r1") or match.group("r2")
    split_word = match.group("s1") or match.group("s2")
    role = next(r for r, words in ROLE_WORDS.items() if role_word in words)
    split = next(s for s, words in SPLIT_WORDS.items() if split_word in words)
    return role, split


def _headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    headers = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                name = info.filename[: -len(".npy")]
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read_header(member)
                headers[name] = (tuple(shape), dtype)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npz archive ({exc})") from None
    if not headers:
        raise InputError(f"{path}: a zip archive with no .npy arrays")
    objects = [name for name, (_, dtype) in headers.items() if dtype.hasobject]
    if objects:
        raise InputError(
            f"{path}: array {objects[0]!r} holds pickled Python objects, which are never "
            "loaded (they can run code): save numeric arrays"
        )
    return headers


def _choose(path: Path, names: list[str], notes: list[str]) -> dict[str, str]:
    found: dict[tuple[str, str], str] = {}
    unknown = []
    for name in names:
        parsed = parse_name(name)
        if parsed is None or parsed in found:
            unknown.append(name)
        else:
            found[parsed] = name
    val = "val" if ("x", "val") in found else "test"
    chosen = {}
    for role in ("x", "y"):
        for split, wanted in (("train", "train"), ("val", val)):
            if (role, wanted) not in found:
                raise InputError(
                    f"{path}: no {role}_{split} array (also looked for X_{split}, {split}_{role}, "
                    f"{role}_valid, {role}_test...); found: {', '.join(names)}"
                )
            chosen[f"{role}_{split}"] = found[(role, wanted)]
    ignored = sorted(set(names) - set(chosen.values()))
    if ignored or any(chosen[key] != key for key in chosen):
        taken = ", ".join(f"{chosen[k]} as {k}" for k in ("x_train", "y_train", "x_val", "y_val"))
        notes.append(
            f"{path}: took {taken}" + (f"; ignored {', '.join(ignored)}" if ignored else "")
        )
    return chosen


def read_npz(
    path: Path, budget: DataBudget, notes: list[str]
) -> tuple[DataArrays, str, list[str], list[str], str, dict[str, int]]:
    """(arrays, kind, features, classes, task, source rows per split)."""
    headers = _headers(path)
    chosen = _choose(path, list(headers), notes)
    decoded = sum(
        math.prod(headers[name][0]) * headers[name][1].itemsize for name in chosen.values()
    )
    if decoded > budget.max_decoded_bytes:
        raise InputError(
            f"{path}: {', '.join(chosen.values())} decode to {decoded:,} bytes, over the data "
            f"budget of {budget.max_decoded_bytes:,}: save a sample, or a Parquet table "
            "(read by column, sampled)"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            raw = {key: archive[name] for key, name in chosen.items()}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: cannot read the arrays ({exc})") from None
    for split in ("train", "val"):
        x, y = raw[f"x_{split}"], raw[f"y_{split}"]
        if x.ndim < 2 or len(x) == 0:
            raise InputError(
                f"{path}: {chosen[f'x_{split}']} must be (samples, ...) with samples > 0"
            )
        if len(y) != len(x):
            raise InputError(
                f"{path}: {chosen[f'x_{split}']} has {len(x)} samples but "
                f"{chosen[f'y_{split}']} has {len(y)}"
            )
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
            raise InputError(f"{path}: {chosen[f'x_{split}']} is {x.dtype}, not numbers")
    if raw["x_train"].shape[1:] != raw["x_val"].shape[1:]:
        raise InputError(
            f"{path}: training samples are {list(raw['x_train'].shape[1:])} but validation "
            f"samples are {list(raw['x_val'].shape[1:])}"
        )
    y_train, y_val, classes, task = _labels(path, raw["y_train"], raw["y_val"], chosen, notes)
    source_rows = {"train": len(y_train), "val": len(y_val)}
    sample_shape = raw["x_train"].shape[1:]
    features_per_row = int(np.prod(sample_shape))
    splits = {}
    for split, y in (("train", y_train), ("val", y_val)):
        rows = capped_rows(np.arange(len(y)), f"{path} ({split})", features_per_row, budget, notes)
        splits[split] = (raw[f"x_{split}"][rows], y[rows], rows)
    if len(sample_shape) == 1:
        arrays = DataArrays(
            *(
                SplitArrays(np.asfortranarray(x, dtype=np.float64), y, rows)
                for x, y, rows in splits.values()
            ),
            categorical=np.zeros(sample_shape[0], dtype=bool),
        )
        features = [f"x[{i}]" for i in range(sample_shape[0])]
        return arrays, "arrays", features, classes, task, source_rows
    images = {}
    for split, (x, y, rows) in splits.items():
        stacked = to_channels_last(x, path)
        exact, phash, thumbs, moments = image_signatures(stacked)
        images[split] = SplitArrays(thumbs, y, rows, exact, phash, moments)
        channels = stacked.shape[3]
    arrays = DataArrays(
        images["train"],
        images["val"],
        categorical=np.zeros(images["train"].x.shape[1], dtype=bool),
        channel_names=channel_names(channels),
        pixel_dtype=str(raw["x_train"].dtype),
        raw_pixels=raw_pixel_values(raw["x_train"]),
    )
    notes.append(
        f"{path}: image arrays {list(sample_shape)}; duplicates by pixel hash and perceptual "
        "hash, distributions on an 8x8 gray thumbnail"
    )
    return arrays, "images", list(THUMB_FEATURES), classes, task, source_rows


def _labels(
    path: Path, y_train: np.ndarray, y_val: np.ndarray, chosen: dict[str, str], notes: list[str]
) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    ys = []
    for key, y in (("y_train", y_train), ("y_val", y_val)):
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        elif y.ndim == 2 and y.shape[1] > 1:
            notes.append(f"{path}: {chosen[key]} is one-hot or probabilities: classes by argmax")
            y = y.argmax(axis=1)
        elif y.ndim != 1:
            raise InputError(
                f"{path}: {chosen[key]} must be (samples,) labels, not {list(y.shape)}"
            )
        if not (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_ or y.dtype.kind in "US"):
            raise InputError(f"{path}: {chosen[key]} is {y.dtype}, not labels")
        ys.append(y)
    both = np.concatenate(ys)
    if both.dtype.kind == "f":
        finite = both[np.isfinite(both)]
        distinct = np.unique(finite)
        if len(distinct) > 100 or np.any(distinct != np.round(distinct)):
            values = both.astype(np.float64)
            return values[: len(ys[0])], values[len(ys[0]) :], [], "regression"
        missing = ~np.isfinite(both)
        keys, codes = np.unique(
            np.where(missing, distinct[0] if len(distinct) else 0, both), return_inverse=True
        )
        codes = np.where(missing, MISSING_CLASS, codes)
        classes = [str(int(k)) for k in keys]
    else:
        keys, codes = np.unique(both, return_inverse=True)
        if both.dtype.kind in "iu" and len(keys) > 1000:
            values = both.astype(np.float64)
            return values[: len(ys[0])], values[len(ys[0]) :], [], "regression"
        classes = [str(k) for k in keys.tolist()]
    codes = codes.astype(np.int64)
    return codes[: len(ys[0])], codes[len(ys[0]) :], classes, "classification"
