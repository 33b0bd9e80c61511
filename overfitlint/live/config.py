"""The live monitor's settings from the repository's ``[tool.overfitlint]`` table, so that
thresholds, severities and the rule selection match the CI gate's.

``config=`` is the table as a dict, or the path of a ``pyproject.toml`` / ``overfitlint.toml``.
The rule keys are read and validated with ``overfitlint.config``'s own validators (same
messages, same checks against the catalogue): ``select``, ``extend-select``, ``ignore``,
``[severity]``, ``[thresholds.CODE]``, ``fail-on``, ``fail-on-risk`` and ``samples``. The
other keys of ``overfitlint check`` (outputs, the ``[[models]]`` manifest, the probe) configure
the CI run, not a training loop: they are accepted and left alone. Unknown keys are errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from overfitlint import config as repo_config
from overfitlint.catalogue import load_catalogue
from overfitlint.engine.selection import Selection, check_selectors, resolve, suggest
from overfitlint.errors import InputError
from overfitlint.settings import RuleConfig
from overfitlint.severity import FAIL_ON

DICT_NAME = "config="
"""How messages name a table given as a dict."""


@dataclass(frozen=True)
class LiveSettings:
    rules: RuleConfig
    samples: int | None = None
    source: str | None = None
    """The config file read, if any."""


@cache
def _check_keys() -> frozenset[str]:
    """Every key ``overfitlint check`` reads from a config file."""
    from overfitlint.cli import cli

    check = cli.commands["check"]
    keys = {repo_config.option_key(param) for param in check.params}
    return (
        frozenset(k for k in keys if k)
        | set(repo_config.SELECTION_KEYS)
        | set(repo_config.TABLE_KEYS)
    )


def _table(config: Mapping[str, Any] | str | Path) -> tuple[dict[str, Any], Any, str | None]:
    if isinstance(config, Mapping):
        return dict(config), repo_config.Where(Path(DICT_NAME), "[tool.overfitlint]"), None
    path = Path(config)
    table, section = repo_config.config_section(path, repo_config.read_toml(path))
    if table is None:
        raise InputError(
            f"{path}: has no [tool.overfitlint] table; add one, or name an overfitlint.toml"
        )
    return table, repo_config.Where(path, section), str(path)


def live_settings(config: Mapping[str, Any] | str | Path | None) -> LiveSettings:
    """The rule settings of ``config`` (None: the catalogue's defaults)."""
    if config is None:
        return LiveSettings(RuleConfig())
    table, where, source = _table(config)
    catalogue = load_catalogue()
    known = _check_keys()
    layer: dict[str, tuple[str, ...]] = {}
    severities: dict[str, str] = {}
    thresholds: dict[str, dict[str, Any]] = {}
    fail_on, fail_on_risk, samples = "warning", False, None
    for key, value in table.items():
        if key in repo_config.SELECTION_KEYS:
            selectors = repo_config.string_list(value, where, key)
            check_selectors(selectors, catalogue, f"{where.path}: {where.key(key)}: ")
            layer[key] = tuple(selectors)
        elif key == "severity":
            severities = repo_config.parse_severities(value, catalogue, where)
        elif key == "thresholds":
            thresholds = repo_config.parse_thresholds(value, catalogue, where)
        elif key == "fail-on":
            if value not in FAIL_ON:
                raise where.error(f"{where.key(key)} must be one of {', '.join(FAIL_ON)}")
            fail_on = value
        elif key == "fail-on-risk":
            if not isinstance(value, bool):
                raise where.error(f"{where.key(key)} must be true or false")
            fail_on_risk = value
        elif key == "samples":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise where.error(f"{where.key(key)} must be a positive integer")
            samples = value
        elif key not in known:
            hint = suggest(key, sorted(known))
            raise where.error(
                f"unknown key {key!r} in {where.table()}; {hint}allowed: {', '.join(sorted(known))}"
            )
    selection = Selection(
        layer.get("select"), layer.get("extend-select", ()), layer.get("ignore", ())
    )
    rules = RuleConfig(
        selected=resolve([selection], catalogue),
        thresholds=thresholds,
        severities=severities,
        fail_on=fail_on,
        fail_on_risk=fail_on_risk,
    )
    return LiveSettings(rules, samples, source)
