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
import multiprocessing
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
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
_BATCH = 512
_PARALLEL_FROM = 4096
"""Images from which decoding runs in worker processes (their start-up is then worth it)."""
_MAX_WORKERS = 8
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
    files: list[tuple[Path, str]] = field(default_factory=list)
    """(path, class name)."""
    links: int = 0
    too_large: int = 0


def _walk(folder: Path, scan: _FolderScan, label: str, budget: DataBudget) -> None:
    entries = sorted(os.scandir(folder), key=lambda e: e.name)
    for entry in entries:
        if entry.is_symlink():
            scan.links += 1
        elif entry.is_dir():
            _walk(Path(entry.path), scan, label, budget)
        elif entry.is_file():
            if entry.stat().st_size > budget.max_image_bytes:
                scan.too_large += 1
            else:
                scan.files.append((Path(entry.path), label))


def _scan(split: Path, budget: DataBudget) -> _FolderScan:
    scan = _FolderScan()
    for folder in class_folders(split):
        _walk(folder, scan, folder.name, budget)
    return scan


@dataclass
class DecodedBatch:
    """What a worker returns for a batch of images: the decoded ones' signatures."""

    kept: list[int]
    """Positions (in the batch) of the images decoded."""
    hashes: list[int]
    gray: bytes
    """The 32x32 gray reductions of the kept images, one after the other."""
    moments: np.ndarray
    """(kept, channels, 4): mean, mean of squares, min, max of the pixel values."""
    skipped: dict[str, int]


NOT_AN_IMAGE = "not images"
_LEVELS = np.arange(256, dtype=np.float64)


def _moments(histograms: list[list[int]], channels: int) -> np.ndarray:
    counts = np.asarray(histograms, dtype=np.float64).reshape(len(histograms), channels, 256)
    pixels = counts.sum(axis=2)
    present = counts > 0
    return np.stack(
        [
            counts @ _LEVELS / pixels,
            counts @ np.square(_LEVELS) / pixels,
            present.argmax(axis=2).astype(np.float64),
            255.0 - present[:, :, ::-1].argmax(axis=2),
        ],
        axis=2,
    )


def decode_batch(
    sources: list[str | bytes], mode: str, max_pixels: int, max_bytes: int
) -> DecodedBatch:
    """Decode images given as file paths or encoded bytes (a process-pool worker)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    batch = DecodedBatch([], [], b"", np.zeros((0, len(mode), 4)), {})
    grays, histograms = [], []
    for position, source in enumerate(sources):
        reason = None
        try:
            data = source if isinstance(source, bytes) else _read(source, max_bytes)
            if data is None:
                reason = f"over {max_bytes:,} bytes"
            elif not (data.startswith(IMAGE_MAGIC) or data[8:12] == b"WEBP"):
                reason = NOT_AN_IMAGE
            else:
                image = Image.open(io.BytesIO(data))
                if image.width * image.height > max_pixels:
                    reason = OVER_PIXELS
                elif image.mode == mode:
                    image.load()
                else:
                    image = image.convert(mode)
        except Image.DecompressionBombError:
            reason = OVER_PIXELS
        except (OSError, SyntaxError, ValueError) as exc:
            reason = type(exc).__name__
        if reason is not None:
            batch.skipped[reason] = batch.skipped.get(reason, 0) + 1
            continue
        digest = hashlib.blake2b(f"{mode}:{image.width}x{image.height}:".encode(), digest_size=8)
        digest.update(image.tobytes())
        gray = image if mode == "L" else image.convert("L")
        grays.append(gray.resize((PHASH_SIDE, PHASH_SIDE), Image.Resampling.BOX).tobytes())
        histograms.append(image.histogram())
        batch.kept.append(position)
        batch.hashes.append(int.from_bytes(digest.digest(), "little"))
    batch.gray = b"".join(grays)
    if histograms:
        batch.moments = _moments(histograms, len(mode))
    return batch


def _read(path: str, max_bytes: int) -> bytes | None:
    with open(path, "rb") as handle:
        data = handle.read(max_bytes + 1)
    return None if len(data) > max_bytes else data


def guess_mode(sources: list[str | bytes]) -> str:
    """ "L" when the first readable images are gray, else "RGB" (every image is converted)."""
    from PIL import Image

    for source in sources[:20]:
        try:
            data = source if isinstance(source, bytes) else Path(source).read_bytes()
            with Image.open(io.BytesIO(data)) as image:
                return "L" if image.mode in ("1", "L", "LA", "I", "I;16", "F") else "RGB"
        except (OSError, SyntaxError, ValueError):
            continue
    return "RGB"


@dataclass
class _Signatures:
    kept: list[int] = field(default_factory=list)
    hashes: list[int] = field(default_factory=list)
    gray: list[bytes] = field(default_factory=list)
    moments: list[np.ndarray] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, offset: int, batch: DecodedBatch) -> None:
        self.kept.extend(offset + k for k in batch.kept)
        self.hashes.extend(batch.hashes)
        self.gray.append(batch.gray)
        self.moments.append(batch.moments)
        for reason, count in batch.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count


def _decode_all(
    sources: list[str | bytes],
    mode: str,
    budget: DataBudget,
    deadline: Deadline,
    title: str,
    notes: list[str],
) -> _Signatures:
    """Every source decoded, in order: in worker processes when there are many (Pillow's
    Python layers hold the GIL), else here."""
    batches = [range(s, min(s + _BATCH, len(sources))) for s in range(0, len(sources), _BATCH)]
    signatures = _Signatures()
    progress = Progress(len(sources), title)
    args = (mode, budget.max_image_pixels, budget.max_image_bytes)
    workers = min(os.cpu_count() or 1, _MAX_WORKERS)
    try:
        if workers > 1 and len(sources) >= _PARALLEL_FROM:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                pending = []
                for batch in batches:
                    if deadline.passed():
                        break
                    pending.append(
                        (
                            batch.start,
                            pool.submit(decode_batch, sources[batch.start : batch.stop], *args),
                        )
                    )
                    if len(pending) >= 2 * workers:
                        start, future = pending.pop(0)
                        _collect(signatures, start, future.result(), progress)
                for start, future in pending:
                    _collect(signatures, start, future.result(), progress)
        else:
            for batch in batches:
                if deadline.passed():
                    break
                decoded = decode_batch(sources[batch.start : batch.stop], *args)
                _collect(signatures, batch.start, decoded, progress)
    finally:
        progress.close()
    if progress.done < len(sources):
        notes.append(
            f"{title}: time budget of {deadline.seconds:g} s reached after "
            f"{progress.done:,} of {len(sources):,} images; the rest are not measured"
        )
    skipped = dict(signatures.skipped)
    not_images = skipped.pop(NOT_AN_IMAGE, 0)
    if not_images:
        notes.append(f"{title}: {not_images:,} files that are not images skipped")
    if skipped:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(skipped.items()))
        notes.append(f"{title}: {sum(skipped.values()):,} images could not be decoded ({reasons})")
    return signatures


def _collect(signatures: _Signatures, start: int, batch: DecodedBatch, progress: Progress) -> None:
    signatures.add(start, batch)
    progress.advance(len(batch.kept) + sum(batch.skipped.values()))


def even_sample(count: int, cap: int) -> np.ndarray:
    if count <= cap:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, cap).round().astype(np.int64))


def image_split(
    names: list[str],
    sources: list[str | bytes],
    labels: np.ndarray,
    mode: str,
    budget: DataBudget,
    deadline: Deadline,
    title: str,
    notes: list[str],
) -> SplitArrays:
    """Decode one split's images (file paths or encoded bytes) into their signatures."""
    decoded = _decode_all(sources, mode, budget, deadline, title, notes)
    if not decoded.kept:
        raise InputError(f"{title}: none of its {len(sources):,} files could be decoded as images")
    count = len(decoded.kept)
    gray = np.frombuffer(b"".join(decoded.gray), dtype=np.uint8)
    gray = gray.reshape(count, PHASH_SIDE, PHASH_SIDE)
    thumbs = np.empty((count, THUMB_SIDE * THUMB_SIDE), dtype=np.float64, order="F")
    phash = np.empty(count, dtype=np.uint64)
    for start in range(0, count, _ARRAY_BATCH):  # float copies a batch at a time
        batch = gray[start : start + _ARRAY_BATCH].astype(np.float64)
        phash[start : start + len(batch)] = perceptual_hashes(batch)
        thumbs[start : start + len(batch)] = gray_thumbnails(batch, THUMB_SIDE).reshape(
            len(batch), -1
        )
    kept = np.asarray(decoded.kept)
    return SplitArrays(
        thumbs,
        labels[kept],
        np.array([names[i] for i in kept], dtype=object),
        np.array(decoded.hashes, dtype=np.uint64),
        phash,
        np.concatenate(decoded.moments),
    )


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
    """Train and val folders of class folders -> (arrays, classes, files per split)."""
    scans = {}
    for role in ("train", "val"):
        scan = _scan(folders[role], budget)
        if scan.links:
            notes.append(f"{folders[role]}: {scan.links} symbolic links not followed")
        if scan.too_large:
            notes.append(
                f"{folders[role]}: {scan.too_large} files over {budget.max_image_bytes:,} "
                "bytes skipped"
            )
        if not scan.files:
            raise InputError(f"{folders[role]}: no files in class folders ({role} split)")
        scans[role] = scan
    mode = guess_mode([str(path) for path, _ in scans["train"].files])
    classes = sorted({name for scan in scans.values() for _, name in scan.files})
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
        names = [str(path.relative_to(base)) for path, _ in files]
        labels = np.array([index[name] for _, name in files], dtype=np.int64)
        sources: list[str | bytes] = [str(path) for path, _ in files]
        title = f"{folders[role]} ({role})"
        splits[role] = image_split(names, sources, labels, mode, budget, deadline, title, notes)
        source_rows[role] = len(scan.files)
    return image_arrays(splits["train"], splits["val"], mode), classes, source_rows
