"""Shared fixtures.

Importing torchvision after tensorflow in one process crashes with a segmentation
fault (the other order works), so torch and torchvision, when installed, are
imported here, before any test module can import tensorflow.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

if importlib.util.find_spec("torchvision") is not None:
    import torch  # noqa: F401
    import torchvision  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


def run_cli(*args: str | Path, cwd: Path | None = None, timeout: float = 300) -> CliResult:
    """Run ``overfitlint`` in a fresh process, as a user would."""
    completed = subprocess.run(
        [sys.executable, "-m", "overfitlint", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def cli(tmp_path):
    """``cli(*args)`` runs overfitlint in ``tmp_path`` (so reports/ lands there)."""

    def invoke(*args, cwd=None, timeout=300):
        return run_cli(*args, cwd=cwd or tmp_path, timeout=timeout)

    return invoke


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    return path


LOAD_KEYS = {
    "samples", "weight_decay", "augmentation", "folds", "train_metric", "val_metric",
    "kept_epoch", "weights", "trust_pickle", "trust_torchscript", "root",
}  # fmt: skip
PROBE_KEYS = {"probe": "enabled", "device": "device", "probe_budget": "budget",
              "probe_seed": "seed", "data": "data", "input_shape": "input_shape"}  # fmt: skip


def settings_of(**flat):
    """Settings from the flat names of the command line (samples=, select=, probe_budget=...)."""
    from overfitlint.settings import LoadHints, ProbeConfig, RuleConfig, Settings

    load = {k: v for k, v in flat.items() if k in LOAD_KEYS}
    probe = {PROBE_KEYS[k]: v for k, v in flat.items() if k in PROBE_KEYS}
    if probe.get("data") is not None:
        probe["data"] = Path(probe["data"])
    rules = {k: v for k, v in flat.items() if k not in LOAD_KEYS and k not in PROBE_KEYS}
    if "select" in rules:
        rules["selected"] = tuple(rules.pop("select"))
    return Settings(LoadHints(**load), RuleConfig(**rules), ProbeConfig(**probe))


def check_paths(paths, **flat) -> dict:
    """``check_one`` on these paths (one target), as the JSON document."""
    from overfitlint import formats
    from overfitlint.pipeline import check_one
    from overfitlint.render.safe import json_safe
    from overfitlint.targets import Target

    target = Target("", tuple(formats.detect(Path(p)) for p in paths))
    return json_safe(check_one(target, settings_of(**flat)).to_dict())
