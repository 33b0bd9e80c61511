"""The rule catalogue: one TOML file per rule in ``rules/``, bundled into the wheel."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from overfitlint.errors import CatalogueError
from overfitlint.severity import CONFIDENCES, SEVERITIES

ROLES = ("cause", "symptom", "notice", "internal")
CRASH_CODE = "OFL901"
"""The internal rule the engine raises when a check crashes."""
NEEDS = ("graph", "optimizer", "logs", "samples", "probe", "weights", "data", "runs")
PROBES = ("stochasticity", "memorization", "heldout", "counterfactual")
"""The probes a rule may name in ``probes = [...]``: they check its findings, deciding one first."""
GROUPS = {
    "1": "capacity",
    "2": "regularization",
    "3": "learning curves",
    "4": "probe",
    "5": "data",
    "6": "sweep",
    "9": "internal",
}
SNIPPET_FRAMEWORKS = ("pytorch", "keras")
"""``[fix_snippets]`` keys: the fix as code, one snippet per framework."""
REQUIRED = (
    "code",
    "name",
    "title",
    "severity",
    "confidence",
    "role",
    "needs",
    "summary",
    "rationale",
    "fix",
)


@dataclass(frozen=True)
class Threshold:
    name: str
    default: float | int | bool | str
    doc: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "default": self.default, "doc": self.doc}


@dataclass(frozen=True)
class RuleSpec:
    code: str
    name: str
    title: str
    severity: str
    confidence: str
    role: str
    needs: tuple[str, ...]
    summary: str
    rationale: str
    fix: str
    thresholds: dict[str, Threshold] = field(default_factory=dict)
    bad_example: str = ""
    good_example: str = ""
    references: tuple[str, ...] = ()
    path: str = ""
    fix_snippets: dict[str, str] = field(default_factory=dict)
    """The fix as a short code snippet per framework: {"pytorch": ..., "keras": ...}."""
    probes: tuple[str, ...] = ()
    """The probes that check this rule's findings, the deciding one first."""

    @property
    def group(self) -> str:
        return GROUPS.get(self.code[3], "other")

    @property
    def internal(self) -> bool:
        """OFL9xx findings are raised by the engine itself (a loader or rule could not run)."""
        return self.code.startswith("OFL9")

    def probe_threshold(self, thresholds: dict[str, Any], name: str) -> Any:
        """A ``probe_*`` threshold in force (the rule file declares its default)."""
        return thresholds.get(name, self.thresholds[name].default)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "title": self.title,
            "severity": self.severity,
            "confidence": self.confidence,
            "role": self.role,
            "needs": list(self.needs),
            "summary": self.summary,
            "rationale": self.rationale,
            "fix": self.fix,
            "thresholds": {k: t.to_dict() for k, t in self.thresholds.items()},
            "examples": {"bad": self.bad_example, "good": self.good_example},
            "references": list(self.references),
            "fix_snippets": dict(self.fix_snippets),
            "probes": list(self.probes),
        }


def rules_dir() -> Path:
    """``overfitlint/rules`` inside a wheel; the repository's ``rules/`` in a source tree."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "rules", package.parent / "rules"):
        if candidate.is_dir():
            return candidate
    raise CatalogueError(f"rule catalogue not found next to {package}")


def parse_rule(path: Path) -> RuleSpec:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{path.name}: not valid TOML: {exc}") from exc
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise CatalogueError(f"{path.name}: missing {', '.join(missing)}")
    if data["code"] != path.stem:
        raise CatalogueError(f"{path.name}: code {data['code']!r} does not match the file name")
    if data["severity"] not in SEVERITIES:
        raise CatalogueError(f"{path.name}: severity must be one of {', '.join(SEVERITIES)}")
    if data["confidence"] not in CONFIDENCES:
        raise CatalogueError(f"{path.name}: confidence must be one of {', '.join(CONFIDENCES)}")
    if data["role"] not in ROLES:
        raise CatalogueError(f"{path.name}: role must be one of {', '.join(ROLES)}")
    unknown_needs = set(data["needs"]) - set(NEEDS)
    if unknown_needs:
        raise CatalogueError(f"{path.name}: unknown needs {sorted(unknown_needs)}")
    thresholds = {}
    for key, spec in data.get("thresholds", {}).items():
        if not isinstance(spec, dict) or "default" not in spec or "doc" not in spec:
            raise CatalogueError(f"{path.name}: threshold {key!r} needs 'default' and 'doc'")
        thresholds[key] = Threshold(key, spec["default"], spec["doc"])
    snippets = data.get("fix_snippets", {})
    if not isinstance(snippets, dict) or not all(
        key in SNIPPET_FRAMEWORKS and isinstance(text, str) and text.strip()
        for key, text in snippets.items()
    ):
        raise CatalogueError(
            f"{path.name}: [fix_snippets] takes non-empty strings for "
            f"{', '.join(SNIPPET_FRAMEWORKS)}"
        )
    probes = data.get("probes", [])
    if not isinstance(probes, list) or not set(probes) <= set(PROBES):
        raise CatalogueError(f"{path.name}: probes must be a list of {', '.join(PROBES)}")
    examples = data.get("examples", {})
    return RuleSpec(
        code=data["code"],
        name=data["name"],
        title=data["title"],
        severity=data["severity"],
        confidence=data["confidence"],
        role=data["role"],
        needs=tuple(data["needs"]),
        summary=data["summary"].strip(),
        rationale=data["rationale"].strip(),
        fix=data["fix"].strip(),
        thresholds=thresholds,
        bad_example=examples.get("bad", "").strip("\n"),
        good_example=examples.get("good", "").strip("\n"),
        references=tuple(data.get("references", ())),
        path=str(path),
        fix_snippets={
            key: snippets[key].strip("\n") for key in SNIPPET_FRAMEWORKS if key in snippets
        },
        probes=tuple(probes),
    )


@cache
def load_catalogue() -> dict[str, RuleSpec]:
    """All rules by code, sorted by code."""
    specs = [parse_rule(path) for path in sorted(rules_dir().glob("OFL*.toml"))]
    names: dict[str, str] = {}
    for spec in specs:
        if spec.name in names:
            raise CatalogueError(
                f"{spec.code}: name {spec.name!r} is also used by {names[spec.name]}"
            )
        names[spec.name] = spec.code
    return {spec.code: spec for spec in specs}
