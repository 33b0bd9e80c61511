"""Keras files read as data: .keras archives, legacy .h5 (Keras 2 and 3), SavedModel folders.

No loader imports TensorFlow (the builders here do, to write the files)."""

from __future__ import annotations

import zipfile

import pytest

from overfitlint import api
from overfitlint.errors import InputError
from overfitlint.facts import OptimizerFacts, Unknown
from overfitlint.readers import archive
from tests.conftest import ROOT

pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")


@pytest.fixture(scope="module")
def kb():
    from tests.builders import keras_models

    return keras_models


@pytest.fixture(scope="module")
def files(kb, tmp_path_factory):
    """One .keras / .h5 per architecture, built once for the module."""
    folder = tmp_path_factory.mktemp("keras")
    built = {}
    for name in ("mlp", "cnn-batchnorm", "embedding-lstm", "nested-functional"):
        (folder / name).mkdir()
        model = kb.build(name)
        built[name] = kb.save_keras(model, folder / name / "model.keras")
    mlp_h5 = kb.build("mlp")
    import keras

    mlp_h5.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="mse")
    built["mlp-h5"] = kb.save_h5(mlp_h5, folder / "mlp.h5")
    built["uncompiled"] = kb.save_keras(kb.build("mlp", compiled=False), folder / "raw.keras")
    built["export"] = kb.export_savedmodel(kb.build("cnn-batchnorm"), folder / "exported")
    return built


def _layers(facts):
    return {layer.name: layer for layer in facts.layers}


def test_keras_archive_dropout_regularizers_and_optimizer(files):
    facts = api.read_model(files["mlp"])
    assert facts.format == "keras" and facts.framework == "keras"
    assert [layer.dropout_rate for layer in facts.dropout_layers] == [0.4]
    assert facts.regularized_layers[0].regularizers == ["kernel_regularizer=L2(l2=0.0001)"]
    optimizer = facts.optimizer
    assert isinstance(optimizer, OptimizerFacts)
    assert (optimizer.kind, optimizer.weight_decay, optimizer.decoupled) == ("AdamW", 0.004, True)
    assert optimizer.lr == pytest.approx(1e-3)
    assert list(facts.input_shapes.values()) == [["?", 12]]  # names depend on Keras counters
    assert facts.provenance.producer_version.startswith("3.")


def test_spatial_dropout_augmentation_and_batchnorm(files):
    facts = api.read_model(files["cnn-batchnorm"])
    kinds = {layer.kind: layer for layer in facts.layers}
    assert kinds["SpatialDropout2D"].dropout_rate == 0.2
    assert [layer.kind for layer in facts.augmentation_layers] == ["RandomFlip"]
    batchnorm = [layer for layer in facts.layers if layer.kind == "BatchNormalization"]
    assert [(b.params, b.trainable_params) for b in batchnorm] == [(32, 16), (64, 32)]


def test_recurrent_dropout_through_a_wrapper_and_gaussian_noise(files):
    layers = _layers(api.read_model(files["embedding-lstm"]))
    assert layers["bidirectional"].dropout_rate == 0.2  # max of dropout and recurrent_dropout
    assert layers["bidirectional"].is_dropout
    assert layers["gaussian_noise"].dropout_rate == 0.05


def test_nested_model_frozen_layer_and_alpha_dropout(files):
    layers = _layers(api.read_model(files["nested-functional"]))
    assert layers["frozen_dense"].params == 16 * 8 + 8
    assert layers["frozen_dense"].trainable_params == 0
    assert layers["alpha_dropout"].dropout_rate == 0.1


def test_uncompiled_model_has_unknown_optimizer(files):
    optimizer = api.read_model(files["uncompiled"]).optimizer
    assert isinstance(optimizer, Unknown)
    assert "--weight-decay" in optimizer.remedy


def test_keras3_legacy_h5(files):
    facts = api.read_model(files["mlp-h5"])
    assert facts.format == "keras-h5"
    assert [layer.dropout_rate for layer in facts.dropout_layers] == [0.4]
    assert facts.optimizer.kind == "SGD"
    assert facts.optimizer.details["momentum"] == 0.9
    assert facts.optimizer.weight_decay == 0.0


def test_keras2_h5_schema():
    facts = api.read_model(ROOT / "tests/fixtures/keras2/model.h5")
    assert facts.provenance.producer_version == "2.21.0"
    regularizers = {layer.name: layer.regularizers for layer in facts.regularized_layers}
    assert regularizers == {
        "conv2d": ["kernel_regularizer=L2(l2=0.001)"],
        "dense": ["bias_regularizer=L1(l1=0.0001)"],
    }
    assert facts.optimizer.decoupled is True  # tf.keras 2.11+ optimizers decay decoupled


def test_exported_savedmodel_is_read_without_tensorflow_and_says_what_it_lacks(files):
    facts = api.read_model(files["export"])
    assert facts.format == "savedmodel"
    assert isinstance(facts.dropout_visible, Unknown)
    assert ".keras" in facts.dropout_visible.remedy
    assert isinstance(facts.optimizer, Unknown)
    assert list(facts.input_shapes.values()) == [["?", 8, 8, 3]]


def test_keras2_savedmodel_uses_keras_metadata():
    facts = api.read_model(ROOT / "tests/fixtures/keras2/savedmodel")
    assert facts.provenance.details["keras_metadata"] is True
    assert [layer.dropout_rate for layer in facts.dropout_layers] == [0.3]
    assert facts.optimizer.weight_decay == pytest.approx(0.01)


def test_lambda_layer_is_reported_never_executed(kb, tmp_path):
    import keras

    marker = tmp_path / "ran.txt"

    def side_effect(x, marker=str(marker)):
        open(marker, "w").close()  # runs only if something executes the Lambda
        return x

    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Lambda(side_effect), keras.layers.Dense(2)]
    )
    path = kb.save_keras(model, tmp_path / "lambda.keras")
    marker.unlink(missing_ok=True)  # building the model ran it once
    facts = api.read_model(path)
    assert not marker.exists()
    assert any("Lambda layer" in note and "never executed" in note for note in facts.notes)
    assert isinstance(facts.dropout_visible, Unknown)  # the Lambda could hide a dropout


def test_subclassed_model_guesses_kinds_and_leaves_dropout_unknown(kb, tmp_path):
    import keras
    import numpy as np

    class Tower(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = keras.layers.Dense(5)
            self.norm = keras.layers.BatchNormalization()
            self.drop = keras.layers.Dropout(0.4)

        def call(self, x, training=False):
            return self.drop(self.norm(self.hidden(x)), training=training)

    model = Tower()
    model(np.zeros((2, 3)))
    facts = api.read_model(kb.save_keras(model, tmp_path / "sub.keras"))
    assert (facts.total_params, facts.trainable_params) == kb.counts(model)
    assert {layer.kind for layer in facts.layers} >= {"Dense", "BatchNormalization", "Dropout"}
    assert isinstance(facts.dropout_visible, Unknown)


def _rezip(source, target, replace=None, add=None, drop=()):
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename in drop:
                continue
            data = (replace or {}).get(info.filename, old.read(info))
            new.writestr(info.filename, data)
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return target


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/evil", "assets/../../x"])
def test_member_names_outside_the_archive_are_refused(files, tmp_path, name):
    path = _rezip(files["mlp"], tmp_path / "evil.keras", add={name: b"x"})
    with pytest.raises(InputError, match="outside the archive"):
        api.read_model(path)


def test_members_are_size_checked_before_reading(files, tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "JSON_LIMIT", 100)
    with pytest.raises(InputError, match=r"config.json declares .* more than the 100 allowed"):
        api.read_model(files["mlp"])


def test_zip_bomb_member_is_refused(files, tmp_path):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(files["mlp"]) as old, zipfile.ZipFile(path, "w") as new:
        for name in ("config.json", "metadata.json"):
            new.writestr(name, old.read(name))
        new.writestr("model.weights.h5", b"\0" * (80 << 20), compress_type=zipfile.ZIP_DEFLATED)
    with pytest.raises(InputError, match="zip bomb"):
        api.read_model(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"drop": ("config.json",)}, "without config.json"),
        ({"replace": {"config.json": b"{not json"}}, "config.json is not valid JSON"),
        ({"replace": {"model.weights.h5": b"\x89HDF\r\n\x1a\n" + b"\0" * 64}}, "HDF5"),
        ({"replace": {"config.json": b"[1, 2]"}}, "not a Keras model config"),
    ],
    ids=["no-config", "bad-json", "corrupt-weights", "config-not-object"],
)
def test_broken_archives_fail_with_one_line(files, tmp_path, change, message):
    path = _rezip(files["mlp"], tmp_path / "broken.keras", **change)
    with pytest.raises(InputError, match=message):
        api.read_model(path)


def test_h5_links_are_not_followed(tmp_path):
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("layers/dense/vars/0", data=[[1.0, 2.0]])
        h5["layers/dense/vars"].attrs["name"] = "dense"
        h5["layers/evil"] = h5py.ExternalLink(str(tmp_path / "elsewhere.h5"), "/")
        h5["layers/soft"] = h5py.SoftLink("/layers/dense")
    facts = api.read_model(path)
    assert facts.total_params == 2
    assert isinstance(facts.dropout_visible, Unknown)  # a weights file: no architecture
