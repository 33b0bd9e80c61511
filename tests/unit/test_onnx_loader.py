"""ONNX loader: parameter counts match the framework's own, dropout and provenance are read."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from overfitlint.errors import InputError
from overfitlint.facts import Unknown
from overfitlint.loaders.onnx_model import load_onnx
from tests.builders import onnx_models

torch = pytest.importorskip("torch")
nn = torch.nn


def _trainable(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


class TiedEmbedding(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.out = nn.Linear(16, 100, bias=False)
        self.out.weight = self.embed.weight

    def forward(self, tokens):
        return self.out(self.embed(tokens))


@pytest.mark.parametrize(
    ("module", "example", "training"),
    # Constant folding would store the tied weight a second time, transposed: the file then
    # really holds it twice. Exported unfolded, the graph shares one tensor.
    [
        (nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 3)), torch.randn(2, 20), False),
        (ConvNet(), torch.randn(2, 3, 8, 8), True),
        (TiedEmbedding(), torch.randint(0, 100, (2, 5)), False),
    ],
    ids=["mlp", "convnet-batchnorm", "tied-embedding"],
)
def test_trainable_count_matches_torch(tmp_path, module, example, training):
    path = onnx_models.torch_export(
        module, example, tmp_path / "m.onnx", training=training, fold=False
    )
    facts = load_onnx(path)
    assert facts.trainable_params == _trainable(module)
    assert facts.provenance.producer == "pytorch"


def test_batchnorm_running_stats_are_not_trainable(tmp_path):
    module = ConvNet()
    path = onnx_models.torch_export(
        module, torch.randn(2, 3, 8, 8), tmp_path / "m.onnx", training=True
    )
    facts = load_onnx(path)
    running = sum(b.numel() for name, b in module.named_buffers() if "running" in name)
    assert facts.total_params == _trainable(module) + running


def test_dropout_ratio_from_a_torch_training_export(tmp_path):
    module = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
    path = onnx_models.torch_export(module, torch.randn(2, 8), tmp_path / "m.onnx", training=True)
    facts = load_onnx(path)
    assert [round(layer.dropout_rate, 4) for layer in facts.dropout_layers] == [0.3]
    assert facts.dropout_visible is True


def test_inference_export_makes_dropout_unknown(tmp_path):
    module = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
    facts = load_onnx(onnx_models.torch_export(module, torch.randn(2, 8), tmp_path / "m.onnx"))
    assert facts.dropout_layers == []
    assert isinstance(facts.dropout_visible, Unknown)
    assert "pytorch" in facts.dropout_visible.reason


def test_old_ir_lists_initializers_as_inputs_and_counts_them_once(tmp_path):
    module = nn.Sequential(nn.Linear(10, 5))
    path = onnx_models.torch_export(
        module,
        torch.randn(1, 10),
        tmp_path / "m.onnx",
        keep_initializers_as_inputs=True,
        opset_version=9,
    )
    facts = load_onnx(path)
    assert facts.trainable_params == 55
    assert list(facts.input_shapes) == [n for n in facts.input_shapes if "weight" not in n]
    assert len(facts.input_shapes) == 1


def test_helper_graph_counts_and_opset_attribute_dropout(tmp_path):
    path = onnx_models.mlp(tmp_path / "m.onnx", [30, 40, 5], dropout=[0.25], opset=11)
    facts = load_onnx(path)
    assert facts.trainable_params == onnx_models.mlp_params([30, 40, 5])
    assert facts.dropout_layers[0].dropout_rate == 0.25
    assert facts.provenance.details["opsets"] == {"ai.onnx": 11}
    assert facts.input_shapes == {"x": ["n", 30]}


def _external_model(tmp_path, location: str):
    weight = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value=location)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [weight],
    )
    path = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_external_data_counts_from_shapes_without_reading_bytes(tmp_path):
    # the .data file does not even exist: counting needs only the shapes
    facts = load_onnx(_external_model(tmp_path, "model.data"))
    assert facts.total_params == 12


@pytest.mark.parametrize("location", ["../outside.data", "/etc/passwd"])
def test_external_data_escaping_the_folder_is_refused(tmp_path, location):
    with pytest.raises(InputError, match="outside the model's folder"):
        load_onnx(_external_model(tmp_path, location))
