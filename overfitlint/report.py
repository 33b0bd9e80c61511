"""The result of one run as one plain document: every renderer reads this dict.

The JSON output *is* this document, so a saved JSON result can be rendered later
(``overfitlint report result.json``) exactly as the live run would have been.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overfitlint import __version__
from overfitlint.engine import EngineResult
from overfitlint.loaders import LoadedInputs
from overfitlint.settings import Settings
from overfitlint.severity import SEVERITIES, fails

SCHEMA_VERSION = 1


@dataclass
class RunInfo:
    started_at: str
    seconds: float
    probe: dict[str, Any] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_size(path: Path) -> int:
    """Bytes of a file, of all files in a folder (a SavedModel); 0 for a MODULE:CALLABLE."""
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return 0


def build_report(
    inputs: LoadedInputs,
    result: EngineResult,
    settings: Settings,
    run: RunInfo,
    *,
    hash_inputs: bool,
) -> dict[str, Any]:
    findings = [f.to_dict() for f in result.findings]
    counts = {severity: 0 for severity in reversed(SEVERITIES)}
    for finding in findings:
        counts[finding["severity"]] += 1
    failed = any(fails(f["severity"], settings.fail_on) for f in findings)
    model_path = inputs.model.source if inputs.model else None
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "overfitlint", "version": __version__},
        "run": {
            "started_at": run.started_at,
            "seconds": round(run.seconds, 3),
            "fail_on": settings.fail_on,
            "samples": settings.samples,
            "probe": run.probe,
        },
        "inputs": [
            {
                "path": str(path),
                "kind": "model" if str(path) == model_path else "log",
                "bytes": input_size(path),
                "sha256": file_sha256(path) if hash_inputs and path.is_file() else None,
            }
            for path in inputs.paths
        ],
        "model": inputs.model.to_dict() if inputs.model else None,
        "logs": [curves.to_dict() for curves in inputs.curves],
        "rules": {
            "ran": result.ran,
            "skipped": result.skipped,
            "thresholds": result.thresholds,
        },
        "summary": {**counts, "total": len(findings), "failed": failed},
        "findings": findings,
    }


def exit_code(report: dict[str, Any]) -> int:
    return 1 if report["summary"]["failed"] else 0
