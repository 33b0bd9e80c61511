"""Lint a training run while it trains, with the rules that judge a finished log.

    m = Monitor(action="stop", model=net, optimizer=opt)
    for epoch in range(epochs):
        ...
        if m.update(epoch=epoch, loss=train_loss, val_loss=val_loss).should_stop:
            break
    m.finish()                 # restores the best weights, logs the summary
    m.report("run.html")

The framework callbacks (``overfitlint.integrations``) drive a ``Monitor``.

- **When it stops**: when OFL301 (its own ``judge_divergence`` and thresholds, as
  configured) calls the run diverging at ``confirm`` (2) validation points in a row, and its
  finding would be at warning or above: not at the first uptick, and not on one noisy point
  (a low outlier followed by a return to the mean looks like a steady rise for one epoch).
  ``action="warn"`` says so and lets the run go on.
- **Cost**: each epoch updates ``Watch``'s statistics in O(1); the rule itself runs only when
  ``Watch.may_diverge`` says it could fire, at most once per ``n / FULL_SPACING`` epochs (n
  validation points), and all rules run at epochs 8, 16, 32, ... (to log what they find) and
  at the end: amortised O(1) per epoch.
- **Restoring**: with ``restore_best``, the weights of the best epoch (the logged minimum of
  the monitored metric) are kept at each new best and put back on a stop or at the end; the
  final judgement then knows the kept epoch, so its verdict is about the weights that ship.
- **Messages**: each finding is logged once, at its severity, through ``log`` (the
  framework's channel in the callbacks; the ``overfitlint.live`` logger here), then a summary.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from overfitlint import api
from overfitlint.catalogue import load_catalogue
from overfitlint.checks.divergence import judge_divergence
from overfitlint.curves import MetricPair
from overfitlint.engine import resolve_thresholds
from overfitlint.errors import InputError
from overfitlint.facts import Facts, KeptEpoch, ModelFacts, SampleCount
from overfitlint.findings import Finding
from overfitlint.live.config import live_settings
from overfitlint.live.history import History, learning_rate_name, pair_metrics
from overfitlint.live.report import live_report, write_report
from overfitlint.live.summary import epoch_text, finding_line, summary_line
from overfitlint.live.watch import Watch
from overfitlint.live.weights import Keeper, StateDictKeeper
from overfitlint.loaders.logs.metric_names import choose_pairs
from overfitlint.report import Report
from overfitlint.severity import severity_rank
from overfitlint.verdict import UNKNOWN, Verdict

DIVERGENCE_CODE = "OFL301"
ACTIONS = ("warn", "stop")
FULL_SPACING = 64
"""OFL301 runs in full at most once per n / FULL_SPACING epochs (n: validation points)."""
FIRST_ROUND = 8
"""All rules run at this many epochs, then each time the count doubles, and at the end."""
CONFIRM = 3
LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
LOGGER = logging.getLogger("overfitlint.live")

Sink = Callable[[str, str], None]
"""Where messages go: ``sink(severity, text)``, severity "info", "warning" or "error"."""


def log_to_logger(severity: str, text: str) -> None:
    LOGGER.log(LEVELS[severity], text)


@dataclass(frozen=True)
class Status:
    """What ``Monitor.update`` found at one epoch."""

    epoch: float
    should_stop: bool
    """``action="stop"`` and the run is diverging: end the training now."""
    diverging: bool
    """OFL301 calls the run diverging (whatever the action)."""
    new_best: bool
    best_epoch: float | None
    judged: bool
    """OFL301 ran in full at this epoch (its cheap pre-test said it could fire)."""


class Monitor:
    """Watches one training run. Arguments after ``action`` are keywords:

    - ``monitor``: the validation metric (default: found as the log loaders find it);
    - ``min_epochs``: never stop before this many epochs have been reported;
    - ``restore_best``: keep the best epoch's weights and restore them on a stop or at the end;
    - ``report``: write the final report there (``.html`` or ``.json``);
    - ``samples``: training samples (for the parameter-to-sample rule);
    - ``config``: the ``[tool.overfitlint]`` table as a dict, or a pyproject.toml /
      overfitlint.toml path, so thresholds and severities match the CI gate;
    - ``model``, ``optimizer``: a torch module (and its optimizer) to read and to restore;
    - ``model_facts``, ``keeper``: the same for other frameworks (the callbacks pass them);
    - ``max_epochs``: the epochs planned, to say how many a stop saved;
    - ``log``: where messages go (default: the ``overfitlint.live`` logger);
    - ``confirm``: OFL301 must call the run diverging at this many validation points in a row
      (a judgement that one noisy point made is gone at the next).
    """

    def __init__(
        self,
        action: str = "warn",
        *,
        monitor: str | None = None,
        min_epochs: int | None = None,
        restore_best: bool = True,
        report: str | Path | None = None,
        samples: int | None = None,
        config: Mapping[str, Any] | str | Path | None = None,
        model: Any = None,
        optimizer: Any = None,
        model_facts: ModelFacts | None = None,
        keeper: Keeper | None = None,
        max_epochs: int | None = None,
        name: str = "live run",
        log: Sink | None = None,
        confirm: int = 2,
    ) -> None:
        if action not in ACTIONS:
            raise InputError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        settings = live_settings(config)
        self.action = action
        self.monitor = monitor
        self.min_epochs = min_epochs or 0
        self.restore_best = restore_best
        self.report_path = Path(report) if report is not None else None
        self.rules = settings.rules
        self.samples = samples if samples is not None else settings.samples
        self.max_epochs = max_epochs
        self.confirm = max(1, int(confirm))
        self.name = name
        self.log: Sink = log or log_to_logger
        if model_facts is None and model is not None:
            from overfitlint.live.torch_facts import torch_model_facts

            model_facts = torch_model_facts(model, optimizer)
        if keeper is None and model is not None and restore_best:
            keeper = StateDictKeeper(model)
        self.model_facts = model_facts
        self.keeper = keeper
        self.limits = resolve_thresholds(load_catalogue(), self.rules)[DIVERGENCE_CODE]
        self.stop_blocked = self._stop_blocked()
        self.history = History(name)
        self.pair: MetricPair | None = None
        self.accuracy: MetricPair | None = None
        self.lr: str | None = None
        self.watch: Watch | None = None
        self.epochs_seen = 0
        self.last_epoch: float | None = None
        self.best_epoch: float | None = None
        self.best_value: float | None = None
        self.diverged_at: float | None = None
        self.stopped_at: float | None = None
        self.restored: str | None = None
        self.kept_by_framework: KeptEpoch | None = None
        self.finished = False
        self.full_runs = 0
        self._streak = 0
        self._diverging_at = -1
        self._last_full = -(10**9)
        self._next_round = FIRST_ROUND
        self._logged: set[str] = set()
        self._pairing_said = False
        self._started = time.perf_counter()
        self._started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._judged: api.Judged | None = None
        self._judged_epochs = -1
        if self.stop_blocked and action == "stop":
            self.log("info", f"overfitlint: {self.stop_blocked}: the run will not be stopped")
        if model_facts is not None:
            self._log_findings(self._judge(), None)  # the static rules, once at the start

    # ------------------------------------------------------------------ per epoch

    def update(self, epoch: float | None = None, **metrics: Any) -> Status:
        """Record one epoch's metrics (the training and validation loss, any others)."""
        if self.finished:
            raise InputError("Monitor.update() after finish(): start a new Monitor per run")
        epoch = float(self.epochs_seen if epoch is None else epoch)
        kept = self.history.add(epoch, metrics)
        self.epochs_seen += 1
        self.last_epoch = epoch
        self._choose_pair()
        value = kept.get(self.pair.val) if self.pair is not None and self.pair.val else None
        new_best = judged = False
        if value is not None and math.isfinite(value) and self.watch is not None:
            new_best = self.watch.add(value)
            if new_best:
                self.best_epoch, self.best_value = epoch, value
                if self.keeper is not None and self.restore_best:
                    self.keeper.snapshot()
            judged = self._decide(epoch)
        if self.epochs_seen >= self._next_round:
            self._next_round *= 2
            self._log_findings(self._judge(), epoch)
        return Status(
            epoch,
            self.action == "stop" and self.stopped_at is not None,
            self.diverged_at is not None,
            new_best,
            self.best_epoch,
            judged,
        )

    def _choose_pair(self) -> None:
        if self.pair is not None and self.pair.val:
            return
        names = self.history.names
        try:
            self.pair, self.accuracy = pair_metrics(names, self.monitor, self.name)
        except InputError as exc:  # no loss, a name that fits twice, a monitor not reported
            if not self._pairing_said:
                self._pairing_said = True
                self.log("warning", f"overfitlint: {exc}; name the metric with monitor=NAME")
            return
        if self.monitor is not None:
            try:
                self.accuracy = choose_pairs(names, self.name).accuracy
            except InputError:
                self.accuracy = None
        self.lr = learning_rate_name(names)
        if self.pair.val:
            self.watch = Watch(self.limits, self.pair.lower_is_better)

    def _stop_blocked(self) -> str | None:
        """Why OFL301 can never stop this run (not selected, or set to info), else None."""
        selected = self.rules.selected
        if selected is not None and DIVERGENCE_CODE not in selected:
            return f"{DIVERGENCE_CODE} is not selected by the configuration"
        if self.rules.severities.get(DIVERGENCE_CODE) == "info":
            return f"the configuration sets {DIVERGENCE_CODE} to info"
        return None

    def _full_allowed(self, count: int) -> bool:
        """Throttled to once per n / FULL_SPACING points, except to confirm a judgement."""
        if self._diverging_at == count - 1:
            return True
        return count - self._last_full >= max(1, count // FULL_SPACING)

    def _decide(self, epoch: float) -> bool:
        """Run OFL301 in full when the pre-test says it could fire; True when it ran."""
        assert self.watch is not None and self.pair is not None
        if self.diverged_at is not None or self.stop_blocked or self.epochs_seen < self.min_epochs:
            return False
        count = self.watch.count
        if not self.watch.may_diverge() or not self._full_allowed(count):
            return False
        self._last_full = count
        self.full_runs += 1
        verdict = judge_divergence(self.history.curves(self.pair, self.lr), self.limits)
        if verdict is None or not verdict.diverging:
            return True
        self._streak = self._streak + 1 if self._diverging_at == count - 1 else 1
        self._diverging_at = count
        if self._streak >= self.confirm:
            self._diverged(epoch)
        return True

    def _diverged(self, epoch: float) -> None:
        judged = self._judge()
        finding = next(
            (
                f
                for f in judged.findings
                if f.code == DIVERGENCE_CODE and severity_rank(f.severity) >= 1
            ),
            None,
        )
        if finding is None:  # the engine did not keep it at warning or above
            return
        self.diverged_at = epoch
        self._log_findings(judged, epoch)
        if self.action == "stop":
            self.stopped_at = epoch
            restored = self._restore()
            self.log(
                "warning",
                f"overfitlint: stopping at epoch {epoch_text(epoch)}: {self.pair.val} is diverging "
                f"({DIVERGENCE_CODE}); "
                + (
                    f"restored the weights of epoch {epoch_text(self.best_epoch)}"
                    if restored
                    else f"the best epoch was {epoch_text(self.best_epoch)}"
                ),
            )
        else:
            self.log(
                "warning",
                f"overfitlint: {self.pair.val} is diverging at epoch {epoch_text(epoch)} "
                f"({DIVERGENCE_CODE}); action='warn' lets the run go on "
                "(action='stop' would end it here)",
            )

    def _restore(self) -> bool:
        if not self.restore_best or self.keeper is None or self.restored:
            return bool(self.restored)
        self.restored = self.keeper.restore()
        return self.restored is not None

    # ------------------------------------------------------------------ judging

    def facts(self) -> Facts:
        """What the rules see now: the model, the history, and the kept epoch once restored."""
        curves = ()
        if self.pair is not None:
            curves = (self.history.all_curves(self.pair, self.accuracy, self.lr),)
        kept = self.kept
        samples = SampleCount(self.samples, "samples=") if self.samples else None
        return Facts(model=self.model_facts, curves=curves, samples=samples, kept=kept)

    @property
    def kept(self) -> KeptEpoch | None:
        """The epoch whose weights the model holds now, when known."""
        if self.kept_by_framework is not None:
            return self.kept_by_framework
        if self.restored and self.best_epoch is not None:
            return KeptEpoch(self.best_epoch, self.restored)
        return None

    def _judge(self) -> api.Judged:
        judged = api.judge(self.facts(), self.rules)
        self._judged, self._judged_epochs = judged, self.epochs_seen
        return judged

    def _current(self) -> api.Judged:
        if self._judged is None or self._judged_epochs != self.epochs_seen:
            return self._judge()
        return self._judged

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The findings on the run so far (the final ones after ``finish``)."""
        return self._current().findings

    @property
    def verdict(self) -> Verdict:
        if self.model_facts is None and self.pair is None:
            return Verdict(UNKNOWN, "nothing reported yet")
        return self._current().verdict

    def _log_findings(self, judged: api.Judged, epoch: float | None) -> None:
        for finding in judged.findings:
            if finding.fingerprint in self._logged:
                continue
            self._logged.add(finding.fingerprint)
            self.log(finding.severity, finding_line(finding, epoch))

    # ------------------------------------------------------------------ the end

    def finish(self, kept: KeptEpoch | None = None) -> Report:
        """The end of training: restore the best weights (``restore_best``), judge the run as
        it ships, log what is new and the summary, write ``report``. Idempotent.

        ``kept``: the framework restored weights itself (e.g. ``load_best_model_at_end``)."""
        if not self.finished:
            self.finished = True
            if kept is not None:
                self.kept_by_framework = kept
            else:
                self._restore()
            judged = self._judge()
            self._log_findings(judged, None)
            level = "warning" if self.diverged_at is not None else "info"
            self.log(level, summary_line(self, judged.verdict))
            if self.report_path is not None:
                write_report(self.build_report(), self.report_path)
        return self.build_report()

    def build_report(self) -> Report:
        judged = self._current()
        return live_report(
            self.facts(),
            judged,
            self.rules,
            started_at=self._started_at,
            seconds=time.perf_counter() - self._started,
            name=self.name,
        )

    def report(self, path: str | Path) -> Path:
        """Write the report of the run as it stands (final after ``finish``): HTML or JSON by
        the suffix."""
        return write_report(self.build_report(), Path(path))
