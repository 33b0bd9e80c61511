"""Many models: throughput of the executors and the cache, and the driver's peak memory.

    python benchmarks/bench_fleet.py [--targets 500] [--probe-targets 4] [--keep DIR]

Generates, in a temporary folder (nothing is committed), ``--targets`` small targets -- an
ONNX MLP (20-128-64-2, about 45 KB, a third of them with dropout) and a Keras CSVLogger log of
12 to 60 epochs, half of them overfitting -- listed in an ``overfitlint.toml`` ``[[models]]``
manifest, then runs ``overfitlint check --no-probe --no-report`` over all of them:

- ``serial``, ``--jobs 2`` and ``--executor ray --jobs 2`` (a local Ray instance);
- each again with ``--cache`` on an empty cache (a cold run that fills it) and then on the
  filled one (a warm run: every target reused);
- ``--jobs 2 --cache`` after 1% of the logs changed (a CI run on a monorepo), and Ray's
  start-up alone (one target).

Each run is a fresh process; the table gives its wall time, targets per minute and the
driver's peak resident memory (``ru_maxrss`` of the driver process alone: worker processes
and Ray's own daemons are not in it). Then it measures what a fleet estimate needs, per
target: reading and hashing its files, the static check alone (in this process), and the probe
on CPU (``--probe-targets`` targets with a synthetic ``--data`` sample, 30 s budget each).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = (20, 128, 64, 2)
DRIVER = (
    "import atexit, os, resource, sys\n"
    "def _peak():\n"
    "    with open(os.environ['BENCH_PEAK_FILE'], 'w') as out:\n"
    "        out.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
    "atexit.register(_peak)\n"
    "sys.argv[0] = 'overfitlint'\n"
    "from overfitlint.cli import main\n"
    "main()\n"
)


def mlp(path: Path, dropout: float | None, seed: int) -> None:
    rng = np.random.default_rng(seed)
    nodes, inits, current = [], [], "x"
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(SIZES)):
        weight = rng.standard_normal((fan_out, fan_in)).astype(np.float32)
        inits += [
            numpy_helper.from_array(weight, f"fc{i}.weight"),
            numpy_helper.from_array(np.zeros(fan_out, np.float32), f"fc{i}.bias"),
        ]
        nodes.append(
            helper.make_node("Gemm", [current, f"fc{i}.weight", f"fc{i}.bias"], [f"g{i}"], transB=1)
        )
        current = f"g{i}"
        if i < len(SIZES) - 2:
            nodes.append(helper.make_node("Relu", [current], [f"r{i}"]))
            current = f"r{i}"
            if dropout is not None:
                inits.append(numpy_helper.from_array(np.array(dropout, np.float32), f"p{i}"))
                nodes.append(helper.make_node("Dropout", [current, f"p{i}"], [f"d{i}"]))
                current = f"d{i}"
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", SIZES[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", SIZES[-1]])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))


def log(path: Path, epochs: int, overfit: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    best = max(4, epochs // 3)
    rows = ["epoch,loss,val_loss"]
    for e in range(epochs):
        loss = 1.2 * 0.92**e
        if overfit:
            val = 0.5 + 0.7 * 0.8 ** min(e, best) + 0.02 * max(0, e - best)
        else:
            val = 1.1 / (1 + 0.18 * e) + 0.05
        rows.append(f"{e},{loss * (1 + 0.01 * rng.standard_normal()):.6f},{val:.6f}")
    path.write_text("\n".join(rows) + "\n")


def make_targets(root: Path, count: int) -> None:
    (root / ".git").mkdir(parents=True, exist_ok=True)
    manifest = []
    for index in range(count):
        folder = root / "models" / f"m{index:04d}"
        folder.mkdir(parents=True)
        mlp(folder / "model.onnx", 0.3 if index % 3 == 0 else None, index)
        log(folder / "logs.csv", 12 + index % 49, index % 2 == 1, index)
        manifest += [
            "[[models]]",
            f'name = "m{index:04d}"',
            f'model = "models/m{index:04d}/model.onnx"',
            f'logs = ["models/m{index:04d}/logs.csv"]',
            "",
        ]
    (root / "overfitlint.toml").write_text("\n".join(manifest))


def run_driver(root: Path, *args: str) -> tuple[float, float]:
    """Wall seconds and the driver's peak RSS in MiB of one ``overfitlint check`` run."""
    peak = root / ".peak"
    env = {**os.environ, "BENCH_PEAK_FILE": str(peak), "NO_COLOR": "1"}
    command = [sys.executable, "-c", DRIVER, "check", "--no-probe", "--no-report", *args]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)}: exit {done.returncode}\n{done.stderr[-3000:]}")
    return seconds, int(peak.read_text()) / 1024


def per_target_costs(root: Path, count: int) -> dict[str, float]:
    """Reading + hashing a target's files, and its static check, in this process."""
    from overfitlint.executor.cache import Cache
    from overfitlint.formats import detect
    from overfitlint.pipeline import check_one
    from overfitlint.settings import ProbeConfig, Settings
    from overfitlint.targets import Target

    settings = Settings(probe=ProbeConfig(enabled=False))
    os.chdir(root)
    targets = [
        Target(
            f"m{i:04d}",
            (
                detect(Path(f"models/m{i:04d}/model.onnx")),
                detect(Path(f"models/m{i:04d}/logs.csv")),
            ),
        )
        for i in range(count)
    ]
    cache = Cache(root / ".cache-keys")
    started = time.perf_counter()
    for target in targets:
        cache.key(target, settings, hash_inputs=False, config_path=None)
    key_s = (time.perf_counter() - started) / count
    started = time.perf_counter()
    for target in targets:
        check_one(target, settings)
    check_s = (time.perf_counter() - started) / count
    size = sum(p.stat().st_size for t in targets for p in t.paths) / count
    return {"key_s": key_s, "check_s": check_s, "bytes": size}


def probe_costs(root: Path, count: int) -> list[tuple[float, float]]:
    """Probe seconds on CPU for ``count`` targets with a synthetic data sample: the whole probe
    (a fresh backend process that imports torch and converts the graph) and its probes alone."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, SIZES[0])).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.standard_normal(600) > 0).astype(np.int64)
    np.savez(root / "data.npz", x_train=x[:400], y_train=y[:400], x_val=x[400:], y_val=y[400:])
    seconds = []
    for index in range(count):
        args = [
            f"models/m{index:04d}/model.onnx",
            f"models/m{index:04d}/logs.csv",
            "--data",
            "data.npz",
            "--probe-budget",
            "30",
            "--format",
            "json",
            "--no-report",
            "--no-config",
            "--samples",
            "400",
        ]
        done = subprocess.run(
            [sys.executable, "-m", "overfitlint", "check", *args],
            cwd=root,
            capture_output=True,
            text=True,
        )
        probe = json.loads(done.stdout)["run"]["probe"]
        probes = sum(float(p.get("seconds", 0.0)) for p in probe.get("probes", {}).values())
        seconds.append((float(probe.get("seconds", 0.0)), probes))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=500)
    parser.add_argument("--probe-targets", type=int, default=4)
    parser.add_argument("--keep", type=Path, help="generate here and keep it")
    options = parser.parse_args()
    root = options.keep or Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    try:
        make_targets(root, options.targets)
        count = options.targets
        print(f"{count} targets in {root}\n")
        print("| run | seconds | targets/min | driver peak MiB |")
        print("|---|---|---|---|")
        runs = {
            "serial": [],
            "--jobs 2": ["--jobs", "2"],
            "--executor ray --jobs 2": ["--executor", "ray", "--jobs", "2"],
        }
        for label, args in runs.items():
            cache = root / f".cache-{label.replace(' ', '').replace('-', '')}"
            for suffix, extra in (
                ("", []),
                (" --cache (cold)", ["--cache", str(cache)]),
                (" --cache (warm)", ["--cache", str(cache)]),
            ):
                seconds, peak = run_driver(root, *args, *extra)
                rate = 60 * count / seconds
                print(f"| {label}{suffix} | {seconds:.1f} | {rate:,.0f} | {peak:.0f} |")
        changed = max(1, count // 100)
        for index in range(changed):  # a CI run on a monorepo: 1% of the models retrained
            log(root / "models" / f"m{index:04d}" / "logs.csv", 30, True, 10_000 + index)
        cache = root / ".cache-jobs2"
        seconds, peak = run_driver(root, "--jobs", "2", "--cache", str(cache))
        print(
            f"| --jobs 2 --cache, {changed} of {count} logs changed | {seconds:.1f} | "
            f"{60 * count / seconds:,.0f} | {peak:.0f} |"
        )
        one = ["--no-config", "models/m0000/model.onnx", "models/m0000/logs.csv"]
        seconds, peak = run_driver(root, "--executor", "ray", "--jobs", "2", *one)
        print(f"| --executor ray --jobs 2, 1 target (start-up) | {seconds:.1f} | - | {peak:.0f} |")
        costs = per_target_costs(root, min(count, 200))
        print(
            f"\nper target: {costs['bytes'] / 1024:.0f} KiB of files; reading + hashing them "
            f"{1000 * costs['key_s']:.2f} ms; the static check alone (in process) "
            f"{1000 * costs['check_s']:.1f} ms"
        )
        if options.probe_targets:
            probes = probe_costs(root, options.probe_targets)
            whole = [total for total, _ in probes]
            work = [inner for _, inner in probes]
            print(
                f"probe on CPU (30 s budget, --data 400 samples): median "
                f"{statistics.median(whole):.1f} s, max {max(whole):.1f} s over "
                f"{len(probes)} targets; of which the probes' own runs "
                f"{statistics.median(work):.1f} s (the rest starts the backend)"
            )
    finally:
        if options.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
