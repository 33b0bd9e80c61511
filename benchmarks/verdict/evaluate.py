"""Score the gate on the labelled runs: each run is checked by the CLI in a fresh process.

    python -m overfitlint check ARGS --format json --no-report --no-probe

runs in the run's folder, with the checkout under test first on ``PYTHONPATH`` (this
repository unless ``--checker`` names another). With ``with_data`` the run is checked as a
user who also gives the data: in a scratch copy of its folder, with its own training and
validation split written to ``data.npz`` and the probe on (``--data data.npz --probe-budget
60``); the runs whose data is not a NumPy table (the HF token runs) are checked as files.
The exit code is the gate's answer; the JSON's findings give OFL301's detections and the
best epochs; the top-level ``verdict`` is tabled against the truth.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.verdict import data, specs

HERE = Path(__file__).resolve().parent
RUNS_DIR = HERE / "runs"
ROOT = HERE.parent.parent
CLI_FLAGS = ["--format", "json", "--no-report", "--no-probe"]
DATA_FLAGS = ["--format", "json", "--no-report", "--data", "data.npz", "--probe-budget", "60"]
SPLIT = ("x_train", "y_train", "x_val", "y_val")
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}
BEST_EPOCH_CODES = ("OFL301", "OFL302", "OFL303")
EPOCH_TOLERANCE = 1e-3


@dataclass
class Outcome:
    label: dict
    args: list[str]
    exit_code: int
    findings: list[dict] = field(default_factory=list)
    fail_on: str = "warning"
    verdict: str | None = None
    problem: str = ""  # the stderr line of an exit 2, or why the JSON could not be read
    val_points: list[int | None] = field(default_factory=list)  # per log read; None: no val loss

    @property
    def name(self) -> str:
        return self.label["name"]

    @property
    def truth(self) -> str:
        return self.label["truth"]

    @property
    def correct(self) -> bool:
        expected = 1 if self.label["expected_gate"] == "fail" else 0
        return self.exit_code == expected

    def active(self, code: str) -> list[dict]:
        """The findings of ``code`` that were raised (info findings say one was held back)."""
        return [
            f
            for f in self.findings
            if f.get("code") == code and f.get("severity") != "info" and not f.get("suppressed")
        ]

    @property
    def failing_codes(self) -> list[str]:
        """The codes at or above --fail-on: the findings that made the gate fail."""
        floor = SEVERITY_RANK.get(self.fail_on, 1)
        codes = {
            f["code"]
            for f in self.findings
            if SEVERITY_RANK.get(f.get("severity"), 0) >= floor and not f.get("suppressed")
        }
        return sorted(codes)

    @property
    def codes(self) -> list[str]:
        return sorted({f["code"] for f in self.findings})


def labels(only: list[str] | None = None) -> list[dict]:
    found = []
    for path in sorted(RUNS_DIR.glob("*/label.json")):
        label = json.loads(path.read_text())
        if not only or label["name"] in only:
            found.append(label)
    return found


def _findings(report: dict) -> list[dict]:
    if "runs" in report:
        return [f for run in report["runs"] for f in run.get("findings", [])]
    return list(report.get("findings", []))


def _val_points(report: dict) -> list[int | None]:
    """How many validation-loss points the checker read from each log (None: no such series)."""
    points = []
    runs = report.get("runs", [report])
    for run in runs:
        for log in run.get("logs", []):
            name = (log.get("loss") or {}).get("val")
            series = (log.get("series") or {}).get(name) if name else None
            points.append(len(series.get("epochs", [])) if isinstance(series, dict) else None)
    return points


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def write_data(spec: dict, folder: Path) -> bool:
    """A run spec's own training and validation split as ``folder/data.npz`` (False: its data
    is not a table the probe reads, e.g. the HF token runs)."""
    wanted = spec.get("data") or {}
    if "set" not in wanted:
        return False
    split = data.load(wanted)
    np.savez(folder / "data.npz", **{key: getattr(split, key) for key in SPLIT})
    return True


def check(
    label: dict, folder_mode: bool, checker: Path, timeout: float = 600, with_data: bool = False
) -> Outcome:
    args = list(label["folder_args"] if folder_mode else label["args"])
    env = {**os.environ, "PYTHONPATH": str(checker), "CUDA_VISIBLE_DEVICES": ""}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    flags, folder = CLI_FLAGS, RUNS_DIR / label["name"]
    scratch_dir = tempfile.TemporaryDirectory(prefix="verdict-") if with_data else nullcontext()
    with scratch_dir as scratch:
        if scratch:
            folder = Path(shutil.copytree(folder, Path(scratch) / label["name"]))
            if write_data(specs.RUNS[label["name"]], folder):
                flags = DATA_FLAGS
        completed = subprocess.run(
            [sys.executable, "-m", "overfitlint", "check", *args, *flags],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    outcome = Outcome(label, args, completed.returncode)
    if completed.returncode not in (0, 1):
        outcome.problem = _last_line(completed.stderr) or _last_line(completed.stdout)
        return outcome
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        outcome.problem = "no JSON on stdout: " + _last_line(completed.stderr)
        return outcome
    outcome.findings = _findings(report)
    outcome.val_points = _val_points(report)
    outcome.fail_on = report.get("run", {}).get("fail_on", "warning")
    verdict = report.get("verdict")
    if isinstance(verdict, dict):
        outcome.verdict = verdict.get("status")
    return outcome


def check_all(
    chosen: list[dict], folder_mode: bool, checker: Path, jobs: int = 2, with_data: bool = False
) -> list[Outcome]:
    if folder_mode:
        chosen = [label for label in chosen if label.get("folder_args")]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(
            pool.map(lambda label: check(label, folder_mode, checker, with_data=with_data), chosen)
        )


# -- scores -------------------------------------------------------------------------------


@dataclass
class Rate:
    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def text(self) -> str:
        return f"{self.value:.2f} ({self.hits}/{self.total})" if self.total else "-"


def gate(outcomes: list[Outcome]) -> dict[str, Rate]:
    """Healthy runs passed, overfit runs failed, and overfit runs failed by a curve rule."""
    healthy, overfit, by_curve = Rate(), Rate(), Rate()
    for o in outcomes:
        if o.truth == "healthy":
            healthy.total += 1
            healthy.hits += o.exit_code == 0
        elif o.truth == "overfit":
            overfit.total += 1
            overfit.hits += o.exit_code == 1
            by_curve.total += 1
            by_curve.hits += o.exit_code == 1 and any(c.startswith("OFL3") for c in o.failing_codes)
    return {"healthy-pass": healthy, "overfit-fail": overfit, "overfit-fail-by-curve": by_curve}


def _log_given(o: Outcome) -> bool:
    """Whether the check was given the run's log (a run may be checked on its model alone)."""
    logged = Path(o.label["logged_val"]["file"])
    given = {Path(arg) for arg in o.args if not arg.startswith("-")}
    return any(p == logged or p in logged.parents for p in given)


@dataclass
class Detection:
    tp: list[str] = field(default_factory=list)
    fp: list[str] = field(default_factory=list)
    fn: list[str] = field(default_factory=list)
    tn: list[str] = field(default_factory=list)

    @property
    def precision(self) -> Rate:
        return Rate(len(self.tp), len(self.tp) + len(self.fp))

    @property
    def recall(self) -> Rate:
        return Rate(len(self.tp), len(self.tp) + len(self.fn))


def ofl301(outcomes: list[Outcome]) -> Detection:
    """OFL301 against ``curve_diverges``, on the runs checked with their log."""
    result = Detection()
    for o in outcomes:
        diverges = o.label["curve_diverges"]
        if diverges is None or not _log_given(o):
            continue
        found = bool(o.active("OFL301")) or any(
            f.get("code") == "OFL301" and (_evidence(f, "kept_epoch") is not None or _refuted(f))
            for f in o.findings
        )  # found, then held back because the weights that ship are the best's, counts
        bucket = {
            (True, True): result.tp,
            (False, True): result.fp,
            (True, False): result.fn,
            (False, False): result.tn,
        }
        bucket[(diverges, found)].append(o.name)
    return result


def _refuted(finding: dict) -> bool:
    """Raised, then downgraded because the probe measured the weights as the best epoch's."""
    return (finding.get("probe") or {}).get("status") == "refuted" and bool(
        finding.get("severity_from")
    )


def _evidence(finding: dict, name: str):
    for item in finding.get("evidence", []):
        if item.get("name") == name:
            return item.get("value")
    return None


@dataclass
class EpochCheck:
    name: str
    code: str
    evidence: str
    reported: float
    logged: float

    @property
    def agrees(self) -> bool:
        return abs(float(self.reported) - float(self.logged)) <= EPOCH_TOLERANCE


def best_epochs(outcomes: list[Outcome]) -> list[EpochCheck]:
    """Each OFL301/302/303 finding's best epoch beside the logged minimum (information findings
    too). OFL303's ``restored_epoch`` is not compared: it is what EarlyStopping, with its
    ``min_delta``, would have restored, which may lawfully be an earlier epoch."""
    checks = []
    for o in outcomes:
        for finding in o.findings:
            code = finding.get("code")
            value = _evidence(finding, "best_epoch")
            if code in BEST_EPOCH_CODES and isinstance(value, int | float):
                logged = o.label["best_epoch_logged"]
                checks.append(EpochCheck(o.name, code, "best_epoch", value, logged))
    return checks


def confusion(outcomes: list[Outcome]) -> dict[str, Counter]:
    """Verdict status by truth, for reports that carry a top-level verdict."""
    table: dict[str, Counter] = defaultdict(Counter)
    for o in outcomes:
        if o.verdict is not None:
            table[o.truth][o.verdict] += 1
    return dict(table)


def groups(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    """Slices that the open defects are about."""
    counted = [o for o in outcomes if o.truth in ("healthy", "overfit")]
    out: dict[str, list[Outcome]] = defaultdict(list)
    for o in counted:
        out[f"framework: {o.label['framework']}"].append(o)
        label = o.label
        if label["evaluations"] <= 7:
            out["short runs (3-7 evaluations)"].append(o)
        if label["kept_epoch"] != label["heldout"]["epochs"][-1]:
            out["weights not the last epoch's"].append(o)
        if label["metric_improving"] and label["curve_diverges"]:
            out["loss up, accuracy up"].append(o)
        if not _log_given(o):
            out["model file only"].append(o)
        if not any(not a.startswith("-") and _is_model_arg(a) for a in label["args"]):
            out["logs only"].append(o)
    return dict(sorted(out.items()))


MODEL_SUFFIXES = (".keras", ".h5", ".pt", ".ckpt", ".onnx", ".safetensors")


def _is_model_arg(arg: str) -> bool:
    return arg.endswith(MODEL_SUFFIXES)


def log_reading(outcomes: list[Outcome]) -> dict[str, list[str]]:
    """Runs whose log lost its validation loss, or whose points differ from the evaluations."""
    out: dict[str, list[str]] = {"no validation loss found": [], "points read != logged": []}
    for o in outcomes:
        if not _log_given(o) or o.exit_code not in (0, 1):
            continue
        if not o.val_points or any(p is None for p in o.val_points):
            out["no validation loss found"].append(o.name)
        elif max(o.val_points) != o.label["evaluations"]:
            read = "/".join(str(p) for p in o.val_points)
            out["points read != logged"].append(
                f"{o.name} (read {read}, logged {o.label['evaluations']})"
            )
    return out


def failures(outcomes: list[Outcome]) -> dict[str, dict[str, list[str]]]:
    """Wrong gate answers grouped by cause: the failing codes, or the exit-2 message."""
    out: dict[str, dict[str, list[str]]] = {
        "healthy runs failed": defaultdict(list),
        "overfit runs passed": defaultdict(list),
        "exit 2 (no answer)": defaultdict(list),
    }
    for o in outcomes:
        if o.truth not in ("healthy", "overfit") or o.correct:
            continue
        if o.exit_code not in (0, 1) or o.problem:
            out["exit 2 (no answer)"][o.problem or f"exit {o.exit_code}"].append(o.name)
        elif o.truth == "healthy":
            out["healthy runs failed"][" + ".join(o.failing_codes) or "?"].append(o.name)
        else:
            found = ", ".join(o.codes) or "no finding"
            out["overfit runs passed"][f"found only: {found}"].append(o.name)
    return {k: dict(v) for k, v in out.items()}
