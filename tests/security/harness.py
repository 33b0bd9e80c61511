"""Run one hostile input through the real CLI in a scratch repository and judge whether it held.

A scratch folder holds four things side by side:

    repo/      the checked repository (a ``.git`` folder, the case's files); the working folder
    outside/   files beside the repository that nothing may read or write (secrets planted)
    home/      $HOME of the run, with a fake ~/.ssh/id_rsa and ~/.bashrc
    markers/   where hostile payloads write a file when their code runs

The CLI runs as CI runs it: a fresh process (the console script, ``python -m``, ``python -I -m``
or the exact step of action.yml), cwd = the repository, HOME = home/, under a time and a memory
cap watched from /proc. ``judge`` then lists every property the run broke.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACTION_YML = ROOT / "action.yml"
CONSOLE_SCRIPT = Path(sys.executable).with_name("overfitlint")
MARKER_PREFIX = "ofl-marker-"
PAGE = os.sysconf("SC_PAGE_SIZE")
POLL_S = 0.05
# A run as root ignores file modes; CI runs as an ordinary user. Without these capabilities a
# root process obeys mode bits like any user (a mode 000 file is unreadable).
DROP_ROOT_POWERS = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--")
OWN_ANNOTATION = re.compile(r"::(error|warning|notice)( [^:]*)?::(.*)")
ANNOTATION_KEYS = {"file", "line", "endLine", "col", "endColumn", "title"}
OWN_TITLE = re.compile(r"OFL\d{3} [a-z0-9-]+ \((low|medium|high) confidence\)|overfitlint verdict")
"""The titles overfitlint gives its annotations (render/github.py): rule, name, confidence;
and the one closing verdict notice."""
WORKFLOW_COMMAND = re.compile(r"^\s*(::|##\[)")
PROBE_REFUSED = re.compile(r"--trust-(torchscript|pickle)|the probe does not load it")
"""A probe skip reason that says it refused the model (overfitlint/probe: refusal())."""
CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
TRACEBACK = b"Traceback (most recent call last)"
# atime is set this far back before a run, so that any read of a planted file moves it
PLANTED_TIME = 1_000_000_000
HASHED_BYTES = 16 << 20
"""A file's identity is its size and the hash of its first 16 MiB (sparse bombs are huge)."""


@dataclass(frozen=True)
class Limits:
    seconds: float = 30.0
    rss_bytes: int = 2 << 30


@dataclass
class Scratch:
    """The folders of one case and the secret planted outside its repository."""

    base: Path
    token: str = field(default_factory=lambda: str(secrets.randbelow(9 * 10**14) + 10**14))

    @property
    def repo(self) -> Path:
        return self.base / "repo"

    @property
    def outside(self) -> Path:
        return self.base / "outside"

    @property
    def home(self) -> Path:
        return self.base / "home"

    @property
    def markers(self) -> Path:
        return self.base / "markers"

    def path(self, relative: str) -> Path:
        """A path in the repository, its folders made."""
        target = self.repo / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write(self, relative: str, content: str | bytes) -> Path:
        target = self.path(relative)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8", newline="")
        return target

    def marker(self, name: str) -> Path:
        return self.markers / f"{MARKER_PREFIX}{name}"

    def marker_code(self, name: str) -> str:
        """One Python statement that records, in the markers folder, that it ran and where."""
        return (
            f"__import__('pathlib').Path({str(self.marker(name))!r}).open('a')"
            f".write(repr(__import__('sys').argv) + '\\n')"
        )

    def expand(self, text: str) -> str:
        """``{repo}``, ``{outside}``, ``{home}`` and ``{token}`` in case arguments."""
        for key in ("repo", "outside", "home"):
            text = text.replace("{" + key + "}", str(getattr(self, key)))
        return text.replace("{token}", self.token)


# ---------------------------------------------------------------------------- snapshots


@dataclass(frozen=True)
class Entry:
    kind: str  # file, dir or link
    digest: str  # content hash, link target, or "" for a folder
    mtime_ns: int
    mode: int


def snapshot(folder: Path) -> dict[str, Entry]:
    """Every file, folder and link under ``folder`` (links not followed), by relative path."""
    entries: dict[str, Entry] = {}
    if not folder.exists():
        return entries
    for current, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(current) / name
            info = path.lstat()
            relative = str(path.relative_to(folder))
            if path.is_symlink():
                entries[relative] = Entry("link", os.readlink(path), info.st_mtime_ns, info.st_mode)
            elif path.is_dir():
                entries[relative] = Entry("dir", "", info.st_mtime_ns, info.st_mode)
            else:
                entries[relative] = Entry("file", _digest(path), info.st_mtime_ns, info.st_mode)
    return entries


def _digest(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            head = handle.read(HASHED_BYTES)
    except OSError as exc:  # a mode 000 file planted on purpose
        return f"unreadable:{exc.errno}"
    return f"{path.stat().st_size}:{hashlib.sha256(head).hexdigest()}"


def changes(before: dict[str, Entry], after: dict[str, Entry]) -> list[str]:
    """'created X', 'changed X', 'removed X' between two snapshots."""
    found = [f"created {p}" for p in after if p not in before]
    found += [f"removed {p}" for p in before if p not in after]
    for path, old in before.items():
        new = after.get(path)
        if new is None or (old.kind == "dir" and new.kind == "dir"):
            continue
        if (new.kind, new.digest, new.mtime_ns, new.mode) != (
            old.kind,
            old.digest,
            old.mtime_ns,
            old.mode,
        ):
            found.append(f"changed {path}")
    return found


def plant_times(folders: Iterable[Path]) -> list[Path]:
    """Set atime and mtime of every planted file far back; return them. On a filesystem that
    records reads (relatime: atime not after mtime), a later read moves the atime."""
    planted = []
    for folder in folders:
        for current, _dirs, files in os.walk(folder):
            for name in files:
                path = Path(current) / name
                if not path.is_symlink():
                    os.utime(path, (PLANTED_TIME, PLANTED_TIME))
                    planted.append(path)
    return planted


def reads_are_recorded(folder: Path) -> bool:
    """Whether reading a file moves its atime here (relatime or strictatime)."""
    probe = folder / ".atime-probe"
    probe.write_text("x")
    os.utime(probe, (PLANTED_TIME, PLANTED_TIME))
    probe.read_text()
    recorded = probe.stat().st_atime_ns != PLANTED_TIME * 10**9
    probe.unlink()
    return recorded


# ---------------------------------------------------------------------------- running


@dataclass
class Run:
    command: list[str]
    code: int | None
    stdout: bytes
    stderr: bytes
    seconds: float
    peak_rss: int
    killed: str = ""  # "time" or "memory" when the harness had to kill it
    outputs: dict[str, bytes] = field(default_factory=dict)
    """Files the run created or changed in the repository, by relative path."""
    repo_changes: list[str] = field(default_factory=list)
    outside_changes: list[str] = field(default_factory=list)
    read_outside: list[str] = field(default_factory=list)

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


def interpreter(form: str) -> list[str]:
    """How a form starts overfitlint: console, module (python -m), isolated (python -I -m)."""
    if form == "console":
        return [str(CONSOLE_SCRIPT)]
    if form == "module":
        return [sys.executable, "-m", "overfitlint"]
    if form == "isolated":
        return [sys.executable, "-I", "-m", "overfitlint"]
    raise ValueError(f"unknown form {form!r}")


def action_step() -> tuple[str, dict[str, str], dict[str, str]]:
    """The check step of action.yml: its bash script, its env (``${{ inputs.X }}`` names) and
    the inputs' defaults."""
    import yaml

    action = yaml.safe_load(ACTION_YML.read_text(encoding="utf-8"))
    defaults = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "check")
    return step["run"], dict(step.get("env", {})), defaults


def action_command(inputs: dict[str, str], runner: Path) -> tuple[list[str], dict[str, str]]:
    """The action's own check step, run by bash with its env filled from ``inputs`` (over the
    defaults); ``python3`` is the one beside this interpreter. The exit code lands in
    $GITHUB_OUTPUT."""
    script, env_spec, defaults = action_step()
    values = {**defaults, **inputs}
    env = {}
    for name, expression in env_spec.items():
        match = re.fullmatch(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", str(expression))
        env[name] = values[match.group(1)] if match else str(expression)
    runner.mkdir(parents=True, exist_ok=True)
    script_file = runner / "check-step.sh"
    script_file.write_text(script, encoding="utf-8")
    env["GITHUB_OUTPUT"] = str(runner / "github-output")
    # setup-python puts its python3 first on PATH; here that is this interpreter's folder
    path = os.environ.get("PATH", "/usr/bin:/bin")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{path}"
    return ["bash", "-e", str(script_file)], env


def child_env(scratch: Scratch, extra: dict[str, str]) -> dict[str, str]:
    """The parent's environment without anything that would steer Python, overfitlint or a
    real GitHub runner, with HOME and TMPDIR in the scratch folder."""
    dropped = ("PYTHON", "OVERFITLINT", "GITHUB_", "XDG_", "RUNNER_", "KERAS_", "TORCH_HOME")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    tmp = scratch.base / "tmp"
    tmp.mkdir(exist_ok=True)
    env.update(HOME=str(scratch.home), TMPDIR=str(tmp), LANG="C.UTF-8")
    env.update({k: scratch.expand(v) for k, v in extra.items()})
    return env


def _session_rss(session: int) -> int:
    """Resident memory of every process in a session (the CLI and all it started)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) != session:  # fields after the name: state, ppid, pgrp, session
                continue
            with open(f"/proc/{entry.name}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def execute(command: list[str], cwd: Path, env: dict[str, str], limits: Limits, out: Path) -> Run:
    """Run ``command`` in its own session; kill the whole session past a cap."""
    if os.geteuid() == 0 and shutil.which("setpriv"):
        command = [*DROP_ROOT_POWERS, *command]
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with (out / "stdout").open("wb") as stdout, (out / "stderr").open("wb") as stderr:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        peak, killed = 0, ""
        while proc.poll() is None:
            peak = max(peak, _session_rss(proc.pid))
            if peak > limits.rss_bytes:
                killed = "memory"
            elif time.monotonic() - started > limits.seconds:
                killed = "time"
            if killed:
                break
            time.sleep(POLL_S)
        _kill_session(proc.pid)  # the cap was hit, or something it started outlived it
        proc.wait()
    return Run(
        command=command,
        code=proc.returncode,
        stdout=(out / "stdout").read_bytes(),
        stderr=(out / "stderr").read_bytes(),
        seconds=time.monotonic() - started,
        peak_rss=peak,
        killed=killed,
    )


def _kill_session(session: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session, signal.SIGKILL)


# ---------------------------------------------------------------------------- judging


@dataclass(frozen=True)
class Expect:
    """What a case needs beyond the properties every case must hold."""

    exit_code: int | None = None
    github: bool = False
    """--format github is on: overfitlint's own annotations may start lines on stdout."""
    forbidden: tuple[str, ...] = ()
    """Repository paths that must not appear (a payload's file)."""
    outside_outputs: tuple[str, ...] = ()
    """Files the user asked for outside the repository (command-line paths): must appear."""
    probe: bool = False
    """The case is about the probe: its JSON report (out/probe.json) must show that the probe
    ran up to the model, or refused to load it without an opt-in, or the case would prove
    nothing."""
    extra: Callable[[Run, Scratch], list[str]] | None = None


def collect(run: Run, scratch: Scratch, before: dict[str, dict[str, Entry]]) -> None:
    """Fill in what the run left: outputs in the repository, changes outside, planted reads."""
    repo_after = snapshot(scratch.repo)
    run.repo_changes = changes(before["repo"], repo_after)
    for path, entry in repo_after.items():
        old = before["repo"].get(path)
        if entry.kind == "file" and (old is None or old != entry) and not path.endswith(".pyc"):
            run.outputs[path] = (scratch.repo / path).read_bytes()
    run.outside_changes = [
        f"{change.split(' ', 1)[0]} {name}/{change.split(' ', 1)[1]}"
        for name in ("outside", "home")
        for change in changes(before[name], snapshot(getattr(scratch, name)))
    ]


def find_reads(planted: list[Path]) -> list[str]:
    read = []
    for path in planted:
        try:
            if path.stat().st_atime_ns != PLANTED_TIME * 10**9:
                read.append(str(path))
        except OSError:
            continue
    return read


def judge(name: str, run: Run, scratch: Scratch, expect: Expect) -> list[str]:
    """Every property the run broke, one line each, naming the case and the property."""
    problems: list[str] = []

    def fail(prop: str, detail: str) -> None:
        problems.append(f"{name}: {prop}: {detail}")

    # no code from the input ran
    for marker in sorted(scratch.markers.glob("*")):
        fail("code ran", f"marker {marker.name} written by {_writers(marker)}")
    for where in (scratch.repo, scratch.home):
        for current, _dirs, files in os.walk(where):  # links not followed
            for marker in sorted(f for f in files if f.startswith(MARKER_PREFIX)):
                found = Path(current, marker).relative_to(scratch.base)
                fail("code ran", f"marker {found}")
    for relative in expect.forbidden:
        if (scratch.repo / relative).exists() or (scratch.repo / relative).is_symlink():
            fail("code ran", f"{relative} appeared in the repository")
    # nothing outside the repository created, changed or read; the user's files untouched
    wanted = {f"created outside/{p}" for p in expect.outside_outputs}
    for change in run.outside_changes:
        if change not in wanted:
            fail("outside the repository", change)
    for path in expect.outside_outputs:
        if not (scratch.outside / path).is_file():
            fail("command-line output", f"outside/{path} was asked for and not written")
    for change in run.repo_changes:
        if not change.startswith("created "):
            fail("input modified", change)
    for path in run.read_outside:
        fail("outside the repository", f"read {Path(path).relative_to(scratch.base)}")
    # what came out
    streams = {"stdout": run.stdout, "stderr": run.stderr}
    everything = {**streams, **{f"repo/{p}": data for p, data in run.outputs.items()}}
    for where, data in everything.items():
        if scratch.token.encode() in data:
            fail("secret leaked", f"the outside secret is in {where}")
        control = CONTROL.search(data)
        if control:
            fail("control character", f"{control.group()!r} in {where}{_context(data, control)}")
        if TRACEBACK in data:
            fail("traceback", f"a Python traceback in {where}")
    for where, data in streams.items():
        github = expect.github and where == "stdout"
        lines = data.decode("utf-8", "replace").split("\n")
        forged = [(why, line) for line in lines if (why := _workflow_command(line, github=github))]
        if forged:
            why, line = forged[0]
            shown = f"{len(forged)} line(s), the first: {why}: {line[:120]!r}"
            fail("forged workflow command", f"{where}: {shown}")
        elif github:
            extra = _annotations_beyond_findings(lines, run.outputs.get("out/result.json"))
            if extra:
                fail("forged workflow command", f"stdout: {extra}")
    # how it ended
    if run.killed == "time":
        fail("time cap", f"still running after {run.seconds:.1f} s; killed")
    elif run.killed == "memory":
        fail("memory cap", f"the process tree reached {run.peak_rss / 2**30:.2f} GiB RSS; killed")
    elif run.code not in (0, 1, 2):
        fail("crash", f"exit code {run.code}{_signal_name(run.code)}")
    elif run.code == 2:
        lines = run.stderr_text.rstrip("\n").split("\n")
        if len(lines) != 1 or not lines[0].startswith("overfitlint: error: "):
            shown = " | ".join(lines[:4])[:300]
            fail("one clear error line", f"exit 2 with {len(lines)} stderr line(s): {shown}")
        elif lines[0].startswith("overfitlint: error: internal error"):
            fail("one clear error line", f"a crash reported as an error: {lines[0][:300]}")
    if expect.exit_code is not None and not run.killed and run.code != expect.exit_code:
        fail("exit code", f"expected {expect.exit_code}, got {run.code}")
    if expect.probe and not run.killed:
        reached = _probe_reached(run)
        if reached:
            fail("probe", reached)
    if expect.extra is not None:
        problems += [f"{name}: {problem}" for problem in expect.extra(run, scratch)]
    return problems


def _annotations_beyond_findings(lines: list[str], result: bytes | None) -> str:
    """With the run's JSON report at hand, one annotation per finding and the closing verdict
    notice: more is a forgery that copied overfitlint's own shape."""
    if result is None:
        return ""
    try:
        findings = len(json.loads(result)["findings"])
    except (ValueError, KeyError, TypeError):
        return ""
    own = [line for line in lines if OWN_ANNOTATION.fullmatch(line)]
    verdicts = sum(1 for line in own if "title=overfitlint verdict::" in line)
    if verdicts > 1:
        return f"{verdicts} verdict notices"
    if len(own) - verdicts > findings:
        return f"{len(own) - verdicts} annotations for {findings} findings"
    return ""


def _writers(marker: Path) -> str:
    """Which programs wrote a marker: the first argv item of each line a payload appended
    (``-m`` while ``python -m`` imports, ``-c`` for a multiprocessing spawn worker)."""
    programs = []
    for line in marker.read_text(errors="replace").splitlines():
        try:
            argv = ast.literal_eval(line)
            program = Path(str(argv[0])).name if argv else "?"
        except (ValueError, SyntaxError, IndexError, TypeError):
            program = line[:40]
        programs.append(program)
    return ", ".join(dict.fromkeys(programs)) or "(empty)"


def _probe_reached(run: Run) -> str:
    """Why the probe did not get to the model, or ''."""
    data = run.outputs.get("out/probe.json")
    if data is None:
        return "no out/probe.json: the run ended before the probe"
    try:
        document = json.loads(data)
    except ValueError:
        return "out/probe.json is not JSON"
    probes = [part["run"].get("probe") or {} for part in document.get("runs") or [document]]
    if any(p.get("status") == "ran" and not p.get("stopped_by_budget") for p in probes):
        return ""
    if any(
        p.get("status") == "skipped" and PROBE_REFUSED.search(str(p.get("reason"))) for p in probes
    ):
        return ""  # the probe looked at the model and refused to load it: that holds too
    reasons = "; ".join(str(p.get("reason") or p.get("status")) for p in probes)
    return f"the probe did not get to the model ({reasons})"


def _context(data: bytes, match: re.Match) -> str:
    start = max(0, match.start() - 40)
    return f" near {data[start : match.end() + 20]!r}"


def _signal_name(code: int | None) -> str:
    if code is not None and code < 0:
        return f" (killed by {signal.Signals(-code).name})"
    if code is not None and code > 128:
        try:
            return f" (signal {signal.Signals(code - 128).name})"
        except ValueError:
            return ""
    return ""


def _workflow_command(line: str, *, github: bool) -> str:
    """Why ``line`` would be a workflow command no overfitlint annotation should make, or ''."""
    if not WORKFLOW_COMMAND.match(line):
        return ""
    own = OWN_ANNOTATION.fullmatch(line) if github else None
    if own is None:
        return "a line that starts a workflow command"
    properties, message = (own.group(2) or "").strip(), own.group(3)
    values = {}
    for item in filter(None, properties.split(",")):
        key, _, value = item.partition("=")
        if key not in ANNOTATION_KEYS or not value:
            return f"annotation property {item[:60]!r}"
        values[key] = value
    if not OWN_TITLE.fullmatch(values.get("title", "")):
        return "an annotation without overfitlint's rule title"
    if "::" in message:
        return "an unescaped '::' in an annotation message"
    return ""


# ---------------------------------------------------------------------------- one case


def run_case(
    name: str,
    scratch: Scratch,
    args: list[str],
    *,
    form: str = "console",
    env: dict[str, str] | None = None,
    action_inputs: dict[str, str] | None = None,
    limits: Limits | None = None,
    expect: Expect | None = None,
) -> tuple[Run, list[str]]:
    """Run the prepared scratch repository through the CLI and judge it."""
    limits, expect = limits or Limits(), expect or Expect()
    watched = [scratch.outside, scratch.home]
    plant_times(watched)  # first, so that the snapshots hold the planted mtimes
    before = {
        "repo": snapshot(scratch.repo),
        "outside": snapshot(scratch.outside),
        "home": snapshot(scratch.home),
    }
    planted = plant_times(watched) if reads_are_recorded(scratch.base) else []  # hashing read them
    extra_env = dict(env or {})
    if form == "action":
        command, action_env = action_command(
            {k: scratch.expand(v) for k, v in (action_inputs or {}).items()},
            scratch.base / "runner",
        )
        extra_env.update(action_env)
    else:
        command = [*interpreter(form), *(scratch.expand(a) for a in args)]
    run = execute(
        command, scratch.repo, child_env(scratch, extra_env), limits, scratch.base / "run"
    )
    run.read_outside = find_reads(planted)  # before anything here reads them again
    if form == "action" and not run.killed:
        run.code = _action_exit_code(scratch.base / "runner" / "github-output", run.code)
    collect(run, scratch, before)
    return run, judge(name, run, scratch, expect)


def _action_exit_code(output: Path, step_code: int | None) -> int | None:
    """The step always exits 0 and records overfitlint's code as ``exit-code=N``."""
    if step_code != 0 or not output.exists():
        return step_code
    found = re.search(r"^exit-code=(-?\d+)$", output.read_text(), re.MULTILINE)
    return int(found.group(1)) if found else step_code
