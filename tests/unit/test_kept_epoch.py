"""Which epoch's weights a model file holds, from the file's own record or its name."""

from __future__ import annotations

import pytest

from overfitlint.facts import ModelFacts, Provenance, Unknown
from overfitlint.loaders import kept_epoch
from overfitlint.settings import LoadHints


def _model(name: str, framework: str, **details) -> ModelFacts:
    return ModelFacts(
        framework=framework,
        source=f"models/{name}",
        format="test",
        layers=[],
        provenance=Provenance(details=details),
        optimizer=Unknown("not in the file", "give --weight-decay"),
    )


@pytest.mark.parametrize(
    ("name", "framework", "epoch"),
    [
        ("model-09.weights.h5", "keras", 8),  # ModelCheckpoint("model-{epoch:02d}.weights.h5")
        ("weights.17-1.00.keras", "keras", 16),
        ("epoch=11-step=240.ckpt", "pytorch", 11),
        ("checkpoint_7.pt", "pytorch", 7),
    ],
)
def test_an_epoch_in_a_checkpoint_name(name, framework, epoch):
    kept = kept_epoch(_model(name, framework), LoadHints())
    assert kept is not None and kept.epoch == epoch and name in kept.source


def test_the_file_record_and_the_option_come_before_the_name():
    model = _model("model-09.weights.h5", "keras", epoch=3)
    assert kept_epoch(model, LoadHints()).epoch == 3
    assert kept_epoch(model, LoadHints(kept_epoch=5)).source == "--kept-epoch"


@pytest.mark.parametrize("name", ["model.keras", "final.pt", "resnet50.safetensors"])
def test_no_epoch_in_the_name_is_unknown(name):
    assert kept_epoch(_model(name, "pytorch"), LoadHints()) is None
