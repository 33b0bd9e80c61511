"""``--executor ray``: each target's ``check_one`` as one Ray task, on a cluster or locally.

The driver connects to ``--ray-address`` (or ``RAY_ADDRESS``), else starts a local Ray
instance without the dashboard, with ``--jobs`` CPUs (all of them for 0 or 1). It sends paths,
not tensors: workers read the files from storage they share with the driver, or, with
``--ship-inputs``, the driver sends each target's file bytes along with its task
(``overfitlint.executor.inputs``).

- Resources: a target with a model asks for one GPU when the probe would run on CUDA
  (``--device cuda``, or ``auto`` on a cluster with GPUs), so static checks fill the CPUs and
  probes the GPUs. Ray gives such a task its own GPU (``CUDA_VISIBLE_DEVICES``).
- Bounded in flight: at most as many tasks as the cluster has free CPUs (and, of those that
  probe, free GPUs) are submitted at a time; ``ray.wait`` takes them back as they finish, so
  the driver never holds every target's files or task at once.
- Failures: a task whose worker is lost is retried by Ray (``max_retries``); a task still out
  after ``--target-timeout`` seconds (counted from its submission, which the window keeps
  close to its start) is cancelled with its worker killed. Either becomes an OFL902 report for
  that target, and the rest go on.
- Isolation: see ``overfitlint.executor.ray_task``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overfitlint import formats
from overfitlint.errors import InputError
from overfitlint.executor.failed import CRASHED, TIMED_OUT, Failure
from overfitlint.executor.process import CHILD_ENV, Outcome, outcome_of, task_message
from overfitlint.settings import Settings
from overfitlint.targets import Target

SCRATCH_NOTE = "An empty working folder for overfitlint's Ray workers (not the checked tree).\n"


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None
    ship_inputs: bool = False
    timeout: float | None = None
    retries: int = 1
    cpus: int | None = None
    """CPUs of a local instance this run starts (None: all of them)."""


def _import_ray():
    try:
        import ray
    except ImportError:
        raise InputError(
            "--executor ray needs Ray: pip install 'overfitlint[ray]' (and the same "
            "overfitlint on every node of the cluster)"
        ) from None
    return ray


def run_on_ray(
    targets: Sequence[Target],
    settings: Settings,
    *,
    hash_inputs: bool,
    config_path: str | None,
    options: RayOptions,
) -> Iterator[tuple[int, Outcome | None]]:
    """``(index, None)`` when a target's task is submitted, ``(index, outcome)`` when it is
    done; every index is done exactly once."""
    ray = _import_ray()
    started_here = not ray.is_initialized()
    scratch = tempfile.mkdtemp(prefix="overfitlint-ray-")
    with _stdout_to_stderr():  # Ray's own threads print worker deaths to stdout
        yield from _checks(
            ray, started_here, scratch, targets, settings, hash_inputs, config_path, options
        )


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """While Ray runs, file descriptor 1 is stderr: stdout is kept for our report."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _checks(ray, started_here, scratch, targets, settings, hash_inputs, config_path, options):
    try:
        Path(scratch, "README").write_text(SCRATCH_NOTE, encoding="utf-8")
        if started_here:
            _connect(ray, options, scratch)
        elif not ray.get_runtime_context().runtime_env.get("working_dir"):
            raise InputError(
                "--executor ray: Ray was started in this process without a runtime_env "
                "working_dir, so its workers would import from this working folder; give "
                "ray.init a scratch working_dir, or let overfitlint connect"
            )
        yield from _run(ray, targets, settings, hash_inputs, config_path, options)
    finally:
        if started_here and ray.is_initialized():
            ray.shutdown()
        shutil.rmtree(scratch, ignore_errors=True)


def _connect(ray, options: RayOptions, scratch: str) -> None:
    """Connect (or start a local instance) with the scratch folder as the workers' working
    folder: Ray takes a working_dir for the whole job only."""
    quiet: dict[str, Any] = {
        "logging_level": logging.ERROR,
        "log_to_driver": False,
        "runtime_env": {"working_dir": scratch, "env_vars": dict(CHILD_ENV)},
    }
    address = options.address or os.environ.get("RAY_ADDRESS")
    try:
        if address:
            ray.init(address=address, **quiet)
        else:  # "local": a new instance, never one that happens to run on this machine
            ray.init(
                address="local",
                num_cpus=options.cpus or os.cpu_count() or 1,
                include_dashboard=False,
                **quiet,
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise InputError(f"--executor ray: cannot connect to {where}: {_first_line(exc)}") from None


def _wants_gpu(settings: Settings, cluster_gpus: float) -> bool:
    probe = settings.probe
    if not probe.enabled:
        return False
    if probe.device.startswith("cuda:"):
        raise InputError(
            f"--device {probe.device}: Ray gives each probing task a GPU of its own (it sees "
            "only that one); give --device cuda or auto"
        )
    if probe.device == "cuda":
        if cluster_gpus < 1:
            raise InputError(
                f"--device {probe.device}: the Ray cluster has no GPU; give --device auto or cpu"
            )
        return True
    return probe.device == "auto" and cluster_gpus >= 1


def _run(ray, targets, settings, hash_inputs, config_path, options):
    from overfitlint.executor.inputs import pack
    from overfitlint.executor.ray_task import check_remote

    available = ray.available_resources()
    gpu_probe = _wants_gpu(settings, ray.cluster_resources().get("GPU", 0))
    cpu_slots = max(1, int(available.get("CPU", 1)))
    gpu_slots = max(1, int(available.get("GPU", 0)))
    remote = ray.remote(max_retries=options.retries)(check_remote)
    cwd = os.getcwd()
    queues: dict[bool, deque[int]] = {False: deque(), True: deque()}
    for index, target in enumerate(targets):
        queues[gpu_probe and any(d.kind == formats.MODEL for d in target.inputs)].append(index)
    running: dict[Any, tuple[int, float, bool]] = {}

    def room(gpu: bool) -> bool:
        if len(running) >= cpu_slots:
            return False
        return not gpu or sum(g for _, _, g in running.values()) < gpu_slots

    def submit(index: int, gpu: bool) -> Any:
        target = targets[index]
        message = {**task_message(target, settings, hash_inputs, config_path), "cwd": cwd}
        shipped = pack(target, settings) if options.ship_inputs else None
        return remote.options(num_gpus=1 if gpu else 0).remote(
            json.dumps(message), ray.put(shipped) if shipped else None
        )

    done = 0
    while done < len(targets):
        for gpu in (True, False):
            while queues[gpu] and room(gpu):
                index = queues[gpu].popleft()
                running[submit(index, gpu)] = (index, time.monotonic(), gpu)
                yield index, None
        ready, _ = ray.wait(list(running), num_returns=1, timeout=_wait_for(running, options))
        for ref in ready:
            index, _, _ = running.pop(ref)
            done += 1
            yield index, _collect(ray, ref, options)
        for ref, (index, submitted, _) in list(running.items()):
            if options.timeout is not None and time.monotonic() - submitted > options.timeout:
                ray.cancel(ref, force=True)
                running.pop(ref)
                done += 1
                yield index, Failure(TIMED_OUT, "cancelled", 1, options.timeout)


def _wait_for(running: dict, options: RayOptions) -> float | None:
    if options.timeout is None:
        return None
    first = min(submitted for _, submitted, _ in running.values())
    return max(0.05, first + options.timeout - time.monotonic())


def _collect(ray, ref, options: RayOptions) -> Outcome:
    try:
        return outcome_of(ray.get(ref))
    except ray.exceptions.RuntimeEnvSetupError as exc:
        raise InputError(
            f"--executor ray: the cluster could not set up the workers' environment: "
            f"{_first_line(exc)}"
        ) from None
    except ray.exceptions.RayError as exc:
        detail = f"{type(exc).__name__}: {_first_line(exc)}"
        return Failure(CRASHED, detail, options.retries + 1)


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(exc).__name__
