"""The labelled curve benchmark: ``python -m benchmarks.curves``.

Prints OFL301's precision, recall and best-epoch error beside Keras EarlyStopping
(patience 5) and the naive "end > min" rule, on the held-out split, per noise
level. ``--tune`` searches the threshold grid on the tuning split and prints the
best setting (copy it into rules/OFL301.toml); ``--split tune`` reports on the
tuning split instead; ``--markdown`` prints the README table.
"""

from __future__ import annotations

import argparse
import time

from benchmarks.curves.evaluate import DETECTORS, groups, load_cases, score, tune


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.curves")
    parser.add_argument("--split", choices=["held-out", "tune", "all"], default="held-out")
    parser.add_argument("--tune", action="store_true", help="search thresholds on the tuning split")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    cases = load_cases()
    if args.tune:
        overrides, result = tune(cases)
        print(f"best on the noisy tuning split: {overrides}")
        print(
            f"  precision {result.precision:.3f} recall {result.recall:.3f} "
            f"best-epoch error (median) {result.best_error:g}"
        )
    chosen = cases if args.split == "all" else [c for c in cases if c.split == args.split]
    counted = [c for c in chosen if c.label in ("overfit", "healthy")]
    positives = sum(c.label == "overfit" for c in counted)
    print(
        f"{args.split} split: {len(counted)} labelled curves ({positives} overfit, "
        f"{len(counted) - positives} healthy; "
        f"{sum(c.label == 'borderline' for c in chosen)} borderline real runs left out); "
        f"{len(cases)} curves in all"
    )
    rows = []
    for group, members in groups(chosen).items():
        for detector_name, detector in DETECTORS.items():
            result = score(members, detector)
            rows.append((group, detector_name, result))
    if args.markdown:
        print(
            "| curves | detector | precision | recall | false positives | "
            "best-epoch error (median / mean, epochs) |"
        )
        print("|---|---|---|---|---|---|")
        for group, name, r in rows:
            print(
                f"| {group} ({r.tp + r.fn} overfit / {r.fp + r.tn} healthy) | {name} | "
                f"{r.precision:.2f} | {r.recall:.2f} | {r.fp} | "
                f"{r.best_error:g} / {r.mean_best_error:.1f} |"
            )
    else:
        print(
            f"{'curves':<24} {'detector':<28} {'prec':>5} {'recall':>6} {'FP':>4} {'FN':>4} "
            f"{'best err med/mean':>18}"
        )
        for group, name, r in rows:
            print(
                f"{group:<24} {name:<28} {r.precision:5.2f} {r.recall:6.2f} {r.fp:4d} {r.fn:4d} "
                f"{r.best_error:8g} / {r.mean_best_error:5.1f}"
            )
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
