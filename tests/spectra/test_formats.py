"""Every format yields the same spectra for the same weights."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from overfitlint.spectra import analyze_model
from tests.spectra.weights import keras_weights, save_onnx, spectra_net

LAYERS = {"conv1", "conv2", "fc1", "fc2", "head"}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("formats")
    model = spectra_net()
    state = model.state_dict()
    files: dict[str, tuple[Path, str]] = {}
    torch.save(state, folder / "state.pt")
    files["state-dict"] = (folder / "state.pt", "torch-checkpoint")
    torch.save(model, folder / "module.pt")
    files["pickled-module"] = (folder / "module.pt", "torch-checkpoint")
    torch.jit.save(torch.jit.script(model), folder / "script.pt")
    files["torchscript"] = (folder / "script.pt", "torchscript")
    lightning = {
        "epoch": 3,
        "global_step": 120,
        "state_dict": {f"model.{key}": value for key, value in state.items()},
        "optimizer_states": [torch.optim.Adam(model.parameters()).state_dict()],
        "hyper_parameters": {"lr": 1e-3},
    }
    torch.save(lightning, folder / "run.ckpt")
    files["lightning"] = (folder / "run.ckpt", "torch-checkpoint")
    save_file({k: v.contiguous() for k, v in state.items()}, folder / "model.safetensors")
    files["safetensors"] = (folder / "model.safetensors", "safetensors")
    files["onnx"] = (save_onnx(model, folder / "model.onnx"), "onnx")
    external = folder / "external"
    external.mkdir()
    files["onnx-external"] = (save_onnx(model, external / "model.onnx", external=True), "onnx")
    return files


def _alphas(path: Path, fmt: str) -> dict[str, float]:
    layers, _ = analyze_model(path, fmt)
    return {layer.name.rsplit(".", 1)[-1]: layer.alpha for layer in layers}


def test_every_torch_family_format_gives_the_same_spectra(saved) -> None:
    reference = _alphas(*saved["state-dict"])
    assert set(reference) == LAYERS
    assert reference["fc2"] < 2 < 6 < reference["fc1"]
    for name, (path, fmt) in saved.items():
        got = _alphas(path, fmt)
        assert set(got) == LAYERS, name
        for layer, alpha in reference.items():
            assert math.isclose(got[layer], alpha, rel_tol=1e-9), (name, layer)


def test_frozen_flags_come_from_modules_and_torchscript_only(tmp_path: Path) -> None:
    model = spectra_net()
    model.conv1.weight.requires_grad_(False)
    torch.save(model, tmp_path / "module.pt")
    torch.save(model.state_dict(), tmp_path / "state.pt")
    module_layers, summary = analyze_model(tmp_path / "module.pt", "torch-checkpoint")
    origins = {layer.name: layer.origin for layer in module_layers}
    assert origins["conv1"] == "frozen" and origins["fc2"] == "unknown"
    assert summary.fine_tune and "frozen" in summary.fine_tune[0]
    state_layers, state_summary = analyze_model(tmp_path / "state.pt", "torch-checkpoint")
    assert {layer.trainable for layer in state_layers} == {None}
    assert state_summary.fine_tune == []


def test_keras_files_give_the_spectra_of_the_same_weights(tmp_path: Path, saved) -> None:
    import keras

    weights = keras_weights(spectra_net())
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(16, 3, name="conv1"),
            keras.layers.Conv2D(32, 3, name="conv2"),
            keras.layers.Flatten(),
            keras.layers.Dense(256, name="fc1"),
            keras.layers.Dense(128, name="fc2"),
            keras.layers.Dense(10, name="head"),
        ]
    )
    for name, values in weights.items():
        model.get_layer(name).set_weights(values)
    model.get_layer("conv1").trainable = False
    model.save(tmp_path / "model.keras")
    model.save(tmp_path / "model.h5")
    model.save_weights(tmp_path / "model.weights.h5")
    reference = _alphas(*saved["state-dict"])
    for path, fmt in (
        (tmp_path / "model.keras", "keras"),
        (tmp_path / "model.h5", "keras-h5"),
        (tmp_path / "model.weights.h5", "keras-h5"),
    ):
        layers, _ = analyze_model(path, fmt)
        got = {layer.name: layer for layer in layers}
        assert set(got) == LAYERS, path.name
        for layer, alpha in reference.items():
            assert math.isclose(got[layer].alpha, alpha, rel_tol=1e-9), (path.name, layer)
        if fmt == "keras":
            assert got["conv1"].origin == "frozen" and got["fc1"].trainable is True


def test_bfloat16_and_float16_safetensors_are_widened(tmp_path: Path) -> None:
    state = spectra_net().state_dict()
    for dtype in (torch.bfloat16, torch.float16):
        path = tmp_path / f"{dtype}.safetensors".replace("torch.", "")
        save_file({k: v.to(dtype).contiguous() for k, v in state.items()}, path)
        low = {layer.name: layer.alpha for layer in analyze_model(path, "safetensors")[0]}
        rounded = {k: v.to(dtype).to(torch.float32) for k, v in state.items()}
        torch.save(rounded, tmp_path / "rounded.pt")
        exact = {
            layer.name: layer.alpha
            for layer in analyze_model(tmp_path / "rounded.pt", "torch-checkpoint")[0]
        }
        assert low.keys() == exact.keys()
        for name in low:
            assert math.isclose(low[name], exact[name], rel_tol=1e-9), (dtype, name)


def test_onnx_initializers_in_typed_fields_read_as_onnx_reads_them(tmp_path: Path) -> None:
    """Initializers kept in float_data, double_data and int32_data (float16 and bfloat16 bit
    patterns) rather than raw_data, small and large, are the arrays onnx itself decodes."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from overfitlint.spectra.tensors import read_weights

    rng = np.random.default_rng(5)
    types = {"f32": TensorProto.FLOAT, "f64": TensorProto.DOUBLE, "f16": TensorProto.FLOAT16}
    types["bf16"] = TensorProto.BFLOAT16
    initializers, nodes = [], []
    for size in (3, 40):  # 40 x 40 is past the size whose values onnx_wire decodes itself
        for label, data_type in types.items():
            name = f"{label}_{size}.weight"
            values = rng.normal(size=(size, size)).astype(np.float32)
            initializers.append(helper.make_tensor(name, data_type, values.shape, values))
            nodes.append(helper.make_node("Identity", [name], [f"{name}.out"]))
    graph = helper.make_graph(nodes, "typed", [], [helper.make_tensor_value_info(
        f"{initializers[0].name}.out", TensorProto.FLOAT, None)], initializers)  # fmt: skip
    path = tmp_path / "typed.onnx"
    onnx.save_model(helper.make_model(graph), str(path))
    assert not any(t.HasField("raw_data") for t in onnx.load(str(path)).graph.initializer)
    got = {tensor.name: tensor for tensor in read_weights(path, "onnx")}
    assert len(got) == len(initializers)
    for proto in initializers:
        tensor = got[proto.name.removesuffix(".weight")]
        wanted = numpy_helper.to_array(proto)
        if tensor.bfloat16:  # the raw bit patterns, widened by the matrix builder
            array = (tensor.array.astype(np.uint32) << 16).view(np.float32)
            assert np.array_equal(array, wanted.astype(np.float32)), proto.name
        else:
            assert tensor.array.dtype == wanted.dtype, proto.name
            assert np.array_equal(tensor.array, wanted), proto.name
