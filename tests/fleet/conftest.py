"""A fleet of small targets, a real Ray head node, and the CLI run as a user runs it.

The fleet: ONNX models (one with its weights in an external-data file) with Keras CSV logs
of every shape the curve rules tell apart, Lightning runs whose ``hparams.yaml`` beside the
log gives the sample count, and logs without a model, all in one repository.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import onnx
import pytest

from tests.builders import onnx_models
from tests.builders.logs import keras_csv, lightning_metrics_csv, overfit_curve
from tests.conftest import CliResult

SIZES = [20, 128, 64, 2]
TIMING = {"started_at", "seconds", "budget_s", "jobs", "executor", "cached"}
"""What may differ between executors: wall clock, budgets left, and how the run was made."""


def healthy_curve(epochs: int, scale: float) -> tuple[list[float], list[float]]:
    loss = [scale / (1 + 0.2 * e) for e in range(epochs)]
    return loss, [1.1 * scale / (1 + 0.18 * e) + 0.05 for e in range(epochs)]


def make_fleet(root: Path, models: int = 18, lightning: int = 2, bare_logs: int = 2) -> list[str]:
    """Targets under ``root`` (a repository); the CLI arguments that check them all."""
    (root / ".git").mkdir(parents=True, exist_ok=True)
    args: list[str] = []
    for index in range(models):
        folder = root / "models" / f"m{index:02d}"
        folder.mkdir(parents=True)
        model = onnx_models.mlp(folder / "model.onnx", SIZES, [0.3 if index % 3 else None] * 2)
        if index == 0:  # the weights in a file beside the graph
            graph = onnx.load(str(model))
            onnx.save(graph, str(model), save_as_external_data=True, location="weights.bin")
        epochs = 12 + index
        if index % 2:
            loss, val = overfit_curve(epochs, best=4 + index % 5)
        else:
            loss, val = healthy_curve(epochs, 1.0 + index / 10)
        keras_csv(folder / "logs.csv", loss, val)
        args += [f"models/m{index:02d}/model.onnx", f"models/m{index:02d}/logs.csv"]
    for index in range(lightning):
        folder = root / "models" / f"l{index}"
        folder.mkdir(parents=True)
        onnx_models.mlp(folder / "model.onnx", SIZES)
        _, val = overfit_curve(15, best=6)
        steps = [1.5 * 0.95**s for s in range(30)]
        lightning_metrics_csv(folder / "version_0", steps, val)
        args += [f"models/l{index}/model.onnx", f"models/l{index}/version_0/metrics.csv"]
    for index in range(bare_logs):
        loss, val = overfit_curve(20 + index, best=8)
        path = root / "runs" / f"r{index}" / "history.csv"
        path.parent.mkdir(parents=True)
        keras_csv(path, loss, val)
        args.append(f"runs/r{index}/history.csv")
    return args


def without_timing(value):
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def comparable(result: CliResult) -> str:
    """The JSON document less its timing fields, as text."""
    return json.dumps(without_timing(result.json()), indent=2)


def run(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 240
) -> CliResult:
    """The ``overfitlint`` console script in a fresh process, as a user runs it."""
    script = Path(sys.executable).parent / "overfitlint"
    completed = subprocess.run(
        [str(script), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("fleet")
    return root, make_fleet(root)


@pytest.fixture
def small_fleet(tmp_path) -> tuple[Path, list[str]]:
    """Four targets in a folder of the test's own (the cache tests change files)."""
    return tmp_path, make_fleet(tmp_path, models=2, lightning=1, bare_logs=1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def ray_head():
    """A real ``ray start --head`` on 127.0.0.1 with token authentication, in its own process
    group, stopped by killing that group (``ray stop`` would stop every Ray on the machine).
    Yields the address and the environment a client needs (the token)."""
    pytest.importorskip("ray")
    ray = Path(sys.executable).parent / "ray"
    temp = tempfile.mkdtemp(prefix="ofl-ray-", dir="/tmp")  # short: Ray's socket paths
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    port = free_port()
    log = open(Path(temp) / "head.log", "w")  # noqa: SIM115 (closed below)
    command = [
        str(ray), "start", "--head", "--block", "--port", str(port),
        "--node-ip-address", "127.0.0.1", "--include-dashboard=false",
        "--dashboard-port", str(free_port()),
        "--dashboard-agent-listen-port", str(free_port()),
        "--ray-client-server-port", str(free_port()),
        "--num-cpus", "2", "--temp-dir", temp, "--disable-usage-stats",
    ]  # fmt: skip
    head = subprocess.Popen(
        command,
        cwd=temp,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_until_up(head, Path(temp) / "head.log")
        yield f"127.0.0.1:{port}", env
    finally:
        _stop_group(head)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def _wait_until_up(head: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if head.poll() is not None:
            pytest.fail(f"ray start exited with {head.returncode}:\n{log.read_text()[-3000:]}")
        if "Ray runtime started" in log.read_text(errors="replace"):
            return
        time.sleep(0.5)
    pytest.fail(f"ray start did not come up in {seconds:.0f} s:\n{log.read_text()[-3000:]}")


def _stop_group(head: subprocess.Popen) -> None:
    """SIGTERM lets ``ray start --block`` stop its processes; SIGKILL to the group then ends
    whatever is left (GCS, raylet and workers share the head's group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        head.wait(timeout=3)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head.pid, signal.SIGKILL)
    head.wait()
