"""The gate on real labelled runs: ``python -m benchmarks.verdict [--json] [-v] [--folder]
[--data]``.

Prints the healthy-pass and overfit-fail rates of ``overfitlint check`` (goal >= 0.95
each), OFL301's precision and recall against the held-out truth of the curve, how often
the reported best epoch is the logged minimum, the verdict table when the JSON has one,
and every wrong answer grouped by cause. ``-v`` adds one row per run; ``--folder`` checks
each run's folder form (``folder_args``) instead of its file arguments; ``--data`` gives each
run its own training and validation split (``--data data.npz``, probe on) as a user with the
data would.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.verdict import evaluate as ev


def _summary(outcomes: list[ev.Outcome]) -> dict:
    gate = ev.gate(outcomes)
    detection = ev.ofl301(outcomes)
    epochs = ev.best_epochs(outcomes)
    agree = ev.Rate(sum(c.agrees for c in epochs), len(epochs))
    return {
        "gate": {k: {"rate": r.value, "hits": r.hits, "total": r.total} for k, r in gate.items()},
        "exit_2": [o.name for o in outcomes if o.exit_code not in (0, 1)],
        "ofl301": {
            "precision": detection.precision.value,
            "recall": detection.recall.value,
            "false_positives": detection.fp,
            "false_negatives": detection.fn,
        },
        "best_epoch_agreement": {
            "rate": agree.value,
            "disagree": [vars(c) for c in epochs if not c.agrees],
        },
        "verdict_confusion": {t: dict(c) for t, c in ev.confusion(outcomes).items()},
        "groups": {
            name: {k: r.value for k, r in ev.gate(members).items()}
            for name, members in ev.groups(outcomes).items()
        },
        "failures": ev.failures(outcomes),
        "log_reading": ev.log_reading(outcomes),
        "runs": [
            {
                "name": o.name,
                "truth": o.truth,
                "expected_gate": o.label["expected_gate"],
                "exit_code": o.exit_code,
                "codes": o.codes,
                "failing_codes": o.failing_codes,
                "verdict": o.verdict,
                "problem": o.problem,
                "val_points": o.val_points,
                "args": o.args,
            }
            for o in outcomes
        ],
    }


def _print(outcomes: list[ev.Outcome], verbose: bool, form: str, checker: Path) -> None:
    truths = [o.truth for o in outcomes]
    print(
        f"verdict benchmark: {len(outcomes)} runs ({truths.count('healthy')} healthy, "
        f"{truths.count('overfit')} overfit, {truths.count('borderline')} borderline, not "
        f"counted), {form} form, checker {checker}"
    )
    gate = ev.gate(outcomes)
    detection = ev.ofl301(outcomes)
    epochs = ev.best_epochs(outcomes)
    exit2 = [o for o in outcomes if o.exit_code not in (0, 1)]
    rows = [
        ("gate: healthy runs pass (exit 0)", gate["healthy-pass"].text()),
        ("gate: overfit runs fail (exit 1)", gate["overfit-fail"].text()),
        ("  ... with an OFL3xx curve finding failing", gate["overfit-fail-by-curve"].text()),
        ("exit 2 (counted wrong)", str(len(exit2))),
        ("OFL301 precision vs curve_diverges", detection.precision.text()),
        ("OFL301 recall vs curve_diverges", detection.recall.text()),
        (
            "best epoch = logged minimum (OFL301-303)",
            ev.Rate(sum(c.agrees for c in epochs), len(epochs)).text(),
        ),
    ]
    print(f"{'measure':<44} value")
    for name, value in rows:
        print(f"{name:<44} {value}")
    print(f"\n{'group':<36} {'healthy-pass':>14} {'overfit-fail':>14}")
    for name, members in ev.groups(outcomes).items():
        g = ev.gate(members)
        print(f"{name:<36} {g['healthy-pass'].text():>14} {g['overfit-fail'].text():>14}")
    table = ev.confusion(outcomes)
    if table:
        statuses = sorted({s for counts in table.values() for s in counts})
        print(f"\n{'verdict by truth':<16}" + "".join(f"{s:>14}" for s in statuses))
        for truth, counts in sorted(table.items()):
            print(f"{truth:<16}" + "".join(f"{counts.get(s, 0):>14}" for s in statuses))
    print("\nwrong answers by cause")
    for kind, causes in ev.failures(outcomes).items():
        total = sum(len(names) for names in causes.values())
        print(f"  {kind}: {total}")
        for cause, names in sorted(causes.items(), key=lambda item: -len(item[1])):
            print(f"    {cause} ({len(names)}): {', '.join(names)}")
    reading = ev.log_reading(outcomes)
    if any(reading.values()):
        print("\nlogs read wrongly")
        for kind, names in reading.items():
            if names:
                print(f"  {kind} ({len(names)}): {', '.join(names)}")
    if detection.fp or detection.fn:
        print("\nOFL301 against curve_diverges")
        print(f"  false positives: {', '.join(detection.fp) or '-'}")
        print(f"  missed divergences: {', '.join(detection.fn) or '-'}")
    wrong = [c for c in epochs if not c.agrees]
    if wrong:
        print("\nbest epoch differs from the logged minimum")
        for c in wrong:
            print(f"  {c.name}: {c.code} {c.evidence}={c.reported:g}, logged minimum {c.logged:g}")
    if verbose:
        print(f"\n{'run':<38} {'truth':<10} {'want':<5} {'exit':>4}  {'verdict':<12} findings")
        for o in outcomes:
            mark = "" if o.correct else "  <- wrong"
            verdict = o.verdict or "-"
            codes = " ".join(o.codes) or "-"
            if o.problem:
                codes = o.problem
            print(
                f"{o.name:<38} {o.truth:<10} {o.label['expected_gate']:<5} {o.exit_code:>4}  "
                f"{verdict:<12} {codes}{mark}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.verdict")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="one row per run")
    parser.add_argument(
        "--folder", action="store_true", help="check each run's folder_args instead of its args"
    )
    parser.add_argument(
        "--data",
        action="store_true",
        help="give each run its own train/validation split with --data and run the probe",
    )
    parser.add_argument(
        "--checker",
        type=Path,
        default=ev.ROOT,
        help="the overfitlint checkout to measure (default: this repository)",
    )
    parser.add_argument("--only", action="append", default=[], metavar="NAME")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="checks run at once")
    options = parser.parse_args(argv)
    started = time.perf_counter()
    only = [n for item in options.only for n in item.split(",") if n]
    chosen = ev.labels(only)
    if not chosen:
        raise SystemExit("no labelled runs: python -m benchmarks.verdict.make_runs makes them")
    checker = options.checker.resolve()
    outcomes = ev.check_all(chosen, options.folder, checker, options.jobs, options.data)
    if options.json:
        print(json.dumps(_summary(outcomes), indent=1))
        return
    form = ("folder" if options.folder else "file") + (" + --data" if options.data else "")
    _print(outcomes, options.verbose, form, checker)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
