"""Formats are told apart by content; a wrong extension still works or fails clearly; the
static path imports only the framework a file needs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from overfitlint import api, formats
from overfitlint.errors import InputError
from tests.builders import onnx_models
from tests.conftest import ROOT

torch = pytest.importorskip("torch")
from tests.builders import torch_models  # noqa: E402


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """One small file per format (no TensorFlow needed: Keras files come from fixtures)."""
    folder = tmp_path_factory.mktemp("formats")
    module, example = torch_models.build("mlp")
    optimizer = torch.optim.AdamW(module.parameters(), weight_decay=0.01)
    return {
        "onnx": onnx_models.mlp(folder / "model.onnx", [8, 16, 2], dropout=[0.5]),
        "checkpoint": torch_models.save_checkpoint(module, folder / "ckpt.pt", optimizer),
        "torchscript": torch_models.save_torchscript(module, folder / "script.pt"),
        "torch-export": torch_models.save_export(module, example, folder / "program.pt2"),
        "safetensors": torch_models.save_safetensors(module, folder / "model.safetensors"),
        "keras-h5": ROOT / "tests/fixtures/keras2/model.h5",
        "savedmodel": ROOT / "tests/fixtures/keras2/savedmodel",
    }


EXPECTED = {
    "onnx": formats.ONNX,
    "checkpoint": formats.TORCH_CHECKPOINT,
    "torchscript": formats.TORCHSCRIPT,
    "torch-export": formats.TORCH_EXPORT,
    "safetensors": formats.SAFETENSORS,
    "keras-h5": formats.KERAS_H5,
    "savedmodel": formats.SAVEDMODEL,
}


@pytest.mark.parametrize("name", [n for n in EXPECTED if n != "savedmodel"])
@pytest.mark.parametrize("suffix", ["", ".bin", ".onnx", ".keras"])
def test_content_decides_whatever_the_name(artifacts, tmp_path, name, suffix):
    source = artifacts[name]
    renamed = tmp_path / f"renamed{suffix}"
    renamed.write_bytes(source.read_bytes())
    detected = formats.detect(renamed)
    assert detected.format == EXPECTED[name]
    assert detected.kind == formats.MODEL
    facts = api.read_model(renamed)
    assert facts.total_params == api.read_model(source).total_params
    if suffix in (".onnx", ".keras") and EXPECTED[name] not in (formats.ONNX, formats.KERAS):
        assert any("read by its content" in note for note in facts.notes)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("model.onnx", b"", "empty file"),
        ("model.keras", b"", "empty file"),
        ("model.onnx", b"\x08\x07garbage that is no protobuf" * 3, "not a readable ONNX model"),
        ("model.pt", b"PK\x03\x04 cut short", "zip archive"),
        ("model.keras", b"PK\x05\x06" + b"\0" * 18, "without config.json"),
        ("model.h5", b"plain text, not HDF5\n", "HDF5"),
        ("weights.safetensors", (10**9).to_bytes(8, "little") + b'{"a": 1}', "header claims"),
        ("model.pt2", b"PK\x05\x06" + b"\0" * 18, "zip archive"),
    ],
)
def test_bad_files_with_model_names_fail_with_one_line(
    check_inprocess, tmp_path, name, content, message
):
    path = tmp_path / name
    path.write_bytes(content)
    result = check_inprocess("check", path, "--no-report", "--no-probe")
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_unknown_binary_is_neither_model_nor_log(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(bytes(range(256)) * 4)
    assert formats.model_format_of(path, path.read_bytes()) is None
    assert formats.detect(path).kind == formats.LOG  # a log loader then says what is wrong
    with pytest.raises(InputError):
        api.read_model(path)


IMPORTS = """
import json, sys
from overfitlint.cli import main
seen = {}
for path in sys.argv[1:]:
    sys.argv = ["overfitlint", "check", path, "--no-probe", "--no-report", "--format", "json"]
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, 1), (path, exc.code)
    seen[path] = sorted(m for m in ("torch", "tensorflow", "keras", "onnxruntime", "jax")
                        if m in sys.modules)
sys.stderr.write("HEAVY=" + json.dumps(seen))
"""


def _heavy(paths, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS, *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    marker = done.stderr.rsplit("HEAVY=", 1)
    assert len(marker) == 2, done.stderr[-2000:]
    return json.loads(marker[1])


def test_static_path_imports_no_framework_for_data_formats(artifacts, tmp_path):
    pytest.importorskip("keras")
    from tests.builders import keras_models

    archive = keras_models.save_keras(keras_models.build("mlp"), tmp_path / "model.keras")
    names = [
        "onnx",
        "keras-h5",
        "savedmodel",
        "safetensors",
        "torch-export",
        "checkpoint",
        "torchscript",
    ]
    heavy = _heavy([archive, *(artifacts[n] for n in names)], tmp_path)
    assert len(heavy) == len(names) + 1
    assert all(found == [] for found in heavy.values()), heavy


def test_pytorch_files_are_read_without_pytorch(artifacts, tmp_path):
    """Checkpoints and TorchScript archives are read as data: no torch import, nothing run."""
    heavy = _heavy([artifacts["checkpoint"], artifacts["torchscript"]], tmp_path)
    assert list(heavy.values()) == [[], []]
