"""Rule selection, the only place it is decided: codes, prefixes (``OFL3``) or names.

Selection comes in layers (the config file, then the command line). In each layer the most
specific matching selector wins (a full code or a name beats any prefix; a longer prefix beats a
shorter one; ties go to ignore); a layer's ``select`` starts afresh, while ``extend_select`` and
``ignore`` add to or take from what the earlier layers chose.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from overfitlint.catalogue import RuleSpec
from overfitlint.errors import InputError

EXACT = 100


@dataclass(frozen=True)
class Selection:
    """One layer of rule selection."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = field(default_factory=tuple)
    ignore: tuple[str, ...] = field(default_factory=tuple)


def specificity(selector: str, rule: RuleSpec) -> int | None:
    """How specifically ``selector`` names ``rule`` (longer prefix = more specific), or None."""
    token = selector.strip()
    if token.lower() == rule.name or token.upper() == rule.code:
        return EXACT
    if token.upper() in ("ALL", "OFL") or (token and rule.code.startswith(token.upper())):
        return len(token)
    return None


def rule_for(token: str, catalogue: Mapping[str, RuleSpec]) -> RuleSpec | None:
    """A rule by code (any case) or by name."""
    wanted = token.strip()
    return catalogue.get(wanted.upper()) or next(
        (spec for spec in catalogue.values() if spec.name == wanted.lower()), None
    )


def suggest(word: str, choices: Iterable[str]) -> str:
    """``did you mean 'x'? `` for the closest choice, or nothing."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        lowered = difflib.get_close_matches(word.lower(), [c.lower() for c in choices], n=1)
        close = [c for c in choices if lowered and c.lower() == lowered[0]]
    return f"did you mean {close[0]!r}? " if close else ""


def rule_choices(catalogue: Mapping[str, RuleSpec]) -> list[str]:
    return [*catalogue, *(spec.name for spec in catalogue.values())]


def check_selectors(
    selectors: Sequence[str], catalogue: Mapping[str, RuleSpec], context: str = ""
) -> None:
    """Every selector must name at least one rule; the error suggests the closest one."""
    for selector in selectors:
        if not any(specificity(selector, rule) is not None for rule in catalogue.values()):
            hint = suggest(selector, rule_choices(catalogue))
            raise InputError(
                f"{context}selector {selector!r} matches no rule; {hint}"
                "run 'overfitlint rules' to list them"
            )


def _best(selectors: Iterable[str], rule: RuleSpec) -> int:
    return max((s for x in selectors if (s := specificity(x, rule)) is not None), default=-1)


def resolve(layers: Sequence[Selection], catalogue: Mapping[str, RuleSpec]) -> tuple[str, ...]:
    """The codes to run, in catalogue order."""
    selected = set(catalogue)
    for layer in layers:
        choose = [*(layer.select or ()), *layer.extend_select]
        chosen = set()
        for code, rule in catalogue.items():
            best_select, best_ignore = _best(choose, rule), _best(layer.ignore, rule)
            if best_select < 0 and best_ignore < 0:
                keep = layer.select is None and code in selected
            else:
                keep = best_select > best_ignore
            if keep:
                chosen.add(code)
        selected = chosen
    return tuple(code for code in catalogue if code in selected)
