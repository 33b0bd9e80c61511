"""Checks register here by rule code, declaring the thresholds they read."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from overfitlint.errors import CatalogueError

if TYPE_CHECKING:
    from overfitlint.engine.context import CheckContext
    from overfitlint.findings import Finding

CheckFn = Callable[["CheckContext"], Iterable["Finding"]]


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


def registered_checks() -> dict[str, RegisteredCheck]:
    """Every check, after importing the checks package and validating it against the catalogue."""
    import overfitlint.checks  # noqa: F401  (registers the checks)
    from overfitlint.catalogue import load_catalogue

    catalogue = load_catalogue()
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
    for code in catalogue:
        if code not in _CHECKS and not is_internal(code):
            raise CatalogueError(f"{code}: rules/{code}.toml has no registered check")
    return dict(_CHECKS)


def is_internal(code: str) -> bool:
    """OFL9xx findings are raised by the engine itself (a loader or rule could not run)."""
    return code.startswith("OFL9")
