"""A small programmatic interface: read files into facts and judge facts, without the CLI.

    from overfitlint import api
    facts = api.read(["model.onnx", "logs.csv"], samples=2000)
    result = api.judge(facts)            # evaluate + finalize, no probe
    result.verdict.status, result.findings

Used by the live integrations (``overfitlint.live``), the benchmarks and the tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overfitlint import formats, loaders
from overfitlint.catalogue import load_catalogue
from overfitlint.checks import registered
from overfitlint.curves import Curves
from overfitlint.engine import Evaluation, evaluate, finalize
from overfitlint.facts import Facts, ModelFacts
from overfitlint.findings import Finding
from overfitlint.loaders.logs import load_log
from overfitlint.loaders.models import load_model
from overfitlint.settings import LoadHints, RuleConfig
from overfitlint.verdict import Verdict


@dataclass(frozen=True)
class Judged:
    findings: tuple[Finding, ...]
    verdict: Verdict
    evaluation: Evaluation

    def by_code(self) -> dict[str, Finding]:
        return {f.code: f for f in self.findings}


def read_model(path: str | Path, **hints: Any) -> ModelFacts:
    return load_model(formats.detect(Path(path)), LoadHints(**hints))


def read_log(path: str | Path, **hints: Any) -> Curves:
    return load_log(formats.detect(Path(path)), LoadHints(**hints))


def read(paths: Iterable[str | Path], **hints: Any) -> Facts:
    return loaders.load([formats.detect(Path(p)) for p in paths], LoadHints(**hints))


def judge(facts: Facts, rules: RuleConfig | None = None, **config: Any) -> Judged:
    """Run the rules over ``facts`` (no probe). ``config``: RuleConfig fields."""
    rules = rules or RuleConfig(**config)
    catalogue = load_catalogue()
    evaluation = evaluate(facts, rules, registered(), catalogue)
    judgement = finalize(evaluation, facts, rules, catalogue)
    return Judged(judgement.findings, judgement.verdict, evaluation)
