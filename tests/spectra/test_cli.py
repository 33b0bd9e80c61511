"""python -m overfitlint.spectra, and the static check that never reads tensor bytes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

from tests.spectra.weights import spectra_net

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "overfitlint.spectra", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_table_and_json(tmp_path: Path) -> None:
    torch.save(spectra_net().state_dict(), tmp_path / "model.pt")
    table = _run(str(tmp_path / "model.pt"))
    assert table.returncode == 0, table.stderr
    assert "fc2" in table.stdout and "over-trained (alpha < 2): fc2" in table.stdout
    assert table.stderr == ""  # no progress bar when stderr is not a terminal
    result = _run(str(tmp_path / "model.pt"), "--json")
    payload = json.loads(result.stdout)
    assert [layer["name"] for layer in payload["layers"]] == [
        "conv1",
        "conv2",
        "fc1",
        "fc2",
        "head",
    ]
    assert payload["summary"]["over_trained"] == ["fc2"]
    assert payload["summary"]["alpha"]["median"] > 2


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "junk.bin").write_bytes(b"not a model at all")
    result = _run(str(tmp_path / "junk.bin"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "junk.bin" in result.stderr


def test_the_static_check_imports_no_spectra_code(tmp_path: Path) -> None:
    """Without spectra asked for, ``overfitlint check`` reads no tensor bytes: the readers and
    the analysis are never imported, and no spectral field reaches the report."""
    torch.save(spectra_net().state_dict(), tmp_path / "model.pt")
    code = (
        "import sys\n"
        "from overfitlint.cli import main\n"
        f"sys.argv = ['overfitlint', 'check', {str(tmp_path / 'model.pt')!r}, '--no-probe',"
        " '--format', 'json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = [m for m in sys.modules if m.startswith('overfitlint.spectra')]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert "spectral" not in json.dumps(report.get("model", report))


def test_the_spectra_import_numpy_only() -> None:
    code = (
        "import sys, overfitlint.spectra, overfitlint.spectra.__main__\n"
        "from overfitlint.spectra.tensors import keras, onnx, safetensors, torch_archive\n"
        "names = ('torch', 'h5py', 'onnx', 'tensorflow', 'scipy')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
