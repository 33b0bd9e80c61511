"""Each 5xx rule fires on a data set with its fault planted and stays silent on the clean one.

The data sets are scikit-learn's bundled ones (and the digits as PNG folders); the faults are
planted by tests/data/builders.py. Findings come from the engine (``api.judge``) with the
data facts, one rule at a time.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from overfitlint import api
from overfitlint.data import load_data, measure
from overfitlint.data.facts import DataFacts
from overfitlint.facts import Facts, ModelFacts
from overfitlint.findings import Finding
from overfitlint.settings import RuleConfig
from tests.builders import onnx_models
from tests.data import builders

# rule, data set, planted fault, the findings' subjects
FAULTS = [
    ("OFL501", "breast_cancer", "leaked", "train-val"),
    ("OFL502", "wine", "repeated", "train"),
    ("OFL503", "digits", "class_cut", "few-samples imbalance"),
    ("OFL503", "wine", "unseen_class", "unseen-classes"),
    ("OFL504", "iris", "one_column_scaled", "scale-spread"),
    ("OFL505", "digits", "flipped", "labels"),
    ("OFL506", "breast_cancer", "with_nans", "missing"),
    ("OFL506", "breast_cancer", "with_infinities", "nonfinite"),
    ("OFL506", "breast_cancer", "with_outliers", "outliers"),
    ("OFL507", "breast_cancer", "split_by_feature", "features labels"),
]


@cache
def measured(name: str, fault: str | None, noise: bool, folder: str) -> DataFacts:
    arrays = builders.clean(name) if fault is None else builders.FAULTS[fault](name)
    path = builders.save_npz(Path(folder) / f"{name}-{fault}.npz", arrays)
    return measure(load_data([path]), noise=noise)


def findings(
    code: str, facts: DataFacts, model: ModelFacts | None = None, **config
) -> list[Finding]:
    rules = RuleConfig(selected=(code,), **config)
    return [f for f in api.judge(Facts(model=model, data=facts), rules).findings if f.code == code]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize(("code", "name", "fault", "subject"), FAULTS)
def test_rule_fires_on_its_fault(code, name, fault, subject, folder):
    facts = measured(name, fault, code == "OFL505", folder)
    found = findings(code, facts)
    assert [f.subject for f in found] == subject.split(), [f.message for f in found]
    assert found[0].location.file == facts.source


@pytest.mark.parametrize(("code", "name"), sorted({(c, n) for c, n, _, _ in FAULTS}))
def test_rule_is_silent_on_the_clean_data(code, name, folder):
    facts = measured(name, None, code == "OFL505", folder)
    assert findings(code, facts) == []


def test_overlap_flags_the_curves_untrustworthy(folder):
    (finding,) = findings("OFL501", measured("breast_cancer", "leaked", False, folder))
    assert finding.evidence_value("curves_untrustworthy") is True
    assert finding.evidence_value("exact_copies") == 7
    assert finding.evidence_value("near_copies") == 7  # the jittered half
    assert "cannot be called healthy" in finding.message
    assert finding.severity == "error"


def test_label_noise_estimate_and_suspects(folder):
    facts = measured("digits", "flipped", True, folder)
    noise = facts.noise
    assert 0.10 < noise.estimated_share < 0.20  # 15% of the labels were flipped
    _, noisy, _, _ = builders.flipped("digits")
    _, clean, _, _ = builders.clean("digits")
    wrong = {f"train row {i}" for i in np.flatnonzero(noisy != clean)}
    suspects = [s.example for s in noise.examples]
    assert len(suspects) == 10
    assert sum(s in wrong for s in suspects) >= 7  # the most confident suspects are flips
    assert "own implementation" in noise.method


def test_params_per_sample_of_the_smallest_class(tmp_path, folder):
    facts = measured("digits", None, False, folder)
    big = api.read_model(onnx_models.mlp(tmp_path / "big.onnx", [64, 2048, 10]))
    small = api.read_model(onnx_models.mlp(tmp_path / "small.onnx", [64, 16, 10]))
    (finding,) = findings("OFL503", facts, big)
    assert finding.subject == "params-per-class"
    assert finding.evidence_value("trainable_params") == onnx_models.mlp_params([64, 2048, 10])
    assert findings("OFL503", facts, small) == []


def test_raw_pixel_arrays_are_flagged(tmp_path):
    images, labels = builders.dataset("digits")
    pixels = (images.reshape(-1, 8, 8) * 255 / 16).astype(np.uint8)
    path = builders.save_npz(tmp_path / "pixels.npz", builders.stratified_split(pixels, labels))
    facts = measure(load_data([path]), noise=False)
    assert facts.kind == "images" and facts.scale.raw_pixels
    (finding,) = findings("OFL504", facts)
    assert finding.subject == "raw-pixels"
    scaled = builders.save_npz(
        tmp_path / "scaled.npz", builders.stratified_split(pixels / 255.0, labels)
    )
    assert findings("OFL504", measure(load_data([scaled]), noise=False)) == []


@pytest.fixture(scope="module")
def image_folders(tmp_path_factory) -> dict[str, DataFacts]:
    root = tmp_path_factory.mktemp("images")
    return {
        kind: measure(
            load_data(
                [builders.digits_folder(root / kind, **{kind: 40} if kind != "clean" else {})]
            ),
            noise=False,
        )
        for kind in ("clean", "leaked", "repeated")
    }


def test_near_copies_of_images_across_splits(image_folders):
    (finding,) = findings("OFL501", image_folders["leaked"])
    # of 40 copies (noise or +12 brightness), most are within 2 bits; the rest 4 or more
    assert 30 <= finding.evidence_value("val_copies") <= 45
    examples = finding.evidence_value("examples")
    assert any("copy" in e for e in examples)
    assert findings("OFL501", image_folders["clean"]) == []


def test_near_copies_of_images_inside_training(image_folders):
    facts = image_folders["repeated"]
    strict = {"thresholds": {"OFL502": {"max_share": 0.02}}}
    (finding,) = findings("OFL502", facts, **strict)
    assert 30 <= finding.evidence_value("train_repeats") <= 45
    assert findings("OFL502", image_folders["clean"], **strict) == []


def _keras_model(path: Path, rescale: bool) -> ModelFacts:
    import keras

    model = keras.Sequential(
        [keras.Input((32, 32, 1))]
        + ([keras.layers.Rescaling(1 / 255)] if rescale else [])
        + [keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    model.save(path)
    return api.read_model(path)


@pytest.mark.slow
def test_raw_pixels_judged_with_the_model(tmp_path, image_folders):
    facts = image_folders["clean"]
    assert facts.scale.raw_pixels
    assert findings("OFL504", facts) == []  # decoded files are 0..255; the pipeline may scale
    plain = _keras_model(tmp_path / "plain.keras", rescale=False)
    rescaled = _keras_model(tmp_path / "rescaled.keras", rescale=True)
    (finding,) = findings("OFL504", facts, plain)
    assert "no rescaling or normalisation layer" in finding.message
    assert findings("OFL504", facts, rescaled) == []
