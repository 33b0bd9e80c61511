"""ONNX loader: parameter counts match the framework's own, dropout and provenance are read."""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from overfitlint import onnx_wire
from overfitlint.errors import InputError
from overfitlint.facts import Unknown
from overfitlint.loaders.models.onnx import load_onnx
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


def _save_matmul(weight, path):
    """A one-node graph y = x @ w (x: 1x4) around the given weight tensor."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [weight],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def _external_model(tmp_path, location: str):
    weight = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value=location)
    return _save_matmul(weight, tmp_path / "model.onnx")


def test_external_data_counts_from_shapes_without_reading_bytes(tmp_path):
    # the .data file does not even exist: counting needs only the shapes
    facts = load_onnx(_external_model(tmp_path, "model.data"))
    assert facts.total_params == 12


@pytest.mark.parametrize("location", ["../outside.data", "/etc/passwd"])
def test_external_data_escaping_the_folder_is_refused(tmp_path, location):
    with pytest.raises(InputError, match="outside the model's folder"):
        load_onnx(_external_model(tmp_path, location))


# --- reading without tensor bytes ------------------------------------------------------


def _same(mine, proto, where="model"):
    """Every field the wire reader decodes equals what onnx's own parse holds."""
    for item in dataclasses.fields(mine):
        name, value = item.name, getattr(mine, item.name)
        if name == "raw_size":
            assert value == (len(proto.raw_data) if proto.HasField("raw_data") else None), where
        elif name == "data_spans":
            present = {f.number for f, _ in proto.ListFields()} & set(onnx_wire.DATA_FIELDS)
            assert set(value) == present, where
        elif name == "dims" and isinstance(mine, onnx_wire.ValueInfo):
            dims = proto.type.tensor_type.shape.dim
            assert len(value) == len(dims), where
            for ours, theirs in zip(value, dims, strict=True):
                wanted = theirs.dim_value if theirs.HasField("dim_value") else None
                assert (ours.dim_value, ours.dim_param) == (wanted, theirs.dim_param), where
        elif name == "graph":
            assert (value is None) == (not proto.HasField("graph")), where
            if value is not None:
                _same(value, proto.graph, "graph")
        elif dataclasses.is_dataclass(value):
            _same(value, getattr(proto, name), f"{where}.{name}")
        elif isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
            theirs = getattr(proto, name)
            assert len(value) == len(theirs), f"{where}.{name}"
            for index, (a, b) in enumerate(zip(value, theirs, strict=True)):
                _same(a, b, f"{where}.{name}[{index}]")
        elif name == "raw_data" and not value and mine.raw_size:
            continue  # a large tensor: its bytes are not read
        else:
            theirs = getattr(proto, name)
            assert (list(value) if isinstance(value, list) else value) == (
                list(theirs) if isinstance(value, list) else theirs
            ), f"{where}.{name}"


def _wire(path):
    return onnx_wire.read_model(path.read_bytes())


def test_walking_the_wire_reads_what_onnx_parses(tmp_path):
    path = onnx_models.mlp(tmp_path / "m.onnx", [64, 256, 128, 10], dropout=[0.2, 0.1])
    _same(_wire(path), onnx.load(str(path)))
    assert load_onnx(path).total_params == onnx_models.mlp_params([64, 256, 128, 10])
    old = onnx_models.mlp(tmp_path / "old.onnx", [30, 40, 5], dropout=[0.25], opset=11)
    _same(_wire(old), onnx.load(str(old)))


def test_walking_the_wire_reads_torch_exports_and_attributes(tmp_path):
    module = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Dropout(0.4)
    )
    path = onnx_models.torch_export(
        module.train(), torch.randn(2, 3, 6, 6), tmp_path / "m.onnx", training=True
    )
    _same(_wire(path), onnx.load(str(path)))


def test_small_tensor_values_and_attributes_decode_as_onnx_does(tmp_path):
    arrays = {
        "f32": np.array([0.5, -2.25], np.float32),
        "f16": np.array([1.5, -0.125], np.float16),
        "f64": np.array([3.0], np.float64),
        "i64": np.array([-7, 1 << 40], np.int64),
        "i8": np.array([-3, 4], np.int8),
        "u8": np.array([250], np.uint8),
        "b": np.array([True, False]),
    }
    for raw in (True, False):
        for name, array in arrays.items():
            tensor = numpy_helper.from_array(array, name)
            if not raw:  # the typed fields (float_data, int32_data...) instead of raw_data
                tensor = helper.make_tensor(name, tensor.data_type, array.shape, array.tolist())
            decoded = onnx_wire.read_model(
                helper.make_model(
                    helper.make_graph([], "g", [], [], [tensor]),
                    opset_imports=[helper.make_opsetid("", 17)],
                ).SerializeToString()
            ).graph.initializer[0]
            assert onnx_wire.tensor_values(decoded).tolist() == array.reshape(-1).tolist(), name
    node = helper.make_node(
        "Op", ["a"], ["b"], f=0.25, i=-3, s="mode", floats=[1.0, 2.5], ints=[4, -5], strs=["x"]
    )
    proto = helper.make_model(
        helper.make_graph([node], "g", [], []), opset_imports=[helper.make_opsetid("", 17)]
    )
    ours = onnx_wire.read_model(proto.SerializeToString()).graph.node[0].attribute
    assert [onnx_wire.attribute_value(a) for a in ours] == [
        helper.get_attribute_value(a) for a in proto.graph.node[0].attribute
    ]


def test_saved_external_data_is_never_read(tmp_path):
    model = onnx.load(str(onnx_models.mlp(tmp_path / "inline.onnx", [32, 64, 4])))
    target = tmp_path / "ext" / "model.onnx"
    target.parent.mkdir()
    onnx.save(
        model, str(target), save_as_external_data=True, location="model.data", size_threshold=0
    )
    (target.parent / "model.data").unlink()  # counting needs the shapes only
    facts = load_onnx(target)
    assert facts.total_params == onnx_models.mlp_params([32, 64, 4])
    assert facts.provenance.details["external_data_tensors"] == 4


def _corrupt(tmp_path, dims):
    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=dims)
    weight.raw_data = np.zeros(12, np.float32).tobytes()  # 48 bytes, whatever dims say
    return _save_matmul(weight, tmp_path / "bad.onnx")


@pytest.mark.parametrize(
    ("dims", "message"),
    [([4, 30], "holds 48 bytes"), ([1 << 30, 1 << 30], "declares"), ([4, -3], "negative")],
    ids=["shape-disagrees-with-bytes", "absurd-dims", "negative-dim"],
)
def test_declared_shapes_are_checked(tmp_path, dims, message):
    with pytest.raises(InputError, match=message):
        load_onnx(_corrupt(tmp_path, dims))


@pytest.mark.parametrize("cut", [1, 10, 200, -40])
def test_truncated_model_is_an_input_error(tmp_path, cut):
    path = onnx_models.mlp(tmp_path / "m.onnx", [16, 32, 4])
    data = path.read_bytes()
    path.write_bytes(data[:cut])
    with pytest.raises(InputError, match="ONNX model"):
        load_onnx(path)


# --- exporters and training artifacts --------------------------------------------------


def test_training_mode_batchnorm_shows_dropout_would_have_been_kept(tmp_path):
    module = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
    path = onnx_models.torch_export(
        module.train(), torch.randn(4, 8), tmp_path / "m.onnx", training=True
    )
    facts = load_onnx(path)
    assert facts.dropout_visible is True
    assert "training mode" in facts.provenance.details["training_graph"]


def test_tf2onnx_inference_export_makes_dropout_unknown(tmp_path):
    pytest.importorskip("tf2onnx")
    import tensorflow as tf
    import tf2onnx

    from tests.builders import keras_models

    model = keras_models.build("mlp", compiled=False)
    spec = (tf.TensorSpec((None, 12), tf.float32, name="x"),)
    function = tf.function(lambda x: model(x, training=False), input_signature=spec)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=13)
    onnx.save(proto, str(tmp_path / "keras.onnx"))
    facts = load_onnx(tmp_path / "keras.onnx")
    assert facts.provenance.producer == "tf2onnx"
    assert isinstance(facts.dropout_visible, Unknown)
    assert facts.dropout_visible.reason.startswith("unknown from an inference export")


def _optimizer_graph(op, domain, **attributes):
    names = (
        ["lr", "t", "w", "g", "v", "h"]
        if op in ("Adam", "AdamWOptimizer")
        else ["lr", "t", "w", "g", "v"]
    )
    lr = numpy_helper.from_array(np.array(0.01, np.float32), "lr")
    node = helper.make_node(op, names, ["w_new"], domain=domain, **attributes)
    graph = helper.make_graph(
        [node],
        "training",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [3]) for n in names[1:]],
        [helper.make_tensor_value_info("w_new", TensorProto.FLOAT, [3])],
        [lr],
    )
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(domain, 1)],
    )


@pytest.mark.parametrize(
    ("op", "attributes", "expected"),
    [
        ("Adam", {"norm_coefficient": 0.01}, ("Adam", 0.01, False)),
        ("Adam", {"norm_coefficient_post": 0.05}, ("AdamW", 0.05, True)),
        (
            "Momentum",
            {"alpha": 0.9, "beta": 1.0, "mode": "nesterov", "norm_coefficient": 1e-4},
            ("SGD", 1e-4, False),
        ),
        ("Adagrad", {}, ("Adagrad", 0.0, None)),
    ],
)
def test_onnx_training_operators_carry_weight_decay(tmp_path, op, attributes, expected):
    path = tmp_path / "train.onnx"
    onnx.save(_optimizer_graph(op, "ai.onnx.preview.training", **attributes), str(path))
    optimizer = load_onnx(path).optimizer
    assert (optimizer.kind, optimizer.weight_decay, optimizer.decoupled) == expected
    assert optimizer.lr == pytest.approx(0.01)
    assert "ai.onnx.preview.training" in optimizer.source


def test_onnxruntime_training_artifacts_lend_their_optimizer(tmp_path):
    path = onnx_models.mlp(tmp_path / "training_model.onnx", [8, 16, 2])
    onnx.save(
        _optimizer_graph("AdamWOptimizer", "com.microsoft", weight_decay=0.02),
        str(tmp_path / "optimizer_model.onnx"),
    )
    optimizer = load_onnx(path).optimizer
    assert (optimizer.kind, optimizer.weight_decay, optimizer.decoupled) == ("AdamW", 0.02, True)
    assert "optimizer_model.onnx" in optimizer.source
