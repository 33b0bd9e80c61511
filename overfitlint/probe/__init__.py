"""The probe: a short, time-boxed run of the model itself that confirms or refutes findings.

Static rules guess from structure and logs; the probe checks the guesses on the
model. This package is imported by the pipeline and stays framework-free: each
backend (torch, Keras, onnxruntime) runs in its own subprocess (worker.py), so
torch and TensorFlow are never loaded in one process.

    run_probe(model, curves, result, settings, enabled=True) -> ProbeStage

``ProbeStage.verdicts`` maps a finding's fingerprint to its ``probe`` entry;
``ProbeStage.apply`` writes them into findings (a refuted finding is downgraded to
info, with the reason, never hidden) and ``ProbeStage.summary`` is the report's
``run.probe``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from overfitlint.curves import Curves
from overfitlint.facts import ModelFacts
from overfitlint.findings import Finding
from overfitlint.probe import data as probe_data
from overfitlint.probe import detect
from overfitlint.probe import judge as judging
from overfitlint.probe.device import parse_device
from overfitlint.probe.judge import CONFIRMED, INCONCLUSIVE, REFUTED, Verdict
from overfitlint.probe.plan import PROBES_FOR, plan_probes
from overfitlint.probe.progress import ProgressBar
from overfitlint.probe.runner import BackendRun, run_backend
from overfitlint.settings import Settings
from overfitlint.severity import raise_confidence

__all__ = ["PROBES_FOR", "ProbeStage", "run_probe"]

DEFAULT_BUDGET_S = 60.0


@dataclass
class ProbeStage:
    summary: dict[str, Any]
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ran(self) -> bool:
        return self.summary.get("status") == "ran"

    def apply(self, findings: list[Finding]) -> None:
        """Write each finding's probe entry; downgrade what the probe refuted (with the reason)."""
        for finding in findings:
            entry = self.verdicts.get(finding.fingerprint)
            if entry is None:
                continue
            entry = dict(entry)
            if entry["status"] == REFUTED and finding.severity != "info":
                entry["severity_from"] = finding.severity
                finding.severity = "info"
            elif entry["status"] == CONFIRMED:
                raised = raise_confidence(finding.confidence)
                if raised != finding.confidence:
                    entry["confidence_from"] = finding.confidence
                    finding.confidence = raised
            finding.probe = entry


def skipped(reason: str, **extra: Any) -> ProbeStage:
    return ProbeStage({"status": "skipped", "reason": reason, **extra})


def run_probe(
    model: ModelFacts | None,
    curves: list[Curves],
    findings: list[Finding],
    thresholds: dict[str, dict[str, Any]],
    settings: Settings,
    *,
    enabled: bool = True,
    progress: ProgressBar | None = None,
) -> ProbeStage:
    """Plan, run and judge the probe for ``findings`` (the static rules' result)."""
    if not enabled:
        return skipped("--no-probe")
    if model is None:
        return skipped("no model file: the probe runs the model")
    plan = plan_probes(findings, model, settings, thresholds)
    budget_s = float(settings.probe_budget)
    unchecked = {
        key: _entry(INCONCLUSIVE, f"not checked: {why}", {}, [], None, 0.0, settings.probe_seed)
        for key, why in plan.unchecked.items()
    }
    if plan.empty:
        reason = "no finding the probe can check"
        if plan.unchecked:
            reason += " without --data FILE.npz"
        return ProbeStage({"status": "skipped", "reason": reason, "budget": budget_s}, unchecked)
    kind = detect.detect_kind(Path(model.source), model)
    if kind is None:
        return skipped(f"the probe cannot run {model.format or 'this'} models", budget=budget_s)
    trust_pickle = bool(getattr(settings, "trust_pickle", False))
    if kind in detect.WEIGHTS_ONLY and (kind == "safetensors" or not trust_pickle):
        return skipped(
            f"{detect.describe(kind)} holds weights but no architecture to run: give the model "
            "as MODULE:CALLABLE with --weights FILE"
            + ("" if kind == "safetensors" else " (or --trust-pickle for a whole pickled module)"),
            budget=budget_s,
        )
    backend = detect.backend_for(kind)
    if kind == "onnx" and detect.missing_modules("onnx2torch"):
        backend = "onnxruntime"
    missing = detect.missing_modules(backend)
    if missing:
        extra = {"torch": "torch", "onnxruntime": "onnxruntime", "keras": "keras"}[backend]
        # an ONNX model runs best in torch (every probe); onnxruntime is the fallback
        hint = (
            "'overfitlint[torch]' (or [onnxruntime])"
            if kind == "onnx"
            else f"'overfitlint[{extra}]'"
        )
        return skipped(
            f"the {backend} backend is not installed ({', '.join(missing)} missing): "
            f"pip install {hint}",
            budget=budget_s,
        )
    data = probe_data.load_data(settings.data) if settings.data else None
    request = {
        "backend": backend,
        "model": model.source if kind == "factory" else str(Path(model.source).resolve()),
        "kind": kind,
        "weights": str(Path(settings.weights).resolve())
        if getattr(settings, "weights", None)
        else None,
        "trust_pickle": trust_pickle,
        "device": parse_device(settings.device),
        "seed": settings.probe_seed,
        "data": str(Path(settings.data).resolve()) if settings.data else None,
        "input_shape": list(settings.input_shape) if settings.input_shape else None,
        "facts_shape": probe_data.sample_shape_from_facts(model.input_shapes),
        "tasks": [{"probe": name, "params": params} for name, params in plan.tasks.items()],
    }
    started = time.monotonic()
    bar = progress or ProgressBar(budget_s)
    try:
        run = run_backend(request, deadline=started + budget_s, progress=bar)
    finally:
        bar.close()
    if run.error and run.error.get("kind") in ("device", "input"):
        from overfitlint.errors import InputError

        raise InputError(run.error["message"])
    return _judged(run, plan, model, curves, findings, thresholds, settings, data, budget_s, kind,
                   unchecked)  # fmt: skip


def _judged(run: BackendRun, plan, model, curves, findings, thresholds, settings, data,
            budget_s, kind, unchecked) -> ProbeStage:  # fmt: skip
    plan_info = (run.start or {}).get("plan", {})
    device = plan_info.get("device")
    problem = _problem(run)
    verdicts: dict[str, dict[str, Any]] = dict(unchecked)
    per_probe: dict[str, Verdict] = {}
    for finding in findings:
        probes = plan.targets.get(finding.fingerprint)
        if not probes:
            continue
        log = _log_info(finding, curves, run.results.get("heldout"))
        judged = []
        for name in probes:
            result = run.results.get(name)
            if result is None and problem:
                verdict = Verdict(name, INCONCLUSIVE, f"not measured: {problem}")
            else:
                verdict = judging.judge(
                    finding.code, name, result, thresholds, model=model, log=log
                )
            judged.append(verdict)
            per_probe.setdefault(name, verdict)
        deciding = judging.combine(judged)
        assert deciding is not None
        metrics: dict[str, Any] = {}
        for verdict in judged:
            for key, value in verdict.metrics.items():
                metrics.setdefault(key, value)
        verdicts[finding.fingerprint] = _entry(
            deciding.status,
            deciding.note,
            metrics,
            [v.to_dict() for v in judged],
            device,
            sum(v.seconds for v in judged),
            settings.probe_seed,
        )
    summary = {
        "status": "ran",
        "reason": problem or "",
        "device": device,
        "device_name": plan_info.get("name"),
        "device_reason": plan_info.get("reason"),
        "mixed_precision": plan_info.get("amp_dtype"),
        "backend": (run.start or {}).get("backend"),
        "framework": (run.start or {}).get("framework"),
        "model_kind": detect.describe(kind),
        "seconds": round(run.seconds, 3),
        "budget": budget_s,
        "within_budget": run.seconds <= budget_s + 0.5,
        "stopped_by_budget": run.killed,
        "seed": settings.probe_seed,
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
    return ProbeStage(summary, verdicts)


def _problem(run: BackendRun) -> str:
    """Why results may be missing: the budget ran out, or the backend failed."""
    if run.killed:
        where = f" during {run.current}" if run.current else (
            " while starting the backend" if run.start is None else ""
        )  # fmt: skip
        return f"the probe budget ran out{where}"
    if run.error:
        return f"the backend failed: {run.error['message']}"
    if run.done is None:
        tail = run.stderr_tail.strip().splitlines()[-1:] or [f"exit code {run.exit_code}"]
        return f"the backend stopped unexpectedly: {tail[0][:200]}"
    return ""


def _entry(status, note, metrics, probes, device, seconds, seed) -> dict[str, Any]:
    return {
        "status": status,
        "note": note,
        "metrics": metrics,
        "device": device,
        "seconds": round(seconds, 3),
        "seed": seed,
        "probes": probes,
    }


def _log_info(finding: Finding, curves: list[Curves], heldout: dict | None) -> dict | None:
    """What the log said at the end, and the epoch whose val loss matches the measured one."""
    if finding.code not in ("OFL301", "OFL302") or not heldout or not heldout.get("measured"):
        return None
    source = finding.location.file
    for log in curves:
        if source and log.source != source:
            continue
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
        }
    return None
