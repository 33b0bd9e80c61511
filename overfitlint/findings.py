"""A finding: what a rule concluded, the numbers behind it, and where it points."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Evidence:
    """One measured or read number. ``unit`` is free text ("epochs", "%", "params")."""

    name: str
    value: Any
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit}


@dataclass(frozen=True)
class Location:
    file: str | None = None
    line: int | None = None
    layer: str | None = None
    epoch: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "layer": self.layer, "epoch": self.epoch}

    def short(self) -> str:
        """``file:line`` (or just ``file``) for text output; empty when nothing is known."""
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or ""


@dataclass
class Finding:
    code: str
    name: str
    severity: str
    confidence: str
    message: str
    evidence: list[Evidence] = field(default_factory=list)
    fix: str = ""
    location: Location = field(default_factory=Location)
    subject: str = ""
    """What the finding is about (a metric, a layer, the model); part of the fingerprint."""
    corroborated_by: list[str] = field(default_factory=list)
    probe: dict[str, Any] | None = None

    @property
    def fingerprint(self) -> str:
        """Stable across runs: rule, the file's name and the subject, never numbers or lines."""
        source = (self.location.file or "").replace("\\", "/").rsplit("/", 1)[-1]
        key = "\x1f".join((self.code, source, self.subject))
        return hashlib.sha256(key.encode()).hexdigest()[:16]

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
            "corroborated_by": list(self.corroborated_by),
            "probe": self.probe,
        }
