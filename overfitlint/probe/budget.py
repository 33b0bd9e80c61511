"""Time accounting: the whole probe has one budget; each probe gets a share of what is left.

A share is a :class:`Deadline`. Time a probe does not use flows to the probes
after it, because each share is taken from what remains when the probe starts.
The clock is injectable so that the accounting is tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]

# Relative cost of each probe: how the remaining budget is split between them.
WEIGHTS = {"stochasticity": 1.0, "heldout": 1.0, "memorization": 6.0, "counterfactual": 8.0}


@dataclass
class Deadline:
    at: float
    seconds: float
    clock: Clock = field(default=time.monotonic, repr=False)

    def left(self) -> float:
        return max(0.0, self.at - self.clock())

    def passed(self) -> bool:
        return self.clock() >= self.at


class Budget:
    """``seconds`` from ``start`` (the clock's now by default)."""

    def __init__(
        self, seconds: float, *, clock: Clock = time.monotonic, start: float | None = None
    ):
        self.seconds = float(seconds)
        self.clock = clock
        self.start = clock() if start is None else start

    @property
    def end(self) -> float:
        return self.start + self.seconds

    def elapsed(self) -> float:
        return self.clock() - self.start

    def remaining(self) -> float:
        return max(0.0, self.end - self.clock())

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def deadline(self) -> Deadline:
        return Deadline(self.end, self.seconds, self.clock)

    def share(self, weight: float, pending_weight: float) -> Deadline:
        """This probe's part of what is left: ``weight`` of the ``pending_weight`` still to run."""
        left = self.remaining()
        fraction = 1.0 if pending_weight <= weight else weight / pending_weight
        seconds = left * fraction
        return Deadline(self.clock() + seconds, seconds, self.clock)


def plan_shares(probes: list[str]) -> list[tuple[str, float, float]]:
    """(probe, its weight, the weight of it and every probe after it), in run order."""
    weights = [WEIGHTS.get(name, 1.0) for name in probes]
    out = []
    for index, name in enumerate(probes):
        out.append((name, weights[index], sum(weights[index:])))
    return out
