"""Rule checks. ``registered()`` imports every check module and validates it against the
catalogue."""

from __future__ import annotations

from functools import cache

from overfitlint.catalogue import load_catalogue
from overfitlint.engine.registry import RegisteredCheck, validated


@cache
def registered() -> dict[str, RegisteredCheck]:
    from overfitlint.checks import capacity, curves, folds, regularization, toolbox  # noqa: F401

    return validated(load_catalogue())
