"""Data sets with planted faults, made from scikit-learn's bundled data sets.

Every builder returns plain arrays or writes real files (numpy, pyarrow, Pillow, datasets);
nothing is downloaded.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pyarrow.parquet as pq
from PIL import Image
from sklearn import datasets as sk

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    return getattr(sk, f"load_{name}")(return_X_y=True)


def stratified_split(x: np.ndarray, y: np.ndarray, val: float = 0.25, seed: int = 0) -> Arrays:
    rng = np.random.default_rng(seed)
    train_rows, val_rows = [], []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        cut = round(len(rows) * val)
        val_rows.append(rows[:cut])
        train_rows.append(rows[cut:])
    t, v = np.sort(np.concatenate(train_rows)), np.sort(np.concatenate(val_rows))
    return x[t], y[t], x[v], y[v]


def clean(name: str) -> Arrays:
    return stratified_split(*dataset(name))


# --- planted faults -----------------------------------------------------------------------


def leaked(name: str, share: float = 0.1) -> Arrays:
    """Training rows copied into validation: half exactly, half with a 1e-9 relative jitter."""
    xt, yt, xv, yv = clean(name)
    rng = np.random.default_rng(1)
    rows = rng.choice(len(xt), int(share * len(xv)), replace=False)
    copies = xt[rows].copy()
    copies[len(rows) // 2 :] *= 1 + 1e-9 * rng.standard_normal(copies[len(rows) // 2 :].shape)
    return xt, yt, np.concatenate([xv, copies]), np.concatenate([yv, yt[rows]])


def repeated(name: str, share: float = 0.15) -> Arrays:
    xt, yt, xv, yv = clean(name)
    rows = np.random.default_rng(2).choice(len(xt), int(share * len(xt)), replace=False)
    return np.concatenate([xt, xt[rows]]), np.concatenate([yt, yt[rows]]), xv, yv


def flipped(name: str, share: float = 0.15) -> Arrays:
    xt, yt, xv, yv = clean(name)
    rng = np.random.default_rng(3)
    classes = int(yt.max()) + 1
    flip = rng.random(len(yt)) < share
    noisy = yt.copy()
    noisy[flip] = (yt[flip] + rng.integers(1, classes, flip.sum())) % classes
    return xt, noisy, xv, yv


def one_column_scaled(name: str, factor: float = 1000.0) -> Arrays:
    xt, yt, xv, yv = clean(name)
    xt, xv = xt.copy(), xv.copy()
    xt[:, 0] *= factor
    xv[:, 0] *= factor
    return xt, yt, xv, yv


def class_cut(name: str, label: int = 3, keep: float = 0.05) -> Arrays:
    xt, yt, xv, yv = clean(name)
    rows = np.flatnonzero(yt == label)
    drop = rows[int(len(rows) * keep) :]
    kept = np.setdiff1d(np.arange(len(yt)), drop)
    return xt[kept], yt[kept], xv, yv


def with_nans(name: str, share: float = 0.03) -> Arrays:
    xt, yt, xv, yv = clean(name)
    xt = xt.copy()
    rng = np.random.default_rng(4)
    rows = rng.choice(len(xt), int(share * len(xt)), replace=False)
    xt[rows, rng.integers(0, xt.shape[1], len(rows))] = np.nan
    return xt, yt, xv, yv


def with_infinities(name: str) -> Arrays:
    xt, yt, xv, yv = clean(name)
    xv = xv.copy()
    xv[:3, 1] = np.inf
    return xt, yt, xv, yv


def with_outliers(name: str, share: float = 0.03) -> Arrays:
    xt, yt, xv, yv = clean(name)
    xt = xt.copy()
    rows = np.random.default_rng(5).choice(len(xt), int(share * len(xt)), replace=False)
    xt[rows, 2] = -999_999.0  # a sentinel
    return xt, yt, xv, yv


def split_by_feature(name: str, column: int = 0, val: float = 0.25) -> Arrays:
    """Validation = the rows with the largest values of one feature (a split by time, say)."""
    x, y = dataset(name)
    order = np.argsort(x[:, column], kind="stable")
    cut = int(len(x) * (1 - val))
    t, v = np.sort(order[:cut]), np.sort(order[cut:])
    return x[t], y[t], x[v], y[v]


def unseen_class(name: str, label: int = 2) -> Arrays:
    xt, yt, xv, yv = clean(name)
    keep = yt != label
    return xt[keep], yt[keep], xv, yv


FAULTS = {
    "leaked": leaked,
    "repeated": repeated,
    "flipped": flipped,
    "one_column_scaled": one_column_scaled,
    "class_cut": class_cut,
    "with_nans": with_nans,
    "with_infinities": with_infinities,
    "with_outliers": with_outliers,
    "split_by_feature": split_by_feature,
    "unseen_class": unseen_class,
}


# --- files --------------------------------------------------------------------------------


def save_npz(path: Path, arrays: Arrays, names: tuple[str, str, str, str] | None = None) -> Path:
    names = names or ("x_train", "y_train", "x_val", "y_val")
    np.savez(path, **dict(zip(names, arrays, strict=True)))
    return path


def table(x: np.ndarray, y: np.ndarray, label: str = "label") -> pa.Table:
    columns = {f"f{j}": x[:, j] for j in range(x.shape[1])}
    columns[label] = y
    return pa.table(columns)


def split_table(
    arrays: Arrays,
    column: str = "split",
    values: tuple[str, str] = ("train", "val"),
    label: str = "label",
) -> pa.Table:
    xt, yt, xv, yv = arrays
    both = pa.concat_tables([table(xt, yt, label), table(xv, yv, label)])
    names = [values[0]] * len(yt) + [values[1]] * len(yv)
    return both.append_column(column, pa.array(names))


def write_table(path: Path, data: pa.Table) -> Path:
    if path.suffix == ".parquet":
        pq.write_table(data, path)
    else:
        pv.write_csv(data, path)
    return path


def digit_image(pixels: np.ndarray, side: int = 32) -> Image.Image:
    """An 8x8 digit (values 0..16) as a gray image, upscaled."""
    return Image.fromarray((pixels * 255 / 16).astype(np.uint8)).resize(
        (side, side), Image.Resampling.BILINEAR
    )


def near_copy(image: Image.Image, rng: np.random.Generator, kind: str) -> Image.Image:
    """A slightly changed copy: "noise" (Gaussian, sigma 6) or "brighter" (+12 and sigma 2)."""
    pixels = np.asarray(image).astype(np.float64)
    if kind == "noise":
        pixels = pixels + rng.normal(0, 6, pixels.shape)
    else:
        pixels = pixels + 12 + rng.normal(0, 2, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8))


def digits_folder(root: Path, *, leaked: int = 0, repeated: int = 0, side: int = 32) -> Path:
    """train/<digit>/*.png and val/<digit>/*.png from the digits data set; ``leaked`` near
    copies of training images put into val, ``repeated`` into train."""
    images, labels = sk.load_digits(return_X_y=True)
    images = images.reshape(-1, 8, 8)
    xt, _, xv, _ = stratified_split(np.arange(len(labels)), labels)
    rng = np.random.default_rng(6)
    for split, rows in (("train", xt), ("val", xv)):
        for i in rows:
            path = root / split / str(labels[i]) / f"{i:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            digit_image(images[i], side).save(path)
    for split, count in (("val", leaked), ("train", repeated)):
        for k, i in enumerate(rng.choice(xt, count, replace=False)):
            kind = "noise" if k % 2 else "brighter"
            path = root / split / str(labels[i]) / f"copy{k:03d}_of_{i:04d}.png"
            near_copy(digit_image(images[i], side), rng, kind).save(path)
    return root


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
