"""The probe: a short, time-boxed run of the model itself that confirms or refutes findings.

Static rules guess from structure and logs; the probe checks the guesses on the model. This
package is imported by the pipeline and stays framework-free: each backend (torch, Keras,
onnxruntime) runs in its own isolated subprocess (``worker.py``), so torch and TensorFlow are
never loaded in one process and nothing of the checked tree is on the worker's import path.

    run_probe(facts, findings, thresholds, settings, catalogue) -> ProbeOutcome

The probe loads a model only through paths that run no code from the file (the same as the
static loaders), unless the user opted in on the command line (``--trust-pickle``,
``--trust-torchscript``). ``ProbeOutcome.verdicts`` maps a finding's fingerprint to what the
probe measured and concluded; the engine's finalize stage applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from overfitlint import formats
from overfitlint.errors import InputError
from overfitlint.facts import Facts, ModelFacts
from overfitlint.probe.backends import WEIGHTS_ONLY
from overfitlint.settings import LoadHints, Settings

if TYPE_CHECKING:
    from overfitlint.catalogue import RuleSpec
    from overfitlint.findings import Finding
    from overfitlint.probe.progress import ProgressBar

__all__ = ["ProbeOutcome", "run_probe"]


@dataclass(frozen=True)
class ProbeOutcome:
    summary: Mapping[str, Any]
    verdicts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def skipped(reason: str, **extra: Any) -> ProbeOutcome:
    return ProbeOutcome({"status": "skipped", "reason": reason, **extra})


def refusal(model: ModelFacts, hints: LoadHints) -> str | None:
    """Why the probe may not run this model without an opt-in (None: it may)."""
    fmt = model.format
    if fmt == formats.TORCHSCRIPT and not hints.trust_torchscript:
        return (
            "running a TorchScript archive runs the TorchScript code it holds: give "
            "--trust-torchscript to probe a file you made or fully trust"
        )
    if fmt == formats.SAFETENSORS or (fmt in WEIGHTS_ONLY and not hints.trust_pickle):
        return (
            "a weights file holds no architecture to run: give the model as MODULE:CALLABLE "
            "with --weights FILE"
            + (
                ""
                if fmt == formats.SAFETENSORS
                else " (or --trust-pickle for a whole pickled module)"
            )
        )
    try:
        if fmt == formats.TORCH_EXPORT:
            from overfitlint.loaders.models.torch_export import check_pickles

            check_pickles(Path(model.source))
        if fmt in (formats.KERAS, formats.KERAS_H5):
            from overfitlint.loaders.models.keras import foreign_objects

            foreign = foreign_objects(Path(model.source), fmt)
            if foreign:
                return (
                    f"loading the model would import or run code from outside Keras "
                    f"({', '.join(foreign[:3])}); the probe does not load it"
                )
    except InputError as exc:
        return f"the probe does not load it: {exc}"
    return None


def run_probe(
    facts: Facts,
    findings: tuple[Finding, ...],
    thresholds: Mapping[str, Mapping[str, Any]],
    settings: Settings,
    catalogue: Mapping[str, RuleSpec],
    *,
    progress: ProgressBar | None = None,
) -> ProbeOutcome:
    """Plan, run and judge the probe for ``findings`` (the static rules' result). Nothing of
    the probe's machinery (planning, subprocesses, judging) is imported when it does not run."""
    if not settings.probe.enabled:
        return skipped("--no-probe")
    if facts.model is None:
        return skipped("no model file: the probe runs the model")
    from overfitlint.probe.session import probe_model

    return probe_model(facts, findings, thresholds, settings, catalogue, progress)
