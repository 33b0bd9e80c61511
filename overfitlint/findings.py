"""A finding: what a rule concluded, the numbers behind it, and where it points.

Findings are values: a stage that changes one (the probe's verdict, corroboration, a
severity override) returns a new finding with ``dataclasses.replace`` and says what it
changed in ``adjustments``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from overfitlint.verdict import CONFIRMED


@dataclass(frozen=True)
class Evidence:
    """One measured or read number. ``unit`` is free text ("epochs", "%", "params")."""

    name: str
    value: Any
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(str(data.get("name", "")), data.get("value"), str(data.get("unit") or ""))


@dataclass(frozen=True)
class Location:
    file: str | None = None
    line: int | None = None
    layer: str | None = None
    epoch: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "layer": self.layer, "epoch": self.epoch}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Location:
        return cls(data.get("file"), data.get("line"), data.get("layer"), data.get("epoch"))

    def short(self) -> str:
        """``file:line`` (or just ``file``) for text output; empty when nothing is known."""
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or ""


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    severity: str
    confidence: str
    message: str
    evidence: tuple[Evidence, ...] = ()
    fix: str = ""
    location: Location = field(default_factory=Location)
    subject: str = ""
    """What the finding is about (a metric, a layer, the model); part of the fingerprint."""
    role: str = ""
    """The rule's role in the verdict: cause, symptom or notice (from its rule file)."""
    corroborated_by: tuple[str, ...] = ()
    contradicted_by: tuple[str, ...] = ()
    """Evidence against it: e.g. a cause whose risk the healthy curves show was not realised."""
    adjustments: tuple[str, ...] = ()
    """What the engine changed after the rule ran, and why, in words."""
    severity_from: str | None = None
    """The rule's own severity, when a later stage changed it."""
    probe: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "evidence", tuple(self.evidence))
        object.__setattr__(self, "corroborated_by", tuple(self.corroborated_by))
        object.__setattr__(self, "contradicted_by", tuple(self.contradicted_by))
        object.__setattr__(self, "adjustments", tuple(self.adjustments))

    @property
    def fingerprint(self) -> str:
        """Stable across runs: rule, the file's name and the subject, never numbers or lines."""
        import hashlib  # OpenSSL's start-up: only for outputs and baselines that name findings

        source = (self.location.file or "").replace("\\", "/").rsplit("/", 1)[-1]
        key = "\x1f".join((self.code, source, self.subject))
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @property
    def memorised(self) -> bool:
        """The probe's held-out measurement confirmed the finding: with ``--data``, the weights
        given fit their training data far better than the held-out data (a symptom measured,
        whatever the rule's role)."""
        probe = self.probe if isinstance(self.probe, Mapping) else {}
        return probe.get("status") == CONFIRMED and probe.get("decided_by") == "heldout"

    def evidence_value(self, name: str) -> Any:
        for item in self.evidence:
            if item.name == name:
                return item.value
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "confidence": self.confidence,
            "message": self.message,
            "evidence": [e.to_dict() for e in self.evidence],
            "fix": self.fix,
            "location": self.location.to_dict(),
            "fingerprint": self.fingerprint,
            "subject": self.subject,
            "role": self.role,
            "corroborated_by": list(self.corroborated_by),
            "contradicted_by": list(self.contradicted_by),
            "adjustments": list(self.adjustments),
            "severity_from": self.severity_from,
            "probe": None if self.probe is None else dict(self.probe),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            code=str(data.get("code", "")),
            name=str(data.get("name", "")),
            severity=str(data.get("severity", "info")),
            confidence=str(data.get("confidence", "low")),
            message=str(data.get("message", "")),
            evidence=tuple(Evidence.from_dict(e) for e in data.get("evidence") or []),
            fix=str(data.get("fix") or ""),
            location=Location.from_dict(data.get("location") or {}),
            subject=str(data.get("subject") or ""),
            role=str(data.get("role") or ""),
            corroborated_by=tuple(data.get("corroborated_by") or ()),
            contradicted_by=tuple(data.get("contradicted_by") or ()),
            adjustments=tuple(data.get("adjustments") or ()),
            severity_from=data.get("severity_from"),
            probe=data.get("probe"),
        )
