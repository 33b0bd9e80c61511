"""``python -m overfitlint.loaders.trackers SOURCE``: the runs of a tracker store and the sweep
findings (OFL6xx). Exit code 0: nothing at warning or above, 1: findings, 2: bad input."""

from __future__ import annotations

import argparse
import json
import sys

from overfitlint.errors import InputError
from overfitlint.loaders.trackers import load_tracker
from overfitlint.loaders.trackers.run import Sweep, TrackedRun
from overfitlint.severity import fails


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m overfitlint.loaders.trackers",
        description="Read an experiment tracker or study and judge the sweep.",
    )
    parser.add_argument(
        "source",
        help="mlruns/, mlflow.db, sqlite:///..., http://host:port, "
        "wandb/, optuna.db, a journal file or a Ray Tune experiment folder",
    )
    parser.add_argument("--experiment", help="MLflow experiment name (or id)")
    parser.add_argument("--run", dest="run_id", help="one run id (MLflow, W&B, Ray Tune)")
    parser.add_argument("--study", help="Optuna study name")
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds per request to a tracking server (default 10)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _best_epoch(run: TrackedRun) -> float | None:
    val = run.curves.val_loss.finite() if run.curves and run.curves.val_loss else None
    if val is None or not len(val):
        return None
    values = val.values if run.curves.loss.lower_is_better else -val.values
    best = float(val.epochs[int(values.argmin())])
    return int(best) if best.is_integer() else best


def _points(run: TrackedRun) -> int:
    val = run.curves.val_loss if run.curves else None
    return len(val) if val is not None else 0


def _text(sweep: Sweep, findings) -> str:
    lines = [
        f"{sweep.source}: {sweep.kind}, {len(sweep.runs)} run(s), {sweep.direction} "
        f"{sweep.objective_name or 'objective'}"
    ]
    lines += [f"  note: {note}" for note in sweep.notes]
    for run in sweep.runs:
        params = ", ".join(f"{k}={v}" for k, v in list(run.params.items())[:8])
        mark = " *best*" if run.is_best else ""
        axis = run.curves.axis if run.curves else "epoch"
        lines.append(
            f"  {run.source}{mark} [{run.state}] {params or 'no params'}; {_points(run)} points; "
            f"best {axis} {_best_epoch(run)}; objective {run.objective}"
        )
        lines += [f"    note: {note}" for note in run.notes]
    for finding in findings:
        where = finding.location.short() or sweep.source
        lines.append(
            f"{where}: {finding.code} [{finding.severity}, {finding.confidence} confidence] "
            f"{finding.message}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from overfitlint.sweeps import judge_sweep

    args = _parser().parse_args(argv)
    try:
        sweep = load_tracker(
            args.source,
            experiment=args.experiment,
            run_id=args.run_id,
            study=args.study,
            timeout=args.timeout,
        )
    except InputError as exc:
        print(f"overfitlint: {exc}", file=sys.stderr)
        return 2
    result = judge_sweep(sweep)
    if args.json:
        document = sweep.to_dict()
        document["findings"] = [finding.to_dict() for finding in result.findings]
        print(json.dumps(document, indent=2))
    else:
        print(_text(sweep, result.findings))
    return 1 if any(fails(f.severity, "warning") for f in result.findings) else 0


if __name__ == "__main__":
    sys.exit(main())
