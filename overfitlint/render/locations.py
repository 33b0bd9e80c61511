"""Where a finding points, as CI systems want it: a repository-relative POSIX path."""

from __future__ import annotations

from pathlib import Path, PurePath
from urllib.parse import quote

from overfitlint.findings import Finding
from overfitlint.report import Report


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


def finding_file(finding: Finding, report: Report) -> str:
    """The file a finding is shown at: its own, else the model, else the first input."""
    return finding.location.file or report.anchor
