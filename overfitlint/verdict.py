"""The verdict of one check, decided by the engine from the rules' roles; renderers state it.

- ``overfitting``: a symptom seen in the curves, or a finding the probe's held-out measurement
  confirmed (with ``--data``: the weights fit their training data almost perfectly and the
  held-out data far worse, by accuracy for a classifier and by loss for a regressor);
- ``at-risk``: causes only (capacity, missing regularization), no curves to tell whether the
  risk was realised;
- ``healthy``: the curves were judged and show no overfitting;
- ``unknown``: nothing could be judged (say why, and how to supply it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OVERFITTING, AT_RISK, HEALTHY, UNKNOWN = "overfitting", "at-risk", "healthy", "unknown"
STATUSES = (OVERFITTING, AT_RISK, HEALTHY, UNKNOWN)
WORST_FIRST = (OVERFITTING, AT_RISK, UNKNOWN, HEALTHY)
"""The order in which several runs' verdicts make an overall one."""

# The probe's word on a finding.
CONFIRMED, REFUTED, INCONCLUSIVE = "confirmed", "refuted", "inconclusive"


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str
    checked: tuple[str, ...] = ()
    """What was checked and passed, in a few words each."""

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "checked": list(self.checked)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Verdict:
        data = data or {}
        return cls(
            str(data.get("status", UNKNOWN)),
            str(data.get("reason", "")),
            tuple(data.get("checked") or ()),
        )


def overall(verdicts: list[Verdict], whole: Verdict | None = None) -> Verdict:
    """Several runs: the worst status, with how many runs have it; ``whole``: the verdict on
    the sweep the runs form, which counts as well."""
    if not verdicts and whole is None:
        return Verdict(UNKNOWN, "nothing was checked")
    everything = verdicts + ([whole] if whole is not None else [])
    worst = min(everything, key=lambda v: WORST_FIRST.index(v.status))
    same = sum(1 for v in verdicts if v.status == worst.status)
    reason = f"{same} of {len(verdicts)} runs: {worst.status}"
    if whole is not None:
        reason += f"; the sweep as a whole: {whole.status}"
    return Verdict(worst.status, reason)
