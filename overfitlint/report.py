"""The result of a check as one typed value: every renderer reads a ``Report``.

``Report.to_dict()`` is the JSON document (``--format json``) and ``read_report()`` turns a
saved one back into a ``Report``, so ``overfitlint report result.json`` renders exactly what
the live run would have. A check of several targets is a ``MultiReport``: one ``Report`` per
target and their combined findings, summary and verdict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from overfitlint import __version__
from overfitlint.curves import Curves
from overfitlint.errors import InputError
from overfitlint.facts import ModelFacts
from overfitlint.findings import Finding
from overfitlint.severity import SEVERITIES
from overfitlint.verdict import Verdict, overall

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class InputFile:
    path: str
    kind: str
    """"model" or "log"."""
    bytes: int
    sha256: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "bytes": self.bytes, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputFile:
        return cls(
            str(data["path"]),
            str(data.get("kind", "log")),
            int(data.get("bytes") or 0),
            data.get("sha256"),
        )


@dataclass(frozen=True)
class RulesRun:
    ran: tuple[str, ...] = ()
    skipped: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    crashed: tuple[str, ...] = ()
    """Rules that crashed (each has an internal finding that names it)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ran": list(self.ran),
            "skipped": dict(self.skipped),
            "thresholds": {k: dict(v) for k, v in self.thresholds.items()},
            "crashed": list(self.crashed),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RulesRun:
        return cls(
            tuple(data.get("ran") or ()),
            dict(data.get("skipped") or {}),
            {k: dict(v) for k, v in (data.get("thresholds") or {}).items()},
            tuple(data.get("crashed") or ()),
        )


@dataclass(frozen=True)
class Summary:
    error: int = 0
    warning: int = 0
    info: int = 0
    failed: bool = False

    @property
    def total(self) -> int:
        return self.error + self.warning + self.info

    def count(self, severity: str) -> int:
        return getattr(self, severity)

    @classmethod
    def of(cls, findings: tuple[Finding, ...] | list[Finding], failed: bool) -> Summary:
        counts = {severity: 0 for severity in SEVERITIES}
        for finding in findings:
            counts[finding.severity] += 1
        return cls(counts["error"], counts["warning"], counts["info"], failed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "warning": self.warning,
            "info": self.info,
            "total": self.total,
            "failed": self.failed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        return cls(
            int(data.get("error", 0)),
            int(data.get("warning", 0)),
            int(data.get("info", 0)),
            bool(data.get("failed", False)),
        )


@dataclass(frozen=True)
class BaselineEntry:
    fingerprint: str
    code: str
    name: str
    file: str
    severity: str = ""
    total_params: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "code": self.code,
            "name": self.name,
            "file": self.file,
        }


@dataclass(frozen=True)
class Escalation:
    """A baselined finding that came back worse: it is reported as new, with what changed."""

    fingerprint: str
    code: str
    file: str
    change: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "code": self.code,
            "file": self.file,
            "change": self.change,
        }


@dataclass(frozen=True)
class BaselineInfo:
    path: str
    suppressed: int
    new: int
    gone: tuple[BaselineEntry, ...] = ()
    escalated: tuple[Escalation, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "suppressed": self.suppressed,
            "new": self.new,
            "gone": [g.to_dict() for g in self.gone],
            "escalated": [e.to_dict() for e in self.escalated],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> BaselineInfo | None:
        if not data:
            return None
        return cls(
            str(data.get("path", "")),
            int(data.get("suppressed", 0)),
            int(data.get("new", 0)),
            tuple(
                BaselineEntry(g["fingerprint"], g["code"], g.get("name", ""), g.get("file", ""))
                for g in data.get("gone") or []
            ),
            tuple(
                Escalation(e["fingerprint"], e["code"], e.get("file", ""), e.get("change", ""))
                for e in data.get("escalated") or []
            ),
        )


@dataclass(frozen=True)
class RunInfo:
    started_at: str
    seconds: float
    fail_on: str
    fail_on_risk: bool = False
    samples: int | None = None
    samples_source: str | None = None
    kept_epoch: float | None = None
    kept_epoch_source: str | None = None
    probe: Mapping[str, Any] = field(default_factory=dict)
    config: str | None = None
    name: str | None = None
    """The target's name in a check of several."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "started_at": self.started_at,
            "seconds": round(self.seconds, 3),
            "fail_on": self.fail_on,
            "fail_on_risk": self.fail_on_risk,
            "samples": self.samples,
            "samples_source": self.samples_source,
            "kept_epoch": self.kept_epoch,
            "kept_epoch_source": self.kept_epoch_source,
            "probe": dict(self.probe),
        }
        if self.config:
            out["config"] = self.config
        if self.name:
            out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunInfo:
        return cls(
            started_at=str(data.get("started_at", "")),
            seconds=float(data.get("seconds", 0.0)),
            fail_on=str(data.get("fail_on", "warning")),
            fail_on_risk=bool(data.get("fail_on_risk", False)),
            samples=data.get("samples"),
            samples_source=data.get("samples_source"),
            kept_epoch=data.get("kept_epoch"),
            kept_epoch_source=data.get("kept_epoch_source"),
            probe=dict(data.get("probe") or {}),
            config=data.get("config"),
            name=data.get("name"),
        )


@dataclass(frozen=True)
class TrialInfo:
    """The run of a tracker (or trial of a study) a report judged."""

    source: str
    """Names the run: its id, trial number or folder."""
    name: str
    params: Mapping[str, Any]
    state: str
    """finished, pruned, failed or running."""
    objective: float | str | None = None
    """The value the sweep ranked it by (a non-finite one as text)."""
    is_best: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "name": self.name,
            "params": dict(self.params),
            "state": self.state,
            "objective": self.objective,
            "is_best": self.is_best,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TrialInfo | None:
        if not data:
            return None
        return cls(
            str(data.get("source", "")),
            str(data.get("name", "")),
            dict(data.get("params") or {}),
            str(data.get("state", "")),
            data.get("objective"),
            bool(data.get("is_best", False)),
        )


@dataclass(frozen=True)
class SweepInfo:
    """The sweep a tracker store or study holds, as the sweep-level report shows it."""

    kind: str
    source: str
    direction: str
    objective_name: str | None
    best_run: str | None
    runs: int
    notes: tuple[str, ...] = ()
    trials: tuple[Mapping[str, Any], ...] = ()
    """Per trial what the sweep view draws: validation curve (at most 200 points), logged best,
    end gap, params, state and verdict."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "direction": self.direction,
            "objective_name": self.objective_name,
            "best_run": self.best_run,
            "runs": self.runs,
            "notes": list(self.notes),
            "trials": [dict(t) for t in self.trials],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SweepInfo | None:
        if not data:
            return None
        return cls(
            str(data.get("kind", "")),
            str(data.get("source", "")),
            str(data.get("direction", "minimize")),
            data.get("objective_name"),
            data.get("best_run"),
            int(data.get("runs", 0)),
            tuple(data.get("notes") or ()),
            tuple(dict(t) for t in data.get("trials") or ()),
        )


@dataclass(frozen=True)
class Report:
    run: RunInfo
    inputs: tuple[InputFile, ...]
    model: ModelFacts | None
    logs: tuple[Curves, ...]
    rules: RulesRun
    findings: tuple[Finding, ...]
    verdict: Verdict
    summary: Summary
    checked: tuple[Mapping[str, str], ...] = ()
    """What the rules judged and found sound (code, subject, statement)."""
    suppressed: tuple[Finding, ...] = ()
    """Findings a baseline accepted: not counted, shown as suppressed (SARIF)."""
    baseline: BaselineInfo | None = None
    notes: tuple[str, ...] = ()
    data: Mapping[str, Any] | None = None
    """What was read and measured of the data set (--data), when one was given."""
    trial: TrialInfo | None = None
    """The tracker run this report judged (one of a sweep's ``runs``)."""
    sweep: SweepInfo | None = None
    """The sweep this report judged as a whole (the 6xx rules)."""
    tool_version: str = __version__

    @property
    def parts(self) -> tuple[Report, ...]:
        return (self,)

    @property
    def name(self) -> str:
        return self.run.name or (self.inputs[0].path if self.inputs else "")

    @property
    def anchor(self) -> str:
        """The file a finding without a location belongs to: the model, else the first input."""
        if self.model and self.model.source:
            return self.model.source
        return self.inputs[0].path if self.inputs else ""

    def to_dict(self, full_series: bool = True) -> dict[str, Any]:
        """The JSON document; without ``full_series`` every learning curve is bounded to
        ``downsample.MAX_POINTS`` points that keep its shape and every point a finding names
        (marked ``"downsampled"`` with the number of points it had)."""
        logs = self.logs
        if not full_series:
            from overfitlint.downsample import bounded_curves

            named = (*self.findings, *self.suppressed)
            logs = tuple(bounded_curves(c, named) for c in logs)
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "overfitlint", "version": self.tool_version},
            "run": self.run.to_dict(),
            "inputs": [i.to_dict() for i in self.inputs],
            "model": self.model.to_dict() if self.model else None,
            "logs": [c.to_dict() for c in logs],
            "rules": self.rules.to_dict(),
            "verdict": self.verdict.to_dict(),
            "summary": self.summary.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "checked": [dict(c) for c in self.checked],
        }
        if self.notes:
            out["notes"] = list(self.notes)
        if self.data is not None:
            out["data"] = dict(self.data)
        if self.trial is not None:
            out["source"] = self.trial.source
            out["params"] = dict(self.trial.params)
            out["trial"] = self.trial.to_dict()
        if self.sweep is not None:
            out["sweep"] = self.sweep.to_dict()
        if self.baseline is not None:
            out["baseline"] = self.baseline.to_dict()
            out["suppressed"] = [f.to_dict() for f in self.suppressed]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        return cls(
            run=RunInfo.from_dict(data.get("run") or {}),
            inputs=tuple(InputFile.from_dict(i) for i in data.get("inputs") or []),
            model=ModelFacts.from_dict(data["model"]) if data.get("model") else None,
            logs=tuple(Curves.from_dict(c) for c in data.get("logs") or []),
            rules=RulesRun.from_dict(data.get("rules") or {}),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings") or []),
            verdict=Verdict.from_dict(data.get("verdict")),
            summary=Summary.from_dict(data.get("summary") or {}),
            checked=tuple(dict(c) for c in data.get("checked") or []),
            suppressed=tuple(Finding.from_dict(f) for f in data.get("suppressed") or []),
            baseline=BaselineInfo.from_dict(data.get("baseline")),
            notes=tuple(data.get("notes") or ()),
            data=data.get("data"),
            trial=TrialInfo.from_dict(data.get("trial")),
            sweep=SweepInfo.from_dict(data.get("sweep")),
            tool_version=str((data.get("tool") or {}).get("version", "")),
        )


@dataclass(frozen=True)
class MultiRunInfo:
    started_at: str
    seconds: float
    fail_on: str
    jobs: int
    executor: str = "serial"
    config: str | None = None
    cached: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "started_at": self.started_at,
            "seconds": round(self.seconds, 3),
            "fail_on": self.fail_on,
            "jobs": self.jobs,
            "executor": self.executor,
            "cached": self.cached,
        }
        if self.config:
            out["config"] = self.config
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MultiRunInfo:
        return cls(
            str(data.get("started_at", "")),
            float(data.get("seconds", 0.0)),
            str(data.get("fail_on", "warning")),
            int(data.get("jobs", 1)),
            str(data.get("executor", "serial")),
            data.get("config"),
            int(data.get("cached", 0)),
        )


@dataclass(frozen=True)
class MultiReport:
    run: MultiRunInfo
    runs: tuple[Report, ...]
    tool_version: str = __version__
    sweep: Report | None = None
    """The sweep-level report (6xx findings) when the runs are one tracker store's."""

    @property
    def parts(self) -> tuple[Report, ...]:
        """Every report, the sweep's first."""
        return ((self.sweep,) if self.sweep is not None else ()) + self.runs

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.parts for f in r.findings)

    @property
    def inputs(self) -> tuple[InputFile, ...]:
        seen: dict[str, InputFile] = {}
        for part in self.parts:
            for item in part.inputs:
                seen.setdefault(item.path, item)
        return tuple(seen.values())

    @property
    def summary(self) -> Summary:
        return Summary.of(self.findings, any(r.summary.failed for r in self.parts))

    @property
    def verdict(self) -> Verdict:
        return overall([r.verdict for r in self.runs], self.sweep.verdict if self.sweep else None)

    @property
    def baseline(self) -> BaselineInfo | None:
        infos = [r.baseline for r in self.parts if r.baseline is not None]
        if not infos:
            return None
        return BaselineInfo(
            infos[0].path,
            sum(b.suppressed for b in infos),
            sum(b.new for b in infos),
            tuple(g for b in infos for g in b.gone),
            tuple(e for b in infos for e in b.escalated),
        )

    def to_dict(self, full_series: bool = True) -> dict[str, Any]:
        out = {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "overfitlint", "version": self.tool_version},
            "run": {**self.run.to_dict(), "models": len(self.runs)},
            "inputs": [i.to_dict() for i in self.inputs],
            "verdict": self.verdict.to_dict(),
            "summary": self.summary.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "runs": [r.to_dict(full_series) for r in self.runs],
        }
        if self.sweep is not None:
            out["sweep"] = self.sweep.to_dict()
        baseline = self.baseline
        if baseline is not None:
            out["baseline"] = baseline.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MultiReport:
        return cls(
            MultiRunInfo.from_dict(data.get("run") or {}),
            tuple(Report.from_dict(r) for r in data.get("runs") or []),
            str((data.get("tool") or {}).get("version", "")),
            Report.from_dict(data["sweep"]) if data.get("sweep") else None,
        )


AnyReport = Report | MultiReport


def from_dict(data: Mapping[str, Any]) -> AnyReport:
    return MultiReport.from_dict(data) if "runs" in data else Report.from_dict(data)


def read_report(path: Path) -> AnyReport:
    """A saved ``--format json`` result; anything else is one line for the user."""
    hint = "give the file that 'overfitlint check --format json' wrote"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; {hint}") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno}); {hint}"
        ) from None
    except (RecursionError, ValueError) as exc:
        raise InputError(
            f"{path}: not a usable JSON result ({type(exc).__name__}); {hint}"
        ) from None
    if not isinstance(data, dict) or "schema_version" not in data:
        raise InputError(f"{path}: not an overfitlint result (no schema_version); {hint}")
    version = data["schema_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise InputError(f"{path}: schema_version must be a whole number; {hint}")
    if version > SCHEMA_VERSION:
        raise InputError(
            f"{path}: written with report schema {version}, this overfitlint reads up to "
            f"{SCHEMA_VERSION}; upgrade overfitlint to render it"
        )
    for key, kind in (("findings", list), ("summary", dict), ("run", dict)):
        if not isinstance(data.get(key), kind):
            raise InputError(f"{path}: '{key}' is missing or not a JSON {kind.__name__}; {hint}")
    try:
        return from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(
            f"{path}: a damaged overfitlint JSON result ({type(exc).__name__}: {exc}); {hint}"
        ) from None


def with_run_name(report: Report, name: str) -> Report:
    return replace(report, run=replace(report.run, name=name))


def file_sha256(path: Path) -> str:
    import hashlib  # OpenSSL's start-up: only for --hash-inputs and the cache

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


MAX_SIZE_FILES = 100_000


def input_size(path: Path) -> int:
    """Bytes of a file, or of the files in a folder (bounded); 0 for a MODULE:CALLABLE."""
    try:
        if path.is_file():
            return path.stat().st_size
        if path.is_dir():
            total = 0
            for count, item in enumerate(path.rglob("*")):
                if count > MAX_SIZE_FILES:
                    break
                if item.is_file() and not item.is_symlink():
                    total += item.stat().st_size
            return total
    except OSError:
        return 0
    return 0
