"""Where each output goes, and writing it without leaving the repository by accident.

An ``--output`` goes with the ``--format`` written before it; a format without one goes to the
config's ``[output]`` path, else (json, html, sarif, junit) into ``--output-dir``, else to stdout.

Writing: an output whose path lies inside the repository must resolve inside it (a committed
``reports -> ~/.ssh`` symlink is refused), an existing symlink is never written through, and no
input is overwritten. A path the user typed that lies outside the repository is their choice.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from overfitlint.errors import InputError
from overfitlint.paths import absolute, is_inside

OUTPUT_NAMES = {  # --output-dir file names
    "json": "overfitlint.json",
    "html": "overfitlint.html",
    "sarif": "overfitlint.sarif",
    "junit": "overfitlint-junit.xml",
}
STDOUT_FORMATS = ("text", "github")


def plan_outputs(
    formats: list[str],
    outputs: tuple[Path, ...],
    order: list[str],
    output_dir: Path | None,
    configured: dict[str, Path],
) -> list[tuple[str, Path | None]]:
    """(format, file or None for stdout), in the order the formats were given."""
    paired: dict[int, Path] = {}
    current, next_output = -1, 0
    for kind in order:
        if kind == "format":
            current += 1
            continue
        index = max(current, 0)
        if next_output >= len(outputs):
            break
        if index in paired or index >= len(formats):
            raise InputError(
                f"--output {outputs[next_output]} has no --format of its own; "
                "write them in pairs: --format sarif --output results.sarif"
            )
        paired[index] = outputs[next_output]
        next_output += 1
    plan: list[tuple[str, Path | None]] = []
    for index, fmt in enumerate(formats):
        if index in paired:
            plan.append((fmt, paired[index]))
        elif fmt in configured:
            plan.append((fmt, configured[fmt]))
        elif output_dir is not None and fmt not in STDOUT_FORMATS:
            plan.append((fmt, output_dir / OUTPUT_NAMES[fmt]))
        else:
            plan.append((fmt, None))
    on_stdout = [fmt for fmt, target in plan if target is None]
    if len(on_stdout) > 1 and not set(on_stdout) <= set(STDOUT_FORMATS):
        raise InputError(
            f"{', '.join(on_stdout)} would all go to stdout; give each an --output "
            "(--format F --output FILE) or use --output-dir"
        )
    return plan


UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._+-]+")


def default_report_path(model_source: str | None, first_input: Path) -> Path:
    """``reports/<folder>-<model>.html``, the name made of plain characters only (a folder
    named after a workflow command gives no file name that forges one)."""
    anchor = Path(model_source) if model_source and not _is_factory(model_source) else first_input
    parent = absolute(anchor).parent.name
    stem = f"{parent}-{anchor.stem}" if parent else anchor.stem
    stem = UNSAFE_NAME.sub("_", stem).strip("._-")[:120] or "report"
    return Path("reports") / f"{stem}.html"


def _is_factory(source: str) -> bool:
    return ":" in source and not Path(source).exists()


def check_target(target: Path, root: Path, inputs: list[Path], option: str) -> Path:
    """Refuse a target that would overwrite an input, write through a symlink, or leave the
    repository through one."""
    if target.is_symlink():
        raise InputError(f"{option} {target} is a symlink; refusing to write through it")
    lexical = absolute(target)
    if lexical.is_relative_to(absolute(root)) and not is_inside(target, root):
        raise InputError(
            f"{option} {target} resolves to {target.resolve()}, outside the repository "
            f"{root} (a symlinked folder?); refusing to write there"
        )
    resolved = target.resolve()
    for path in inputs:
        if path.resolve() == resolved:
            raise InputError(f"{option} {target} is one of the inputs; refusing to overwrite it")
    return target


def write(target: Path, text: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(target, flags, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
