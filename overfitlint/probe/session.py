"""The probe once it has a model to run: plan, run the backend, judge (``run_probe`` in the
package's ``__init__`` decides first whether there is anything to run, without importing this)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from overfitlint import formats
from overfitlint.catalogue import RuleSpec
from overfitlint.curves import Curves
from overfitlint.errors import InputError
from overfitlint.facts import Facts, ModelFacts
from overfitlint.findings import Finding
from overfitlint.probe import ProbeOutcome, refusal, skipped
from overfitlint.probe import data as probe_data
from overfitlint.probe import judge as judging
from overfitlint.probe.backends import BACKEND_OF, EXTRAS, RUNS_AS, missing_modules
from overfitlint.probe.device import parse_device
from overfitlint.probe.judge import Verdict
from overfitlint.probe.plan import ProbePlan, plan_probes
from overfitlint.probe.progress import ProgressBar
from overfitlint.probe.runner import BackendRun, run_backend
from overfitlint.settings import Settings
from overfitlint.verdict import INCONCLUSIVE


def probe_model(
    facts: Facts,
    findings: tuple[Finding, ...],
    thresholds: Mapping[str, Mapping[str, Any]],
    settings: Settings,
    catalogue: Mapping[str, RuleSpec],
    progress: ProgressBar | None,
) -> ProbeOutcome:
    """``run_probe`` for a check that has a model and the probe on."""
    config = settings.probe
    model = facts.model
    assert model is not None
    plan = plan_probes(
        list(findings), model, catalogue, thresholds, has_data=config.data is not None
    )
    unchecked = {
        key: _entry(INCONCLUSIVE, None, f"not checked: {why}", {}, [], None, 0.0, config.seed)
        for key, why in plan.unchecked.items()
    }
    if plan.empty:
        reason = "no finding the probe can check"
        if plan.unchecked:
            reason += " without --data FILE.npz"
        return ProbeOutcome(
            {"status": "skipped", "reason": reason, "budget": config.budget}, unchecked
        )
    backend = BACKEND_OF.get(model.format)
    if backend is None:
        return skipped(
            f"the probe cannot run {model.format or 'this'} models", budget=config.budget
        )
    refused = refusal(model, settings.load)
    if refused:
        return skipped(refused, budget=config.budget)
    if model.format == formats.ONNX and missing_modules("onnx2torch"):
        backend = "onnxruntime"
    missing = missing_modules(backend)
    if missing:
        # an ONNX model runs best in torch (every probe); onnxruntime is the fallback
        hint = (
            "'overfitlint[torch]' (or [onnxruntime])"
            if model.format == formats.ONNX
            else f"'overfitlint[{EXTRAS[backend]}]'"
        )
        return skipped(
            f"the {backend} backend is not installed ({', '.join(missing)} missing): "
            f"pip install {hint}",
            budget=config.budget,
        )
    data = probe_data.load_data(config.data) if config.data else None
    factory = model.format == formats.FACTORY
    request = {
        "backend": backend,
        "model": model.source if factory else str(Path(model.source).resolve()),
        "format": model.format,
        "factory_path": str(Path.cwd()) if factory else None,
        "weights": str(settings.load.weights.resolve()) if settings.load.weights else None,
        "trust_pickle": settings.load.trust_pickle,
        "trust_torchscript": settings.load.trust_torchscript,
        "device": parse_device(config.device),
        "seed": config.seed,
        "data": str(Path(config.data).resolve()) if config.data else None,
        "input_shape": list(config.input_shape) if config.input_shape else None,
        "facts_shape": probe_data.sample_shape_from_facts(model.input_shapes),
        "tasks": [{"probe": name, "params": params} for name, params in plan.tasks.items()],
    }
    started = time.monotonic()
    bar = progress or ProgressBar(config.budget)
    try:
        run = run_backend(request, deadline=started + config.budget, progress=bar)
    finally:
        bar.close()
    if run.error and run.error.get("kind") in ("device", "input"):
        raise InputError(run.error["message"])
    context = _Context(plan, model, facts.curves, catalogue, thresholds, config.seed)
    verdicts = {**unchecked, **_verdicts(run, findings, context)}
    return ProbeOutcome(_summary(run, model, data, settings), verdicts)


@dataclass(frozen=True)
class _Context:
    plan: ProbePlan
    model: ModelFacts
    curves: tuple[Curves, ...]
    catalogue: Mapping[str, RuleSpec]
    thresholds: Mapping[str, Mapping[str, Any]]
    seed: int


def _verdicts(run: BackendRun, findings, context: _Context) -> dict[str, dict[str, Any]]:
    device = (run.start or {}).get("plan", {}).get("device")
    problem = _problem(run)
    verdicts: dict[str, dict[str, Any]] = {}
    for finding in findings:
        probes = context.plan.targets.get(finding.fingerprint)
        if not probes:
            continue
        rule = context.catalogue[finding.code]
        limits = context.thresholds.get(rule.code, {})
        heldout = run.results.get("heldout")
        log = _log_info(finding, context.curves, heldout) if "heldout" in probes else None
        judged = []
        for name in probes:
            result = run.results.get(name)
            if result is None and problem:
                verdict = Verdict(name, INCONCLUSIVE, f"not measured: {problem}")
            else:
                verdict = judging.judge(rule, name, result, limits, model=context.model, log=log)
            judged.append(verdict)
        deciding = judging.combine(judged)
        assert deciding is not None
        metrics: dict[str, Any] = {}
        for verdict in judged:
            for key, value in verdict.metrics.items():
                metrics.setdefault(key, value)
        verdicts[finding.fingerprint] = _entry(
            deciding.status,
            deciding.probe,
            deciding.note,
            metrics,
            [v.to_dict() for v in judged],
            device,
            sum(v.seconds for v in judged),
            context.seed,
        )
    return verdicts


def _summary(run: BackendRun, model: ModelFacts, data, settings: Settings) -> dict[str, Any]:
    plan_info = (run.start or {}).get("plan", {})
    summary = {
        "status": "ran",
        "reason": _problem(run),
        "device": plan_info.get("device"),
        "device_name": plan_info.get("name"),
        "device_reason": plan_info.get("reason"),
        "mixed_precision": plan_info.get("amp_dtype"),
        "backend": (run.start or {}).get("backend"),
        "framework": (run.start or {}).get("framework"),
        "model_kind": RUNS_AS.get(model.format, model.format),
        "seconds": round(run.seconds, 3),
        "budget": settings.probe.budget,
        "within_budget": run.seconds <= settings.probe.budget + 0.5,
        "stopped_by_budget": run.killed,
        "seed": settings.probe.seed,
        "data": data.summary() if data is not None else None,
        "probes": {
            name: {
                "status": "measured" if result.get("measured") else "not measured",
                "reason": result.get("reason", ""),
                "seconds": result.get("seconds"),
                "budget_s": result.get("budget_s"),
                "metrics": result.get("metrics", {}),
            }
            for name, result in run.results.items()
        },
    }
    if run.done is not None:
        summary["backend_modules"] = run.done.get("modules", [])
    if (run.start or {}).get("fallback"):
        summary["fallback"] = run.start["fallback"]
    return summary


def _problem(run: BackendRun) -> str:
    """Why results may be missing: the budget ran out, or the backend failed."""
    if run.killed:
        if run.current:
            where = f" during {run.current}"
        else:
            where = " while starting the backend" if run.start is None else ""
        return f"the probe budget ran out{where}"
    if run.error:
        return f"the backend failed: {run.error['message']}"
    if run.done is None:
        tail = run.stderr_tail.strip().splitlines()[-1:] or [f"exit code {run.exit_code}"]
        return f"the backend stopped unexpectedly: {tail[0][:200]}"
    return ""


def _entry(status, decided_by, note, metrics, probes, device, seconds, seed) -> dict[str, Any]:
    return {
        "status": status,
        "decided_by": decided_by,
        "note": note,
        "metrics": metrics,
        "device": device,
        "seconds": round(seconds, 3),
        "seed": seed,
        "probes": probes,
    }


def _log_info(finding: Finding, curves: tuple[Curves, ...], heldout: dict | None) -> dict | None:
    """What the log said at the end, and the epoch whose val loss matches the measured one
    (the epoch these weights come from, as far as the log can tell)."""
    if not heldout or not heldout.get("measured"):
        return None
    source = finding.location.file
    for log in curves:
        if source and source != log.source and source not in log.sources:
            continue  # a TensorBoard finding names its event file, inside the log's folder
        val = log.val_loss
        if val is None:
            continue
        val = val.finite()
        if not len(val):
            continue
        measured = heldout["metrics"]["val_loss"]
        index = int(np.argmin(np.abs(val.values - measured)))
        epoch = float(val.epochs[index])
        return {
            "log_final_val_loss": float(val.values[-1]),
            "log_closest_epoch": int(epoch) if epoch.is_integer() else epoch,
            "log_closest_val_loss": float(val.values[index]),
            "log_best_epoch": _as_number(float(val.epochs[int(np.argmin(val.values))])),
        }
    return None


def _as_number(value: float) -> int | float:
    return int(value) if value.is_integer() else value
