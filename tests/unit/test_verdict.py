"""The verdict and the gate, decided in the engine from the rules' roles.

overfitting: a symptom counts; at-risk: causes only (or curves a data leak makes
untrustworthy); healthy: curves judged and clean; unknown: nothing to judge. The default gate
fails on symptoms; causes fail only with ``fail_on_risk`` or a severity the configuration set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from overfitlint import api
from overfitlint.catalogue import load_catalogue
from overfitlint.checks import registered
from overfitlint.engine import evaluate, finalize
from overfitlint.engine.gate import failed
from overfitlint.facts import Facts, KeptEpoch
from overfitlint.settings import RuleConfig
from overfitlint.verdict import CONFIRMED, REFUTED
from tests.builders.logs import keras_csv
from tests.conftest import EXAMPLES

OVERFIT = [EXAMPLES / "overfit" / "model.onnx", EXAMPLES / "overfit" / "logs.csv"]
HEALTHY = [EXAMPLES / "healthy" / "model.onnx", EXAMPLES / "healthy" / "logs.csv"]


def _gate(judged, **rules) -> bool:
    config = RuleConfig(**rules)
    return failed(
        judged.findings,
        fail_on=config.fail_on,
        fail_on_risk=config.fail_on_risk,
        severities=config.severities,
    )


def test_overfit_curves_are_overfitting_and_fail():
    judged = api.judge(api.read(OVERFIT, samples=2000))
    assert judged.verdict.status == "overfitting"
    assert judged.verdict.reason.startswith("OFL301")
    assert _gate(judged)


def test_healthy_curves_demote_the_causes_they_contradict():
    """The overfit example's model (no dropout, no weight decay) with a healthy log."""
    judged = api.judge(api.read([OVERFIT[0], HEALTHY[1]], samples=500))  # 144 per sample
    assert judged.verdict.status == "healthy"
    causes = [f for f in judged.findings if f.role == "cause" and f.severity_from]
    assert {"OFL101", "OFL201"} <= {f.code for f in causes}
    for cause in causes:
        assert cause.severity == "info"
        assert "OFL301" in cause.contradicted_by
        assert any("risk not realised" in a for a in cause.adjustments)
    assert judged.verdict.checked  # a positive summary of what passed
    assert not _gate(judged)
    assert not _gate(judged, fail_on_risk=True)  # demoted to info: nothing at warning left


def test_causes_alone_are_at_risk_and_fail_only_when_asked():
    judged = api.judge(api.read(OVERFIT[:1], samples=500))
    assert judged.verdict.status == "at-risk"
    assert "no training log" in judged.verdict.reason
    assert not _gate(judged)
    assert _gate(judged, fail_on_risk=True)
    assert _gate(judged, severities={"OFL101": "error"})  # set explicitly: it counts


def test_nothing_to_judge_is_unknown(tmp_path):
    log = keras_csv(tmp_path / "short.csv", [1.0, 0.9], [1.1, 1.0])
    judged = api.judge(api.read([log]))
    assert judged.verdict.status == "unknown"
    assert not _gate(judged)


def test_a_train_val_leak_makes_healthy_curves_untrustworthy(tmp_path):
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = (x[:, 0] > 0).astype(int)
    data = tmp_path / "data.npz"
    np.savez(data, x_train=x[:300], y_train=y[:300], x_val=x[250:350], y_val=y[250:350])
    facts = api.read([HEALTHY[1]], data=(data,))
    judged = api.judge(facts)
    assert judged.by_code()["OFL501"].severity == "error"
    assert judged.verdict.status == "at-risk"
    assert "overlaps training data" in judged.verdict.reason


def test_weights_kept_before_a_rise_too_early_to_judge_alone(tmp_path):
    """A best epoch of 1 leaves too few points up to it; the whole log diverges after it."""
    val = [0.6, 0.55, 0.57, 0.58, 0.62, 0.66, 0.70, 0.74, 0.78, 0.82]
    loss = [1 / (1 + 0.3 * e) for e in range(10)]
    curves = api.read_log(keras_csv(tmp_path / "log.csv", loss, val))
    judged = api.judge(Facts(curves=(curves,), kept=KeptEpoch(1, "--kept-epoch")))
    assert judged.verdict.status == "healthy"
    assert "from epoch 1, come before val_loss starts to rise" in judged.verdict.checked[0]
    kept = judged.by_code()["OFL301"]
    assert kept.severity == "info" and "not an overfit model" in kept.message
    whole = api.judge(Facts(curves=(curves,)))
    assert whole.verdict.status == "overfitting"


@pytest.mark.parametrize(("status", "severity"), [(REFUTED, "info"), (CONFIRMED, "warning")])
def test_the_probes_word_is_applied_in_finalize(status, severity):
    facts = api.read(OVERFIT[:1], samples=500)  # OFL101 warns at 144 parameters per sample
    catalogue = load_catalogue()
    evaluation = evaluate(facts, RuleConfig(), registered(), catalogue)
    target = next(f for f in evaluation.findings if f.code == "OFL101")
    verdicts = {target.fingerprint: {"status": status, "note": "measured"}}
    judged = finalize(evaluation, facts, RuleConfig(), catalogue, verdicts)
    probed = next(f for f in judged.findings if f.code == "OFL101")
    assert probed.probe["status"] == status
    assert probed.severity == severity
    if status == REFUTED:
        assert probed.severity_from == target.severity
        assert "the probe refuted it" in probed.adjustments[-1]
    else:
        assert probed.confidence != target.confidence


def test_the_examples_keep_their_documented_exit_codes(cli, tmp_path):
    overfit = cli("check", *OVERFIT, "--samples", "2000", "--no-probe", "--no-report")
    assert overfit.code == 1 and "Verdict: overfitting" in overfit.stdout
    healthy = cli("check", *HEALTHY, "--samples", "2000", "--no-probe", "--no-report")
    assert healthy.code == 0 and "Verdict: healthy" in healthy.stdout
    assert Path(tmp_path).is_dir()


def test_a_symptom_the_probe_refuted_is_a_judged_curve():
    """The probe found the weights are the log's best epoch: the curves' finding does not
    describe them, so the verdict is healthy, and says why."""
    facts = api.read(OVERFIT, samples=2000)
    catalogue = load_catalogue()
    evaluation = evaluate(facts, RuleConfig(), registered(), catalogue)
    symptoms = [f for f in evaluation.findings if f.role == "symptom" and f.severity != "info"]
    verdicts = {
        f.fingerprint: {"status": REFUTED, "note": "best epoch's weights"} for f in symptoms
    }
    judged = finalize(evaluation, facts, RuleConfig(), catalogue, verdicts)
    assert judged.verdict.status == "healthy"
    assert any("refuted by the probe" in line for line in judged.verdict.checked)
    one = {symptoms[0].fingerprint: verdicts[symptoms[0].fingerprint]}
    assert finalize(evaluation, facts, RuleConfig(), catalogue, one).verdict.status == "overfitting"


def test_a_cause_the_probe_measured_as_memorised_is_overfitting_and_fails():
    """With --data and no curves, OFL101 is a risk; when the probe's held-out measurement finds
    the weights memorised their training data, it is a symptom measured, and fails the gate.
    Another probe's confirmation (random-label capacity) stays a risk."""
    facts = api.read(OVERFIT[:1], samples=500)  # OFL101 warns at 144 parameters per sample
    catalogue = load_catalogue()
    evaluation = evaluate(facts, RuleConfig(), registered(), catalogue)
    target = next(f for f in evaluation.findings if f.code == "OFL101")
    note = "train 100.0% vs val 59.5%: the checkpoint has memorised its training data"
    entry = {"status": CONFIRMED, "decided_by": "heldout", "note": note}
    judged = finalize(evaluation, facts, RuleConfig(), catalogue, {target.fingerprint: entry})
    assert judged.verdict.status == "overfitting"
    assert judged.verdict.reason.endswith(f"; measured by the probe: {note}")
    assert _gate(judged)
    capacity = {**entry, "decided_by": "memorization"}
    judged = finalize(evaluation, facts, RuleConfig(), catalogue, {target.fingerprint: capacity})
    assert judged.verdict.status == "at-risk" and not _gate(judged)
    assert _gate(judged, fail_on_risk=True)


def test_memorised_weights_count_even_when_the_ratio_that_carried_them_is_low():
    """OFL101 is information at 4 parameters per sample; the probe measuring memorised weights
    makes it a warning, and the verdict overfitting."""
    facts = api.read(OVERFIT[:1], samples=20_000)
    catalogue = load_catalogue()
    evaluation = evaluate(facts, RuleConfig(), registered(), catalogue)
    target = next(f for f in evaluation.findings if f.code == "OFL101")
    assert target.severity == "info"
    entry = {"status": CONFIRMED, "decided_by": "heldout", "note": "memorised"}
    judged = finalize(evaluation, facts, RuleConfig(), catalogue, {target.fingerprint: entry})
    probed = next(f for f in judged.findings if f.code == "OFL101")
    assert (probed.severity, probed.severity_from) == ("warning", "info")
    assert "memorised their training data" in probed.adjustments[-1]
    assert judged.verdict.status == "overfitting" and _gate(judged)


def test_healthy_curves_outweigh_memorised_weights_measured_without_them():
    """Judged healthy curves take precedence: the memorised measurement is demoted with the
    other causes ("risk not realised"), and the gate passes."""
    facts = api.read(HEALTHY, samples=500)
    catalogue = load_catalogue()
    evaluation = evaluate(facts, RuleConfig(), registered(), catalogue)
    target = next(f for f in evaluation.findings if f.code == "OFL101")
    entry = {"status": CONFIRMED, "decided_by": "heldout", "note": "memorised"}
    judged = finalize(evaluation, facts, RuleConfig(), catalogue, {target.fingerprint: entry})
    probed = next(f for f in judged.findings if f.code == "OFL101")
    assert probed.severity == "info" and "risk not realised" in probed.adjustments[-1]
    assert judged.verdict.status == "healthy" and not _gate(judged)
