"""Label noise by confident learning (Northcutt, Jiang and Chuang, JAIR 2021).

Written here from the paper (cleanlab, its reference implementation, is AGPL-3.0 and is not
used): out-of-fold class probabilities from a short cross-validated fit of a simple model
(a logistic regression and a one-hidden-layer MLP; the one with the lower out-of-fold log-loss
is kept, so that a task a linear model cannot fit is not mistaken for noisy labels);
a per-class threshold, the average probability the model gives a class on the examples
labelled with it; the confident joint, counting each example under its given label and the
most probable class whose probability reaches that class's threshold; the joint calibrated
to the label counts and normalised. Its off-diagonal mass estimates the share of wrong labels;
the off-diagonal examples, ranked by how far the suggested class's probability is above the
given one's, are the ones most likely wrong.
"""

from __future__ import annotations

import warnings

import numpy as np

from overfitlint.data.arrays import SplitArrays
from overfitlint.data.facts import EXAMPLES_KEPT, LabelNoise, SuspectLabel
from overfitlint.facts import Unknown

FOLDS = 5
MAX_ITER = 300
MLP_HIDDEN = 64
MLP_EPOCHS = 200
SEED = 0


def confident_joint(
    labels: np.ndarray, probabilities: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(calibrated joint Q[given, true] summing to 1, the confident class of each example or -1,
    the per-class thresholds)."""
    classes = probabilities.shape[1]
    counts = np.bincount(labels, minlength=classes).astype(np.float64)
    given = probabilities[np.arange(len(labels)), labels]
    sums = np.bincount(labels, weights=given, minlength=classes)
    thresholds = np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)
    above = probabilities >= thresholds[None, :]
    confident = np.where(above, probabilities, -1.0).argmax(axis=1)
    confident[~above.any(axis=1)] = -1
    joint = np.zeros((classes, classes))
    has = confident >= 0
    np.add.at(joint, (labels[has], confident[has]), 1.0)
    row_totals = joint.sum(axis=1, keepdims=True)
    calibrated = np.divide(
        joint * counts[:, None], row_totals, out=np.zeros_like(joint), where=row_totals > 0
    )
    total = calibrated.sum()
    return (calibrated / total if total else calibrated), confident, thresholds


def _features(x: np.ndarray) -> np.ndarray:
    """Missing and infinite values replaced by the column median (0 for an empty column)."""
    x = np.array(x, dtype=np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        x[bad] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            medians = np.nan_to_num(np.nanmedian(x, axis=0))
        x[bad] = np.take(medians, np.nonzero(bad)[1])
    return x


def label_noise(train: SplitArrays, classes: list[str], max_rows: int) -> LabelNoise | Unknown:
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        return Unknown(
            "the label-noise estimate fits a model with scikit-learn, which is not installed",
            "pip install 'overfitlint[data]'",
        )
    labelled = np.flatnonzero(train.y >= 0)
    counts = np.bincount(train.y[labelled], minlength=len(classes))
    usable = np.flatnonzero(counts >= FOLDS)
    if len(usable) < 2:
        return Unknown(
            f"fewer than two classes with {FOLDS} training samples for a {FOLDS}-fold fit"
        )
    rows = labelled[np.isin(train.y[labelled], usable)]
    if len(rows) > max_rows:
        rng = np.random.default_rng(SEED)
        rows = np.sort(rng.choice(rows, size=max_rows, replace=False))
    remap = np.full(len(classes), -1)
    remap[usable] = np.arange(len(usable))
    labels = remap[train.y[rows]]
    folds = FOLDS
    candidates = {
        "standardised logistic regression": LogisticRegression(max_iter=MAX_ITER),
        f"MLP ({MLP_HIDDEN} hidden units, early stopping)": MLPClassifier(
            (MLP_HIDDEN,), max_iter=MLP_EPOCHS, early_stopping=True, random_state=SEED
        ),
    }
    x = _features(train.x[rows])
    fits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of a deliberately short fit
        for name, estimator in candidates.items():
            probabilities = cross_val_predict(
                make_pipeline(StandardScaler(), estimator),
                x,
                labels,
                cv=StratifiedKFold(folds, shuffle=True, random_state=SEED),
                method="predict_proba",
            )
            given = probabilities[np.arange(len(labels)), labels]
            fits[name] = (float(-np.mean(np.log(np.clip(given, 1e-12, 1.0)))), probabilities)
    model_name = min(fits, key=lambda name: fits[name][0])
    log_loss, probabilities = fits[model_name]
    joint, confident, _ = confident_joint(labels, probabilities)
    wrong = (confident >= 0) & (confident != labels)
    margin = (
        probabilities[np.arange(len(labels)), np.maximum(confident, 0)]
        - probabilities[np.arange(len(labels)), labels]
    )
    ranked = np.flatnonzero(wrong)
    ranked = ranked[np.argsort(-margin[ranked], kind="stable")]
    names = [classes[i] for i in usable]
    per_class = {}
    for i, name in enumerate(names):
        mass = joint[i].sum()
        per_class[name] = float(1.0 - joint[i, i] / mass) if mass else 0.0
    examples = tuple(
        SuspectLabel(
            example=train.example(int(rows[i])),
            given=names[labels[i]],
            suggested=names[confident[i]],
            confidence=float(probabilities[i, confident[i]]),
        )
        for i in ranked[:EXAMPLES_KEPT]
    )
    return LabelNoise(
        method="confident learning (Northcutt et al. 2021), own implementation",
        model=f"{model_name}, {folds}-fold out-of-fold probabilities (log-loss {log_loss:.3f})",
        rows=len(rows),
        folds=folds,
        out_of_fold_accuracy=float(np.mean(probabilities.argmax(axis=1) == labels)),
        estimated_share=float(1.0 - np.trace(joint)),
        flagged=int(wrong.sum()),
        per_class=per_class,
        examples=examples,
    )
