"""Loaders turn files into facts: ``load(inputs, hints) -> Facts``, once per check.

Every input was detected once (``overfitlint.formats``); each is read by the loader of its
format, inside the repository it lies in (``overfitlint.paths``). What the user stated
(``--weight-decay``, ``--samples``, ``--kept-epoch``) is merged into the facts here, with its
source, and what the files imply (the sample count a log gives, the epoch a best checkpoint
was saved at) is returned as a fact too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from overfitlint import formats
from overfitlint.curves import Curves
from overfitlint.errors import InputError
from overfitlint.facts import Facts, KeptEpoch, ModelFacts, OptimizerFacts
from overfitlint.formats import Detected
from overfitlint.loaders.logs import combine_logs, load_log, sample_count
from overfitlint.loaders.models import load_model
from overfitlint.paths import confine, confine_tree, find_root
from overfitlint.settings import LoadHints

# Epoch numbers in best-checkpoint file names: Lightning "epoch=12-step=...", Keras
# ModelCheckpoint "weights.12-0.44.h5", "model-12.keras", "model_epoch_12.pt".
EPOCH_IN_NAME = (
    re.compile(r"(?:^|[-_.])epoch[=_-]?(\d+)(?=\D|$)", re.I),
    re.compile(
        r"^(?:weights|model|ckpt|checkpoint)[._-](\d{1,6})(?:[-_.]\d+\.\d+)?(?:\.weights)?\.\w+$",
        re.I,
    ),
)


def _add(
    detected: Detected, hints: LoadHints, model: ModelFacts | None, curves: list[Curves]
) -> tuple[ModelFacts | None, list[Curves]]:
    """One input read into the facts so far."""
    if detected.kind == formats.FOLDER:
        raise InputError(
            f"{detected.path}: a folder with no model or training log overfitlint knows"
        )
    if detected.format != formats.FACTORY:
        root = hints.root or find_root(detected.path)
        confine(detected.path, root, "the input")
    if detected.kind == formats.MODEL:
        if model is not None:
            raise InputError(
                f"{detected.path}: a second model file; check one model per run "
                f"(the first was {model.source})"
            )
        model = load_model(detected, hints)
    else:
        curves.append(load_log(detected, hints))
    return model, curves


def load(inputs: Sequence[Detected], hints: LoadHints) -> Facts:
    model: ModelFacts | None = None
    curves: list[Curves] = []
    left_out: list[str] = []
    for detected in inputs:
        if detected.optional:  # found by searching a folder: unreadable means not ours
            try:
                model, curves = _add(detected, hints, model, curves)
            except InputError as exc:
                left_out.append(f"left out {detected.path}, found in the folder: {exc}")
            continue
        model, curves = _add(detected, hints, model, curves)
    curves = combine_logs(curves)
    samples = sample_count(curves, hints.samples)
    if model is not None and hints.weight_decay is not None:
        model = replace(model, optimizer=declared_weight_decay(model, hints.weight_decay))
    if model is not None and hints.spectral:
        model = with_spectra(model, hints)
    data = measured_data(hints, model) if hints.data else None
    return Facts(
        model=model,
        curves=tuple(curves),
        samples=samples,
        kept=kept_epoch(model, hints),
        augmentation=hints.augmentation,
        folds=hints.folds,
        data=data,
        notes=tuple(left_out),
    )


STORE_READS = {
    # the files each folder reader opens (a link elsewhere, e.g. W&B's debug logs, is not read)
    "wandb": lambda p: p.suffix == ".wandb" or p.name in ("config.yaml", "wandb-summary.json"),
    "ray": lambda p: (
        p.name in ("result.json", "progress.csv", "params.json")
        or p.name.startswith("experiment_state-")
    ),
}
"""MLflow's file store is read whole (metrics/, params/, tags/, meta.yaml): every link counts."""


def load_sweep(source: str, hints: LoadHints):
    """The runs of a tracker store or study (``loaders.trackers.Sweep``), narrowed by
    --experiment, --run and --study."""
    from overfitlint.loaders.trackers import detect_tracker, load_tracker
    from overfitlint.loaders.trackers.sqlite_file import path_of_url

    remote = source.startswith(("http://", "https://"))
    local = None if remote else (path_of_url(source) or Path(source))
    if local is not None:
        root = hints.root or find_root(local)
        confine(local, root, "the store")
        kind = detect_tracker(local) if local.is_dir() else None
        if kind is not None:
            confine_tree(local, root, "the store", STORE_READS.get(kind, bool))
    return load_tracker(
        source,
        experiment=hints.experiment,
        run_id=hints.run_id,
        study=hints.study,
        timeout=hints.server_timeout,
        train_metric=hints.train_metric,
        val_metric=hints.val_metric,
    )


def run_facts(run, hints: LoadHints) -> Facts:
    """What the per-log rules see of one run of a sweep: its curves, its params as the
    run's hparams (planned epochs, batch size...), and the samples the user stated."""
    curves: tuple[Curves, ...] = ()
    if run.curves is not None:
        hparams = {**run.params, **run.meta, **dict(run.curves.meta.get("hparams") or {})}
        curves = (replace(run.curves, meta={**run.curves.meta, "hparams": hparams}),)
    return Facts(
        curves=curves,
        samples=sample_count(list(curves), hints.samples),
        augmentation=hints.augmentation,
    )


def measured_data(hints: LoadHints, model: ModelFacts | None):
    """--data: the data set read and measured for the 5xx rules (nothing in it runs)."""
    from overfitlint.data import load_data, measure

    paths = [Path(p) for p in hints.data]
    for path in paths:
        confine(path, hints.root or find_root(path), "the --data file")
    facts = load_data(paths, label=hints.data_label, split_column=hints.data_split_column)
    return measure(facts, model=model, noise=hints.data_noise)


def with_spectra(model: ModelFacts, hints: LoadHints) -> ModelFacts:
    """--spectral: each layer's weight spectrum, read from the file's tensors (nothing run)."""
    from overfitlint.spectra import analyze_model
    from overfitlint.spectra.attach import attach_spectra

    if model.format == formats.FACTORY:
        raise InputError(f"{model.source}: --spectral reads a model file, not a factory")
    device = "cuda" if hints.spectral_device.startswith("cuda") else "cpu"
    reference = hints.spectral_reference
    reference_format = None
    if reference is not None:
        root = hints.root or find_root(reference)
        confine(reference, root, "the --spectral-reference model")
        reference_format = formats.detect(reference).format
    layers, summary = analyze_model(
        Path(model.source),
        model.format,
        device=device,
        progress=True,
        reference=reference,
        reference_format=reference_format,
    )
    return attach_spectra(model, layers, summary)


def declared_weight_decay(model: ModelFacts, weight_decay: float) -> OptimizerFacts:
    """``--weight-decay`` states what the file could not tell; what it did tell is kept."""
    source = "--weight-decay"
    optimizer = model.optimizer
    if isinstance(optimizer, OptimizerFacts):
        return replace(
            optimizer,
            weight_decay=weight_decay,
            source=f"{optimizer.source}; weight decay {weight_decay:g} from {source}",
        )
    return OptimizerFacts(
        kind=None, lr=None, weight_decay=weight_decay, decoupled=None, source=source
    )


def kept_epoch(model: ModelFacts | None, hints: LoadHints) -> KeptEpoch | None:
    """Which epoch's weights the model file holds: --kept-epoch, the checkpoint's own record,
    else an epoch in a best-checkpoint file name."""
    if hints.kept_epoch is not None:
        return KeptEpoch(float(hints.kept_epoch), "--kept-epoch")
    if model is None:
        return None
    details = model.provenance.details
    recorded = details.get("kept_epoch")
    if isinstance(recorded, int | float) and not isinstance(recorded, bool):
        return KeptEpoch(float(recorded), str(details.get("kept_epoch_source") or "the model file"))
    epoch = details.get("epoch")
    if isinstance(epoch, int | float) and not isinstance(epoch, bool):
        return KeptEpoch(float(epoch), "checkpoint['epoch']")
    name = Path(model.source).name
    for pattern in EPOCH_IN_NAME:
        match = pattern.search(name)
        if not match:
            continue
        number = float(match.group(1))
        if model.framework == "keras":  # ModelCheckpoint names files from epoch 1, logs from 0
            return KeptEpoch(
                number - 1, f"the file name {name} (Keras numbers checkpoint files from 1)"
            )
        return KeptEpoch(number, f"the file name {name}")
    return None
