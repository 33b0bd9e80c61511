"""A target that kills its worker, or hangs, is reported as not checked (OFL902); the rest go on.

The crash is real: the target's model is a factory (``MODULE:CALLABLE``, the user's own code,
which the loader imports and calls) that sends its own process SIGKILL, as the kernel's
out-of-memory killer or a segfaulting framework would end it.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import write
from tests.fleet.conftest import run, without_timing

CHECK = ("check", "--no-probe", "--no-report", "--format", "json")
HOSTILE = """\
import os
import signal
import time


def crash():
    os.kill(os.getpid(), signal.SIGKILL)


def hang():
    time.sleep(600)
"""


@pytest.fixture
def with_hostile_factories(small_fleet):
    """The small fleet's models with their logs, and a module of hostile factories beside them
    (a log without a model is left out: a factory counts as a model in the working folder)."""
    root, args = small_fleet
    write(root / "killers.py", HOSTILE)
    return root, [arg for arg in args if arg.startswith("models/")]


def _by_name(result) -> dict[str, dict]:
    return {r["run"]["name"]: r for r in result.json()["runs"]}


def _assert_failed_targets(result, expected_rest: str) -> None:
    assert result.code == 1, result.stderr[-2000:]
    runs = _by_name(result)
    crashed, hung = runs.pop("killers:crash"), runs.pop("killers:hang")
    for report, reason in ((crashed, "crashed"), (hung, "timed-out")):
        assert [f["code"] for f in report["findings"]] == ["OFL902"]
        finding = report["findings"][0]
        assert finding["role"] == "internal" and finding["severity"] == "error"
        assert {"name": "reason", "value": reason, "unit": ""} in finding["evidence"]
        assert report["verdict"]["status"] == "unknown"
        assert report["summary"]["failed"] is True
    assert "within --target-timeout 6 s" in hung["findings"][0]["message"]
    assert "worker process died (tried 2 times)" in crashed["findings"][0]["message"]
    assert "2 not checked (OFL902)" in result.stderr
    assert comparable_runs(list(runs.values())) == expected_rest


def comparable_runs(runs: list[dict]) -> str:
    return json.dumps(without_timing(runs), indent=2)


@pytest.mark.parametrize("executor", ["process", "ray"])
def test_a_killed_or_hung_worker_fails_only_its_target(with_hostile_factories, ray_head, executor):
    root, args = with_hostile_factories
    address, auth = ray_head
    serial = run(*CHECK, *args, cwd=root)
    expected = comparable_runs(serial.json()["runs"])
    where = ["--jobs", "2"] if executor == "process" else ["--executor", "ray"]
    where += ["--ray-address", address] if executor == "ray" else []
    result = run(
        *CHECK, *args, "killers:crash", "killers:hang", *where, "--target-timeout", "6",
        cwd=root, env=auth,
    )  # fmt: skip
    _assert_failed_targets(result, expected)


def test_a_timeout_needs_a_worker(small_fleet):
    root, args = small_fleet
    result = run(*CHECK, *args, "--executor", "serial", "--target-timeout", "5", cwd=root)
    assert result.code == 2
    assert "--target-timeout needs --executor process or ray" in result.stderr


def test_the_text_output_names_the_target_not_checked(with_hostile_factories):
    root, args = with_hostile_factories
    result = run("check", "--no-probe", "--no-report", *args[:2], "killers:crash", "--jobs", "2",
                 cwd=root)  # fmt: skip
    assert result.code == 1
    assert "OFL902 [error, high confidence] the check did not finish" in result.stdout
    assert "Verdict: unknown: not checked" in result.stdout
