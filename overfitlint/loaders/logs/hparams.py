"""Lightning's ``hparams.yaml``: top-level scalar settings only, never executed.

PyYAML's ``safe_load`` reads it when installed; Lightning sometimes writes Python
object tags there, which ``safe_load`` refuses, so a plain ``key: value`` reading of
the top level is the fallback (and the only reader without PyYAML).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

MAX_BYTES = 1 << 20
KEY_VALUE = re.compile(r"^([A-Za-z_][\w.-]*)\s*:\s*(.*?)\s*$")


def read_hparams(path: Path) -> tuple[dict[str, Any], str | None]:
    """Scalar top-level settings, and a note when the file could not be read fully."""
    try:
        data = path.read_bytes()[:MAX_BYTES]
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return {}, f"{path.name} beside the log is not readable UTF-8 text; ignored"
    try:
        import yaml

        loaded = yaml.safe_load(text)
        if isinstance(loaded, dict):
            return _scalars(loaded), None
        return {}, None
    except ImportError:
        pass
    except Exception:
        pass
    return _scalars(_plain(text)), None


def _plain(text: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for line in text.splitlines():
        if line[:1].isspace() or line.startswith(("#", "-")):
            continue
        match = KEY_VALUE.match(line)
        if match and match.group(2) and not match.group(2).startswith(("!", "&", "*", "|", ">")):
            found[match.group(1)] = _scalar(match.group(2))
    return found


def _scalar(text: str) -> Any:
    text = text.strip().strip("'\"")
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "~", "none"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _scalars(data: dict[Any, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            kept[key[:100]] = str(value)
        elif isinstance(value, bool | int | float) or value is None:
            kept[key[:100]] = value
        elif isinstance(value, str):
            kept[key[:100]] = value[:200]
    return kept
