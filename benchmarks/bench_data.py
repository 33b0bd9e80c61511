"""The data checks against the time it takes just to read the data, each in a fresh process.

    python benchmarks/bench_data.py [--rows 1000000] [--columns 50] [--images 20000]
                                    [--repeat 3] [--keep DIR]

Generates, in a temporary folder (nothing is committed):

- a Parquet table of ``--rows`` x ``--columns`` float64 features, an integer label (10
  classes) and a split column (80% train, 20% val), with 1% of the validation rows copied
  from training;
- an ImageFolder tree of ``--images`` 32x32 gray PNGs (train/<class>/*.png, val/...).

Table: the floor is ``pyarrow.parquet.read_table`` + ``to_numpy()`` of every column; the
check is ``overfitlint check --data FILE --ignore OFL505`` (reading, exact and rounded row
hashes, scales, quality, shift, balance, the rules; label noise excluded). Images: the floor
reads every file's bytes; the check decodes, hashes (pixel hash and perceptual hash) and
measures them. Runs alternate (floor, check, floor, check...); each figure is the median of
``--repeat`` runs: wall seconds and the process's peak resident memory (``wait4``). The goal:
the table check within 3x its floor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 3.0

TABLE_FLOOR = """
import sys
import pyarrow.parquet as pq
table = pq.read_table(sys.argv[1])
arrays = [column.to_numpy() for column in table.columns]
"""

IMAGE_FLOOR = """
import os, sys
total = 0
for dirpath, _, files in os.walk(sys.argv[1]):
    for name in files:
        with open(os.path.join(dirpath, name), "rb") as handle:
            total += len(handle.read())
"""


def write_table(path: Path, rows: int, columns: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, columns)) * rng.uniform(0.5, 2.0, columns)
    labels = rng.integers(0, 10, rows)
    split = np.where(rng.random(rows) < 0.8, "train", "val")
    val = np.flatnonzero(split == "val")
    train = np.flatnonzero(split == "train")
    leaked = rng.choice(val, len(val) // 100, replace=False)
    x[leaked] = x[rng.choice(train, len(leaked), replace=False)]
    table = pa.table(
        {
            **{f"f{j}": x[:, j] for j in range(columns)},
            "label": labels,
            "split": pa.array(split).dictionary_encode(),
        }
    )
    pq.write_table(table, path, row_group_size=128 * 1024)


def write_images(root: Path, count: int) -> None:
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits, labels = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        k = i % len(labels)
        pixels = digits[k].reshape(8, 8) * 255 / 16
        image = Image.fromarray(pixels.astype(np.uint8)).resize((32, 32))
        noisy = np.asarray(image) + rng.integers(0, 24, (32, 32))
        split = "val" if i % 5 == 0 else "train"
        path = root / split / str(labels[k]) / f"{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path)


def run(command: list[str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak resident MiB) of one fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()}")
    process.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def compare(name: str, floor: list[str], check: list[str], repeat: int, what: str) -> float:
    run(floor)  # warm the page cache and the imports
    run(check)
    floors, checks = [], []
    for _ in range(repeat):
        floors.append(run(floor))
        checks.append(run(check))
    ratios = [c[0] / f[0] for f, c in zip(floors, checks, strict=True)]
    print(
        f"{name}: wall s, CPU s, peak MiB (medians); the check's wall time over the floor's, "
        "pair by pair"
    )
    for label, runs in (("floor", floors), ("check", checks)):
        wall, cpu, peak = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"  {label}  {wall:7.2f} s  {cpu:7.2f} s  {peak:7.0f} MiB")
    ratio = statistics.median(ratios)
    print(f"  ratio  {ratio:.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f}); floor: {what}")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the data here and keep it")
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        write_table(
            args.write / f"table_{args.rows}x{args.columns}.parquet", args.rows, args.columns
        )
        write_images(args.write / f"images_{args.images}", args.images)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        table = folder / f"table_{args.rows}x{args.columns}.parquet"
        images = folder / f"images_{args.images}"
        # written by a child process, so that this one stays small: a process started from
        # it would otherwise count its memory in its own peak
        if not table.exists() or not images.exists():
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--write",
                    str(folder),
                    "--rows",
                    str(args.rows),
                    "--columns",
                    str(args.columns),
                    "--images",
                    str(args.images),
                ],
                check=True,
            )
        python = sys.executable
        check = [
            python,
            "-m",
            "overfitlint",
            "check",
            "--no-report",
            "--ignore",
            "OFL505",
            "--data",
        ]
        print(
            f"{args.rows:,} x {args.columns} Parquet ({table.stat().st_size / 2**20:.0f} MiB), "
            f"{args.images:,} PNGs; median of {args.repeat} runs each, fresh processes"
        )
        ratio = compare(
            "table",
            [python, "-c", TABLE_FLOOR, str(table)],
            [*check, str(table)],
            args.repeat,
            "pyarrow.parquet.read_table + to_numpy",
        )
        compare(
            "images",
            [python, "-c", IMAGE_FLOOR, str(images)],
            [*check, str(images)],
            args.repeat,
            "read every file's bytes",
        )
    if ratio > GOAL:
        print(f"table check {ratio:.2f}x its floor: over the {GOAL:g}x goal")
        return 1
    print(f"table check within {GOAL:g}x its floor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
