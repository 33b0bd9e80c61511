"""Parameter counts equal the framework's own count, for every architecture and file format.

PyTorch's count is ``sum(p.numel() for p in model.parameters())`` (trainable; tied weights
once) plus the floating buffers (BatchNorm running statistics) as non-trainable; Keras'
is ``model.count_params()`` and the trainable weights. Files are built here with the real
frameworks, small, once per module.
"""

from __future__ import annotations

import json

import pytest

from overfitlint import api
from tests.builders import onnx_models
from tests.conftest import ROOT

torch = pytest.importorskip("torch")
from tests.builders import torch_models  # noqa: E402

TORCH_CASES = [
    (arch, fmt) for arch in torch_models.ARCHITECTURES for fmt in [*torch_models.FORMATS, "onnx"]
]


@pytest.mark.parametrize(("arch", "fmt"), TORCH_CASES, ids=[f"{a}-{f}" for a, f in TORCH_CASES])
def test_pytorch_counts_match_torch(tmp_path, arch, fmt):
    module, example = torch_models.build(arch)
    if fmt == "onnx":
        # inference export without constant folding: the graph keeps one tensor per parameter
        path = onnx_models.torch_export(module, example, tmp_path / "m.onnx", fold=False)
    else:
        path = torch_models.FORMATS[fmt](module, example, tmp_path)
    facts = api.read_model(path)
    expected = torch_models.trainable(module)
    assert facts.trainable_params == expected
    assert facts.total_params == expected + torch_models.running_stats(module)


keras_models = None
KERAS_ARCHS = [
    "mlp",
    "cnn-batchnorm",
    "transformer-block",
    "embedding-lstm",
    "nested-functional",
]
KERAS_CASES = [(arch, fmt) for arch in KERAS_ARCHS for fmt in ("keras", "h5")] + [
    ("cnn-batchnorm", "savedmodel"),
    ("transformer-block", "savedmodel"),
]


@pytest.fixture(scope="module")
def keras_builders():
    pytest.importorskip("keras")
    from tests.builders import keras_models as builders

    return builders


@pytest.mark.parametrize(("arch", "fmt"), KERAS_CASES, ids=[f"{a}-{f}" for a, f in KERAS_CASES])
def test_keras_counts_match_count_params(tmp_path, keras_builders, arch, fmt):
    model = keras_builders.build(arch)
    if fmt == "savedmodel":
        path = keras_builders.export_savedmodel(model, tmp_path / "saved")
    else:
        path = keras_builders.FORMATS[fmt](model, tmp_path)
    facts = api.read_model(path)
    total, trainable = keras_builders.counts(model)
    assert (facts.total_params, facts.trainable_params) == (total, trainable)


@pytest.mark.parametrize("name", ["model.h5", "savedmodel"])
def test_keras2_files_match_tf_keras_counts(name):
    folder = ROOT / "tests" / "fixtures" / "keras2"
    expected = json.loads((folder / "expected.json").read_text())
    facts = api.read_model(folder / name)
    assert facts.total_params == expected["count_params"]
    assert facts.trainable_params == expected["trainable"]
    assert [layer.dropout_rate for layer in facts.dropout_layers] == expected["dropout"]
    assert facts.provenance.producer_version.startswith("2.") or name == "savedmodel"
    assert facts.optimizer.kind == expected["optimizer"]["kind"]
    assert facts.optimizer.weight_decay == pytest.approx(expected["optimizer"]["weight_decay"])
    assert facts.optimizer.lr == pytest.approx(expected["optimizer"]["lr"])
