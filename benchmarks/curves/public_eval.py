"""The curve rules on real public logs: ``python -m benchmarks.curves.public_eval``.

Each log in ``benchmarks/curves/public/`` (labelled in its ``labels.json`` by reading the numbers,
see its README) is checked by the real command line in a fresh process::

    python -m overfitlint check FILE --format json --no-report --no-probe

and the answers are scored against the labels: OFL301 precision and recall (a non-suppressed
OFL301 finding = detected) on the overfit and healthy logs, the gate's false-fail rate on the
healthy logs (exit 1) with the rules that failed it, the logs the command refused (exit 2) with its
message, whether the loader read as many validation points as the label counts, and whether the
best epoch in the findings' evidence is the labelled one; by tool and by length (<= 7 evaluations or
more). ``--split`` picks the split reported first (held-out by default); the other follows, then a
one-line summary. ``-v`` prints every log's outcome.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

PUBLIC = Path(__file__).resolve().parent / "public"
REPO = PUBLIC.parents[2]
SHORT = 7  # evaluations: a run this short or shorter is "short"
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}
COUNTED = ("overfit", "healthy")


@dataclass
class Outcome:
    case: dict
    exit_code: int
    error: str | None = None
    detected: bool = False
    best_epoch: float | None = None
    best_from: str | None = None
    failing: list[str] = field(default_factory=list)
    val_points: int | None = None

    @property
    def name(self) -> str:
        return self.case["case"]

    @property
    def label(self) -> str:
        return self.case["label"]


def load_labels() -> list[dict]:
    return json.loads((PUBLIC / "labels.json").read_text())


def check(case: dict) -> Outcome:
    """Run the command line on one log in its own process."""
    path = PUBLIC / case["case"] / case["file"]
    command = [sys.executable, "-m", "overfitlint", "check", str(path)]
    command += ["--format", "json", "--no-report", "--no-probe"]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    if proc.returncode not in (0, 1):
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        return Outcome(case, proc.returncode, error=lines[-1] if lines else "no message")
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return Outcome(case, proc.returncode, error="stdout is not JSON")
    return read_report(case, proc.returncode, report)


def _evidence(finding: dict, name: str):
    return next((e["value"] for e in finding["evidence"] if e["name"] == name), None)


def read_report(case: dict, exit_code: int, report: dict) -> Outcome:
    findings = report.get("findings", [])
    divergence = [f for f in findings if f["code"] == "OFL301"]
    detected = [f for f in divergence if not _evidence(f, "suppressed")]
    outcome = Outcome(case, exit_code, detected=bool(detected))
    for code in ("OFL301", "OFL302"):
        found = [f for f in findings if f["code"] == code]
        found = [f for f in found if _evidence(f, "best_epoch") is not None]
        if found:
            outcome.best_epoch = float(_evidence(found[0], "best_epoch"))
            outcome.best_from = code
            break
    bar = SEVERITY_RANK.get(report.get("run", {}).get("fail_on", "warning"), 1)
    outcome.failing = sorted(
        {f["code"] for f in findings if SEVERITY_RANK.get(f["severity"], 0) >= bar}
    )
    logs = report.get("logs") or []
    if logs and logs[0].get("loss", {}).get("val"):
        series = logs[0]["series"].get(logs[0]["loss"]["val"])
        outcome.val_points = len(series["values"]) if series else None
    return outcome


def best_agrees(outcome: Outcome) -> bool:
    label = outcome.case
    if outcome.best_epoch is None or label["best_epoch"] is None:
        return False
    wanted = [float(label["best_epoch"])]
    if "best_step" in label:
        wanted.append(float(label["best_step"]))
    return any(abs(outcome.best_epoch - w) < 1e-6 for w in wanted)


# -- scoring ---------------------------------------------------------------------------------


@dataclass
class Score:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    healthy: int = 0
    false_fails: int = 0
    gate_caught: int = 0
    errors: int = 0
    best_compared: int = 0
    best_agreed: int = 0
    logs: int = 0

    def add(self, outcome: Outcome) -> None:
        self.logs += 1
        if outcome.error is not None:
            self.errors += 1
        if outcome.label not in COUNTED:
            return
        overfit = outcome.label == "overfit"
        if overfit:
            self.tp += outcome.detected
            self.fn += not outcome.detected
            self.gate_caught += outcome.exit_code == 1
        else:
            self.fp += outcome.detected
            self.tn += not outcome.detected
            self.healthy += 1
            self.false_fails += outcome.exit_code == 1
        if outcome.best_epoch is not None:
            self.best_compared += 1
            self.best_agreed += best_agrees(outcome)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def score(outcomes: Iterable[Outcome]) -> Score:
    result = Score()
    for outcome in outcomes:
        result.add(outcome)
    return result


def _ratio(value: float | None) -> str:
    return "  -  " if value is None else f"{value:5.2f}"


def groups(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    out: dict[str, list[Outcome]] = {"all": outcomes}
    for tool in sorted({o.case["tool"] for o in outcomes}):
        out[f"tool {tool}"] = [o for o in outcomes if o.case["tool"] == tool]
    out[f"<= {SHORT} evaluations"] = [o for o in outcomes if o.case["evaluations"] <= SHORT]
    out[f"> {SHORT} evaluations"] = [o for o in outcomes if o.case["evaluations"] > SHORT]
    return out


def print_table(title: str, outcomes: list[Outcome]) -> None:
    counted = [o for o in outcomes if o.label in COUNTED]
    overfit = sum(o.label == "overfit" for o in counted)
    print(
        f"\n{title}: {len(outcomes)} logs, {overfit} overfit, {len(counted) - overfit} healthy, "
        f"{len(outcomes) - len(counted)} borderline (not counted)"
    )
    print(
        f"  {'logs':<24} {'n':>3} {'prec':>5} {'recall':>6} {'TP':>3} {'FN':>3} {'FP':>3} "
        f"{'gate false-fail':>15} {'gate fails overfit':>18} {'exit 2':>6} {'best epoch':>10}"
    )
    for name, members in groups(outcomes).items():
        s = score(members)
        false_fail = f"{s.false_fails}/{s.healthy}" if s.healthy else "-"
        caught = f"{s.gate_caught}/{s.tp + s.fn}" if s.tp + s.fn else "-"
        best = f"{s.best_agreed}/{s.best_compared}" if s.best_compared else "-"
        print(
            f"  {name:<24} {s.logs:>3} {_ratio(s.precision)} {_ratio(s.recall):>6} {s.tp:>3} "
            f"{s.fn:>3} {s.fp:>3} {false_fail:>15} {caught:>18} {s.errors:>6} {best:>10}"
        )


def _listing(title: str, rows: list[str]) -> None:
    print(f"  {title} ({len(rows)}):" + ("" if rows else " none"))
    for row in rows:
        print(f"    {row}")


def print_cases(outcomes: list[Outcome]) -> None:
    """Every miss, false alarm, false fail, refusal and point-count difference, by name."""
    misses = [o for o in outcomes if o.label == "overfit" and not o.detected and not o.error]
    _listing(
        "OFL301 misses",
        [f"{o.name} ({o.case['evaluations']} evals; {', '.join(o.case['flags'])})" for o in misses],
    )
    alarms = [o for o in outcomes if o.label == "healthy" and o.detected]
    _listing("OFL301 on healthy logs", [o.name for o in alarms])
    fails = [o for o in outcomes if o.label == "healthy" and o.exit_code == 1]
    _listing("gate false fails", [f"{o.name}: {', '.join(o.failing)}" for o in fails])
    _listing("exit 2", [f"{o.name}: {o.error}" for o in outcomes if o.error is not None])
    counted = [o for o in outcomes if o.val_points is not None]
    differ = [o for o in counted if o.val_points != o.case["evaluations"]]
    _listing(
        "validation points read differ from the label",
        [f"{o.name}: read {o.val_points}, labelled {o.case['evaluations']}" for o in differ],
    )
    wrong = [o for o in outcomes if o.best_epoch is not None and not best_agrees(o)]
    _listing(
        "best epoch differs",
        [
            f"{o.name}: {o.best_from} says {o.best_epoch:g}, labelled {o.case['best_epoch']}"
            for o in wrong
        ],
    )


def print_verbose(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        state = o.error or (
            f"exit {o.exit_code}, OFL301 {'yes' if o.detected else 'no'}, "
            f"failing {','.join(o.failing) or '-'}, best {o.best_epoch}, points {o.val_points}"
        )
        print(f"  {o.name:<34} {o.label:<10} {state}")


def summary_line(parts: dict[str, list[Outcome]]) -> str:
    pieces = []
    for name, outcomes in parts.items():
        s = score(outcomes)
        pieces.append(
            f"{name}: OFL301 precision {_ratio(s.precision).strip()} recall "
            f"{_ratio(s.recall).strip()} ({s.tp} TP, {s.fn} FN, {s.fp} FP), gate false-fail "
            f"{s.false_fails}/{s.healthy} healthy, {s.errors} exit 2, best epoch "
            f"{s.best_agreed}/{s.best_compared}"
        )
    return "public logs | " + " | ".join(pieces)


def run_all(cases: list[dict], runner: Callable[[dict], Outcome] = check) -> list[Outcome]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(runner, cases))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.curves.public_eval")
    parser.add_argument("--split", choices=["held-out", "tune"], default="held-out")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every log's outcome")
    args = parser.parse_args(argv)
    outcomes = run_all(load_labels())
    order = [args.split, "tune" if args.split == "held-out" else "held-out"]
    parts = {split: [o for o in outcomes if o.case["split"] == split] for split in order}
    for split, members in parts.items():
        print_table(f"{split} split", members)
        print_cases(members)
        if args.verbose:
            print_verbose(members)
    print()
    print(summary_line({**parts, "all": outcomes}))


if __name__ == "__main__":
    main()
