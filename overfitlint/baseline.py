"""Baselines: accept today's findings, report only new ones, and say which were fixed.

A finding is known by its *identity*: the rule's fingerprint (rule + file name + subject, never
numbers or line numbers; see ``Finding.fingerprint``) together with the file it is about, as a
path relative to the baseline file's folder. So the same rule on ``a/model.onnx`` and on
``b/model.onnx`` are two entries, the baseline works from any working directory, and a
retrained model (same path, new bytes, new numbers) keeps its accepted findings. Moving or
renaming a model makes its findings new again (and the old entries gone).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from overfitlint import __version__
from overfitlint.errors import InputError
from overfitlint.severity import SEVERITIES, fails

FORMAT = "overfitlint-baseline"
VERSION = 1
CRASH_CODE = "OFL901"


def summarize(findings: list[dict[str, Any]], fail_on: str) -> dict[str, Any]:
    """The report's ``summary`` block for a list of finding dicts."""
    counts = {severity: 0 for severity in reversed(SEVERITIES)}
    for finding in findings:
        counts[finding["severity"]] += 1
    failed = any(fails(f["severity"], fail_on) for f in findings)
    return {**counts, "total": len(findings), "failed": failed}


def _anchor(report: dict[str, Any]) -> str:
    """The file a finding without a location belongs to: the model, else the first input."""
    model = report.get("model")
    if model and model.get("source"):
        return str(model["source"])
    inputs = report.get("inputs") or [{"path": ""}]
    return str(inputs[0]["path"])


def relative_to(path: str, root: Path) -> str:
    if not path:
        return ""
    absolute = Path(path).resolve()
    try:
        return Path(os.path.relpath(absolute, root)).as_posix()
    except ValueError:  # another drive on Windows
        return absolute.as_posix()


def identity(finding: dict[str, Any], report: dict[str, Any], root: Path) -> tuple[str, str]:
    file = finding["location"]["file"] or _anchor(report)
    return finding["fingerprint"], relative_to(file, root)


def _root(path: Path) -> Path:
    return path.resolve().parent


def write_baseline(path: Path, reports: list[dict[str, Any]]) -> int:
    """Record every finding of these runs (any severity); returns how many."""
    root = _root(path)
    entries = []
    for report in reports:
        for finding in report["findings"]:
            fingerprint, file = identity(finding, report, root)
            entries.append(
                {
                    "fingerprint": fingerprint,
                    "code": finding["code"],
                    "name": finding["name"],
                    "file": file,
                }
            )
    entries.sort(key=lambda e: (e["file"], e["code"], e["fingerprint"]))
    document = {"format": FORMAT, "version": VERSION, "tool": __version__, "findings": entries}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write baseline {path}: {exc.strerror}") from None
    return len(entries)


def read_baseline(path: Path) -> list[dict[str, str]]:
    fix = f"write one with --write-baseline {path}"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such baseline; {fix}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable baseline ({exc}); {fix}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(f'{path}: not an overfitlint baseline (no "format": "{FORMAT}"); {fix}')
    if document.get("version") != VERSION:
        raise InputError(
            f"{path}: baseline version {document.get('version')!r} is not {VERSION}; {fix}"
        )
    entries = document.get("findings")
    keys = ("fingerprint", "code", "file")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and all(isinstance(e.get(k), str) for k in keys) for e in entries
    ):
        raise InputError(f"{path}: baseline findings must be objects with {', '.join(keys)}")
    return entries


def apply_baseline(path: Path, reports: list[dict[str, Any]]) -> None:
    """Drop known findings from each report, recount its summary, and add a ``baseline`` block:
    ``suppressed`` (how many known findings were seen again), ``new`` and ``gone`` (entries
    whose file and rule were checked in this run but which no longer occur: fixed)."""
    root = _root(path)
    entries = read_baseline(path)
    remaining = Counter((e["fingerprint"], e["file"]) for e in entries)
    for report in reports:
        kept, suppressed = [], 0
        for finding in report["findings"]:
            key = identity(finding, report, root)
            if remaining[key] > 0:
                remaining[key] -= 1
                suppressed += 1
            else:
                kept.append(finding)
        report["findings"] = kept
        report["summary"] = summarize(kept, report["run"]["fail_on"])
        report["baseline"] = {
            "path": str(path),
            "suppressed": suppressed,
            "new": len(kept),
            "gone": [],
        }
    scopes = [
        (
            report,
            {relative_to(str(i["path"]), root) for i in report["inputs"]},
            set(report["rules"]["ran"]),
        )
        for report in reports
    ]
    for entry in entries:
        key = (entry["fingerprint"], entry["file"])
        if remaining[key] <= 0:
            continue
        for report, files, ran in scopes:
            if entry["file"] in files and (entry["code"] in ran or entry["code"] == CRASH_CODE):
                remaining[key] -= 1
                report["baseline"]["gone"].append(
                    {k: entry.get(k, "") for k in ("fingerprint", "code", "name", "file")}
                )
                break
