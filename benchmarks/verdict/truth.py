"""The truth of a run, from the same model's loss on a large held-out set each evaluation.

A logged validation curve comes from a small validation set and is noisy; the held-out
curve is measured on a set many times larger and says what really happened:

- the curve **diverges** when the held-out loss ends >= 10% above its minimum, the
  minimum lies >= 3 evaluations before the end, and the training loss fell after it;
  it is **flat** (not diverging) when the held-out loss ends <= 2% above its minimum;
  anything between is undecided (``None``).
- the **shipped** weights are those of one evaluation (``kept``). They are *overfit*
  when the held-out loss there is >= 10% above the run's minimum and the kept
  evaluation lies after the minimum (past it, on the overfitting side); *healthy* when
  it is <= 2% above the minimum, or when the weights are those of the logged
  validation-loss minimum (a restored best epoch or a best checkpoint) and less than
  10% above it; *borderline* otherwise (left out of the scores).

Nothing here imports a framework: the label is plain arithmetic on the measured numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

DIVERGE_RISE = 0.10
FLAT_RISE = 0.02
MIN_EVALUATIONS_PAST_MIN = 3
METRIC_GAIN = 0.005  # accuracy points (as a fraction) that count as "still improving"


def argmin(values: Sequence[float]) -> int:
    """The index of the smallest finite value (the first one on ties)."""
    best = None
    for index, value in enumerate(values):
        if math.isfinite(value) and (best is None or value < values[best]):
            best = index
    if best is None:
        raise ValueError("no finite value")
    return best


def rise(values: Sequence[float], index: int) -> float:
    """How far ``values[index]`` lies above the minimum, as a fraction of it."""
    low = values[argmin(values)]
    return (values[index] - low) / abs(low) if low else math.inf


def curve_diverges(heldout: Sequence[float], train: Sequence[float]) -> bool | None:
    best = argmin(heldout)
    end = len(heldout) - 1
    ended_above = rise(heldout, end)
    if (
        ended_above >= DIVERGE_RISE
        and end - best >= MIN_EVALUATIONS_PAST_MIN
        and train[end] < train[best]
    ):
        return True
    if ended_above <= FLAT_RISE:
        return False
    return None


def shipped_truth(heldout: Sequence[float], kept: int, best_logged: int) -> str:
    above = rise(heldout, kept)
    if above <= FLAT_RISE or (kept == best_logged and above < DIVERGE_RISE):
        return "healthy"
    if above >= DIVERGE_RISE and kept > argmin(heldout):
        return "overfit"
    return "borderline"


def metric_improving(heldout_loss: Sequence[float], heldout_metric: Sequence[float]) -> bool:
    """The held-out accuracy ends >= 0.5 points above its value at the held-out loss minimum."""
    return heldout_metric[-1] >= heldout_metric[argmin(heldout_loss)] + METRIC_GAIN
