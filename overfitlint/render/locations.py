"""Where a finding points, as CI systems want it: a repository-relative POSIX path."""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote


def parts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The single-run reports inside a report (itself, or each of a combined report's runs)."""
    return list(report["runs"]) if "runs" in report else [report]


def repo_path(path: str) -> str:
    """``path`` relative to the working directory (the repository root in CI), with ``/``.

    Absolute paths inside the working directory become relative; others stay absolute."""
    if not path:
        return ""
    pure = PurePath(path)
    if pure.is_absolute():
        try:
            return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return Path(path).resolve().as_posix()
    parts = [p for p in pure.as_posix().split("/") if p not in ("", ".")]
    return "/".join(parts)


def artifact_uri(path: str) -> tuple[str, bool]:
    """A SARIF ``uri`` for ``path`` and whether it is relative to %SRCROOT%."""
    relative = repo_path(path)
    if PurePath(relative).is_absolute():
        return Path(relative).as_uri(), False
    return quote(relative, safe="/"), True


def anchor_file(report: dict[str, Any]) -> str:
    """The file a finding without a location is shown at: the model, else the first input."""
    model = report.get("model")
    if model and model.get("source"):
        return str(model["source"])
    inputs = report.get("inputs") or []
    return str(inputs[0]["path"]) if inputs else ""


def finding_file(finding: dict[str, Any], report: dict[str, Any]) -> str:
    return finding["location"]["file"] or anchor_file(report)


def evidence_line(finding: dict[str, Any]) -> str:
    items = []
    for item in finding["evidence"]:
        value = item["value"]
        if isinstance(value, float):
            value = f"{value:.4g}"
        unit = f" {item['unit']}" if item["unit"] and item["unit"] not in ("epoch", "line") else ""
        items.append(f"{item['name']}={value}{unit}")
    return "; ".join(items)
