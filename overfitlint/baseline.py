"""Baselines: accept today's findings, report only new ones, and say which were fixed.

A finding is known by its *identity*: the rule's fingerprint (rule + file name + subject, never
numbers or line numbers; see ``Finding.fingerprint``) together with the file it is about, as a
path relative to the baseline file's folder. So the same rule on ``a/model.onnx`` and on
``b/model.onnx`` are two entries, the baseline works from any working directory, and a
retrained model (same path, new bytes, new numbers) keeps its accepted findings. Moving or
renaming a model makes its findings new again (and the old entries gone).

An accepted finding that comes back *worse* is new again, with what changed: a higher severity,
or a model more than ``GROWTH`` times larger than when it was accepted.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overfitlint import __version__
from overfitlint.catalogue import CRASH_CODE
from overfitlint.errors import InputError
from overfitlint.facts import ModelFacts
from overfitlint.findings import Finding
from overfitlint.report import BaselineEntry, BaselineInfo, Escalation, InputFile, Report
from overfitlint.severity import SEVERITIES, severity_rank

FORMAT = "overfitlint-baseline"
VERSION = 1
GROWTH = 2.0
MAX_BYTES = 64 << 20


@dataclass(frozen=True)
class Baseline:
    path: Path
    entries: tuple[BaselineEntry, ...]

    @property
    def root(self) -> Path:
        return self.path.resolve().parent


def relative_to(path: str, root: Path) -> str:
    if not path:
        return ""
    absolute = Path(path).resolve()
    try:
        return Path(os.path.relpath(absolute, root)).as_posix()
    except ValueError:  # another drive on Windows
        return absolute.as_posix()


def identity(finding: Finding, anchor: str, root: Path) -> tuple[str, str]:
    return finding.fingerprint, relative_to(finding.location.file or anchor, root)


def write_baseline(path: Path, reports: Iterable[Report]) -> int:
    """Record every finding of these runs (any severity); returns how many."""
    root = path.resolve().parent
    entries = []
    for report in reports:
        size = report.model.total_params if report.model else None
        for finding in (*report.findings, *report.suppressed):
            fingerprint, file = identity(finding, report.anchor, root)
            entries.append(
                {
                    "fingerprint": fingerprint,
                    "code": finding.code,
                    "name": finding.name,
                    "file": file,
                    "severity": finding.severity,
                    "total_params": size,
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


def read_baseline(path: Path) -> Baseline:
    fix = f"write one with --write-baseline {path}"
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"{path}: {path.stat().st_size:,} bytes is too large for a baseline")
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such baseline; {fix}") from None
    except RecursionError:
        raise InputError(f"{path}: the baseline nests too deeply; {fix}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            f"{path}: not a readable baseline ({type(exc).__name__}: {str(exc)[:80]}); {fix}"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(f'{path}: not an overfitlint baseline (no "format": "{FORMAT}"); {fix}')
    if document.get("version") != VERSION:
        raise InputError(f"{path}: baseline version is not {VERSION}; {fix}")
    raw = document.get("findings")
    keys = ("fingerprint", "code", "file")
    if not isinstance(raw, list) or not all(
        isinstance(e, dict) and all(isinstance(e.get(k), str) for k in keys) for e in raw
    ):
        raise InputError(f"{path}: baseline findings must be objects with {', '.join(keys)}")
    entries = tuple(
        BaselineEntry(
            e["fingerprint"][:64],
            e["code"][:16],
            str(e.get("name", ""))[:100],
            e["file"][:4096],
            e.get("severity") if e.get("severity") in SEVERITIES else "",
            _size(e.get("total_params")),
        )
        for e in raw
    )
    return Baseline(path, entries)


def _size(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**15:
        return value
    return None


def _change(entry: BaselineEntry, finding: Finding, model: ModelFacts | None) -> str | None:
    """What makes a known finding worse than when it was accepted, in words (None: nothing)."""
    if entry.severity and severity_rank(finding.severity) > severity_rank(entry.severity):
        return f"severity rose from {entry.severity} to {finding.severity}"
    if model is not None and entry.total_params:
        growth = model.total_params / entry.total_params
        if growth > GROWTH:
            return (
                f"the model is {growth:.1f}x larger than when the finding was accepted "
                f"({entry.total_params:,} -> {model.total_params:,} parameters)"
            )
    return None


def apply_baseline(
    baseline: Baseline,
    findings: tuple[Finding, ...],
    inputs: tuple[InputFile, ...],
    ran: tuple[str, ...],
    model: ModelFacts | None,
) -> tuple[tuple[Finding, ...], tuple[Finding, ...], BaselineInfo]:
    """(new findings, suppressed findings, the ``baseline`` block) of one run: ``gone`` lists
    entries whose file and rule were checked in this run but which no longer occur (fixed)."""
    root = baseline.root
    anchor = (
        model.source if model is not None and model.source else (inputs[0].path if inputs else "")
    )
    by_key: dict[tuple[str, str], list[BaselineEntry]] = {}
    for entry in baseline.entries:
        by_key.setdefault((entry.fingerprint, entry.file), []).append(entry)
    remaining = Counter({key: len(items) for key, items in by_key.items()})
    kept, suppressed, escalated = [], [], []
    for finding in findings:
        key = identity(finding, anchor, root)
        if remaining[key] <= 0:
            kept.append(finding)
            continue
        remaining[key] -= 1
        change = _change(by_key[key][0], finding, model)
        if change is None:
            suppressed.append(finding)
        else:
            kept.append(finding)
            escalated.append(Escalation(finding.fingerprint, finding.code, key[1], change))
    files = {relative_to(i.path, root) for i in inputs}
    gone = []
    for entry in baseline.entries:
        key = (entry.fingerprint, entry.file)
        if (
            remaining[key] > 0
            and entry.file in files
            and (entry.code in ran or entry.code == CRASH_CODE)
        ):
            remaining[key] -= 1
            gone.append(entry)
    info = BaselineInfo(
        str(baseline.path), len(suppressed), len(kept), tuple(gone), tuple(escalated)
    )
    return tuple(kept), tuple(suppressed), info
