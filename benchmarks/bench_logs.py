"""How fast big logs load, against the time it takes just to read them.

    python benchmarks/bench_logs.py [--rows 1000000] [--tensorboard-mb 200] [--keep DIR]

Generates, in a temporary folder (nothing is committed):

- a Keras-CSVLogger-style CSV with ``--rows`` rows (epoch, accuracy, loss,
  learning_rate, val_accuracy, val_loss), and
- a TensorBoard run folder of about ``--tensorboard-mb`` MB laid out like a real
  long run: two event files (a restart), per-step training loss and learning
  rate, per-epoch validation scalars, weight histograms and image summaries
  (which make up most of the bytes, as they do in real runs).

For each it times reading the bytes (``Path.read_bytes``, warm page cache), a
minimal parse (CSV: ``csv.reader`` over all rows; TensorBoard: walking the record
framing), and overfitlint's loader (``load_log``: format detection, parsing,
repairs, pairing). Every time is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import csv
import io
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from overfitlint import api  # noqa: E402
from overfitlint.formats import masked_crc  # noqa: E402
from overfitlint.loaders.logs.tensorboard import _crc32c_function  # noqa: E402


def best_of(repeat: int, fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def write_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    epoch = np.arange(rows)
    loss = 1.0 / np.sqrt(epoch + 1) + 0.01 * rng.random(rows)
    val = loss * 1.2 + 0.01 * rng.random(rows)
    with path.open("w") as handle:
        handle.write("epoch,accuracy,learning_rate,loss,val_accuracy,val_loss\n")
        block = 100_000
        for start in range(0, rows, block):
            end = min(rows, start + block)
            lines = [
                f"{e},{a:.6f},0.001,{b:.6f},{c:.6f},{d:.6f}"
                for e, a, b, c, d in zip(
                    epoch[start:end].tolist(),
                    (1 - loss[start:end]).tolist(),
                    loss[start:end].tolist(),
                    (1 - val[start:end]).tolist(),
                    val[start:end].tolist(),
                    strict=True,
                )
            ]
            handle.write("\n".join(lines) + "\n")


def write_tensorboard(folder: Path, megabytes: int) -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2

    crc = _crc32c_function()
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    target = megabytes * 1_000_000
    steps_per_epoch = 1000
    epochs = 300
    image = rng.integers(0, 256, 600_000, dtype=np.uint8).tobytes()
    buckets = 500

    def record(handle, event) -> int:
        payload = event.SerializeToString()
        header = struct.pack("<Q", len(payload))
        handle.write(header)
        handle.write(struct.pack("<I", masked_crc(header, crc)))
        handle.write(payload)
        handle.write(struct.pack("<I", masked_crc(payload, crc)))
        return len(payload) + 16

    written = 0
    for part, (first, last) in enumerate(((0, epochs // 2 + 5), (epochs // 2, epochs))):
        path = folder / f"events.out.tfevents.{1700000000 + part}.host.{part}.v2"
        with path.open("wb") as handle:
            written += record(handle, event_pb2.Event(wall_time=1.0, file_version="brain.Event:2"))
            for epoch in range(first, last):
                for step in range(epoch * steps_per_epoch, (epoch + 1) * steps_per_epoch, 10):
                    value = summary_pb2.Summary.Value(tag="train/loss", simple_value=1 / (1 + step))
                    summary = summary_pb2.Summary(value=[value])
                    written += record(handle, event_pb2.Event(step=step, summary=summary))
                step = (epoch + 1) * steps_per_epoch
                values = [
                    summary_pb2.Summary.Value(tag="val/loss", simple_value=1 / (1 + epoch)),
                    summary_pb2.Summary.Value(tag="epoch", simple_value=float(epoch)),
                    summary_pb2.Summary.Value(tag="train/lr", simple_value=0.001),
                ]
                written += record(
                    handle, event_pb2.Event(step=step, summary=summary_pb2.Summary(value=values))
                )
                for layer in range(6):
                    histogram = summary_pb2.HistogramProto(
                        min=-1,
                        max=1,
                        num=1000,
                        sum=0,
                        sum_squares=1,
                        bucket_limit=np.linspace(-1, 1, buckets).tolist(),
                        bucket=rng.random(buckets).tolist(),
                    )
                    value = summary_pb2.Summary.Value(tag=f"weights/layer{layer}", histo=histogram)
                    written += record(
                        handle,
                        event_pb2.Event(step=step, summary=summary_pb2.Summary(value=[value])),
                    )
                if written < target:
                    picture = summary_pb2.Summary.Image(
                        height=300, width=250, colorspace=4, encoded_image_string=image
                    )
                    value = summary_pb2.Summary.Value(tag="samples", image=picture)
                    written += record(
                        handle,
                        event_pb2.Event(step=step, summary=summary_pb2.Summary(value=[value])),
                    )


def minimal_csv(path: Path) -> int:
    text = path.read_bytes().decode("utf-8")
    return sum(1 for _ in csv.reader(io.StringIO(text, newline="")))


def minimal_records(folder: Path) -> int:
    count = 0
    for file in sorted(folder.glob("events.out.tfevents.*")):
        data = file.read_bytes()
        position = 0
        while position + 12 <= len(data):
            (length,) = struct.unpack_from("<Q", data, position)
            position += 16 + length
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tensorboard-mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the logs here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        where = args.keep or Path(temporary)
        where.mkdir(parents=True, exist_ok=True)
        log = where / "big.csv"
        runs = where / "tb"
        started = time.perf_counter()
        write_csv(log, args.rows)
        write_tensorboard(runs, args.tensorboard_mb)
        print(f"generated in {time.perf_counter() - started:.1f} s under {where}")
        files = sorted(runs.glob("events.out.tfevents.*"))
        size_tb = sum(f.stat().st_size for f in files)
        rows = [
            (
                "CSV",
                f"{args.rows:,} rows, {log.stat().st_size / 1e6:.0f} MB",
                [
                    ("read bytes", lambda: log.read_bytes()),
                    ("csv.reader, all rows", lambda: minimal_csv(log)),
                    ("overfitlint load_log", lambda: api.read_log(log)),
                ],
            ),
            (
                "TensorBoard",
                f"{len(files)} event files, {size_tb / 1e6:.0f} MB",
                [
                    ("read bytes", lambda: [f.read_bytes() for f in files]),
                    ("walk record framing", lambda: minimal_records(runs)),
                    ("overfitlint load_log", lambda: api.read_log(runs)),
                ],
            ),
        ]
        for kind, what, steps in rows:
            print(f"\n{kind}: {what}")
            base = None
            for name, fn in steps:
                seconds, result = best_of(args.repeat, fn)
                base = base or seconds
                print(
                    f"  {name:<24} {seconds:8.3f} s   x{seconds / base:6.1f} of reading the bytes"
                )
            curves = result
            points = sum(len(s) for s in curves.series.values())
            print(f"  -> {len(curves.series)} series, {points:,} points; notes: {curves.notes}")


if __name__ == "__main__":
    main()
