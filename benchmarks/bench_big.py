"""Big logs and big models against the cost of just reading their bytes (issue #17).

    python benchmarks/bench_big.py [--runs 3] [--work DIR] [--skip-10m]

Generates its inputs once under ``--work`` (default: ``overfitlint-bench-big`` in the system's
temporary folder, outside any repository, so that no config file is found; about 0.8 GB with
the 10M-row log, and a sparse 4 GB external-data file that takes no disk). Each command is
then run in a fresh process started in that folder, in turn with the floor it is measured
against (A B A B ..., ``--runs`` pairs after one warm-up of each, so that a machine whose speed
drifts slows both), and printed with both medians (wall time; peak memory, the child's maximum
resident set from ``wait4``) and the median of the pairs' ratios:

- logs: ``overfitlint check LOG --no-probe`` in text (``--no-report``), JSON (``--format json
  --output F --no-report``) and HTML (``--report F``), on a Keras CSV of 1M rows, a TensorBoard
  run of 1M events, 1M JSON lines and a Lightning ``metrics.csv`` of 1M step rows, against
  ``pyarrow.csv.read_csv`` of the 1M-row CSV and ``to_numpy`` of its columns. Goal: 3x. The
  JSON lines also against ``pyarrow.json.read_json`` of themselves (they are twice the bytes).
- the 10M-row CSV in text against the same floor on it, and its cost per row against the 1M
  one. Goal: linear, memory bounded by the columns.
- ONNX: the static check (``--no-probe --no-report``) of a 113 MB model with its 28M parameters
  inline, and its loader alone, against ``onnx.load(f, load_external_data=False)``. Goal:
  half. And a model of 1B parameters in external data. Goal: under 1 s.
- start-up: ``overfitlint check small.csv --no-probe --no-report`` against ``python -c
  "import numpy"``. Goal: 2x.

The package is byte-compiled first (``compileall``), as an installed wheel is, so that no run
pays for compiling it (``PYTHONDONTWRITEBYTECODE`` may be set). The results also go to
``results.json`` in the work folder.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CHECK = [PYTHON, "-m", "overfitlint", "check"]
STEPS_PER_EPOCH = 1000
WORK: list[Path] = [ROOT]
"""The folder the commands run in (set from --work)."""


# -- inputs --------------------------------------------------------------------------------


def _curves(rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A run that overfits: the training loss keeps falling, validation turns up mid-way."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows, dtype=np.float64)
    loss = 1.0 / np.sqrt(1.0 + t / 50.0) + 0.01 * rng.random(rows)
    val = 1.2 / np.sqrt(1.0 + t / 50.0) + 0.3 * (t / rows) ** 2 + 0.02 * rng.random(rows)
    return {"loss": loss, "val_loss": val, "accuracy": 1 - loss / 2, "val_accuracy": 1 - val / 2}


def write_keras_csv(path: Path, rows: int) -> None:
    import pyarrow as pa
    import pyarrow.csv as arrow_csv

    curves = _curves(rows)
    table = pa.table(
        {
            "epoch": np.arange(rows),
            "accuracy": np.round(curves["accuracy"], 6),
            "loss": np.round(curves["loss"], 6),
            "val_accuracy": np.round(curves["val_accuracy"], 6),
            "val_loss": np.round(curves["val_loss"], 6),
        }
    )
    arrow_csv.write_csv(table, path, arrow_csv.WriteOptions(quoting_style="none"))


def write_lightning_csv(folder: Path, steps: int) -> Path:
    """Lightning's CSVLogger: a row per logged step (train_loss_step), and per epoch a row
    with val_loss/val_acc and one with train_loss_epoch; hparams.yaml beside it."""
    import pyarrow as pa
    import pyarrow.csv as arrow_csv

    folder.mkdir(parents=True, exist_ok=True)
    epochs = steps // STEPS_PER_EPOCH
    curves = _curves(epochs, seed=1)
    step_loss = _curves(steps, seed=2)["loss"]
    step = np.arange(steps)
    epoch_of_step = step // STEPS_PER_EPOCH
    ends = (np.arange(epochs) + 1) * STEPS_PER_EPOCH - 1
    nan = np.full(steps, np.nan)
    per_step = {
        "epoch": epoch_of_step,
        "step": step,
        "train_loss_step": np.round(step_loss, 6),
        "train_loss_epoch": nan,
        "val_acc": nan,
        "val_loss": nan,
    }
    blank = np.full(epochs, np.nan)
    val_rows = {
        "epoch": np.arange(epochs),
        "step": ends,
        "train_loss_step": blank,
        "train_loss_epoch": blank,
        "val_acc": np.round(curves["val_accuracy"], 6),
        "val_loss": np.round(curves["val_loss"], 6),
    }
    train_rows = {**val_rows, "val_acc": blank, "val_loss": blank}
    train_rows["train_loss_epoch"] = np.round(curves["loss"], 6)
    # each epoch's validation and epoch rows follow its last step row
    order = np.argsort(np.concatenate([step * 3, ends * 3 + 1, ends * 3 + 2]), kind="stable")
    columns = {
        name: np.concatenate([per_step[name], val_rows[name], train_rows[name]])[order]
        for name in per_step
    }
    table = pa.table(
        {
            name: pa.array(values, mask=np.isnan(values))
            if values.dtype.kind == "f"
            else pa.array(values)
            for name, values in columns.items()
        }
    )
    path = folder / "metrics.csv"
    arrow_csv.write_csv(table, path, arrow_csv.WriteOptions(quoting_style="none"))
    (folder / "hparams.yaml").write_text("batch_size: 32\nlr: 0.001\nmax_epochs: 2000\n")
    return path


def write_json_lines(path: Path, rows: int) -> None:
    curves = _curves(rows, seed=3)
    with path.open("w") as handle:
        for start in range(0, rows, 100_000):
            end = min(rows, start + 100_000)
            handle.write(
                "".join(
                    f'{{"epoch": {e}, "loss": {a:.6f}, "val_loss": {b:.6f}, '
                    f'"val_accuracy": {c:.6f}}}\n'
                    for e, a, b, c in zip(
                        range(start, end),
                        curves["loss"][start:end].tolist(),
                        curves["val_loss"][start:end].tolist(),
                        curves["val_accuracy"][start:end].tolist(),
                        strict=True,
                    )
                )
            )


def write_tensorboard(folder: Path, events: int) -> None:
    """PyTorch SummaryWriter's layout: one scalar per event (simple_value), train/loss every
    step, val/loss and epoch every STEPS_PER_EPOCH steps; ``events`` events in all."""
    from tensorboard.compat.proto import event_pb2, summary_pb2

    from overfitlint.formats import masked_crc
    from overfitlint.loaders.logs.tensorboard import _crc32c_function

    crc = _crc32c_function()
    folder.mkdir(parents=True, exist_ok=True)
    per_epoch = STEPS_PER_EPOCH + 2
    epochs = events // per_epoch
    train = _curves(epochs * STEPS_PER_EPOCH, seed=4)["loss"].tolist()
    val = _curves(epochs, seed=5)["val_loss"].tolist()
    pack64, pack32 = struct.Struct("<Q").pack, struct.Struct("<I").pack
    value_type, summary_type, event_type = (
        summary_pb2.Summary.Value,
        summary_pb2.Summary,
        event_pb2.Event,
    )

    def framed(event) -> bytes:
        payload = event.SerializeToString()
        header = pack64(len(payload))
        return header + pack32(masked_crc(header, crc)) + payload + pack32(masked_crc(payload, crc))

    path = folder / "events.out.tfevents.1700000000.bench.1.0"
    with path.open("wb") as handle:
        handle.write(framed(event_type(wall_time=1.0, file_version="brain.Event:2")))
        for epoch in range(epochs):
            chunk = []
            for step in range(epoch * STEPS_PER_EPOCH, (epoch + 1) * STEPS_PER_EPOCH):
                value = value_type(tag="train/loss", simple_value=train[step])
                chunk.append(framed(event_type(step=step, summary=summary_type(value=[value]))))
            step = (epoch + 1) * STEPS_PER_EPOCH - 1
            for tag, number in (("val/loss", val[epoch]), ("epoch", float(epoch))):
                value = value_type(tag=tag, simple_value=number)
                chunk.append(framed(event_type(step=step, summary=summary_type(value=[value]))))
            handle.write(b"".join(chunk))


def write_onnx(path: Path, hidden: int, layers: int, external: bool) -> int:
    """An MLP of ``layers`` Linear + ReLU + Dropout blocks of width ``hidden``. Inline: the
    weights are random float32 in the file. External: every tensor points into one sparse
    data file (its bytes are never read, so they need not exist on disk)."""
    from onnx import TensorProto, helper

    nodes, initializers = [], []
    data = path.with_suffix(".weights")
    offset = 0
    rng = np.random.default_rng(0)
    previous = "input"
    for index in range(layers):
        weight, bias = f"w{index}", f"b{index}"
        for name, shape in ((weight, (hidden, hidden)), (bias, (hidden,))):
            if external:
                tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=shape)
                tensor.data_location = TensorProto.EXTERNAL
                size = int(np.prod(shape)) * 4
                for key, value in (("location", data.name), ("offset", offset), ("length", size)):
                    entry = tensor.external_data.add()
                    entry.key, entry.value = key, str(value)
                offset += size
            else:
                values = rng.standard_normal(shape, dtype=np.float32)
                tensor = helper.make_tensor(name, TensorProto.FLOAT, shape, values.tobytes(), True)
            initializers.append(tensor)
        nodes += [
            helper.make_node("MatMul", [previous, weight], [f"m{index}"], name=f"fc{index}"),
            helper.make_node("Add", [f"m{index}", bias], [f"a{index}"]),
            helper.make_node("Relu", [f"a{index}"], [f"r{index}"]),
            helper.make_node("Dropout", [f"r{index}"], [f"d{index}"], name=f"drop{index}"),
        ]
        previous = f"d{index}"
    graph = helper.make_graph(
        nodes,
        "bench",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", hidden])],
        [helper.make_tensor_value_info(previous, TensorProto.FLOAT, ["batch", hidden])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path.write_bytes(model.SerializeToString())
    if external:
        with data.open("wb") as handle:
            handle.truncate(offset)
    return layers * (hidden * hidden + hidden)


@dataclass(frozen=True)
class Inputs:
    csv_1m: Path
    csv_10m: Path | None
    lightning: Path
    json_lines: Path
    tensorboard: Path
    onnx_inline: Path
    onnx_external: Path
    small: Path


def make_inputs(work: Path, ten_million: bool) -> Inputs:
    work.mkdir(parents=True, exist_ok=True)
    inputs = Inputs(
        csv_1m=work / "keras-1m.csv",
        csv_10m=work / "keras-10m.csv" if ten_million else None,
        lightning=work / "lightning" / "metrics.csv",
        json_lines=work / "log-1m.jsonl",
        tensorboard=work / "tb-1m",
        onnx_inline=work / "mlp-115mb.onnx",
        onnx_external=work / "mlp-1b.onnx",
        small=work / "small.csv",
    )
    steps = [
        (inputs.csv_1m, lambda: write_keras_csv(inputs.csv_1m, 1_000_000)),
        (inputs.lightning, lambda: write_lightning_csv(inputs.lightning.parent, 1_000_000)),
        (inputs.json_lines, lambda: write_json_lines(inputs.json_lines, 1_000_000)),
        (inputs.tensorboard, lambda: write_tensorboard(inputs.tensorboard, 1_000_000)),
        (inputs.onnx_inline, lambda: write_onnx(inputs.onnx_inline, 1536, 12, external=False)),
        (inputs.onnx_external, lambda: write_onnx(inputs.onnx_external, 8192, 15, external=True)),
        (inputs.small, lambda: write_keras_csv(inputs.small, 30)),
    ]
    if inputs.csv_10m is not None:
        steps.append((inputs.csv_10m, lambda: write_keras_csv(inputs.csv_10m, 10_000_000)))
    for path, make in steps:
        if not path.exists():
            started = time.perf_counter()
            make()
            print(f"made {path.name} in {time.perf_counter() - started:.1f} s", flush=True)
    return inputs


# -- measuring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float

    def __str__(self) -> str:
        return f"{self.seconds:7.3f} s {self.peak_mb:7.0f} MB"


@dataclass(frozen=True)
class Compared:
    """A command against its floor, run in turn (A B A B ...) so that a machine whose speed
    drifts affects both: the medians, and the median of the pairs' ratios."""

    ours: Measured
    floor: Measured
    time_ratio: float
    memory_ratio: float

    def to_dict(self) -> dict[str, float]:
        return {
            "seconds": self.ours.seconds,
            "peak_mb": self.ours.peak_mb,
            "floor_seconds": self.floor.seconds,
            "floor_peak_mb": self.floor.peak_mb,
            "time_ratio": self.time_ratio,
            "memory_ratio": self.memory_ratio,
        }


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one fresh process (exit 0 or 1 expected)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=WORK[0], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    error = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({code}): {error[-500:]}")
    return elapsed, usage.ru_maxrss / 1024


def compare(command: list[str], floor: list[str], runs: int) -> Compared:
    """``command`` and ``floor`` in turn, ``runs`` times each after one warm-up of both."""
    run_once(command), run_once(floor)
    ours, base = [], []
    for _ in range(runs):
        ours.append(run_once(command))
        base.append(run_once(floor))
    median = statistics.median
    return Compared(
        Measured(median(t for t, _ in ours), median(m for _, m in ours)),
        Measured(median(t for t, _ in base), median(m for _, m in base)),
        median(a[0] / b[0] for a, b in zip(ours, base, strict=True)),
        median(a[1] / b[1] for a, b in zip(ours, base, strict=True)),
    )


def python_code(code: str) -> list[str]:
    return [PYTHON, "-c", code]


ARROW_FLOOR = (
    "import sys, pyarrow.csv; t = pyarrow.csv.read_csv(sys.argv[1]); "
    "[c.to_numpy() for c in t.columns]"
)
ARROW_JSON_FLOOR = (
    "import sys, pyarrow.json; t = pyarrow.json.read_json(sys.argv[1]); "
    "[c.to_numpy() for c in t.columns]"
)
ONNX_FLOOR = "import sys, onnx; onnx.load(sys.argv[1], load_external_data=False)"
ONNX_LOADER = (
    "import sys, pathlib; from overfitlint.loaders.models.onnx import load_onnx; "
    "load_onnx(pathlib.Path(sys.argv[1]))"
)


def log_commands(log: Path, work: Path) -> dict[str, list[str]]:
    stem = log.stem if log.is_file() else log.name
    return {
        "text": [*CHECK, str(log), "--no-probe", "--no-report"],
        "json": [
            *CHECK, str(log), "--no-probe", "--no-report",
            "--format", "json", "--output", str(work / f"{stem}.json"),
        ],
        "html": [*CHECK, str(log), "--no-probe", "--report", str(work / f"{stem}.html")],
    }  # fmt: skip


def verdict(ratio: float, goal: float) -> str:
    return "met" if ratio <= goal else "MISSED"


def row(label: str, got: Compared, goal: float, memory_too: bool = True) -> str:
    worst = max(got.time_ratio, got.memory_ratio) if memory_too else got.time_ratio
    return (
        f"{label:<32} {got.ours}  floor {got.floor}  x{got.time_ratio:5.2f} time, "
        f"x{got.memory_ratio:4.2f} memory  {verdict(worst, goal)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "overfitlint-bench-big"
    )
    parser.add_argument("--skip-10m", action="store_true", help="leave out the 10M-row log")
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "overfitlint", quiet=1)
    inputs = make_inputs(args.work, not args.skip_10m)
    WORK[0] = args.work
    runs = args.runs
    results: dict[str, object] = {}
    floor = [*python_code(ARROW_FLOOR), str(inputs.csv_1m)]

    print("\nlogs, goal 3x the floor: pyarrow.csv.read_csv + to_numpy of the 1M-row CSV")
    logs = {
        "Keras CSV, 1M rows": inputs.csv_1m,
        "TensorBoard, 1M events": inputs.tensorboard,
        "JSON lines, 1M lines": inputs.json_lines,
        "Lightning, 1M step rows": inputs.lightning,
    }
    for name, log in logs.items():
        for fmt, command in log_commands(log, args.work).items():
            got = compare(command, floor, runs)
            print(row(f"{name} {fmt}", got, 3.0), flush=True)
            results[f"{name} {fmt}"] = got.to_dict()
    json_floor = [*python_code(ARROW_JSON_FLOOR), str(inputs.json_lines)]
    got = compare(log_commands(inputs.json_lines, args.work)["text"], json_floor, runs)
    print(row("JSON lines text vs read_json", got, 3.0), flush=True)
    results["JSON lines text vs pyarrow.json"] = got.to_dict()

    if inputs.csv_10m is not None:
        ten = [*python_code(ARROW_FLOOR), str(inputs.csv_10m)]
        got = compare(log_commands(inputs.csv_10m, args.work)["text"], ten, runs)
        one = results["Keras CSV, 1M rows text"]
        print(
            f"\n{row('Keras CSV, 10M rows text', got, 3.0)}\n"
            f"  against 1M rows: x{got.ours.seconds / one['seconds']:.1f} time, "
            f"x{got.ours.peak_mb / one['peak_mb']:.1f} memory for 10x the rows",
            flush=True,
        )
        results["Keras CSV, 10M rows text"] = got.to_dict()

    print("\nONNX, goal half of onnx.load(f, load_external_data=False)")
    onnx_floor = [*python_code(ONNX_FLOOR), str(inputs.onnx_inline)]
    check = [*CHECK, str(inputs.onnx_inline), "--no-probe", "--no-report"]
    got = compare(check, onnx_floor, runs)
    size = inputs.onnx_inline.stat().st_size / 1e6
    print(row(f"{size:.0f} MB inline, check", got, 0.5, memory_too=False), flush=True)
    results["onnx check"] = got.to_dict()
    got = compare([*python_code(ONNX_LOADER), str(inputs.onnx_inline)], onnx_floor, runs)
    print(row(f"{size:.0f} MB inline, loader alone", got, 0.5, memory_too=False), flush=True)
    results["onnx loader"] = got.to_dict()
    big = [*CHECK, str(inputs.onnx_external), "--no-probe", "--no-report"]
    got = compare(big, python_code("pass"), runs)
    print(
        f"1B parameters, external data     {got.ours}  {verdict(got.ours.seconds, 1.0)} (1 s)",
        flush=True,
    )
    results["onnx 1B"] = got.to_dict()

    print("\nstart-up, goal 2x python -c 'import numpy'")
    got = compare(log_commands(inputs.small, args.work)["text"], python_code("import numpy"), runs)
    print(row("check small.csv", got, 2.0, memory_too=False))
    results["start-up"] = got.to_dict()
    (args.work / "results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
