"""Ray workers are as isolated as ``--jobs`` workers: nothing of the checked tree is imported.

By default Ray puts the driver's working folder first on every worker's ``sys.path``; in CI
that folder is the pull request's checkout. Here the checked tree holds its own
``overfitlint`` and ``onnx`` packages that leave a mark when imported.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from overfitlint.errors import InputError
from overfitlint.executor.inputs import below
from overfitlint.executor.process import task_message
from overfitlint.executor.ray_run import _wants_gpu
from overfitlint.executor.ray_task import check_remote
from overfitlint.formats import detect
from overfitlint.settings import ProbeConfig, Settings
from overfitlint.targets import Target
from tests.conftest import write
from tests.fleet.conftest import comparable, run

CHECK = ("check", "--no-probe", "--no-report", "--format", "json")
MARK = "import pathlib; pathlib.Path({!r}).write_text('imported from the checked tree')\n"


def test_ray_workers_import_nothing_from_the_checked_tree(small_fleet, tmp_path_factory):
    root, args = small_fleet
    marks = tmp_path_factory.mktemp("marks")
    for package in ("overfitlint", "onnx"):
        write(root / package / "__init__.py", MARK.format(str(marks / package)))
    serial = run(*CHECK, *args, cwd=root)
    ray = run(*CHECK, *args, "--executor", "ray", "--jobs", "2", cwd=root)
    assert ray.code == serial.code == 1, ray.stderr[-2000:]
    assert comparable(ray) == comparable(serial)
    assert list(marks.iterdir()) == []


def test_a_task_leaves_its_worker_as_it_found_it(small_fleet):
    """The task moves into the inputs' folder and a factory appends to sys.path; the next task
    on the same worker starts from the scratch folder with the same sys.path."""
    root, _ = small_fleet
    write(root / "builders.py", "def build():\n    raise SystemExit(3)\n")
    home, path = os.getcwd(), list(sys.path)
    target = Target("builders:build", (detect(Path("builders:build")),))
    message = {**task_message(target, Settings(), False, None), "cwd": str(root)}
    answer = check_remote(json.dumps(message), None)
    assert "the factory called exit(3)" in answer  # it ran, in the inputs' folder
    assert os.getcwd() == home and sys.path == path


def test_shipped_paths_stay_in_the_scratch_folder(tmp_path):
    base = str(tmp_path)
    assert below(base, "/home/u/models/a.onnx") == f"{base}/home/u/models/a.onnx"
    assert below(base, "/a/../../../etc/passwd") == f"{base}/etc/passwd"
    with pytest.raises(InputError, match="outside the scratch folder"):
        below(base, "../../etc/passwd")


@pytest.mark.parametrize(
    ("device", "enabled", "gpus", "wanted"),
    [
        ("auto", True, 0, False),
        ("auto", True, 4, True),
        ("cuda", True, 2, True),
        ("cpu", True, 4, False),
        ("auto", False, 4, False),
    ],
)
def test_probe_tasks_ask_for_a_gpu_when_the_probe_runs_on_cuda(device, enabled, gpus, wanted):
    settings = Settings(probe=ProbeConfig(enabled=enabled, device=device))
    assert _wants_gpu(settings, gpus) is wanted


def test_cuda_on_a_cluster_without_gpus_is_refused():
    with pytest.raises(InputError, match="the Ray cluster has no GPU"):
        _wants_gpu(Settings(probe=ProbeConfig(device="cuda")), 0)
    with pytest.raises(InputError, match="give --device cuda or auto"):
        _wants_gpu(Settings(probe=ProbeConfig(device="cuda:1")), 4)  # Ray picks the GPU
