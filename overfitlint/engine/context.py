"""What a check sees: its rule, the thresholds in force, and the facts of this check.

A check yields findings, and ``Checked`` records for what it judged and found sound
("val_loss in logs.csv is still at its best"). The verdict is built from both: a curve
rule that judged a log and found no overfitting is the evidence that the run is healthy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from overfitlint.catalogue import RuleSpec
from overfitlint.curves import Curves
from overfitlint.errors import CatalogueError
from overfitlint.facts import Facts, ModelFacts
from overfitlint.findings import Evidence, Finding, Location


@dataclass(frozen=True)
class Checked:
    """A rule judged ``subject`` and found it sound; ``statement`` says what passed."""

    code: str
    role: str
    subject: str
    statement: str

    def to_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "role": self.role,
            "subject": self.subject,
            "statement": self.statement,
        }


@dataclass(frozen=True)
class CheckContext:
    rule: RuleSpec
    thresholds: Mapping[str, Any]
    reads: tuple[str, ...]
    facts: Facts
    resolved: Mapping[str, Mapping[str, Any]]
    """Thresholds in force for every rule (a check may reuse another rule's judgement)."""

    @property
    def model(self) -> ModelFacts | None:
        return self.facts.model

    @property
    def curves(self) -> tuple[Curves, ...]:
        return self.facts.curves

    @property
    def data(self) -> Any:
        """The data set's facts (``overfitlint.data.DataFacts``), measured; None without it."""
        return self.facts.data

    @property
    def sweep(self) -> Any:
        """The runs of a tracker experiment or study (``loaders.trackers.Sweep``); None without."""
        return self.facts.sweep

    def threshold(self, name: str) -> Any:
        if name not in self.reads:
            raise CatalogueError(f"{self.rule.code}: reads undeclared threshold {name!r}")
        return self.thresholds[name]

    def thresholds_of(self, code: str) -> Mapping[str, Any]:
        """Another rule's thresholds in force, to judge by that rule's own criteria."""
        return self.resolved[code]

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
            evidence=tuple(evidence),
            fix=self.rule.fix if fix is None else fix,
            location=location or Location(),
            subject=subject,
            role=self.rule.role,
        )

    def checked(self, subject: str, statement: str) -> Checked:
        """What this rule judged and found sound (for the verdict and its positive summary)."""
        return Checked(self.rule.code, self.rule.role, subject, statement)
