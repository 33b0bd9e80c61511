"""A target whose check did not finish becomes a report of its own, the others go on.

The check of one target may kill its worker process (a framework segfaults, the kernel's
out-of-memory killer, a factory that exits) or hang. The executor then builds this report:
one internal finding, OFL902 ``check-failed``, that says what happened, and the verdict
``unknown``. Its default severity is error, so a gate fails on a model it could not look at.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from overfitlint import formats
from overfitlint.catalogue import load_catalogue
from overfitlint.engine.gate import failed
from overfitlint.findings import Evidence, Finding, Location
from overfitlint.report import (
    InputFile,
    Report,
    RulesRun,
    RunInfo,
    Summary,
    file_sha256,
    input_size,
)
from overfitlint.settings import Settings
from overfitlint.targets import Target
from overfitlint.verdict import UNKNOWN, Verdict

FAILED_CODE = "OFL902"
CRASHED, TIMED_OUT = "crashed", "timed-out"


@dataclass(frozen=True)
class Failure:
    """Why a target's check did not finish, as the executor saw it."""

    reason: str
    """``crashed`` (its worker process died) or ``timed-out``."""
    detail: str
    """What the executor saw: an exit status, a signal, the cluster's own message."""
    tries: int = 1
    timeout: float | None = None

    @property
    def message(self) -> str:
        if self.reason == TIMED_OUT:
            return (
                f"the check did not finish within --target-timeout {self.timeout:g} s; "
                "nothing about this target was judged"
            )
        tries = f" (tried {self.tries} times)" if self.tries > 1 else ""
        return (
            f"the check did not finish: its worker process died{tries}; nothing about this "
            "target was judged"
        )


def failed_report(
    target: Target,
    settings: Settings,
    failure: Failure,
    *,
    hash_inputs: bool = False,
    config_path: str | None = None,
    seconds: float = 0.0,
) -> Report:
    spec = load_catalogue()[FAILED_CODE]
    inputs = tuple(_input(d, hash_inputs) for d in target.inputs)
    anchor = next((i.path for i in inputs if i.kind == "model"), inputs[0].path if inputs else "")
    evidence = [Evidence("reason", failure.reason), Evidence("detail", failure.detail)]
    if failure.tries > 1:
        evidence.append(Evidence("tries", failure.tries))
    if failure.timeout is not None:
        evidence.append(Evidence("timeout", failure.timeout, "s"))
    rules = settings.rules
    severity = rules.severities.get(FAILED_CODE, spec.severity)
    finding = Finding(
        code=spec.code,
        name=spec.name,
        severity=severity,
        confidence=spec.confidence,
        message=failure.message,
        evidence=tuple(evidence),
        fix=spec.fix,
        location=Location(file=anchor or None),
        subject=target.name,
        role=spec.role,
        severity_from=spec.severity if severity != spec.severity else None,
    )
    findings = (finding,)
    gate = failed(
        findings,
        fail_on=rules.fail_on,
        fail_on_risk=rules.fail_on_risk,
        severities=rules.severities,
    )
    return Report(
        run=RunInfo(
            started_at=datetime.fromtimestamp(time.time() - seconds, UTC).isoformat(
                timespec="seconds"
            ),
            seconds=seconds,
            fail_on=rules.fail_on,
            fail_on_risk=rules.fail_on_risk,
            probe={"status": "skipped", "reason": "the check did not finish"},
            config=config_path,
            name=target.name or None,
        ),
        inputs=inputs,
        model=None,
        logs=(),
        rules=RulesRun(),
        findings=findings,
        verdict=Verdict(UNKNOWN, f"not checked: {failure.message.split(';')[0]}"),
        summary=Summary.of(findings, gate),
    )


def _input(detected: formats.Detected, hash_inputs: bool) -> InputFile:
    path = detected.path
    factory = detected.format == formats.FACTORY
    sha = file_sha256(path) if hash_inputs and not factory and path.is_file() else None
    kind = "model" if detected.kind == formats.MODEL else "log"
    return InputFile(str(path), kind, 0 if factory else input_size(path), sha)
