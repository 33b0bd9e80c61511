"""``--select`` / ``--ignore``: codes, prefixes (``OFL3``) or names; the most specific wins."""

from __future__ import annotations

from collections.abc import Iterable

from overfitlint.catalogue import RuleSpec
from overfitlint.errors import InputError

EXACT = 100  # a full code or a rule name beats any prefix


def specificity(selector: str, rule: RuleSpec) -> int | None:
    """How specifically ``selector`` names ``rule`` (longer prefix = more specific), or None."""
    token = selector.strip()
    if token.lower() == rule.name or token.upper() == rule.code:
        return EXACT
    if token.upper() in ("ALL", "OFL") or (token and rule.code.startswith(token.upper())):
        return len(token)
    return None


def validate_selectors(selectors: Iterable[str], catalogue: dict[str, RuleSpec]) -> None:
    for selector in selectors:
        if not any(specificity(selector, rule) is not None for rule in catalogue.values()):
            raise InputError(
                f"selector {selector!r} matches no rule; run 'overfitlint rules' to list them"
            )


def is_selected(rule: RuleSpec, select: Iterable[str], ignore: Iterable[str]) -> bool:
    """True when the most specific matching selector is in ``select`` (ties go to ignore)."""
    best_select = max((s for x in select if (s := specificity(x, rule)) is not None), default=-1)
    best_ignore = max((s for x in ignore if (s := specificity(x, rule)) is not None), default=-1)
    return best_select > best_ignore
