"""OFL141-143 on spectra measured from real files and attached to the loaded model facts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from overfitlint import api
from overfitlint.facts import Facts
from overfitlint.settings import RuleConfig
from overfitlint.spectra import analyze_model
from overfitlint.spectra.attach import attach_spectra
from tests.spectra.weights import heavy_tail, spectra_net


def _findings(path: Path, code: str, fmt: str = "torch-checkpoint", **options):
    rules = RuleConfig(selected=(code,), combine_evidence=False)
    model = api.read([path]).model
    layers, summary = analyze_model(path, fmt, **options)
    model = attach_spectra(model, layers, summary)
    findings = api.judge(Facts(model=model), rules).findings
    return [f for f in findings if f.code == code], model


def _random_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(300, 200), torch.nn.ReLU(), torch.nn.Linear(200, 100)
    )


def test_a_heavy_tailed_layer_fires_ofl141(tmp_path: Path) -> None:
    torch.save(spectra_net().state_dict(), tmp_path / "model.pt")
    findings, model = _findings(tmp_path / "model.pt", "OFL141")
    assert len(findings) == 1
    finding = findings[0]
    assert finding.severity == "warning" and finding.location.layer == "fc2"
    assert "1 of 5 layers" in finding.message and "fc2 (" in finding.message
    evidence = {e.name: e.value for e in finding.evidence}
    assert evidence["lowest_alpha"] < 2 and evidence["below_threshold_by"] > 0
    assert next(layer for layer in model.layers if layer.name == "fc2").spectral["alpha"] < 2


def test_random_init_does_not_fire_ofl141_but_fires_ofl143(tmp_path: Path) -> None:
    torch.save(_random_net().state_dict(), tmp_path / "random.pt")
    assert _findings(tmp_path / "random.pt", "OFL141")[0] == []
    under, _ = _findings(tmp_path / "random.pt", "OFL143")
    assert len(under) == 1 and under[0].severity == "info"
    assert "of 2 layers" in under[0].message and "not overfitting" in under[0].message


def test_outsized_weights_fire_ofl142(tmp_path: Path) -> None:
    model = _random_net()
    torch.save(model.state_dict(), tmp_path / "clean.pt")
    assert _findings(tmp_path / "clean.pt", "OFL142")[0] == []
    with torch.no_grad():
        rows = np.random.default_rng(0).integers(0, 200, 10)
        model[0].weight[rows, rows] = 3.0
    torch.save(model.state_dict(), tmp_path / "trapped.pt")
    findings, _ = _findings(tmp_path / "trapped.pt", "OFL142")
    assert len(findings) == 1 and findings[0].location.layer == "0"


def test_frozen_heavy_tailed_layers_are_not_called_over_trained(tmp_path: Path) -> None:
    model = spectra_net()
    model.fc2.weight.requires_grad_(False)
    torch.jit.save(torch.jit.script(model), tmp_path / "frozen.pt")
    findings, _ = _findings(tmp_path / "frozen.pt", "OFL141", fmt="torchscript")
    assert findings == []


def test_a_fine_tune_of_unknown_origin_gets_information_only(tmp_path: Path) -> None:
    model = spectra_net()
    model.conv1.weight.requires_grad_(False)  # a frozen layer: the model is a fine-tune
    torch.jit.save(torch.jit.script(model), tmp_path / "tuned.pt")
    findings, _ = _findings(tmp_path / "tuned.pt", "OFL141", fmt="torchscript")
    assert len(findings) == 1
    assert findings[0].severity == "info" and "looks like a fine-tune" in findings[0].message


def test_an_inherited_spectrum_does_not_fire_ofl141(tmp_path: Path) -> None:
    base = spectra_net()
    torch.save(base.state_dict(), tmp_path / "base.pt")
    with torch.no_grad():
        base.fc2.weight.add_(1e-4 * torch.randn_like(base.fc2.weight))
    torch.save(base.state_dict(), tmp_path / "tuned.pt")
    findings, _ = _findings(tmp_path / "tuned.pt", "OFL141", reference=tmp_path / "base.pt")
    assert findings == []
    with torch.no_grad():
        base.head.weight.copy_(heavy_tail(base.head.weight, exponent=1.5))
    torch.save(base.state_dict(), tmp_path / "overdone.pt")
    findings, _ = _findings(tmp_path / "overdone.pt", "OFL141", reference=tmp_path / "base.pt")
    assert len(findings) == 1 and findings[0].location.layer == "head"
    assert "fc2: inherited" in next(
        e.value for e in findings[0].evidence if e.name == "not_counted"
    )


def test_the_checks_do_nothing_without_spectra(tmp_path: Path) -> None:
    torch.save(spectra_net().state_dict(), tmp_path / "model.pt")
    model = api.read([tmp_path / "model.pt"]).model
    assert model.spectral is None
    rules = RuleConfig(selected=("OFL141", "OFL142", "OFL143"), combine_evidence=False)
    result = api.judge(Facts(model=model), rules).evaluation
    assert result.findings == () and result.ran == ()
    assert set(result.skipped.values()) == {"needs weight spectra (--spectral)"}
    assert "spectral" not in model.to_dict() and "spectral" not in model.to_dict()["layers"][0]


def test_onnx_node_layers_carry_their_initializers_spectra(tmp_path: Path) -> None:
    from tests.spectra.weights import save_onnx

    path = save_onnx(spectra_net(), tmp_path / "model.onnx")
    findings, model = _findings(path, "OFL141", fmt="onnx")
    attached = {layer.name for layer in model.layers if layer.spectral is not None}
    assert attached == {"/conv1/Conv", "/conv2/Conv", "/fc1/Gemm", "/fc2/Gemm", "/head/Gemm"}
    assert model.spectral["unattached"] == []
    assert len(findings) == 1 and findings[0].location.layer == "fc2"
