"""Per-layer spectra of a model file and the model summary (the measurement; rules judge it).

For each layer weight the reader yields: its eigenvalues (``eigen``), WeightWatcher's power-law
fit (``powerlaw``), WeightWatcher's norm metrics, the correlation-trap count, a status and where
its spectrum came from (``origin``), then the weight is dropped before the next is read.

Metrics, as WeightWatcher 0.7 ``analyze()`` computes them on the pooled eigenvalues ``e``:
``alpha`` (power-law exponent of the tail), ``alpha_weighted = alpha * log10(max e)``,
``log_spectral_norm = log10(max e)``, ``stable_rank = sum e / max e``, ``num_evals = len(e)``,
``xmin`` and ``ks_distance`` (the fit's D). Layers of fewer than 8 eigenvalues are
``too-small``; layers of more than 15,000 eigenvalues or a side over 50,000 are skipped, as
WeightWatcher skips them (its ``min_evals``, ``max_evals``, ``max_N``). Status: ``over-trained``
below alpha 2, ``under-trained`` above 6 (WeightWatcher's thresholds), else ``ok``.

Correlation traps (Martin & Mahoney): a copy of the weight whose elements are shuffled has no
learned correlations, so its spectrum should be a Marchenko-Pastur bulk; eigenvalues of that
copy above the bulk edge ``sigma^2 (sqrt N + sqrt M)^2`` plus 6 Tracy-Widom widths are traps,
a sign of a few outsized weights. WeightWatcher (``randomize=True``) shuffles the elements,
computes the copy's eigenvalues, fits the bulk's sigma by a brute-force kernel-density search
and, for layers of fewer than 100 eigenvalues, counts spikes over 5 shuffles. overfitlint needs
no copy: shuffled, the matrix is i.i.d. apart from its largest elements, and random-matrix
theory (the rank-one BBP transition) says which of those lift an eigenvalue above the limit
and where to; so a trap is an element far enough from the slice's mean, with the exact element
variance of the bulk (the candidates left out) as sigma^2 and the mean removed (an offset is a
rank-one spike, not a trap). The count is deterministic, needs a few passes over the weights and
no eigenvalues, and matches the spikes of actual shuffled copies (tests/spectra).

Fine-tuned models: a low alpha in a fine-tune is often the pretrained spectrum, not the
fine-tune's doing. ``origin`` says what the file and an optional reference (the base model) can
tell: ``frozen`` (the file marks the weight not trainable: Keras ``trainable: false``, a
pickled ``nn.Parameter`` or TorchScript tensor with ``requires_grad=False``), ``unchanged``
(equal to the reference), ``inherited`` (the reference layer is already over-trained and the
fine-tune did not lower its alpha by more than 0.1), ``changed`` (differs from the reference
otherwise), ``unknown`` (no flag, no reference: the tool cannot tell, and says so).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from overfitlint.spectra.eigen import Backend, make_backend
from overfitlint.spectra.matrices import (
    blocks,
    eval_scale,
    layer_shape,
    moments,
    outsized,
    widen,
)
from overfitlint.spectra.powerlaw import fit_power_law
from overfitlint.spectra.progress import Progress
from overfitlint.spectra.tensors import read_weights
from overfitlint.spectra.tensors.record import WeightTensor, is_adapter

OVER_TRAINED_ALPHA = 2.0
UNDER_TRAINED_ALPHA = 6.0
MIN_EVALS = 8
MAX_EVALS = 15_000
MAX_N = 50_000
TRAP_TW_WIDTHS = 6.0
UNCHANGED_CHANGE = 1e-6
INHERITED_ALPHA_DROP = 0.1
MEAN_METRICS = ("alpha_weighted", "log_spectral_norm", "stable_rank")
STATUSES = ("over-trained", "under-trained", "ok", "too-small")
ORIGINS = ("frozen", "unchanged", "inherited", "changed", "unknown")


@dataclass
class LayerSpectrum:
    name: str
    kind: str
    shape: list[int]
    num_evals: int
    status: str
    alpha: float | None = None
    alpha_weighted: float | None = None
    stable_rank: float | None = None
    log_spectral_norm: float | None = None
    xmin: float | None = None
    ks_distance: float | None = None
    tail: int | None = None
    """Eigenvalues at or above xmin: how many the exponent was fitted on."""
    traps: int | None = None
    trainable: bool | None = None
    origin: str = "unknown"
    reference_alpha: float | None = None
    change: float | None = None
    """||W - W_ref||_F / ||W_ref||_F against the reference model, when one was given."""

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items()}


@dataclass
class SpectralSummary:
    source: str
    analysed: int
    alpha: dict[str, float | None]
    """mean, median, p10, p25, p75, p90 of alpha over the analysed layers."""
    over_trained: list[str]
    under_trained: list[str]
    trap_layers: list[str]
    too_small: list[str]
    skipped: list[dict[str, str]]
    fine_tune: list[str]
    """Why the model looks like a fine-tune (frozen layers, adapters, a reference); [] if none."""
    backend: str
    device: str
    seconds: float
    reference: str | None = None
    means: dict[str, float | None] = field(default_factory=dict)
    """Mean alpha_weighted, log_spectral_norm and stable_rank (WeightWatcher's summary)."""

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items()}


def _status(alpha: float | None) -> str:
    if alpha is None:
        return "too-small"
    if alpha < OVER_TRAINED_ALPHA:
        return "over-trained"
    if alpha > UNDER_TRAINED_ALPHA:
        return "under-trained"
    return "ok"


def _eigenvalues(weight: WeightTensor, backend: Backend) -> np.ndarray:
    shape = layer_shape(weight)
    gram = backend.gram(blocks(weight), shape.wide)
    values = np.sort(np.maximum(backend.eigvalsh(gram).ravel(), 0.0))
    return values * eval_scale(weight)


def _trap_limits(variance: np.ndarray, n: int, m: int) -> np.ndarray:
    """The squared element size above which an element of an i.i.d. n x m matrix of this
    variance lifts an eigenvalue above the bulk edge plus TRAP_TW_WIDTHS Tracy-Widom widths."""
    edge = (math.sqrt(n) + math.sqrt(m)) ** 2
    width = (math.sqrt(n) + math.sqrt(m)) * (1 / math.sqrt(n) + 1 / math.sqrt(m)) ** (1 / 3)
    limit = variance * (edge + TRAP_TW_WIDTHS * width)
    spread = limit - variance * (n + m)
    root = (spread + np.sqrt(np.maximum(spread**2 - 4 * variance**2 * n * m, 0.0))) / 2
    return np.where(variance > 0, root, np.inf)


def _traps(weight: WeightTensor) -> int:
    """Correlation traps: the spikes the element-shuffled copy of each slice would have.

    Shuffled, a slice is an i.i.d. matrix (its bulk variance sigma^2, N x M) plus its few
    largest elements. One element a of an i.i.d. matrix lifts an eigenvalue out of the
    Marchenko-Pastur bulk once a^2 > sigma^2 sqrt(N M), to (a^2 + sigma^2 N)(a^2 + sigma^2 M)/a^2
    (the rank-one BBP transition), so the copy's eigenvalues above a limit L are its elements
    whose a^2 exceeds the root of (x + sigma^2 N)(x + sigma^2 M) = L x. The bulk's mean and
    variance leave those elements out (two refinements), as a fit of the bulk would."""
    shape = layer_shape(weight)
    size = shape.rows * shape.cols
    total, squares = moments(weight)
    center = total / size
    variance = np.maximum(squares / size - center**2, 0.0)
    count = np.zeros(shape.slices)
    for _ in range(3):
        count, out_total, out_squares = outsized(
            weight, center, _trap_limits(variance, shape.n, shape.m)
        )
        if not count.any():
            break
        bulk = np.maximum(size - count, 1.0)
        center = (total - out_total) / bulk
        variance = np.maximum((squares - out_squares) / bulk - center**2, 0.0)
    return int(count.sum())


def _relative_change(weight: WeightTensor, reference: WeightTensor) -> float | None:
    if weight.shape != reference.shape:
        return None
    difference = squares = 0.0
    rows = weight.shape[0]
    step = max(1, (1 << 22) // max(1, int(np.prod(weight.shape[1:]))))
    for start in range(0, rows, step):
        a = widen(weight.array[start : start + step], weight.bfloat16).astype(np.float64)
        b = widen(reference.array[start : start + step], reference.bfloat16).astype(np.float64)
        difference += float(np.square(a - b).sum())
        squares += float(np.square(b).sum())
    if squares == 0.0:
        return None if difference else 0.0
    return math.sqrt(difference / squares)


def measure_layer(weight: WeightTensor, backend: Backend, *, traps: bool = True) -> LayerSpectrum:
    """The spectrum metrics of one layer weight (no size limits applied)."""
    shape = layer_shape(weight)
    evals = _eigenvalues(weight, backend)
    fit = fit_power_law(evals)
    top = float(evals[-1]) if len(evals) else 0.0
    log_top = math.log10(top) if top > 0 else None
    alpha = fit.alpha if fit else None
    return LayerSpectrum(
        name=weight.name,
        kind=weight.kind,
        shape=list(weight.shape),
        num_evals=shape.num_evals,
        status=_status(alpha),
        alpha=alpha,
        alpha_weighted=alpha * log_top if alpha is not None and log_top is not None else None,
        stable_rank=float(evals.sum()) / top if top > 0 else None,
        log_spectral_norm=log_top,
        xmin=fit.xmin if fit else None,
        ks_distance=fit.ks_distance if fit else None,
        tail=fit.tail if fit else None,
        traps=_traps(weight) if traps else None,
        trainable=weight.trainable,
        origin="frozen" if weight.trainable is False else "unknown",
    )


def _too_small(weight: WeightTensor) -> LayerSpectrum:
    return LayerSpectrum(
        name=weight.name,
        kind=weight.kind,
        shape=list(weight.shape),
        num_evals=layer_shape(weight).num_evals,
        status="too-small",
        trainable=weight.trainable,
        origin="frozen" if weight.trainable is False else "unknown",
    )


def _skip_reason(weight: WeightTensor, max_evals: int, max_n: int) -> str | None:
    shape = layer_shape(weight)
    if max_evals and shape.num_evals > max_evals:
        return f"{shape.num_evals:,} eigenvalues, more than max_evals {max_evals:,}"
    if max_n and shape.n > max_n:
        return f"a side of {shape.n:,}, more than max_N {max_n:,}"
    return None


def _judge_origin(
    spectrum: LayerSpectrum, weight: WeightTensor, reference: WeightTensor, backend: Backend
) -> None:
    if spectrum.origin == "frozen":
        return
    change = _relative_change(weight, reference)
    spectrum.change = change
    if change is None:
        return
    if change <= UNCHANGED_CHANGE:
        spectrum.origin = "unchanged"
        return
    spectrum.origin = "changed"
    if spectrum.status == "over-trained":
        before = measure_layer(reference, backend, traps=False).alpha
        spectrum.reference_alpha = before
        if (
            before is not None
            and before < OVER_TRAINED_ALPHA
            and spectrum.alpha is not None
            and spectrum.alpha >= before - INHERITED_ALPHA_DROP
        ):
            spectrum.origin = "inherited"


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return dict.fromkeys(("mean", "median", "p10", "p25", "p75", "p90"))
    array = np.asarray(values)
    p10, p25, median, p75, p90 = np.percentile(array, [10, 25, 50, 75, 90])
    return {
        "mean": float(array.mean()),
        "median": float(median),
        "p10": float(p10),
        "p25": float(p25),
        "p75": float(p75),
        "p90": float(p90),
    }


def _mean(layers: list[LayerSpectrum], key: str) -> float | None:
    values = [getattr(layer, key) for layer in layers if getattr(layer, key) is not None]
    return float(np.mean(values)) if values else None


def summarize(
    layers: list[LayerSpectrum],
    *,
    source: str,
    skipped: list[dict[str, str]],
    fine_tune: list[str],
    backend: str,
    device: str,
    seconds: float,
    reference: str | None = None,
) -> SpectralSummary:
    fitted = [layer for layer in layers if layer.alpha is not None]
    return SpectralSummary(
        source=source,
        analysed=len(fitted),
        alpha=_quantiles([layer.alpha for layer in fitted if layer.alpha is not None]),
        over_trained=[layer.name for layer in layers if layer.status == "over-trained"],
        under_trained=[layer.name for layer in layers if layer.status == "under-trained"],
        trap_layers=[layer.name for layer in layers if layer.traps],
        too_small=[layer.name for layer in layers if layer.status == "too-small"],
        skipped=skipped,
        fine_tune=fine_tune,
        backend=backend,
        device=device,
        seconds=round(seconds, 3),
        reference=reference,
        means={key: _mean(fitted, key) for key in MEAN_METRICS},
    )


def _reference_weights(path: Path, format: str) -> dict[str, WeightTensor]:
    return {weight.name: weight for weight in read_weights(path, format)}


def analyze_weights(
    weights: Iterable[WeightTensor],
    *,
    source: str,
    device: str = "cpu",
    engine: str | None = None,
    progress: Progress | None = None,
    traps: bool = True,
    reference: dict[str, WeightTensor] | None = None,
    reference_name: str | None = None,
    min_evals: int = MIN_EVALS,
    max_evals: int = MAX_EVALS,
    max_n: int = MAX_N,
) -> tuple[list[LayerSpectrum], SpectralSummary]:
    backend = make_backend(device, engine)
    started = time.perf_counter()
    layers: list[LayerSpectrum] = []
    skipped: list[dict[str, str]] = []
    adapters = 0
    for weight in weights:
        if progress is not None:
            progress.step(weight.name)
        if is_adapter(weight.name):
            adapters += 1
            continue
        reason = _skip_reason(weight, max_evals, max_n)
        if reason:
            skipped.append({"name": weight.name, "reason": reason})
            continue
        if layer_shape(weight).num_evals < min_evals:
            layers.append(_too_small(weight))
            continue
        spectrum = measure_layer(weight, backend, traps=traps)
        counterpart = (reference or {}).get(weight.name)
        if counterpart is not None:
            _judge_origin(spectrum, weight, counterpart, backend)
        layers.append(spectrum)
    if progress is not None:
        progress.close()
    frozen = sum(1 for layer in layers if layer.origin == "frozen")
    fine_tune = []
    if frozen:
        fine_tune.append(f"{frozen} layer(s) are marked not trainable (frozen) in the file")
    if adapters:
        fine_tune.append(f"{adapters} adapter (LoRA) tensor(s) in the file")
    if reference is not None:
        fine_tune.append(f"compared with the reference {reference_name}")
    summary = summarize(
        layers,
        source=source,
        skipped=skipped,
        fine_tune=fine_tune,
        backend=backend.name,
        device=device,
        seconds=time.perf_counter() - started,
        reference=reference_name,
    )
    return layers, summary


def analyze_model(
    path: Path | str,
    format: str,
    *,
    device: str = "cpu",
    progress: bool = False,
    reference: Path | str | None = None,
    reference_format: str | None = None,
    traps: bool = True,
    engine: str | None = None,
) -> tuple[list[LayerSpectrum], SpectralSummary]:
    """Spectra of every analysable layer of ``path`` (a ``format`` file, as overfitlint's
    detection names it) and the model summary. ``reference``: the base model of a fine-tune
    (same format unless ``reference_format``), to tell inherited spectra from trained ones.
    ``progress``: a progress bar on stderr when it is a terminal."""
    path = Path(path)
    bar = None
    if progress and Progress.wanted():
        bar = Progress(sum(1 for _ in read_weights(path, format)))
    ref_weights = None
    if reference is not None:
        ref_weights = _reference_weights(Path(reference), reference_format or format)
    return analyze_weights(
        read_weights(path, format),
        source=str(path),
        device=device,
        engine=engine,
        progress=bar,
        traps=traps,
        reference=ref_weights,
        reference_name=None if reference is None else str(reference),
    )
