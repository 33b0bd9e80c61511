"""Targets: what each check reads. ``overfitlint check PATHS...`` becomes one target per model.

Every path is detected once (``overfitlint.formats``). Grouping, when PATHS hold two or more
model files:

- every model starts a target;
- a log joins the model in its own folder, else the model in the nearest folder above it;
- when that folder holds several models, the log joins the one whose file stem starts its
  name (``a.onnx`` takes ``a-logs.csv``) or whose stem names the log's sub-folder
  (``a.onnx`` takes ``a/metrics.csv``); anything still ambiguous is an error that points to
  the ``[[models]]`` manifest in the config file;
- logs with no model above them are checked on their own, one target per folder.

With at most one model, all PATHS are one target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overfitlint import formats
from overfitlint.errors import InputError
from overfitlint.formats import Detected


@dataclass(frozen=True)
class Target:
    """What one check reads: a model and its logs (either may be missing)."""

    name: str
    inputs: tuple[Detected, ...]
    overrides: Mapping[str, Any] = field(default_factory=dict)
    """Load hints for this target only (a [[models]] entry's samples, weight decay...)."""
    notes: tuple[str, ...] = ()
    """How the inputs were found (a folder's layout, what was left out)."""

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(d.path for d in self.inputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "inputs": [
                {"path": str(d.path), "kind": d.kind, "format": d.format, "optional": d.optional}
                for d in self.inputs
            ],
            "overrides": dict(self.overrides),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        inputs = tuple(
            Detected(Path(d["path"]), d["kind"], d["format"], optional=bool(d.get("optional")))
            for d in data.get("inputs") or []
        )
        return cls(
            str(data["name"]),
            inputs,
            dict(data.get("overrides") or {}),
            tuple(data.get("notes") or ()),
        )


def _owner(log: Path, models: list[Path]) -> Path | None:
    folder = log.resolve().parent
    for ancestor in (folder, *folder.parents):
        here = [m for m in models if m.resolve().parent == ancestor]
        if not here:
            continue
        if len(here) == 1:
            return here[0]
        first_part = log.resolve().relative_to(ancestor).parts[0]
        by_folder = [m for m in here if first_part == m.stem and first_part != log.name]
        by_stem = [m for m in here if log.stem.startswith(m.stem)]
        longest = max((len(m.stem) for m in by_stem), default=0)
        by_stem = [m for m in by_stem if len(m.stem) == longest]
        for candidates in (by_folder, by_stem):
            if len(candidates) == 1:
                return candidates[0]
        names = ", ".join(str(m) for m in here)
        raise InputError(
            f"{log}: cannot tell which model this log belongs to ({names}); name it after "
            f"its model (e.g. {here[0].stem}-logs{log.suffix}) or list the models in a "
            "[[models]] manifest in the config file"
        )
    return None


def group(detected: Sequence[Detected]) -> list[Target]:
    """Targets from detected inputs, in the order given."""
    models = [d.path for d in detected if d.kind == formats.MODEL]
    if len(models) <= 1:
        anchor = models[0] if models else detected[0].path
        return [Target(str(anchor), tuple(detected))]
    groups: dict[str, tuple[str, list[Detected]]] = {}
    for item in detected:
        if item.kind == formats.MODEL:
            key = f"model:{item.path}"
            _, members = groups.setdefault(key, (str(item.path), []))
            members.insert(0, item)
            continue
        owner = _owner(item.path, models)
        key = f"model:{owner}" if owner else f"logs:{item.path.resolve().parent}"
        groups.setdefault(key, (str(owner) if owner else str(item.path.parent), []))[1].append(item)
    return [Target(name, tuple(members)) for name, members in groups.values()]
