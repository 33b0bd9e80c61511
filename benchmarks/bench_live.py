"""Live monitoring on the labelled curves: ``python -m benchmarks.bench_live``.

Each held-out curve of the curve benchmark (``benchmarks/curves``: synthetic and real, with
their true validation loss) is replayed epoch by epoch through ``Monitor(action="stop")``,
and on the same curves Keras ``EarlyStopping(patience=3/5/10, restore_best_weights=True)``
(``measures.simulate_early_stopping``). For each stopper:

- **false stops**: healthy curves it stops (a healthy curve should run to its end);
- **stop delay**: on the overfitting curves, epochs from the onset (the first epoch after the
  true minimum from which the true validation loss stays more than 2% above it, the
  benchmark's bound for "flat") to the stop; and how many it never stops;
- **regret**: the true validation loss of the weights it ships (the logged best up to the
  stop, or of the whole run when it does not stop, as both restore at the end) over the
  curve's true best, in percent;
- **epochs run**: the share of each curve's epochs trained.

Then the per-epoch overhead of ``Monitor.update`` in one process, replaying a 10- and a
10,000-epoch noisy curve (``--replay N`` replays one curve and exits, to time whole commands;
``--bare`` does the same loop without the monitor).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field

import numpy as np

from benchmarks.curves import synthetic
from benchmarks.curves.evaluate import REAL, Case, load_cases
from overfitlint.checks.divergence import judge_divergence
from overfitlint.curves import MetricPair
from overfitlint.live import Monitor
from overfitlint.measures import simulate_early_stopping

FLAT = 0.02
"""The curve benchmark's bound for a flat curve: a true rise under 2% is no overfitting."""
PATIENCES = (3, 5, 10)


def _quiet(severity: str, text: str) -> None:
    """The benchmark reads the monitor's state, not its messages."""


@dataclass
class Outcome:
    stop: int | None
    """Index of the last epoch trained when stopped early (None: ran to the end)."""
    kept: int
    """Index of the epoch whose weights ship."""


def truths(cases: list[Case]) -> dict[str, np.ndarray]:
    """The true (noise-free or 20,000-sample held-out) validation loss of every curve."""
    found = {c.name: c.true_val for c in synthetic.curves(6)}
    labels = json.loads((REAL / "labels.json").read_text()) if REAL.is_dir() else {}
    found.update({name: np.asarray(info["heldout_loss"]) for name, info in labels.items()})
    return {case.name: found[case.name] for case in cases}


def onset(true: np.ndarray) -> int:
    """The first epoch after the true minimum from which the true loss stays > 2% above it."""
    best = int(np.argmin(true))
    above = true > true[best] * (1 + FLAT)
    for index in range(best + 1, true.size):
        if above[index:].all():
            return index
    return true.size - 1


def replay(case: Case) -> tuple[Outcome, Monitor]:
    curves = case.curves
    val, train = curves.val_loss, curves.train_loss
    lr = curves.get(curves.lr)
    monitor = Monitor(action="stop", log=_quiet, name=case.name)
    for index in range(len(val)):
        epoch = float(val.epochs[index])
        metrics = {"val_loss": float(val.values[index])}
        for name, series in (("loss", train), ("learning_rate", lr)):
            if series is not None:
                at = np.nonzero(series.epochs == epoch)[0]
                if at.size:
                    metrics[name] = float(series.values[at[0]])
        if monitor.update(epoch=epoch, **metrics).should_stop:
            break
    kept = int(np.nonzero(val.epochs == monitor.best_epoch)[0][0])
    stop = index if monitor.stopped_at is not None else None
    return Outcome(stop, kept), monitor


def early_stopping(case: Case, patience: int) -> Outcome:
    stop = simulate_early_stopping(case.val, patience=patience)
    return Outcome(stop.stop_index, stop.best_index)


@dataclass
class Tally:
    healthy: int = 0
    false_stops: int = 0
    overfit: int = 0
    missed: int = 0
    delays: list[int] = field(default_factory=list)
    regrets: list[float] = field(default_factory=list)
    run_share: list[float] = field(default_factory=list)

    def add(self, case: Case, true: np.ndarray, outcome: Outcome) -> None:
        n = true.size
        stopped = outcome.stop is not None
        if case.label == "healthy":
            self.healthy += 1
            self.false_stops += stopped
        else:
            self.overfit += 1
            if stopped:
                self.delays.append(outcome.stop - onset(true))
            else:
                self.missed += 1
        self.regrets.append(100.0 * (true[outcome.kept] / true.min() - 1.0))
        self.run_share.append(((outcome.stop if stopped else n - 1) + 1) / n)

    def row(self, name: str) -> str:
        delays = np.asarray(self.delays) if self.delays else np.zeros(1)
        regrets = np.asarray(self.regrets)
        return (
            f"| {name} | {self.false_stops} of {self.healthy} | "
            f"{np.median(delays):+g} / {np.mean(delays):+.1f} | {self.missed} of {self.overfit} | "
            f"{np.median(regrets):.2f} / {np.mean(regrets):.2f} | "
            f"{100 * np.mean(self.run_share):.0f}% |"
        )


HEADER = (
    "| stopper | false stops (healthy curves) | stop delay after onset, median / mean "
    "(epochs) | overfitting curves not stopped | regret, median / mean (%) | epochs run |\n"
    "|---|---|---|---|---|---|"
)


def score(cases: list[Case]) -> dict[str, Tally]:
    true = truths(cases)
    tallies = {"Monitor(action='stop')": Tally()}
    tallies.update({f"EarlyStopping(patience={p})": Tally() for p in PATIENCES})
    for case in cases:
        tallies["Monitor(action='stop')"].add(case, true[case.name], replay(case)[0])
        for patience in PATIENCES:
            outcome = early_stopping(case, patience)
            tallies[f"EarlyStopping(patience={patience})"].add(case, true[case.name], outcome)
    return tallies


def noisy_curve(epochs: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A long, slowly converging, noisy healthy run (the monitor never stops it)."""
    rng = np.random.default_rng(seed)
    t = np.arange(epochs, dtype=np.float64)
    train = 0.2 + 1.5 * np.exp(-t / max(2.0, epochs / 10))
    val = (0.5 + 1.0 * np.exp(-t / max(2.0, epochs / 8))) * (1 + 0.01 * rng.standard_normal(epochs))
    return train, val


def time_replay(epochs: int, bare: bool = False) -> tuple[float, float, int]:
    """Seconds per epoch of ``Monitor.update`` (mean, worst) over an ``epochs``-epoch run,
    and how many times OFL301 ran in full."""
    train, val = noisy_curve(epochs)
    monitor = Monitor(action="stop", log=_quiet)
    worst = 0.0
    started = time.perf_counter()
    for epoch in range(epochs):
        before = time.perf_counter()
        if not bare:
            monitor.update(epoch=epoch, loss=float(train[epoch]), val_loss=float(val[epoch]))
        worst = max(worst, time.perf_counter() - before)
    total = time.perf_counter() - started
    return total / epochs, worst, monitor.full_runs


def whole_history_seconds(epochs: int) -> float:
    """One OFL301 judgement of an ``epochs``-point history: what every epoch would cost if
    the monitor judged the whole history each time (best of 3)."""
    train, val = noisy_curve(epochs)
    monitor = Monitor(action="warn", log=_quiet)
    for epoch in range(epochs):
        monitor.history.add(float(epoch), {"loss": train[epoch], "val_loss": val[epoch]})
    curves = monitor.history.curves(MetricPair("loss", "val_loss"), None)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        judge_divergence(curves, monitor.limits)
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_live")
    parser.add_argument("--replay", type=int, help="replay one N-epoch curve and exit")
    parser.add_argument("--bare", action="store_true", help="with --replay: no monitor")
    parser.add_argument("--split", choices=["held-out", "tune", "all"], default="held-out")
    args = parser.parse_args()
    if args.replay:
        mean, _, runs = time_replay(args.replay, bare=args.bare)
        print(f"{args.replay} epochs: {mean * 1e6:.1f} us per epoch, OFL301 in full {runs} times")
        return
    started = time.perf_counter()
    cases = load_cases()
    chosen = [
        c
        for c in cases
        if c.label in ("overfit", "healthy") and (args.split == "all" or c.split == args.split)
    ]
    groups = {
        "synthetic": [c for c in chosen if c.tier != "real"],
        "real": [c for c in chosen if c.tier == "real"],
        "all": chosen,
    }
    for group, members in groups.items():
        overfit = sum(c.label == "overfit" for c in members)
        print(f"\n{group} ({args.split}): {overfit} overfitting, {len(members) - overfit} healthy")
        print(HEADER)
        for name, tally in score(members).items():
            print(tally.row(name))
    print(f"\n({time.perf_counter() - started:.1f} s)")
    print(
        "\n| epochs | Monitor.update per epoch, mean | worst epoch | OFL301 run in full | "
        "OFL301 once on the whole history |"
    )
    print("|---|---|---|---|---|")
    for epochs in (10, 100, 1_000, 10_000):
        best = min((time_replay(epochs) for _ in range(3)), key=lambda r: r[0])
        print(
            f"| {epochs:,} | {best[0] * 1e6:.0f} us | {best[1] * 1e3:.1f} ms | {best[2]} | "
            f"{whole_history_seconds(epochs) * 1e3:.1f} ms |"
        )


if __name__ == "__main__":
    main()
