"""Repository configuration: ``[tool.overfitlint]`` in pyproject.toml, or ``overfitlint.toml``.

The file is found by walking up from the working directory (``overfitlint.toml`` wins over
``pyproject.toml`` in the same folder), or named with ``--config PATH``. Every long option of
``overfitlint check`` is also a key of the same name (``fail-on = "error"``, ``samples = 2000``,
``probe = false``); the values become the options' defaults, so a flag given on the command line
always wins. Besides those: ``select``/``extend-select``/``ignore``, the ``[severity]`` and
``[thresholds.CODE]`` tables (validated against the rule catalogue), an ``[output]`` table
(format -> path) and a ``[[models]]`` manifest. Relative paths are relative to the config file.
Unknown keys and wrong types are errors naming the file, the key and what is allowed.
"""

from __future__ import annotations

import glob
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from overfitlint.catalogue import RuleSpec, load_catalogue
from overfitlint.engine.selection import (
    Selection,
    check_selectors,
    rule_choices,
    rule_for,
    suggest,
)
from overfitlint.errors import InputError
from overfitlint.paths import confine_write, find_root
from overfitlint.severity import SEVERITIES

STANDALONE_NAMES = ("overfitlint.toml", ".overfitlint.toml")
PYPROJECT = "pyproject.toml"

SELECTION_KEYS = ("select", "extend-select", "ignore")
TABLE_KEYS = ("severity", "thresholds", "output", "models")
# Options that only make sense on a command line (or that would let a repository file opt in
# to running code from a model file) have no config key.
COMMAND_LINE_ONLY = frozenset({"config", "no-config", "write-baseline", "output", "help"})
UNSAFE_MARKERS = ("trust", "unsafe", "pickle")
MODEL_KEYS = {
    "name": "name",
    "model": "model",
    "logs": "logs",
    "samples": "samples",
    "weight-decay": "weight_decay",
    "train-metric": "train_metric",
    "val-metric": "val_metric",
    "augmentation": "augmentation",
}


@dataclass
class ModelEntry:
    """One ``[[models]]`` entry: a model and its logs, checked as one run."""

    name: str
    paths: list[Path]
    overrides: dict[str, Any] = field(default_factory=dict)
    """Settings fields for this model only (samples, weight_decay, train_metric, val_metric)."""


@dataclass
class Config:
    path: Path | None = None
    root: Path | None = None
    """The repository the config file belongs to: its paths must stay inside it."""
    options: dict[str, Any] = field(default_factory=dict)
    """Defaults for ``check`` options, by parameter name (typed; paths resolved)."""
    selection: Selection = field(default_factory=Selection)
    severities: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)
    models: list[ModelEntry] = field(default_factory=list)


# ---------------------------------------------------------------------------- discovery


def read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # only when there is a config file to read

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a config file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; a config file is TOML") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: the TOML nests too deeply to be a config file") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise InputError(f"{path}: not a usable config file ({str(exc)[:100]})") from None


def config_section(path: Path, data: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The overfitlint table of a parsed file and how messages name it."""
    if path.name == PYPROJECT:
        tool = data.get("tool")
        table = tool.get("overfitlint") if isinstance(tool, dict) else None
        if table is not None and not isinstance(table, dict):
            raise InputError(f"{path}: [tool.overfitlint] must be a table")
        return table, "[tool.overfitlint]"
    return data, ""


def find_config(start: Path) -> Path | None:
    """The nearest overfitlint.toml, or pyproject.toml with [tool.overfitlint], upwards."""
    start = start.resolve()
    for folder in (start, *start.parents):
        for name in STANDALONE_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
        candidate = folder / PYPROJECT
        if candidate.is_file():
            table, _ = config_section(candidate, read_toml(candidate))
            if table is not None:
                return candidate
    return None


# ---------------------------------------------------------------------------- validation


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


class Where:
    """Formats messages that name the file and the table a key is in."""

    def __init__(self, path: Path, section: str) -> None:
        self.path = path
        self.section = section
        self.root = find_root(path)

    def inside(self, path: Path, what: str) -> Path:
        """A path from the file: refused when it resolves outside the repository."""
        return confine_write(path, self.root, f"{self.path}: {what}")

    def table(self, *parts: str) -> str:
        if not self.section:
            return f"[{'.'.join(parts)}]" if parts else "top level"
        return f"[{'.'.join(['tool', 'overfitlint', *parts])}]"

    def error(self, message: str) -> InputError:
        return InputError(f"{self.path}: {message}")

    def key(self, key: str, *parts: str) -> str:
        return f"{self.table(*parts)} {key}" if (self.section or parts) else key


def string_list(value: Any, where: Where, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.error(
            f"{where.key(key)} must be a list of strings (rule codes, prefixes or names), "
            f"not {_toml_type(value)}"
        )
    return [item.strip() for v in value for item in v.split(",") if item.strip()]


def _unknown_rule(token: str, catalogue: dict[str, RuleSpec], where: Where, table: str) -> None:
    hint = suggest(token, rule_choices(catalogue))
    raise where.error(
        f"{where.table(table)} names no rule {token!r}; {hint}rules are: {', '.join(catalogue)}"
    )


def _threshold_value(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, type(default))


def parse_thresholds(
    table: Any, catalogue: dict[str, RuleSpec], where: Where
) -> dict[str, dict[str, Any]]:
    if not isinstance(table, dict):
        raise where.error(f"{where.key('thresholds')} must be a table of rules")
    result: dict[str, dict[str, Any]] = {}
    for token, values in table.items():
        spec = rule_for(token, catalogue)
        if spec is None:
            _unknown_rule(token, catalogue, where, "thresholds")
        assert spec is not None
        if not isinstance(values, dict):
            raise where.error(
                f"{where.table('thresholds', token)} must be a table of threshold = value, "
                f"not {_toml_type(values)}"
            )
        known = spec.thresholds
        for raw_name, value in values.items():
            name = raw_name.replace("-", "_")
            if name not in known:
                hint = suggest(name, known)
                allowed = ", ".join(known) or "no thresholds"
                raise where.error(
                    f"{where.table('thresholds', token)} has no threshold {raw_name!r}; "
                    f"{hint}{spec.code} has: {allowed}"
                )
            default = known[name].default
            if not _threshold_value(value, default):
                raise where.error(
                    f"{where.table('thresholds', token)} {raw_name} must be "
                    f"{_toml_type(default)} (default {default!r}), not {_toml_type(value)}"
                )
            result.setdefault(spec.code, {})[name] = value
    return result


def parse_severities(table: Any, catalogue: dict[str, RuleSpec], where: Where) -> dict[str, str]:
    if not isinstance(table, dict):
        raise where.error(f"{where.key('severity')} must be a table of rule = severity")
    result = {}
    for token, value in table.items():
        spec = rule_for(token, catalogue)
        if spec is None:
            _unknown_rule(token, catalogue, where, "severity")
        assert spec is not None
        if value not in SEVERITIES:
            raise where.error(
                f"{where.table('severity')} {token} must be one of {', '.join(SEVERITIES)}, "
                f"not {value!r}"
            )
        result[spec.code] = value
    return result


def _resolve(base: Path, value: str, where: Where, what: str) -> Path:
    """A path written in the config file: relative to the file, and inside its repository."""
    try:
        path = Path(value).expanduser()
    except RuntimeError:  # ~unknownuser
        raise where.error(
            f"{what}: cannot expand {value!r} (no such user); write the path relative to "
            "the config file"
        ) from None
    return where.inside(path if path.is_absolute() else base / path, what)


def _outputs(table: Any, formats: Sequence[str], base: Path, where: Where) -> dict[str, Path]:
    if not isinstance(table, dict):
        raise where.error(f"{where.key('output')} must be a table of format = path")
    result = {}
    for fmt, value in table.items():
        if fmt not in formats:
            hint = suggest(fmt, formats)
            raise where.error(
                f"{where.table('output')} has no format {fmt!r}; {hint}"
                f"formats are: {', '.join(formats)}"
            )
        if not isinstance(value, str) or not value:
            raise where.error(f"{where.table('output')} {fmt} must be a path (a string)")
        result[fmt] = _resolve(base, value, where, f"{where.table('output')} {fmt}")
    return result


MAX_GLOB_MATCHES = 10_000
MAX_GLOB_SECONDS = 10.0


def _expand(base: Path, pattern: str, where: Where, index: int) -> list[Path]:
    """A logs entry: a path, or a glob whose fixed leading folder must lie in the repository
    (so ``/**`` never walks the machine); the walk is bounded in matches and time."""
    label = f"[[models]] entry {index}: logs"
    if not glob.has_magic(pattern):
        return [_resolve(base, pattern, where, label)]
    parts = Path(pattern).parts
    fixed = [part for part in parts[: next(i for i, p in enumerate(parts) if glob.has_magic(p))]]
    anchor = _resolve(base, str(Path(*fixed)) if fixed else ".", where, label)
    rest = parts[len(fixed) :]
    matches = []
    deadline = time.monotonic() + MAX_GLOB_SECONDS
    for match in glob.iglob(str(anchor.joinpath(*rest)), recursive=True):
        if time.monotonic() > deadline or len(matches) >= MAX_GLOB_MATCHES:
            raise where.error(
                f"{label} pattern {pattern!r} matches too much (more than "
                f"{MAX_GLOB_MATCHES:,} files, or more than {MAX_GLOB_SECONDS:g} s to list)"
            )
        matches.append(where.inside(Path(match), label))
    if not matches:
        raise where.error(f"{label} pattern {pattern!r} matches no file")
    return sorted(matches)


def _models(entries: Any, base: Path, where: Where) -> list[ModelEntry]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise where.error(
            f"{where.key('models')} must be an array of tables ([[models]] with model, logs, ...)"
        )
    result = []
    for index, entry in enumerate(entries, start=1):
        label = f"[[models]] entry {index}"
        for key in entry:
            if key not in MODEL_KEYS:
                hint = suggest(key, MODEL_KEYS)
                raise where.error(
                    f"{label}: unknown key {key!r}; {hint}allowed: {', '.join(MODEL_KEYS)}"
                )
        paths: list[Path] = []
        model = entry.get("model")
        if model is not None:
            if not isinstance(model, str) or not model:
                raise where.error(f"{label}: model must be a path (a string)")
            paths.append(_resolve(base, model, where, f"{label}: model"))
        logs = entry.get("logs", [])
        if isinstance(logs, str):
            logs = [logs]
        if not isinstance(logs, list) or not all(isinstance(x, str) and x for x in logs):
            raise where.error(f"{label}: logs must be a path or a list of paths")
        for pattern in logs:
            paths.extend(_expand(base, pattern, where, index))
        if not paths:
            raise where.error(f"{label}: give a model, logs, or both")
        overrides: dict[str, Any] = {}
        for key in ("samples", "weight-decay", "train-metric", "val-metric", "augmentation"):
            if key not in entry:
                continue
            value = entry[key]
            if key == "augmentation":
                if value not in ("yes", "no"):
                    raise where.error(f'{label}: augmentation must be "yes" or "no", not {value!r}')
                overrides["augmentation"] = value == "yes"
                continue
            if key == "samples":
                ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
                expected = "a positive integer"
            elif key == "weight-decay":
                ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
                expected = "a number >= 0"
            else:
                ok = isinstance(value, str) and bool(value)
                expected = "a column name (a string)"
            if not ok:
                raise where.error(f"{label}: {key} must be {expected}, not {value!r}")
            overrides[MODEL_KEYS[key]] = value
        name = entry.get("name")
        if name is not None and not isinstance(name, str):
            raise where.error(f"{label}: name must be a string")
        result.append(ModelEntry(name or str(model or logs[0]), paths, overrides))
    return result


# ---------------------------------------------------------------------------- options


def option_key(param: click.Parameter) -> str | None:
    """The config key of a ``check`` option: its long name without dashes, or None."""
    if not isinstance(param, click.Option):
        return None
    longs = [opt for opt in param.opts if opt.startswith("--")]
    if not longs:
        return None
    key = longs[0][2:]
    if key in COMMAND_LINE_ONLY or any(marker in key for marker in UNSAFE_MARKERS):
        return None
    return key


def _expected(param: click.Option) -> str:
    kind = param.type
    if param.is_flag or isinstance(kind, click.types.BoolParamType):
        text = "true or false"
    elif isinstance(kind, click.Choice):
        text = "one of " + ", ".join(map(str, kind.choices))
    elif isinstance(kind, click.types.IntParamType):
        text = "an integer"
    elif isinstance(kind, click.types.FloatParamType):
        text = "a number"
    elif isinstance(kind, click.Path):
        text = "a path (a string)"
    else:
        text = "a string"
    return f"a list of {text.removeprefix('a ').removeprefix('an ')}" if param.multiple else text


def _type_ok(param: click.Option, value: Any) -> bool:
    kind = param.type
    if param.is_flag or isinstance(kind, click.types.BoolParamType):
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if isinstance(kind, click.types.IntParamType):
        return isinstance(value, int)
    if isinstance(kind, click.types.FloatParamType):
        return isinstance(value, int | float)
    return isinstance(value, str)


def _option_value(
    ctx: click.Context, param: click.Option, key: str, value: Any, base: Path, where: Where
) -> Any:
    values = value if isinstance(value, list) else [value]
    if (isinstance(value, list) and not param.multiple) or not all(
        _type_ok(param, v) for v in values
    ):
        raise where.error(
            f"{where.key(key)} must be {_expected(param)}, not {_toml_type(value)} {value!r}"
        )
    if isinstance(param.type, click.Path):
        values = [str(_resolve(base, v, where, where.key(key))) for v in values]
    if any(isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 1 << 53 for v in values):
        raise where.error(f"{where.key(key)}: {str(values[0])[:20]}... is too large")
    try:
        converted = [param.type.convert(v, param, ctx) for v in values]
        value = tuple(converted) if param.multiple else converted[0]
        if param.callback is not None:  # an option's own check, so the error names the file
            param.callback(ctx, param, value)
    except click.BadParameter as exc:
        raise where.error(f"{where.key(key)}: {exc.message}") from None
    return value


def parse_config(
    path: Path, ctx: click.Context, params: Sequence[click.Parameter], formats: Sequence[str]
) -> Config:
    """Read and validate one config file against the ``check`` options and the catalogue."""
    path = path.resolve() if path.is_absolute() else Path.cwd() / path
    data = read_toml(path)
    table, section = config_section(path, data)
    where = Where(path, section)
    if table is None:
        raise InputError(
            f"{path}: has no [tool.overfitlint] table; add one, or name an overfitlint.toml"
        )
    base = path.parent
    catalogue = load_catalogue()
    options = {key: param for param in params if (key := option_key(param)) is not None}
    known = sorted({*options, *SELECTION_KEYS, *TABLE_KEYS})
    config = Config(path=path, root=where.root)
    layer: dict[str, tuple[str, ...]] = {}
    for key, value in table.items():
        if key in SELECTION_KEYS:
            selectors = string_list(value, where, key)
            check_selectors(selectors, catalogue, f"{path}: {where.key(key)}: ")
            layer[key] = tuple(selectors)
        elif key == "severity":
            config.severities = parse_severities(value, catalogue, where)
        elif key == "thresholds":
            config.thresholds = parse_thresholds(value, catalogue, where)
        elif key == "output":
            config.outputs = _outputs(value, formats, base, where)
        elif key == "models":
            config.models = _models(value, base, where)
        elif key in options:
            param = options[key]
            assert isinstance(param, click.Option) and param.name
            config.options[param.name] = _option_value(ctx, param, key, value, base, where)
        else:
            hint = suggest(key, known)
            extra = ""
            if key == "tool" and not section:
                extra = "in overfitlint.toml the settings are top-level (no [tool.overfitlint]); "
            raise where.error(
                f"unknown key {key!r} in {where.table()}; {hint}{extra}allowed: {', '.join(known)}"
            )
    config.selection = Selection(
        layer.get("select"), layer.get("extend-select", ()), layer.get("ignore", ())
    )
    return config
