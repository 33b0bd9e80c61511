"""The labelled curve benchmark (benchmarks/curves) keeps OFL301 at its measured quality.

The thresholds in rules/OFL301.toml were chosen on the tuning split; this checks the
held-out split, where the README's numbers come from.
"""

from __future__ import annotations

from benchmarks.curves.evaluate import DETECTORS, NOISY_TIERS, load_cases, score


def test_ofl301_on_the_held_out_noisy_curves():
    cases = [c for c in load_cases() if c.split == "held-out"]
    assert sum(c.tier == "real" for c in cases) >= 20
    assert len([c for c in cases if c.label in ("overfit", "healthy")]) >= 60
    noisy = [c for c in cases if c.tier in NOISY_TIERS]
    ours = score(noisy, DETECTORS["OFL301"])
    assert ours.precision >= 0.95 and ours.recall >= 0.9, (ours.precision, ours.recall)
    for name in ("EarlyStopping(patience=5)", "naive end > min"):
        assert ours.fp < score(noisy, DETECTORS[name]).fp / 5
    assert ours.best_error <= 2
