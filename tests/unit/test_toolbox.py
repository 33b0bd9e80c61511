"""The regularization-toolbox rules' plumbing: fix snippets and explain, the layer graph the
loaders record, k-fold grouping, learning-rate steps, and the --augmentation / --folds options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from overfitlint import api
from overfitlint.catalogue import load_catalogue, parse_rule
from overfitlint.checks.divergence import lr_increases
from overfitlint.checks.folds import group_folds
from overfitlint.curves import Curves, MetricPair, Series
from overfitlint.errors import CatalogueError
from overfitlint.render.explain import render_explanation
from tests.builders import onnx_models
from tests.conftest import write

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_every_rule_explains_its_fix_for_pytorch_and_keras() -> None:
    for code, spec in load_catalogue().items():
        assert set(spec.fix_snippets) == {"pytorch", "keras"}, code
        text = render_explanation(spec)
        for heading in ("## What it does", "## Why is this bad?", "## Evidence it needs"):
            assert heading in text, (code, heading)
        pytorch, keras = text.index("### PyTorch"), text.index("### Keras")
        assert text.index("## Fix") < pytorch < keras, code
        assert spec.fix_snippets["keras"].splitlines()[0] in text


def test_fix_snippets_are_validated(tmp_path: Path) -> None:
    source = Path(load_catalogue()["OFL202"].path).read_text(encoding="utf-8")
    bad = tmp_path / "OFL202.toml"
    bad.write_text(source.replace("pytorch = ", "tensorflow = ", 1), encoding="utf-8")
    with pytest.raises(CatalogueError, match="fix_snippets"):
        parse_rule(bad)


def test_keras2_h5_layer_graph_from_inbound_nodes() -> None:
    facts = api.read_model(FIXTURES / "keras2" / "model.h5")
    inputs = {layer.name: layer.inputs for layer in facts.layers}
    assert inputs["conv2d"] == []
    assert inputs["batch_normalization"] == ["conv2d"]
    assert inputs["dense"] == ["dropout"]
    assert facts.layer_graph_known and facts.augmentation_visible is True


def test_onnx_layer_graph_skips_unlisted_nodes(tmp_path: Path) -> None:
    path = onnx_models.mlp(tmp_path / "m.onnx", [6, 8, 8, 2], [0.5, None])
    facts = api.read_model(path)
    inputs = {layer.name: layer.inputs for layer in facts.layers}
    # fc0 -> Relu (not listed) -> drop0 -> fc1 -> Relu -> fc2
    assert inputs == {"fc0": [], "drop0": ["fc0"], "fc1": ["drop0"], "fc2": ["fc1"]}
    assert facts.to_dict()["layers"][1]["inputs"] == ["fc0"]


def _curves(source: str, lr: list[float] | None = None) -> Curves:
    n = 10 if lr is None else len(lr)
    epochs = np.arange(n, dtype=float)
    lines = np.arange(2, n + 2)
    series = {"val_loss": Series("val_loss", epochs, np.linspace(1, 0.5, n), lines)}
    if lr is not None:
        series["lr"] = Series("lr", epochs, np.array(lr), lines)
    curves = Curves(source, "csv", series, MetricPair(None, "val_loss"))
    curves.lr = "lr" if lr is not None else None
    return curves


def test_folds_grouped_below_the_shared_folder() -> None:
    logs = [
        _curves("/tmp/run_fold7/cv/fold1/metrics.csv"),
        _curves("/tmp/run_fold7/cv/fold2/metrics.csv"),
        _curves("/tmp/run_fold7/other.csv"),
        _curves("/tmp/run_fold7/seed_3.csv"),
        _curves("/tmp/run_fold7/seed_4.csv"),
    ]
    groups = group_folds(logs, declared=False)
    assert {key: [label for label, _ in members] for key, members in groups.items()} == {
        "cv/fold*/metrics.csv": ["fold1", "fold2"],
        "seed*.csv": ["seed3", "seed4"],
    }
    declared = group_folds(logs[:3], declared=True)
    assert [label for label, _ in declared["all logs (--folds)"]] == ["fold1", "fold2", "other.csv"]
    assert group_folds([_curves("a/fold1.csv")], declared=True) == {}


def test_lr_increases_group_a_warm_up_and_ignore_decay() -> None:
    lr = [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 0.5, 0.25, 0.25, 2.0]
    steps = lr_increases(_curves("log.csv", lr), 0.1)
    assert [(s.start_epoch, s.peak_epoch, s.before, s.after) for s in steps] == [
        (1.0, 4.0, 0.2, 1.0),
        (9.0, 9.0, 0.25, 2.0),
    ]
    assert lr_increases(_curves("log.csv"), 0.1) == []


def _onnx_image_model(path: Path) -> Path:
    """A small convolutional classifier on 3x8x8 images (exported from no framework)."""
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    dense = numpy_helper.from_array(rng.standard_normal((2, 4)).astype(np.float32), "d")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "d"], ["y"], name="head", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2])],
        [weight, dense],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def test_augmentation_is_unknown_until_stated(cli, tmp_path: Path) -> None:
    model = _onnx_image_model(tmp_path / "cnn.onnx")
    base = ("check", model, "--select", "OFL221", "--no-report", "--format", "json")
    unknown = cli(*base)
    assert unknown.code == 0, unknown.stderr
    (finding,) = unknown.json()["findings"]
    assert finding["severity"] == "info" and "unknown" in finding["message"]
    assert cli(*base, "--augmentation", "yes").json()["findings"] == []
    stated = cli(*base, "--augmentation", "no")
    assert stated.code == 0  # a cause alone is a risk: it fails only with --fail-on-risk
    assert stated.json()["findings"][0]["confidence"] == "high"
    assert stated.json()["verdict"]["status"] == "at-risk"
    assert cli(*base, "--augmentation", "no", "--fail-on-risk").code == 1
    write(tmp_path / "overfitlint.toml", 'augmentation = "no"\nfail-on-risk = true\n')
    assert cli(*base).code == 1
    write(
        tmp_path / "overfitlint.toml",
        '[[models]]\nmodel = "cnn.onnx"\naugmentation = "yes"\n',
    )
    manifest = cli("check", "--select", "OFL221", "--no-report", "--format", "json")
    assert manifest.code == 0 and manifest.json()["findings"] == [], manifest.stderr
    write(tmp_path / "overfitlint.toml", '[[models]]\nmodel = "cnn.onnx"\naugmentation = true\n')
    wrong = cli("check", "--select", "OFL221", "--no-report")
    assert wrong.code == 2 and 'augmentation must be "yes" or "no"' in wrong.stderr


def test_folds_flag_groups_any_logs(cli, tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{1 / (i + 1):.4f},{1 / (i + 1) + 0.3:.4f}" for i in range(12))
    for name in ("a.csv", "b.csv"):
        write(tmp_path / name, "epoch,loss,val_loss\n" + rows + "\n")
    base = ("check", "a.csv", "b.csv", "--select", "OFL309", "--no-report", "--format", "json")
    assert cli(*base).json()["findings"] == []
    (finding,) = cli(*base, "--folds").json()["findings"]
    assert finding["severity"] == "info"
    assert {e["name"]: e["value"] for e in finding["evidence"]}["folds"] == ["a.csv", "b.csv"]
