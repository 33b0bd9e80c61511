"""What the framework callbacks (``overfitlint.integrations``) share.

Each callback takes the same options, checked when it is made. Process zero drives a
``Monitor`` and decides at each epoch; in a run of several processes it broadcasts that
``Decision`` with the framework's own collective, and every other process applies it (keep
the weights of a new best, restore them on a stop) to its copy of the model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overfitlint.live.config import live_settings
from overfitlint.live.monitor import ACTIONS, LEVELS, Monitor, Sink
from overfitlint.live.weights import Keeper, StateDictKeeper


def logger_sink(logger: logging.Logger) -> Sink:
    """Messages sent to ``logger``, at their severity."""

    def say(severity: str, text: str) -> None:
        logger.log(LEVELS[severity], text)

    return say


@dataclass(frozen=True)
class Decision:
    """What process zero decided at one epoch (plain values: it is broadcast)."""

    stop: bool = False
    new_best: bool = False
    metric: str | None = None
    """The validation metric the monitor watches, once it has chosen one."""
    lower_is_better: bool = True


class FollowedWeights:
    """The best epoch's weights on one process of a run that process zero judges: which
    metric is watched comes from process zero's monitor there (``monitor``) and from its
    broadcast decisions elsewhere; a copy of the state dict in host memory (``memory``) serves
    where the framework keeps no checkpoint of that metric."""

    def __init__(self, module: Any) -> None:
        self.metric: str | None = None
        self.lower_is_better = True
        self.monitor: Monitor | None = None
        self.memory = StateDictKeeper(module)

    def watched(self) -> tuple[str | None, bool]:
        """The monitored metric and whether lower is better."""
        if self.monitor is not None and self.monitor.pair is not None:
            return self.monitor.pair.val, self.monitor.pair.lower_is_better
        return self.metric, self.lower_is_better

    def snapshot(self) -> None:
        self.memory.snapshot()

    def restore(self) -> str | None:
        return self.memory.restore()


class LiveCallback:
    """Mixed in before a framework's callback class; see ``overfitlint.live.Monitor`` for the
    arguments. ``lint`` is process zero's monitor (None elsewhere and before the run starts),
    ``weights`` the keeper of the best epoch's weights on this process (None: not kept)."""

    def __init__(
        self,
        action: str = "warn",
        monitor: str | None = None,
        min_epochs: int | None = None,
        restore_best: bool = True,
        report: str | Path | None = None,
        samples: int | None = None,
        config: Any = None,
    ) -> None:
        super().__init__()
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        live_settings(config)  # a wrong config fails here, not after the first epoch
        self.options: dict[str, Any] = {
            "action": action,
            "monitor": monitor,
            "min_epochs": min_epochs,
            "restore_best": restore_best,
            "report": report,
            "samples": samples,
            "config": config,
        }
        self.lint: Monitor | None = None
        self.weights: Keeper | None = None
        self._stopped = False

    def start_monitor(self, **run: Any) -> Monitor:
        """Process zero's monitor, given what the framework knows of the run (model facts,
        planned epochs, name, log); ``report`` in ``run`` overrides the option."""
        options = {**self.options, **run}
        self.lint = Monitor(**options, keeper=self.weights)
        if isinstance(self.weights, FollowedWeights):
            self.weights.monitor = self.lint
        return self.lint

    def decide(self, epoch: float, metrics: dict[str, Any]) -> Decision:
        """Process zero judges this epoch; another process has nothing to decide."""
        if self.lint is None:
            return Decision()
        status = self.lint.update(epoch=epoch, **metrics)
        pair = self.lint.pair
        return Decision(
            stop=status.should_stop,
            new_best=status.new_best,
            metric=pair.val if pair else None,
            lower_is_better=pair.lower_is_better if pair else True,
        )

    def follow(self, decision: Decision) -> bool:
        """Apply process zero's decision on this process; True when the run stops."""
        if isinstance(self.weights, FollowedWeights):
            self.weights.metric = decision.metric
            self.weights.lower_is_better = decision.lower_is_better
        if self.lint is None and self.weights is not None:  # process zero's monitor does it
            if decision.new_best:
                self.weights.snapshot()
            if decision.stop:
                self.weights.restore()
        if decision.stop:
            self._stopped = True
        return decision.stop

    def end_run(self, **finish: Any) -> None:
        """Process zero judges the run as it ships; another process restores the best
        weights as process zero did (unless a stop already did)."""
        if self.lint is not None:
            self.lint.finish(**finish)
        elif self.weights is not None and not self._stopped:
            self.weights.restore()
