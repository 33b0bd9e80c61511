"""The rule catalogue: one TOML file per rule in ``rules/``, bundled into the wheel.

Parsing the TOML files costs more than the rest of a small check (Python's ``tomllib`` reads
their long texts a character at a time), so the parsed catalogue is kept in a JSON file in
the user's cache folder (``cache_folder``), keyed by the rule folder, each file's name, size
and modification time, and the tool's version: any change to a rule file parses them all
again. A cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import zlib
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
    import tomllib

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
    folder = rules_dir()
    paths = sorted(folder.glob("OFL*.toml"))
    key = _cache_key(folder, paths)
    cached = _read_cache(key)
    if cached is not None:
        return cached
    specs = [parse_rule(path) for path in paths]
    names: dict[str, str] = {}
    for spec in specs:
        if spec.name in names:
            raise CatalogueError(
                f"{spec.code}: name {spec.name!r} is also used by {names[spec.name]}"
            )
        names[spec.name] = spec.code
    catalogue = {spec.code: spec for spec in specs}
    _write_cache(key, catalogue)
    return catalogue


# -- the parsed catalogue, cached -------------------------------------------------------------

CACHE_FORMAT = 2


def _cache_key(folder: Path, paths: list[Path]) -> list[Any]:
    from overfitlint import __version__

    files = []
    for path in paths:
        info = path.stat()
        files.append([path.name, info.st_size, info.st_mtime_ns])
    return [CACHE_FORMAT, __version__, str(folder), files]


def cache_folder() -> Path | None:
    """The user's cache folder, ``$XDG_CACHE_HOME/overfitlint`` else ``~/.cache/overfitlint``,
    made if needed; None when it cannot be made, or is not a folder of the current user that
    nobody else may write to."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base, "overfitlint")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return None
    return folder


def _cache_file(key: list[Any]) -> Path | None:
    folder = cache_folder()
    digest = zlib.crc32(json.dumps(key[:3]).encode())  # one file per rule folder and version
    return None if folder is None else folder / f"catalogue-{digest:08x}.json"


def _read_cache(key: list[Any]) -> dict[str, RuleSpec] | None:
    path = _cache_file(key)
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("key") != key:
            return None
        specs = [_spec_from(record) for record in document["rules"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return {spec.code: spec for spec in specs}


def _write_cache(key: list[Any], catalogue: dict[str, RuleSpec]) -> None:
    target = _cache_file(key)
    if target is None:
        return
    document = {"key": key, "rules": [_spec_record(spec) for spec in catalogue.values()]}
    try:
        partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(document), encoding="utf-8")
        os.replace(partial, target)  # readers see the old file or the new one, whole
    except OSError:
        return


def _spec_record(spec: RuleSpec) -> dict[str, Any]:
    return dataclasses.asdict(spec)  # JSON writes the tuples as lists


def _spec_from(record: dict[str, Any]) -> RuleSpec:
    values = {item.name: record[item.name] for item in dataclasses.fields(RuleSpec)}
    values["thresholds"] = {k: Threshold(**t) for k, t in values["thresholds"].items()}
    for name in ("needs", "references", "probes"):
        values[name] = tuple(values[name])
    return RuleSpec(**values)
