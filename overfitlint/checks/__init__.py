"""Rule checks. ``registered()`` imports every check module and validates it against the
catalogue."""

from __future__ import annotations

from functools import cache

from overfitlint.catalogue import load_catalogue
from overfitlint.engine.registry import RegisteredCheck, validated


@cache
def registered() -> dict[str, RegisteredCheck]:
    from overfitlint.checks import (  # noqa: F401  (each module registers its checks)
        accuracy,
        capacity,
        data,
        divergence,
        folds,
        gap,
        inputs,
        log_health,
        past_best,
        regularization,
        spectral,
        sweep,
        toolbox,
    )

    return validated(load_catalogue())
