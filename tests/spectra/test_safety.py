"""Reading weights never executes anything from the file and never leaves the model's folder."""

from __future__ import annotations

import argparse
import operator
import os
from pathlib import Path

import h5py
import numpy as np
import onnx
import pytest
import torch

from overfitlint.errors import InputError
from overfitlint.spectra.tensors import read_weights
from tests.spectra.weights import save_onnx, spectra_net


class Gadget:
    """Unpickling this runs a shell command: the classic pickle payload."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_state_dict_with_an_os_system_gadget_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    state = dict(spectra_net().state_dict())
    state["extra"] = Gadget(marker)
    torch.save(state, tmp_path / "evil.pt")
    with pytest.raises(InputError, match=r"system.*refused"):
        list(read_weights(tmp_path / "evil.pt", "torch-checkpoint"))
    assert not marker.exists()


def test_unknown_globals_become_inert_stand_ins(tmp_path: Path) -> None:
    """A Lightning-style checkpoint whose hyper-parameters are an argparse.Namespace still
    yields its weights; the Namespace class is never imported or called."""
    model = spectra_net()
    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": argparse.Namespace(lr=0.1, layers=[1, 2]),
    }
    torch.save(checkpoint, tmp_path / "run.ckpt")
    names = [w.name for w in read_weights(tmp_path / "run.ckpt", "torch-checkpoint")]
    assert names == ["conv1", "conv2", "fc1", "fc2", "head"]


def test_optimizer_moments_are_not_read_as_layers(tmp_path: Path) -> None:
    model = spectra_net()
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.zeros(2, 3, 8, 8)).sum().backward()
    optimizer.step()
    torch.save(
        {"model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict()},
        tmp_path / "ckpt.pt",
    )
    names = [w.name for w in read_weights(tmp_path / "ckpt.pt", "torch-checkpoint")]
    assert names == ["conv1", "conv2", "fc1", "fc2", "head"]


def test_tensor_views_are_memory_maps_of_the_archive(tmp_path: Path) -> None:
    torch.save(spectra_net().state_dict(), tmp_path / "state.pt")
    weight = next(iter(read_weights(tmp_path / "state.pt", "torch-checkpoint")))
    base = weight.array
    while base.base is not None and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap)


def test_onnx_external_data_outside_the_model_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    path = save_onnx(spectra_net(), folder / "model.onnx", external=True)
    proto = onnx.load(str(path), load_external_data=False)
    for tensor in proto.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../secrets.bin"
    (tmp_path / "secrets.bin").write_bytes(b"\0" * 1_000_000)
    onnx.save_model(proto, str(path))
    with pytest.raises(InputError, match="outside the model's folder"):
        list(read_weights(path, "onnx"))


def test_hdf5_external_links_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.h5"
    with h5py.File(outside, "w") as handle:
        handle.create_dataset("layers/dense/vars/0", data=np.ones((64, 32), dtype=np.float32))
        handle["layers/dense/vars"].attrs["name"] = "dense"
    path = tmp_path / "model.weights.h5"
    with h5py.File(path, "w") as handle:
        handle["layers"] = h5py.ExternalLink(str(outside), "/layers")
        handle.create_dataset("inner/dense_1/vars/0", data=np.ones((16, 8), dtype=np.float32))
        handle["inner/dense_1/vars"].attrs["name"] = "dense_1"
    assert [w.name for w in read_weights(path, "keras-h5")] == ["dense_1"]


def test_truncated_safetensors_is_one_clear_error(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in spectra_net().state_dict().items()}, path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(InputError, match="truncated or corrupt"):
        list(read_weights(path, "safetensors"))


class _Reduces:
    """Unpickling this calls ``function(*args)``."""

    def __init__(self, function, *args) -> None:
        self.function, self.args = function, args

    def __reduce__(self):
        return (self.function, self.args)


@pytest.mark.parametrize(
    "gadget",
    [_Reduces(operator.attrgetter, "system"), _Reduces(torch.hub.load, "owner/repo", "model")],
    ids=["operator", "torch.hub"],
)
def test_the_loader_and_the_spectra_refuse_a_gadget_with_one_reader(tmp_path, gadget) -> None:
    """Both read a checkpoint through overfitlint.readers.torch_pickle: the same line."""
    from overfitlint.loaders.models.pytorch import read_checkpoint

    state = dict(spectra_net().state_dict())
    state["extra"] = gadget
    torch.save(state, tmp_path / "evil.pt")
    with pytest.raises(InputError) as loading:
        read_checkpoint(tmp_path / "evil.pt", "torch-checkpoint")
    with pytest.raises(InputError) as spectra:
        list(read_weights(tmp_path / "evil.pt", "torch-checkpoint"))
    for error in (loading, spectra):
        assert "(a pickle gadget?); refused, and nothing from it was run" in str(error.value)
