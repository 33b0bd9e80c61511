"""Images: folders in the ImageFolder layout (``train/<class>/*.png``) and image arrays.

Each image becomes a signature: a hash of its decoded pixels (exact copies), a DCT perceptual
hash (near copies), its per-channel pixel moments (scale) and an 8x8 gray thumbnail (the
features of the distribution and label-noise measurements). Only signatures are kept, so
memory does not grow with the image size. Pillow decodes with its decompression-bomb limit set
to the budget and every file's size is checked before it is read.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from overfitlint.data.arrays import DataArrays, SplitArrays
from overfitlint.data.budget import DataBudget, Deadline
from overfitlint.data.hashing import (
    PHASH_SIDE,
    gray_thumbnails,
    perceptual_hashes,
    row_hashes,
)
from overfitlint.data.progress import Progress
from overfitlint.errors import InputError

THUMB_SIDE = 8
IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
)
TRAIN_DIRS = ("train", "training")
VAL_DIRS = ("val", "valid", "validation", "dev", "eval")
TEST_DIRS = ("test", "testing")
_BATCH = 256
OVER_PIXELS = "over the pixel budget"
_ARRAY_BATCH = 4096


def channel_names(channels: int) -> tuple[str, ...]:
    return {1: ("gray",), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}.get(
        channels, tuple(f"c{i}" for i in range(channels))
    )


def is_image_file(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
    except OSError:
        return False
    return head.startswith(IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def to_channels_last(x: np.ndarray, source: Path | str) -> np.ndarray:
    """(n, h, w), (n, h, w, c) or (n, c, h, w) -> (n, h, w, c), a view where it can be."""
    if x.ndim == 3:
        return x[..., None]
    if x.ndim == 4 and x.shape[3] in (1, 3, 4):
        return x
    if x.ndim == 4 and x.shape[1] in (1, 3, 4):
        return np.moveaxis(x, 1, 3)
    raise InputError(
        f"{source}: samples of shape {list(x.shape[1:])} are neither feature vectors nor images "
        "(h, w[, channels] or channels, h, w with 1, 3 or 4 channels)"
    )


def image_signatures(
    images: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(exact hashes, perceptual hashes, thumbnails (n, 64), channel moments (n, c, 4)) of an
    (n, h, w, c) array, a batch at a time."""
    count, channels = len(images), images.shape[3]
    exact = np.empty(count, dtype=np.uint64)
    phash = np.empty(count, dtype=np.uint64)
    thumbs = np.empty((count, THUMB_SIDE * THUMB_SIDE), dtype=np.float64, order="F")
    moments = np.empty((count, channels, 4), dtype=np.float64)
    for start in range(0, count, _ARRAY_BATCH):
        batch = images[start : start + _ARRAY_BATCH]
        flat = batch.reshape(len(batch), -1)
        exact[start : start + len(batch)] = row_hashes(flat)
        gray = gray_thumbnails(batch, PHASH_SIDE)
        phash[start : start + len(batch)] = perceptual_hashes(gray)
        thumbs[start : start + len(batch)] = gray_thumbnails(gray, THUMB_SIDE).reshape(
            len(batch), -1
        )
        moments[start : start + len(batch)] = pixel_moments(batch.reshape(len(batch), -1, channels))
    return exact, phash, thumbs, moments


def pixel_moments(pixels: np.ndarray) -> np.ndarray:
    """(images, pixels, channels) -> (images, channels, 4): mean, mean of squares, min, max."""
    values = pixels.astype(np.float64)
    return np.stack(
        [
            values.mean(axis=1),
            np.square(values).mean(axis=1),
            values.min(axis=1),
            values.max(axis=1),
        ],
        axis=2,
    )


def raw_pixel_values(images: np.ndarray) -> bool:
    """Integer pixel values within 0..255 that reach above 1 (not scaled to 0..1)."""
    if images.dtype == np.uint8:
        return bool(images.max(initial=0) > 1)
    sample = images[:256]
    finite = sample[np.isfinite(sample)] if sample.dtype.kind == "f" else sample
    return bool(
        finite.size
        and finite.min() >= 0
        and 1 < finite.max() <= 255
        and np.all(finite == np.round(finite))
    )


# --- folders -------------------------------------------------------------------------------


def split_folders(root: Path) -> dict[str, Path] | None:
    """{"train": ..., "val": ...} for ``root/train`` and ``root/val`` (or ``test``)."""
    found = {}
    for role, names in (("train", TRAIN_DIRS), ("val", VAL_DIRS), ("test", TEST_DIRS)):
        for name in names:
            candidate = root / name
            if candidate.is_dir() and not candidate.is_symlink():
                found[role] = candidate
                break
    if "train" not in found or not ({"val", "test"} & set(found)):
        return None
    return found


def class_folders(split: Path) -> list[Path]:
    return sorted(
        (p for p in split.iterdir() if p.is_dir() and not p.is_symlink()),
        key=lambda p: p.name,
    )


def looks_like_class_folders(split: Path) -> bool:
    for folder in class_folders(split)[:3]:
        for path in sorted(folder.iterdir())[:5]:
            if path.is_file() and is_image_file(path):
                return True
    return False


@dataclass
class _FolderScan:
    files: list[tuple[Path, str, int]] = field(default_factory=list)
    """(path, class name, its size in bytes)."""
    links: int = 0
    not_images: int = 0
    too_large: int = 0


def _scan(split: Path, budget: DataBudget) -> _FolderScan:
    scan = _FolderScan()
    for folder in class_folders(split):
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if path.is_symlink():
                    scan.links += 1
                    continue
                if not is_image_file(path):
                    scan.not_images += 1
                    continue
                size = path.stat().st_size
                if size > budget.max_image_bytes:
                    scan.too_large += 1
                    continue
                scan.files.append((path, folder.name, size))
    return scan


@dataclass
class _Decoded:
    pixel_hash: int
    gray: np.ndarray
    moments: np.ndarray


class _Skipped(Exception):
    pass


def _decoder(mode: str, max_pixels: int) -> Callable[[bytes], _Decoded]:
    from PIL import Image

    def decode(data: bytes) -> _Decoded:
        try:
            with Image.open(io.BytesIO(data)) as opened:
                if opened.width * opened.height > max_pixels:
                    raise _Skipped(OVER_PIXELS)
                image = opened.convert(mode)
        except Image.DecompressionBombError:
            raise _Skipped(OVER_PIXELS) from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise _Skipped(type(exc).__name__) from None
        pixels = image.tobytes()
        digest = hashlib.blake2b(digest_size=8)
        digest.update(f"{mode}:{image.width}x{image.height}:".encode())
        digest.update(pixels)
        gray = image if mode == "L" else image.convert("L")
        small = np.asarray(gray.resize((PHASH_SIDE, PHASH_SIDE), Image.Resampling.BOX))
        values = np.frombuffer(pixels, dtype=np.uint8).reshape(1, -1, len(mode))
        moments = pixel_moments(values)[0]
        return _Decoded(int.from_bytes(digest.digest(), "little"), small, moments)

    return decode


def guess_mode(getters: list[Callable[[], bytes]]) -> str:
    """ "L" when the first readable images are gray, else "RGB" (every image is converted)."""
    from PIL import Image

    for get in getters[:20]:
        try:
            with Image.open(io.BytesIO(get())) as image:
                return "L" if image.mode in ("1", "L", "LA", "I", "I;16", "F") else "RGB"
        except (OSError, SyntaxError, ValueError):
            continue
    return "RGB"


def decode_all(
    items: list[tuple[str, Callable[[], bytes]]],
    mode: str,
    budget: DataBudget,
    deadline: Deadline,
    label: str,
    notes: list[str],
) -> tuple[list[int], list[_Decoded]]:
    """Decode ``items`` (name, bytes getter) on a few threads; (kept indices, decoded)."""
    from PIL import Image

    decode = _decoder(mode, budget.max_image_pixels)
    kept: list[int] = []
    decoded: list[_Decoded] = []
    skipped: dict[str, int] = {}
    progress = Progress(len(items), label)

    def work(batch: range) -> list[tuple[int, _Decoded | str]]:
        out: list[tuple[int, _Decoded | str]] = []
        for index in batch:
            try:
                out.append((index, decode(items[index][1]())))
            except _Skipped as exc:
                out.append((index, str(exc)))
            except OSError as exc:
                out.append((index, type(exc).__name__))
        return out

    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = budget.max_image_pixels
    stopped = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
                batches = [
                    range(s, min(s + _BATCH, len(items))) for s in range(0, len(items), _BATCH)
                ]
                for results in _ordered(pool, work, batches, deadline):
                    for index, result in results:
                        if isinstance(result, str):
                            skipped[result] = skipped.get(result, 0) + 1
                        else:
                            kept.append(index)
                            decoded.append(result)
                    progress.advance(len(results))
                stopped = progress.done < len(items)
    finally:
        Image.MAX_IMAGE_PIXELS = previous
        progress.close()
    if stopped:
        notes.append(
            f"{label}: time budget of {deadline.seconds:g} s reached after "
            f"{progress.done:,} of {len(items):,} images; the rest are not measured"
        )
    if skipped:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(skipped.items()))
        notes.append(f"{label}: {sum(skipped.values()):,} images could not be decoded ({reasons})")
    return kept, decoded


def _ordered(
    pool: ThreadPoolExecutor,
    work: Callable[[range], list],
    batches: list[range],
    deadline: Deadline,
) -> Iterator[list]:
    """Results in order, a few batches ahead; stops submitting once the deadline passed."""
    ahead = (os.cpu_count() or 1) * 2
    pending = [pool.submit(work, b) for b in batches[:ahead]]
    submitted = len(pending)
    while pending:
        yield pending.pop(0).result()
        if submitted < len(batches) and not deadline.passed():
            pending.append(pool.submit(work, batches[submitted]))
            submitted += 1


def signatures(decoded: list[_Decoded], channels: int) -> tuple[np.ndarray, ...]:
    count = len(decoded)
    if count == 0:
        return (
            np.zeros(0, dtype=np.uint64),
            np.zeros(0, dtype=np.uint64),
            np.zeros((0, THUMB_SIDE * THUMB_SIDE)),
            np.zeros((0, channels, 4)),
        )
    exact = np.fromiter((d.pixel_hash for d in decoded), dtype=np.uint64, count=count)
    gray = np.stack([d.gray for d in decoded]).astype(np.float64)
    phash = perceptual_hashes(gray)
    thumbs = np.asfortranarray(gray_thumbnails(gray, THUMB_SIDE).reshape(count, -1))
    moments = np.stack([d.moments for d in decoded])
    return exact, phash, thumbs, moments


def even_sample(count: int, cap: int) -> np.ndarray:
    if count <= cap:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, cap).round().astype(np.int64))


def image_split(
    items: list[tuple[str, Callable[[], bytes]]],
    labels: np.ndarray,
    mode: str,
    budget: DataBudget,
    deadline: Deadline,
    title: str,
    notes: list[str],
) -> SplitArrays:
    """Decode one split's images (name, bytes getter) into their signatures."""
    kept, decoded = decode_all(items, mode, budget, deadline, title, notes)
    if not kept:
        raise InputError(f"{title}: none of the {len(items):,} images could be decoded")
    exact, phash, thumbs, moments = signatures(decoded, len(mode))
    ids = np.array([items[i][0] for i in kept], dtype=object)
    return SplitArrays(thumbs, labels[np.asarray(kept)], ids, exact, phash, moments)


def image_arrays(train: SplitArrays, val: SplitArrays, mode: str) -> DataArrays:
    return DataArrays(
        train,
        val,
        categorical=np.zeros(THUMB_SIDE * THUMB_SIDE, dtype=bool),
        channel_names=channel_names(len(mode)),
        pixel_dtype="uint8",
        raw_pixels=True,
    )


THUMB_FEATURES = [f"thumb[{r},{c}]" for r in range(THUMB_SIDE) for c in range(THUMB_SIDE)]


def read_image_folders(
    folders: dict[str, Path], budget: DataBudget, deadline: Deadline, notes: list[str]
) -> tuple[DataArrays, list[str], dict[str, int]]:
    """Train and val folders of class folders -> (arrays, classes, images per split)."""
    scans = {}
    for role in ("train", "val"):
        scan = _scan(folders[role], budget)
        if scan.links:
            notes.append(f"{folders[role]}: {scan.links} symbolic links not followed")
        if scan.not_images:
            notes.append(f"{folders[role]}: {scan.not_images} files that are not images skipped")
        if scan.too_large:
            notes.append(
                f"{folders[role]}: {scan.too_large} images over {budget.max_image_bytes:,} "
                "bytes skipped"
            )
        if not scan.files:
            raise InputError(f"{folders[role]}: no images in class folders ({role} split)")
        scans[role] = scan
    mode = guess_mode([path.read_bytes for path, _, _ in scans["train"].files])
    classes = sorted({name for scan in scans.values() for _, name, _ in scan.files})
    index = {name: i for i, name in enumerate(classes)}
    splits = {}
    source_rows = {}
    for role, scan in scans.items():
        chosen = even_sample(len(scan.files), budget.max_images)
        if len(chosen) < len(scan.files):
            notes.append(
                f"{folders[role]}: measured {len(chosen):,} of {len(scan.files):,} images, "
                f"evenly spread (image cap {budget.max_images:,})"
            )
        files = [scan.files[i] for i in chosen]
        base = folders[role].parent
        items = [(str(path.relative_to(base)), path.read_bytes) for path, _, _ in files]
        labels = np.array([index[name] for _, name, _ in files], dtype=np.int64)
        title = f"{folders[role]} ({role})"
        splits[role] = image_split(items, labels, mode, budget, deadline, title, notes)
        source_rows[role] = len(scan.files)
    return image_arrays(splits["train"], splits["val"], mode), classes, source_rows
