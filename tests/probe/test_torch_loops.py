"""The torch loops in this process: the CUDA fast path's code (autocast, loss scaling, pinned
non-blocking copies, no host sync inside the loop) runs on CPU with an injected device plan."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from overfitlint.probe import torch_loops
from overfitlint.probe.budget import Deadline
from overfitlint.probe.device import DevicePlan
from tests.probe.models import FEATURES, FunctionalDropout, mlp

CPU = DevicePlan("cpu", None, False, False, False, "test")


@pytest.fixture(autouse=True)
def one_thread():
    """As the probe runs small models on CPU: on a busy machine threads only wait on each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _cuda_like(amp: str | None, scaler: bool) -> DevicePlan:
    """What choose_device gives for CUDA, with the device swapped for the CPU."""
    return DevicePlan("cpu", amp, scaler, True, True, "test: CUDA path on CPU")


def _random_labels(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, FEATURES)).astype(np.float32)
    return x, rng.integers(0, 4, n).astype(np.int64)


def test_memorization_is_deterministic_for_a_seed_on_cpu():
    x, y = _random_labels(64)
    runs = []
    for _ in range(2):
        model = mlp()
        torch_loops.reinitialise(model, seed=3)
        stats = torch_loops.memorize(
            model, x, y, task="classes", head="logits", plan=CPU, deadline=None, seed=3,
            batch=32,
        )  # fmt: skip
        runs.append((stats.steps, stats.loss, stats.running_fraction, stats.stopped))
    assert runs[0] == runs[1]
    assert runs[0][3] == "fitted" and runs[0][2] >= 0.99


@pytest.mark.parametrize(("amp", "scaler"), [("bfloat16", False), ("float16", True)])
def test_the_cuda_path_pins_casts_scales_and_syncs_only_at_checks(amp, scaler):
    plan = _cuda_like(amp, scaler)
    pinned = []
    mover = torch_loops.Mover(plan, pin=lambda t: pinned.append(t.shape) or t)
    seen_dtypes = set()
    model = mlp()
    model[0].register_forward_hook(lambda m, i, out: seen_dtypes.add(out.dtype))
    torch_loops.reinitialise(model, seed=0)
    x, y = _random_labels(64)
    stats = torch_loops.memorize(
        model, x, y, task="classes", head="logits", plan=plan, deadline=None, batch=16,
        max_steps=40, check_every=20, stop_fraction=2.0, seed=0, mover=mover,
    )  # fmt: skip
    assert pinned == [x.shape, y.shape]  # both arrays pinned once, then copied non-blocking
    assert getattr(torch, amp) in seen_dtypes  # the forward ran under autocast
    # one host read for the fraction and one for the loss per check, none per step
    assert stats.steps == 40 and stats.host_syncs == 2 * 2  # two checks of two reads each
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay fp32


def test_the_deadline_stops_training_within_a_step():
    x, y = _random_labels(512)
    clock = iter(range(1000))
    deadline = Deadline(at=3, seconds=3, clock=lambda: next(clock))
    stats = torch_loops.memorize(
        mlp(), x, y, task="classes", head="logits", plan=CPU, deadline=deadline, seed=0
    )
    assert stats.stopped == "budget" and stats.steps <= 4


def test_spread_sees_functional_dropout_and_eval_mode_is_quiet():
    x = np.random.default_rng(0).standard_normal((16, FEATURES)).astype(np.float32)
    noisy = torch_loops.stochasticity(FunctionalDropout(0.5), x, plan=CPU, repeats=4, seed=0)
    assert noisy["output_spread"] > 0.1 and noisy["eval_spread"] == 0
    dead = torch_loops.stochasticity(mlp(dropout=0.0), x, plan=CPU, repeats=4, seed=0)
    assert dead["output_spread"] == 0 and dead["mode"] == "train"
    scripted = torch.jit.script(FunctionalDropout(0.5))
    assert torch_loops.stochasticity(scripted, x, plan=CPU, repeats=3, seed=0)["output_spread"] > 0


def test_reinitialise_draws_fresh_weights_reproducibly():
    a, b = mlp(), mlp()
    torch_loops.reinitialise(a, seed=1)
    torch_loops.reinitialise(b, seed=1)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    weight = a[0].weight
    bound = 1 / FEATURES**0.5
    assert weight.abs().max() <= bound and weight.std() > bound / 4
    assert torch.count_nonzero(a[0].bias) == 0


def test_dropout_goes_in_front_of_every_layer_but_the_first():
    model = mlp()
    assert torch_loops.add_dropout(model, 0.5) == 2
    x = torch.randn(8, FEATURES)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))
    assert torch_loops.add_dropout(torch.jit.script(mlp()), 0.5) == 0


def test_output_heads_and_losses():
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.1]])
    assert torch_loops.output_kind(logits) == "logits"
    assert torch_loops.output_kind(torch.softmax(logits, -1)) == "probs"
    y = torch.tensor([0, 1])
    ce = torch_loops.loss_fn("classes", "logits")(logits, y)
    nll = torch_loops.loss_fn("classes", "probs")(torch.softmax(logits, -1), y)
    assert torch.isclose(ce, nll, atol=1e-5)
    assert int(torch_loops.correct_count("classes", "logits", logits, y)) == 1
