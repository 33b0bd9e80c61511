"""OFL301 on the labelled curves, beside two baselines.

- OFL301: the shipped rule, run through the engine with the thresholds of
  rules/OFL301.toml (or the overrides being tuned).
- Keras EarlyStopping(monitor="val_loss", patience=5) with its other defaults
  (min_delta=0, mode="min"), replayed on the curve: it "detects" overfitting when
  it would have stopped the run; its best epoch is the one restore_best_weights keeps.
- naive: the validation loss at the end is above its minimum; best epoch = argmin.

Splits: every curve belongs to the tuning or the held-out split, fixed by its
name (synthetic: the parity of its index in its kind and noise cell; real: the
parity of its run number). Thresholds are chosen on the tuning split only.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.curves import synthetic
from overfitlint import api
from overfitlint.curves import Curves, MetricPair, Series
from overfitlint.facts import Facts
from overfitlint.measures import simulate_early_stopping
from overfitlint.settings import RuleConfig

REAL = Path(__file__).resolve().parent / "real"


@dataclass
class Case:
    name: str
    tier: str  # "0.5%", "2%", "5%", "10%" noise, or "real"
    split: str  # "tune" or "held-out"
    label: str  # "overfit" or "healthy" (or "borderline": not counted)
    true_best: int
    curves: Curves
    val: np.ndarray = field(repr=False)


def _synthetic_cases(per_cell: int) -> list[Case]:
    cases = []
    for curve in synthetic.curves(per_cell):
        index = int(curve.name.rsplit("-", 1)[1]) % 100
        n = curve.val.size
        epochs = np.arange(n, dtype=np.float64)
        lines = np.arange(2, n + 2)
        series = {
            "loss": Series("loss", epochs, curve.train, lines),
            "val_loss": Series("val_loss", epochs, curve.val, lines),
        }
        curves = Curves(curve.name, "synthetic", series, MetricPair("loss", "val_loss"))
        cases.append(
            Case(
                curve.name,
                f"{curve.noise * 100:g}%",
                "tune" if index % 2 == 0 else "held-out",
                curve.label,
                curve.true_best,
                curves,
                curve.val,
            )
        )
    return cases


def _real_cases() -> list[Case]:
    labels_path = REAL / "labels.json"
    if not labels_path.is_file():
        return []
    labels = json.loads(labels_path.read_text())
    cases = []
    for name, info in sorted(labels.items()):
        curves = api.read_log(REAL / f"{name}.csv")
        number = int(name.removeprefix("run"))
        cases.append(
            Case(
                name,
                "real",
                "tune" if number % 2 == 0 else "held-out",
                info["label"],
                info["true_best_epoch"],
                curves,
                curves.val_loss.values,
            )
        )
    return cases


def load_cases(per_cell: int = 6) -> list[Case]:
    return _synthetic_cases(per_cell) + _real_cases()


# -- the three detectors ------------------------------------------------------------------


def ofl301(case: Case, overrides: dict | None = None) -> tuple[bool, int | None]:
    rules = RuleConfig(
        selected=("OFL301",), combine_evidence=False, thresholds={"OFL301": overrides or {}}
    )
    findings = api.judge(Facts(curves=(case.curves,)), rules).findings
    # an info finding says a would-be finding was not raised (a learning-rate bump)
    found = [f for f in findings if f.code == "OFL301" and f.severity != "info"]
    if not found:
        return False, None
    return True, int(found[0].evidence_value("best_epoch"))


def early_stopping(case: Case) -> tuple[bool, int | None]:
    stop = simulate_early_stopping(case.val, patience=5)
    if stop.stop_index is None:
        return False, None
    return True, stop.best_index


def naive(case: Case) -> tuple[bool, int | None]:
    best = int(np.argmin(case.val))
    return bool(case.val[-1] > case.val[best]), best


DETECTORS = {
    "OFL301": ofl301,
    "EarlyStopping(patience=5)": early_stopping,
    "naive end > min": naive,
}


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    best_errors: list[int] = field(default_factory=list)

    def add(self, label: str, flagged: bool, best: int | None, true_best: int) -> None:
        if label == "overfit":
            if flagged:
                self.tp += 1
                self.best_errors.append(abs(int(best) - int(true_best)))
            else:
                self.fn += 1
        elif flagged:
            self.fp += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def best_error(self) -> float:
        return float(np.median(self.best_errors)) if self.best_errors else 0.0

    @property
    def mean_best_error(self) -> float:
        return float(np.mean(self.best_errors)) if self.best_errors else 0.0


def score(cases: list[Case], detector, **kwargs) -> Score:
    result = Score()
    for case in cases:
        if case.label not in ("overfit", "healthy"):
            continue
        flagged, best = detector(case, **kwargs)
        result.add(case.label, flagged, best, case.true_best)
    return result


NOISY_TIERS = ("2%", "5%", "10%", "real")


def groups(cases: list[Case]) -> dict[str, list[Case]]:
    tiers = ["0.5%", "2%", "5%", "10%", "real"]
    out = {tier: [c for c in cases if c.tier == tier] for tier in tiers}
    out["noisy (2-10% + real)"] = [c for c in cases if c.tier in NOISY_TIERS]
    out["all"] = list(cases)
    return {k: v for k, v in out.items() if v}


# -- tuning ---------------------------------------------------------------------------------

GRID = {
    "min_rise": [3.0, 5.0, 8.0],
    "min_z": [2.0, 3.0, 4.0, 5.0],
    "smoothing": [3, 5, 7],
    "patience": [3, 5, 8],
    "max_train_change": [0.0, 2.0],
    "min_trend_z": [0.0, 1.0, 1.5, 2.0, 2.5],
}


def tune(cases: list[Case], min_precision: float = 0.97) -> tuple[dict, Score]:
    """The grid point with the best recall at >= ``min_precision`` on the noisy tuning set.

    Ties (equal recall and precision) go to the strictest thresholds.
    """
    noisy = [c for c in cases if c.split == "tune" and c.tier in NOISY_TIERS]
    best: tuple[tuple, dict, Score] | None = None
    names = list(GRID)
    for values in itertools.product(*(GRID[n] for n in names)):
        overrides = dict(zip(names, values, strict=True))
        result = score(noisy, ofl301, overrides=overrides)
        # ties go to the most conservative setting (a stricter rule generalizes better)
        key = (
            result.precision >= min_precision,
            round(result.recall, 3),
            round(result.precision, 3),
            overrides["min_rise"],
            overrides["min_z"],
            overrides["min_trend_z"],
            overrides["patience"],
            -overrides["max_train_change"],
            -result.mean_best_error,
        )
        if best is None or key > best[0]:
            best = (key, overrides, result)
    assert best is not None
    return best[1], best[2]
