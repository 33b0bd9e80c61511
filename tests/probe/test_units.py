"""The probe's pure parts: device choice (the CUDA path without a GPU), budget, planning,
judging, downgrading, data checks and the progress bar. No framework is imported here."""

from __future__ import annotations

import io

import numpy as np
import pytest

from overfitlint.catalogue import load_catalogue
from overfitlint.errors import InputError
from overfitlint.facts import LayerFacts, ModelFacts, Provenance, Unknown
from overfitlint.findings import Evidence, Finding, Location
from overfitlint.probe import data, judge, plan
from overfitlint.probe.backends import BACKEND_OF
from overfitlint.probe.budget import Budget, plan_shares
from overfitlint.probe.device import DeviceCaps, choose_device, parse_device
from overfitlint.probe.progress import ProgressBar

# --- device choice ---------------------------------------------------------------------------


def test_auto_takes_cuda_with_the_practitioners_fast_path():
    plan_ = choose_device("auto", DeviceCaps(cuda_devices=2, cuda_bf16=True, cuda_names=("H100",)))
    assert plan_.device == "cuda:0"
    assert plan_.amp_dtype == "bfloat16" and not plan_.grad_scaler  # bf16 needs no loss scaling
    assert plan_.pin_memory and plan_.non_blocking
    assert plan_.name == "H100" and plan_.reason.startswith("auto")


def test_cuda_without_bfloat16_uses_float16_with_loss_scaling():
    plan_ = choose_device("cuda:1", DeviceCaps(cuda_devices=2, cuda_bf16=False))
    assert (plan_.device, plan_.amp_dtype, plan_.grad_scaler) == ("cuda:1", "float16", True)


def test_auto_falls_back_to_mps_then_cpu():
    mps = choose_device("auto", DeviceCaps(mps=True))
    assert (mps.device, mps.amp_dtype, mps.pin_memory) == ("mps", None, False)
    cpu = choose_device("auto", DeviceCaps())
    assert (cpu.device, cpu.amp_dtype, cpu.pin_memory, cpu.non_blocking) == (
        "cpu",
        None,
        False,
        False,
    )
    assert choose_device("cpu", DeviceCaps(cuda_devices=1)).device == "cpu"


@pytest.mark.parametrize(
    ("asked", "caps", "message"),
    [
        ("cuda", DeviceCaps(), "CUDA is not available"),
        ("cuda:2", DeviceCaps(cuda_devices=2), "only 2 CUDA device(s)"),
        ("mps", DeviceCaps(cuda_devices=1), "MPS is not available"),
    ],
)
def test_an_explicit_device_must_exist(asked, caps, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        choose_device(asked, caps)


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "cuda:", "tpu", "cpu0"])
def test_malformed_device_is_a_usage_error(bad):
    with pytest.raises(InputError, match="--device"):
        parse_device(bad)
    assert parse_device(" CUDA:3 ") == "cuda:3"


# --- budget --------------------------------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_each_probe_gets_a_share_and_unused_time_flows_on():
    clock = FakeClock()
    budget = Budget(60, clock=clock)
    shares = plan_shares(["stochasticity", "memorization", "counterfactual"])
    assert [s[0] for s in shares] == ["stochasticity", "memorization", "counterfactual"]
    _, weight, pending = shares[0]
    first = budget.share(weight, pending)
    assert first.seconds == pytest.approx(60 * 1 / 15)
    clock.now += 1.0  # the first probe finished early
    _, weight, pending = shares[1]
    second = budget.share(weight, pending)
    assert second.seconds == pytest.approx(59 * 6 / 14)
    clock.now = second.at
    assert second.passed() and second.left() == 0
    _, weight, pending = shares[2]
    last = budget.share(weight, pending)
    assert last.at == pytest.approx(budget.end)  # the last probe gets all that is left
    clock.now = budget.end + 5
    assert budget.expired() and budget.remaining() == 0


# --- models ---------------------------------------------------------------------------------


def _facts(framework="torch", fmt="torchscript", source="m.pt", **extra) -> ModelFacts:
    return ModelFacts(
        framework=framework,
        source=source,
        format=fmt,
        layers=[LayerFacts("fc", "Linear", 50_000, 50_000)],
        provenance=Provenance(),
        optimizer=Unknown("no optimizer"),
        **extra,
    )


def test_the_probe_runs_only_what_reads_no_code_without_an_opt_in():
    from overfitlint.probe import refusal
    from overfitlint.settings import LoadHints

    assert BACKEND_OF["keras"] == "keras" and BACKEND_OF["onnx"] == "torch"
    script = _facts(fmt="torchscript")
    assert "--trust-torchscript" in refusal(script, LoadHints())
    assert refusal(script, LoadHints(trust_torchscript=True)) is None
    pickled = _facts(fmt="torch-checkpoint")
    assert "--trust-pickle" in refusal(pickled, LoadHints())
    assert refusal(pickled, LoadHints(trust_pickle=True)) is None
    assert "no architecture" in refusal(_facts(fmt="safetensors"), LoadHints(trust_pickle=True))


# --- data ----------------------------------------------------------------------------------


def test_data_file_is_checked_with_one_clear_line(tmp_path):
    good = tmp_path / "d.npz"
    x = np.zeros((4, 3), np.float32)
    np.savez(good, x_train=x, y_train=np.arange(4), x_val=x, y_val=np.arange(4))
    loaded = data.load_data(good)
    assert loaded.sample_shape == [3] and loaded.summary()["train_samples"] == 4
    missing = tmp_path / "m.npz"
    np.savez(missing, x_train=x, y_train=np.arange(4))
    with pytest.raises(InputError, match="missing x_val, y_val"):
        data.load_data(missing)
    short = tmp_path / "s.npz"
    np.savez(short, x_train=x, y_train=np.arange(3), x_val=x, y_val=np.arange(4))
    with pytest.raises(InputError, match="x_train has 4 samples but y_train has 3"):
        data.load_data(short)
    objects = tmp_path / "o.npz"
    np.savez(objects, x_train=np.array([{}] * 4, dtype=object), y_train=np.arange(4),
             x_val=x, y_val=np.arange(4))  # fmt: skip
    with pytest.raises(InputError, match="without pickle"):
        data.load_data(objects)
    nan = tmp_path / "n.npz"
    np.savez(nan, x_train=x + np.nan, y_train=np.arange(4), x_val=x, y_val=np.arange(4))
    with pytest.raises(InputError, match="NaN"):
        data.load_data(nan)
    with pytest.raises(InputError, match="no such file"):
        data.load_data(tmp_path / "absent.npz")


def test_input_shape_and_targets():
    assert data.parse_input_shape("3,32,32") == (3, 32, 32)
    assert data.parse_input_shape("3x32x32") == (3, 32, 32)
    for bad in ("", "a,b", "3,-1", "0"):
        with pytest.raises(InputError, match="--input-shape"):
            data.parse_input_shape(bad)
    assert data.sample_shape_from_facts({"x": ["batch", 20]}) == [20]
    assert data.sample_shape_from_facts({"x": ["batch", "seq"]}) is None
    one_hot = np.eye(3)[[0, 2, 1]]
    assert data.targets(one_hot, 3)[0] == "classes"
    assert list(data.targets(one_hot, 3)[1]) == [0, 2, 1]
    assert data.targets(np.array([1, 0, 1]), 1)[0] == "binary"
    assert data.targets(np.array([0.5, 1.5]), 1)[0] == "regression"
    assert data.targets(np.array([3, 1]), 4)[0] == "classes"


# --- planning --------------------------------------------------------------------------------


def _finding(code: str, severity="warning", confidence="medium", **evidence) -> Finding:
    return Finding(
        code=code,
        name=code.lower(),
        severity=severity,
        confidence=confidence,
        message="m",
        evidence=[Evidence(k, v) for k, v in evidence.items()],
        location=Location(file="m.pt"),
        subject="model",
    )


def test_which_probe_checks_which_finding():
    findings = [
        _finding("OFL201"),
        _finding("OFL101", training_samples=2000),
        _finding("OFL211", severity="info"),
        _finding("OFL301"),
        _finding("OFL306"),
    ]
    model = _facts()
    rules = load_catalogue()
    without = plan.plan_probes(findings, model, rules, {}, has_data=False)
    assert set(without.tasks) == {"stochasticity", "memorization"}
    assert without.tasks["memorization"]["samples"] == 512  # min(2000, probe_max_samples)
    assert sorted(without.unchecked.values()) == ["needs --data FILE.npz"] * 2
    with_data = plan.plan_probes(findings, model, rules, {}, has_data=True)
    assert set(with_data.tasks) == {"stochasticity", "memorization", "heldout", "counterfactual"}
    assert with_data.tasks["counterfactual"]["fixes"] == {"weight_decay": 0.1, "dropout": 0.3}
    assert with_data.targets[findings[0].fingerprint] == ["stochasticity", "counterfactual"]
    assert with_data.targets[findings[1].fingerprint] == ["heldout", "memorization"]
    tuned = plan.plan_probes(
        findings, model, rules, {"OFL101": {"probe_max_samples": 64}}, has_data=False
    )
    assert tuned.tasks["memorization"]["samples"] == 64
    unknown_ratio = plan.plan_probes(
        [_finding("OFL101", severity="info")], model, rules, {}, has_data=False
    )
    assert unknown_ratio.empty


def test_every_probe_a_rule_names_has_its_thresholds_declared():
    needed = {
        "stochasticity": {"probe_min_spread"},
        "memorization": {"probe_memorized", "probe_max_samples"},
        "heldout": {"probe_confirm_ratio", "probe_confirm_points", "probe_refute_gap"},
        "counterfactual": {"probe_noise_factor"},
    }
    for code, spec in load_catalogue().items():
        for probe in spec.probes:
            assert needed[probe] <= set(spec.thresholds), (code, probe)
        if "counterfactual" in spec.probes:
            assert plan.counterfactual_fix(spec) is not None, code


# --- judging ---------------------------------------------------------------------------------


def _result(metrics, measured=True):
    return {"measured": measured, "metrics": metrics, "seconds": 0.5, "budget_s": 2.0}


SPREAD = {"repeats": 4, "output_spread": 0.4, "eval_spread": 0.0, "mode": "train"}


def _judge(code, probe, result, limits=None, **kwargs):
    return judge.judge(load_catalogue()[code], probe, result, limits or {}, **kwargs)


def test_stochasticity_refutes_confirms_or_cannot_say():
    refuted = _judge("OFL201", "stochasticity", _result(SPREAD))
    assert refuted.status == "refuted" and "functional dropout" in refuted.note
    flat = {**SPREAD, "output_spread": 0.0}
    dead = _facts(layers=None) if False else _facts()
    dead.layers.append(LayerFacts("drop", "Dropout", dropout_rate=0.0))
    confirmed = _judge("OFL201", "stochasticity", _result(flat), model=dead)
    assert confirmed.status == "confirmed" and "rate 0" in confirmed.note
    stripped = _facts(dropout_visible=Unknown("the exporter removes Dropout"))
    unsure = _judge("OFL201", "stochasticity", _result(flat), model=stripped)
    assert unsure.status == "inconclusive"
    strict = _judge("OFL201", "stochasticity", _result(SPREAD), {"probe_min_spread": 1.0})
    assert strict.status == "confirmed"


MEMO = {
    "memorized_fraction": 0.97,
    "samples": 256,
    "requested_samples": 512,
    "samples_limited_by": "budget",
    "chance": 0.25,
    "steps": 300,
    "epochs": 150,
    "stopped": "fitted",
}


def test_memorization_verdicts():
    fitted = _judge("OFL101", "memorization", _result(MEMO))
    assert fitted.status == "inconclusive"  # capacity to memorise is a risk, not overfitting
    assert "256 of the 512" in fitted.note and "Zhang" in fitted.note
    stuck = {**MEMO, "memorized_fraction": 0.4, "stopped": "plateau"}
    assert _judge("OFL101", "memorization", _result(stuck)).status == "refuted"
    short = {**MEMO, "memorized_fraction": 0.6, "stopped": "budget"}
    assert _judge("OFL101", "memorization", _result(short)).status == "inconclusive"
    missing = _judge("OFL101", "memorization", {"measured": False, "reason": "why"})
    assert (missing.status, missing.note) == ("inconclusive", "why")


def test_heldout_and_counterfactual_verdicts():
    gap = {"train_loss": 0.2, "val_loss": 1.0, "loss_gap": 0.8, "loss_gap_pct": 400.0,
           "train_samples": 10, "val_samples": 10}  # fmt: skip
    log = {"log_final_val_loss": 1.05, "log_closest_epoch": 70, "log_closest_val_loss": 1.01}
    held = _judge("OFL301", "heldout", _result(gap), log=log)
    # val loss 5x the train loss: a generalisation gap, not memorised training data
    assert held.status == "inconclusive" and "generalisation gap" in held.note
    assert "epoch 70" in held.note and held.metrics["log_closest_epoch"] == 70
    memorised = {**gap, "train_loss": 0.05, "loss_gap": 0.95, "loss_gap_pct": 1900.0,
                 "train_accuracy": 0.98, "val_accuracy": 0.64, "accuracy_gap": 0.34}  # fmt: skip
    held = _judge("OFL101", "heldout", _result(memorised))
    assert held.status == "confirmed" and "memorised" in held.note and "34.0 points" in held.note
    assert held.metrics["accuracy_gap_points"] == 34.0
    # fitted to 100% and 5.6 points apart: a digits MLP at its best epoch
    at_best = {**memorised, "train_accuracy": 1.0, "val_accuracy": 0.944, "accuracy_gap": 0.056}
    assert _judge("OFL101", "heldout", _result(at_best)).status == "inconclusive"
    unfitted = {**memorised, "train_accuracy": 0.85, "val_accuracy": 0.63, "accuracy_gap": 0.22}
    assert _judge("OFL101", "heldout", _result(unfitted)).status == "inconclusive"
    regression = {k: v for k, v in memorised.items() if "accuracy" not in k}  # 20x
    assert _judge("OFL101", "heldout", _result(regression)).status == "confirmed"
    assert _judge("OFL101", "heldout", _result({**regression, "train_loss": 0.2})).status == (
        "inconclusive"
    )  # 5x
    flat = {**gap, "val_loss": 0.201, "loss_gap": 0.001, "loss_gap_pct": 0.5}
    assert _judge("OFL301", "heldout", _result(flat)).status == "refuted"
    counter = {
        "steps": 100,
        "gap_start": 0.8,
        "gap_end": 1.0,
        "noise": 0.01,
        "fixes": {"weight_decay": {"value": 0.1, "gap_end": 0.8, "narrowing": 0.2}},
    }
    assert _judge("OFL211", "counterfactual", _result(counter)).status == "confirmed"
    noisy = {**counter, "noise": 0.5}
    assert _judge("OFL211", "counterfactual", _result(noisy)).status == "inconclusive"
    worse = {**counter, "fixes": {"weight_decay": {"value": 0.1, "gap_end": 1.3,
                                                   "narrowing": -0.3}}}  # fmt: skip
    assert _judge("OFL211", "counterfactual", _result(worse)).status == "refuted"
    no_dropout = {**counter, "fixes": {"dropout": {"value": 0.3, "unavailable": "TorchScript"}}}
    verdict = _judge("OFL201", "counterfactual", _result(no_dropout))
    assert verdict.status == "inconclusive" and "TorchScript" in verdict.note


def test_the_first_decisive_probe_decides():
    a = judge.Verdict("stochasticity", "inconclusive", "a")
    b = judge.Verdict("counterfactual", "confirmed", "b")
    assert judge.combine([a, b]) is b
    assert judge.combine([a]) is a


# --- progress bar ----------------------------------------------------------------------------


def test_progress_bar_only_on_a_terminal():
    quiet = io.StringIO()
    bar = ProgressBar(10, stream=quiet)
    bar.update("memorization: 50%")
    bar.close()
    assert quiet.getvalue() == ""
    clock = FakeClock()
    shown = io.StringIO()
    bar = ProgressBar(10, stream=shown, enabled=True, clock=clock)
    clock.now += 5
    bar.update("memorization: 50%")
    line = shown.getvalue()
    assert line.startswith("\rprobe [############------------]")
    assert "5.0/10 s" in line and "memorization: 50%" in line
    bar.close()
    assert shown.getvalue().endswith("\r")
