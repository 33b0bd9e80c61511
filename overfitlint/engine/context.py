"""What a check sees: its rule, thresholds in force, and the facts of this run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from overfitlint.catalogue import RuleSpec
from overfitlint.curves import Curves
from overfitlint.errors import CatalogueError
from overfitlint.facts import ModelFacts
from overfitlint.findings import Evidence, Finding, Location
from overfitlint.settings import Settings


@dataclass
class CheckContext:
    rule: RuleSpec
    thresholds: dict[str, Any]
    reads: tuple[str, ...]
    model: ModelFacts | None
    curves: list[Curves]
    settings: Settings
    sweep: Any = None
    """The runs of an experiment tracker or study (overfitlint.loaders.trackers.Sweep)."""

    def threshold(self, name: str) -> Any:
        if name not in self.reads:
            raise CatalogueError(f"{self.rule.code}: reads undeclared threshold {name!r}")
        return self.thresholds[name]

    def finding(
        self,
        message: str,
        *,
        evidence: Iterable[Evidence] = (),
        location: Location | None = None,
        subject: str = "",
        severity: str | None = None,
        confidence: str | None = None,
        fix: str | None = None,
    ) -> Finding:
        """A finding of this rule; severity and confidence default to the rule's own."""
        return Finding(
            code=self.rule.code,
            name=self.rule.name,
            severity=severity or self.rule.severity,
            confidence=confidence or self.rule.confidence,
            message=message,
            evidence=list(evidence),
            fix=self.rule.fix if fix is None else fix,
            location=location or Location(),
            subject=subject,
        )
