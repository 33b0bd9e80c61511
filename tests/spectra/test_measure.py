"""The measurement: WeightWatcher's fit and metrics, traps, backends, fine-tune origins."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from overfitlint.spectra import analyze_model, measure_layer
from overfitlint.spectra.eigen import make_backend
from overfitlint.spectra.powerlaw import fit_power_law
from overfitlint.spectra.progress import Progress
from overfitlint.spectra.tensors.record import DENSE, WeightTensor
from tests.spectra.weights import heavy_tail, spectra_net


def _dense(array: np.ndarray, name: str = "w") -> WeightTensor:
    return WeightTensor(name, DENSE, array)


@pytest.mark.parametrize("n", [12, 19, 40, 700, 3000])
def test_power_law_fit_is_weightwatchers(n: int) -> None:
    ww_powerlaw = pytest.importorskip("weightwatcher.WW_powerlaw")
    rng = np.random.default_rng(n)
    evals = np.sort(rng.pareto(1.7, n) + 0.3)
    theirs = ww_powerlaw.WWFit(evals[evals > 1e-5])
    ours = fit_power_law(evals)
    assert ours is not None
    assert ours.xmin == theirs.xmin
    assert math.isclose(ours.alpha, theirs.alpha, rel_tol=1e-12)
    assert math.isclose(ours.ks_distance, theirs.D, rel_tol=1e-9)


def test_heavy_tailed_layer_is_over_trained_and_random_init_is_not() -> None:
    backend = make_backend("cpu")
    random_init = torch.nn.Linear(400, 300).weight.detach()
    heavy = measure_layer(_dense(heavy_tail(random_init).numpy()), backend)
    plain = measure_layer(_dense(random_init.numpy()), backend)
    assert heavy.status == "over-trained" and heavy.alpha < 2
    assert plain.status == "under-trained" and plain.alpha > 6
    assert plain.traps == 0 and heavy.num_evals == 300


@pytest.mark.parametrize("shape", [(512, 256), (300, 600)])
def test_a_few_outsized_weights_are_correlation_traps(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    weight = rng.normal(0.01, 0.05, shape).astype(np.float32)
    backend = make_backend("cpu")
    assert measure_layer(_dense(weight), backend).traps == 0
    rows, cols = rng.permutation(shape[0])[:12], rng.permutation(shape[1])[:12]
    weight[rows, cols] = rng.choice([-1.0, 1.0], 12) * np.linspace(0.5, 6.0, 12)
    assert measure_layer(_dense(weight), backend).traps >= 1


def test_trap_count_is_the_spike_count_of_a_shuffled_copy() -> None:
    """The predicted traps are the eigenvalues of an actual element-shuffled copy above the
    limit (bulk edge + 6 Tracy-Widom widths), counted the long way."""
    from overfitlint.spectra.analysis import TRAP_TW_WIDTHS

    rng = np.random.default_rng(5)
    n, m = 1000, 400
    weight = rng.normal(0, 0.02, (n, m))
    picks = rng.permutation(n * m)[:20]
    weight.flat[picks] = np.linspace(0.1, 2.0, 20) * rng.choice([-1, 1], 20)
    predicted = measure_layer(_dense(weight), make_backend("cpu")).traps
    centred = weight - weight.mean()
    variance = 0.02**2  # the bulk's: the elements before the planted ones
    limit = variance * (
        (np.sqrt(n) + np.sqrt(m)) ** 2
        + TRAP_TW_WIDTHS * (np.sqrt(n) + np.sqrt(m)) * (1 / np.sqrt(n) + 1 / np.sqrt(m)) ** (1 / 3)
    )
    counted = []
    for _ in range(3):
        copy = rng.permutation(centred.ravel()).reshape(n, m)
        counted.append(int(np.count_nonzero(np.linalg.eigvalsh(copy.T @ copy) > limit)))
    assert predicted > 0
    assert min(counted) - 1 <= predicted <= max(counted) + 1, (predicted, counted)


def test_large_matrices_are_summed_in_blocks_with_the_same_result(monkeypatch) -> None:
    from overfitlint.spectra import matrices

    rng = np.random.default_rng(1)
    tall = rng.standard_normal((900, 120)).astype(np.float32)
    wide = np.ascontiguousarray(tall.T)
    backend = make_backend("cpu")
    whole = measure_layer(_dense(tall), backend, traps=False)
    monkeypatch.setattr(matrices, "BLOCK_ELEMENTS", 5_000)
    for array in (tall, wide):
        blocked = measure_layer(_dense(array), backend, traps=False)
        assert math.isclose(blocked.alpha, whole.alpha, rel_tol=1e-9)
        assert math.isclose(blocked.stable_rank, whole.stable_rank, rel_tol=1e-9)


def test_the_torch_path_gives_the_numpy_results(tmp_path: Path) -> None:
    torch.save(spectra_net().state_dict(), tmp_path / "state.pt")
    numpy_layers, numpy_summary = analyze_model(tmp_path / "state.pt", "torch-checkpoint")
    torch_layers, torch_summary = analyze_model(
        tmp_path / "state.pt", "torch-checkpoint", engine="torch"
    )
    assert numpy_summary.backend == "numpy" and torch_summary.backend == "torch"
    for a, b in zip(numpy_layers, torch_layers, strict=True):
        assert a.name == b.name and a.traps == b.traps and a.status == b.status
        assert math.isclose(a.alpha, b.alpha, rel_tol=1e-8)
        assert math.isclose(a.log_spectral_norm, b.log_spectral_norm, rel_tol=1e-9, abs_tol=1e-12)


def test_cuda_is_refused_cleanly_without_a_gpu(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    torch.save(spectra_net().state_dict(), tmp_path / "state.pt")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        analyze_model(tmp_path / "state.pt", "torch-checkpoint", device="cuda")


def _train_digits(steps: int = 400) -> torch.nn.Module:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model


def test_alpha_agrees_with_weightwatcher_on_a_trained_model(tmp_path: Path) -> None:
    weightwatcher = pytest.importorskip("weightwatcher")
    model = _train_digits()
    torch.save(model.state_dict(), tmp_path / "digits.pt")
    ours = {
        layer.name: layer for layer in analyze_model(tmp_path / "digits.pt", "torch-checkpoint")[0]
    }
    details = weightwatcher.WeightWatcher(model=model).analyze()
    assert len(details) == 3
    for _, row in details.iterrows():
        layer = ours[row["longname"]]
        assert abs(layer.alpha - row["alpha"]) <= 0.05, row["longname"]
        assert math.isclose(layer.log_spectral_norm, row["log_spectral_norm"], abs_tol=1e-6)
        assert math.isclose(layer.stable_rank, row["stable_rank"], rel_tol=1e-6)
        assert layer.num_evals == row["num_evals"]


def test_a_fine_tune_is_judged_against_its_reference(tmp_path: Path) -> None:
    base = spectra_net()
    save_file(
        {k: v.contiguous() for k, v in base.state_dict().items()}, tmp_path / "base.safetensors"
    )
    tuned = spectra_net()
    with torch.no_grad():
        tuned.fc2.weight.add_(1e-4 * torch.randn_like(tuned.fc2.weight))
        tuned.head.weight.copy_(heavy_tail(tuned.head.weight, exponent=1.5))
    save_file(
        {k: v.contiguous() for k, v in tuned.state_dict().items()}, tmp_path / "tuned.safetensors"
    )
    layers, summary = analyze_model(
        tmp_path / "tuned.safetensors", "safetensors", reference=tmp_path / "base.safetensors"
    )
    origin = {layer.name: layer for layer in layers}
    assert origin["conv1"].origin == "unchanged" and origin["conv1"].change == 0.0
    assert origin["fc2"].status == "over-trained" and origin["fc2"].origin == "inherited"
    assert origin["fc2"].reference_alpha < 2
    assert origin["head"].status == "over-trained" and origin["head"].origin == "changed"
    assert summary.reference and "reference" in summary.fine_tune[0]


def test_progress_bar_draws_only_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert not Progress.wanted(io.StringIO())
    screen = Terminal()
    assert Progress.wanted(screen)
    bar = Progress(2, screen)
    bar.step("fc1")
    bar.step("fc2")
    bar.close()
    assert "1/2" in screen.getvalue() and "fc2" in screen.getvalue()
