"""Reading an MLflow sweep: overfitlint's readers against the floor, side by side.

    python benchmarks/bench_trackers.py [--runs 1000] [--epochs 100] [--repeat 5] [--client 50]

Prints, per store, the best wall-clock and CPU time of each side (the CPU time is steadier on
a shared machine). Writes, in a temporary folder, one MLflow experiment of RUNS runs x EPOCHS epochs
(train_loss, val_loss, epoch per epoch; three params and MLflow's own tags per run) twice:
as a SQLite store (the schema made by MLflow itself, the rows inserted in bulk) and as a
file store (the layout MLflow writes, from a run it wrote as the template). Then times,
interleaved, best of REPEAT:

- the SQLite floor: one SQL query of all metric rows into numpy arrays;
- ``load_tracker(mlflow.db)``: runs, params, tags and metrics into a Sweep with curves;
- the file floor: every metric file read and parsed with numpy (``np.fromstring``);
- ``load_tracker(mlruns/)``: the same Sweep from the file store;
- with ``--client N``: MLflow's own client (search_runs + get_metric_history) on the
  first N runs of each store, scaled to RUNS, to show why the stores are read by hand.

The goal: each reader costs at most 2x its floor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from overfitlint.loaders.trackers import load_tracker  # noqa: E402

METRICS = ("train_loss", "val_loss", "epoch")


def _curves(index: int, epochs: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(index)
    e = np.arange(epochs, dtype=float)
    bend = 10 + index % 40
    return {
        "train_loss": np.round(1.2 * np.exp(-e / 12) + 0.02 + rng.normal(0, 0.004, epochs), 6),
        "val_loss": np.round(
            0.3
            + 0.9 * np.exp(-e / 8)
            + 0.004 * np.maximum(0, e - bend)
            + rng.normal(0, 0.004, epochs),
            6,
        ),
        "epoch": e,
    }


def _template(folder: Path) -> tuple[str, str]:
    """An experiment and one run written by MLflow itself: (SQLite URI, file store root)."""
    import mlflow

    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    db, files = folder / "mlflow.db", folder / "mlruns"
    for uri in (f"sqlite:///{db}", files.as_uri()):
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("bench")
        with mlflow.start_run(run_name="template"):
            mlflow.log_params({"dropout": 0.1, "lr": 0.001, "batch_size": 64})
            mlflow.log_metrics({"train_loss": 1.0, "val_loss": 1.0, "epoch": 0}, step=0)
    mlflow.set_tracking_uri(None)
    return str(db), str(files)


def write_sqlite(db: Path, runs: int, epochs: int) -> None:
    with sqlite3.connect(db) as con:
        exp_id, template = con.execute(
            "SELECT experiment_id, run_uuid FROM runs LIMIT 1"
        ).fetchone()
        run_row = con.execute("SELECT * FROM runs WHERE run_uuid = ?", (template,)).fetchone()
        columns = [c[1] for c in con.execute("PRAGMA table_info(runs)")]
        tags = con.execute("SELECT key, value FROM tags WHERE run_uuid = ?", (template,)).fetchall()
        con.execute("DELETE FROM metrics")
        con.execute("DELETE FROM latest_metrics")
        con.execute("DELETE FROM params")
        con.execute("DELETE FROM tags")
        con.execute("DELETE FROM runs")
        now = 1_700_000_000_000
        for index in range(runs):
            run_id = uuid.uuid4().hex
            row = dict(zip(columns, run_row, strict=True))
            row.update(run_uuid=run_id, name=f"run-{index}", experiment_id=exp_id)
            con.execute(
                f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [row[c] for c in columns],
            )
            con.executemany(
                "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                [
                    ("dropout", str(0.05 * (index % 10)), run_id),
                    ("lr", "0.001", run_id),
                    ("batch_size", "64", run_id),
                ],
            )
            con.executemany(
                "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                [(k, v if k != "mlflow.runName" else f"run-{index}", run_id) for k, v in tags],
            )
            curves = _curves(index, epochs)
            con.executemany(
                "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                "VALUES (?, ?, ?, ?, ?, 0)",
                [
                    (key, float(curves[key][e]), now + e, run_id, e)
                    for e in range(epochs)
                    for key in METRICS
                ],
            )


def write_files(root: Path, runs: int, epochs: int) -> None:
    experiment = next(p for p in root.iterdir() if p.is_dir() and p.name not in ("0", ".trash"))
    template = next(p for p in experiment.iterdir() if p.is_dir())
    meta = (template / "meta.yaml").read_text()
    for index in range(runs):
        run_id = uuid.uuid4().hex
        folder = experiment / run_id
        shutil.copytree(template / "tags", folder / "tags")
        (folder / "tags" / "mlflow.runName").write_text(f"run-{index}")
        (folder / "artifacts").mkdir()
        (folder / "meta.yaml").write_text(
            meta.replace(template.name, run_id).replace(
                "run_name: template", f"run_name: run-{index}"
            )
        )
        (folder / "params").mkdir()
        for key, value in (("dropout", 0.05 * (index % 10)), ("lr", 0.001), ("batch_size", 64)):
            (folder / "params" / key).write_text(str(value))
        (folder / "metrics").mkdir()
        curves = _curves(index, epochs)
        for key in METRICS:
            lines = "".join(
                f"{1_700_000_000_000 + e} {float(curves[key][e])!r} {e}\n" for e in range(epochs)
            )
            (folder / "metrics" / key).write_text(lines)
    shutil.rmtree(template)


def sqlite_floor(db: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT run_uuid, key, step, value FROM metrics").fetchall()
    uuids, keys, steps, values = zip(*rows, strict=True)
    arrays = (
        np.asarray(uuids, dtype=object),
        np.asarray(keys, dtype=object),
        np.asarray(steps, dtype=np.float64),
        np.asarray(values, dtype=np.float64),
    )
    return int(arrays[3].size)


def files_floor(root: str) -> int:
    count = 0
    for path in Path(root).glob("*/*/metrics/*"):
        count += np.fromstring(path.read_text().strip(), sep=" ").size // 3
    return count


def reader(source: str) -> int:
    sweep = load_tracker(source)
    return sum(len(s) for run in sweep.runs for s in run.curves.series.values())


def mlflow_client(uri: str, limit: int) -> int:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("bench")
    runs = client.search_runs([exp.experiment_id], max_results=limit)
    return sum(
        len(client.get_metric_history(run.info.run_id, key)) for run in runs for key in METRICS
    )


def _timed(fn, arg) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(arg)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--client",
        type=int,
        default=0,
        metavar="N",
        help="also time MLflow's client on N runs of each store",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, files = _template(Path(tmp))
        write_sqlite(Path(db), args.runs, args.epochs)
        write_files(Path(files), args.runs, args.epochs)
        print(
            f"{args.runs} runs x {args.epochs} epochs x {len(METRICS)} metrics, best of "
            f"{args.repeat}"
        )
        for name, floor, source in (
            ("SQLite store", sqlite_floor, db),
            ("file store", files_floor, files),
        ):
            floors, readers = [], []
            for _ in range(args.repeat):  # interleaved, so both see the same machine
                floors.append(_timed(floor, source))
                readers.append(_timed(reader, source))
            points = floors[0][2]
            assert readers[0][2] == points - args.runs * args.epochs  # "epoch" became the x
            wall = [min(t[0] for t in floors), min(t[0] for t in readers)]
            cpu = [min(t[1] for t in floors), min(t[1] for t in readers)]
            print(
                f"{name:13s} floor {wall[0] * 1000:7.0f} ms wall {cpu[0] * 1000:7.0f} ms CPU | "
                f"overfitlint {wall[1] * 1000:7.0f} ms wall {cpu[1] * 1000:7.0f} ms CPU | "
                f"ratio {wall[1] / wall[0]:.2f}x wall {cpu[1] / cpu[0]:.2f}x CPU"
            )
        if args.client:
            uris = {"SQLite store": f"sqlite:///{db}", "file store": Path(files).as_uri()}
            for name, uri in uris.items():
                seconds, _, _ = _timed(lambda u: mlflow_client(u, args.client), uri)
                scaled = seconds * args.runs / args.client
                print(
                    f"{name:13s} MLflow's client: {seconds:.2f} s for {args.client} runs, "
                    f"~{scaled:.1f} s for {args.runs}"
                )


if __name__ == "__main__":
    main()
