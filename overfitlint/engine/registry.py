"""Checks register here by rule code, declaring the thresholds they read.

The engine never imports the checks: whoever runs it (the pipeline, a live monitor) imports
``overfitlint.checks`` and passes ``overfitlint.checks.registered()`` in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from overfitlint.catalogue import RuleSpec
from overfitlint.errors import CatalogueError

if TYPE_CHECKING:
    from overfitlint.engine.context import CheckContext, Checked
    from overfitlint.findings import Finding

CheckFn = Callable[["CheckContext"], Iterable["Finding | Checked"]]


@dataclass(frozen=True)
class RegisteredCheck:
    code: str
    fn: CheckFn
    reads: tuple[str, ...]


_CHECKS: dict[str, RegisteredCheck] = {}


def check(code: str, *, reads: tuple[str, ...] = ()) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as the check of rule ``code``; ``reads`` names its thresholds."""

    def register(fn: CheckFn) -> CheckFn:
        if code in _CHECKS:
            raise CatalogueError(f"{code}: a second check registered ({fn.__name__})")
        _CHECKS[code] = RegisteredCheck(code, fn, tuple(reads))
        return fn

    return register


def validated(catalogue: Mapping[str, RuleSpec]) -> dict[str, RegisteredCheck]:
    """Every registered check, each matched against its rule file (and every rule file against
    a check): a mismatch is a packaging or development bug."""
    for code, registered in _CHECKS.items():
        spec = catalogue.get(code)
        if spec is None:
            raise CatalogueError(f"{code}: a check is registered but rules/{code}.toml is missing")
        undeclared = set(registered.reads) - set(spec.thresholds)
        if undeclared:
            raise CatalogueError(
                f"{code}: check reads thresholds not declared in its rule file: "
                f"{', '.join(sorted(undeclared))}"
            )
    for code, spec in catalogue.items():
        if code not in _CHECKS and not spec.internal:
            raise CatalogueError(f"{code}: rules/{code}.toml has no registered check")
    return dict(_CHECKS)
