"""The messages a live monitor logs: one line per finding, and the summary at the end."""

from __future__ import annotations

from typing import Protocol

from overfitlint.curves import MetricPair
from overfitlint.facts import KeptEpoch
from overfitlint.findings import Finding
from overfitlint.live.history import History
from overfitlint.render.safe import plain
from overfitlint.verdict import Verdict


class RunState(Protocol):
    """What the summary reads of a run (a ``Monitor``): named here so that this module does
    not import the monitor that imports it."""

    action: str
    history: History
    pair: MetricPair | None
    epochs_seen: int
    last_epoch: float | None
    max_epochs: int | None
    best_epoch: float | None
    best_value: float | None
    diverged_at: float | None
    stopped_at: float | None

    @property
    def kept(self) -> KeptEpoch | None: ...


def epoch_text(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def finding_line(finding: Finding, epoch: float | None) -> str:
    """``overfitlint: epoch 12: OFL301 [warning, high confidence] message`` (fix on a 2nd line)."""
    when = f"epoch {epoch_text(epoch)}: " if epoch is not None else ""
    text = plain(
        f"overfitlint: {when}{finding.code} [{finding.severity}, {finding.confidence} "
        f"confidence] {finding.message}"
    )
    if finding.fix and finding.severity != "info":
        text += f"\n    fix: {plain(' '.join(finding.fix.split()))}"
    return text


def _best(monitor: RunState) -> str:
    if monitor.best_epoch is None or monitor.pair is None:
        return "no best epoch"
    kept = monitor.kept
    if kept is None:
        ships = "weights not restored"
    elif kept.epoch == monitor.best_epoch:
        ships = f"weights {kept.source}"
    else:
        ships = f"the weights of epoch {epoch_text(kept.epoch)} ship ({kept.source})"
    return (
        f"best epoch {epoch_text(monitor.best_epoch)} ({monitor.pair.val} "
        f"{monitor.best_value:.4g}), {ships}"
    )


def _saved(monitor: RunState) -> str:
    if monitor.max_epochs is None:
        return ""
    left = max(0, monitor.max_epochs - monitor.epochs_seen)
    return f"; {left} of {monitor.max_epochs} planned epochs saved"


def summary_line(monitor: RunState, verdict: Verdict) -> str:
    """Why it stopped (or did not), the best epoch, the epochs saved, the verdict."""
    metric = monitor.pair.val if monitor.pair is not None else None
    last = epoch_text(monitor.last_epoch)
    if metric is None:
        what = f"ran {monitor.epochs_seen} epochs without a validation metric to judge"
    elif monitor.stopped_at is not None:
        what = (
            f"stopped at epoch {epoch_text(monitor.stopped_at)}: {metric} is diverging "
            f"(OFL301){_saved(monitor)}"
        )
    elif monitor.diverged_at is not None:
        ran_on = monitor.epochs_seen - _index_of(monitor, monitor.diverged_at) - 1
        what = (
            f"{metric} diverged at epoch {epoch_text(monitor.diverged_at)} (OFL301) and the "
            f"run went on to epoch {last} (action='{monitor.action}'): stopping there would "
            f"have saved {ran_on} epochs"
        )
    else:
        what = f"ran to epoch {last}: {metric} did not diverge"
    return plain(
        f"overfitlint: {what}; {_best(monitor)}; verdict: {verdict.status}: {verdict.reason}"
    )


def _index_of(monitor: RunState, epoch: float) -> int:
    """How many epochs had been reported when ``epoch`` was (0-based)."""
    series = monitor.history.series(monitor.pair.val) if monitor.pair else None
    if series is None:
        return monitor.epochs_seen - 1
    return int((series.epochs <= epoch).sum()) - 1
