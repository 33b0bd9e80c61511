"""safetensors files: parameter names and shapes from the checked JSON header alone
(``overfitlint.readers.safetensors``: no framework, no tensor bytes)."""

from __future__ import annotations

from pathlib import Path

from overfitlint.errors import InputError
from overfitlint.facts import ModelFacts, Provenance, Unknown
from overfitlint.loaders.models.named_tensors import NamedTensor, group_layers
from overfitlint.readers.safetensors import read_header

FRAMEWORKS = {"pt": "pytorch", "tf": "tensorflow", "flax": "flax", "np": "numpy", "mlx": "mlx"}


def tensors(path: Path) -> tuple[list[NamedTensor], dict]:
    header = read_header(path)
    found = [
        NamedTensor(entry.name, entry.shape, entry.floating, (entry.begin, entry.end, entry.shape))
        for entry in header.entries
    ]
    return found, header.metadata


def load_safetensors(path: Path) -> ModelFacts:
    found, metadata = tensors(path)
    if not found:
        raise InputError(f"{path}: the safetensors file holds no tensors")
    layers, notes = group_layers(found)
    framework = FRAMEWORKS.get(str(metadata.get("format", "")), "safetensors")
    details = {k: str(v)[:200] for k, v in list(metadata.items())[:20]}
    return ModelFacts(
        framework=framework,
        source=str(path),
        format="safetensors",
        layers=layers,
        provenance=Provenance(producer="safetensors", details={"metadata": details}),
        optimizer=Unknown(
            "a safetensors file holds tensors only, no optimizer",
            "Check the training checkpoint (torch.save with the optimizer's state_dict), "
            "or pass --weight-decay VALUE.",
        ),
        dropout_visible=Unknown(
            "a safetensors file holds parameters only, no architecture: dropout cannot be seen",
            "Check the model itself (TorchScript, torch.export .pt2, .keras), or a factory "
            f"that builds it: overfitlint check mypkg.models:build_model --weights {path}",
        ),
        notes=notes,
    )
