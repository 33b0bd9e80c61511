"""Monitor in a plain PyTorch loop: real training runs, stopped (or not) by OFL301's own
judgement, the best weights restored, the report written."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from overfitlint.errors import InputError
from overfitlint.live import Monitor
from overfitlint.report import read_report
from tests.live.data import split


def _net(width: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(20, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 2)
    )


def _train(monitor: Monitor | None, net: nn.Module, noisy: bool, epochs: int, lr: float):
    """Train ``net``; returns the logged validation losses and the split."""
    data = split(noisy)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    xv, yv = torch.from_numpy(data.x_val), torch.from_numpy(data.y_val)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(0)
    val_losses = []
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start in range(0, len(x), 32):
            batch = order[start : start + 32]
            loss = nn.functional.cross_entropy(net(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        val = validation_loss(net, xv, yv)
        val_losses.append(val)
        if monitor is not None:
            status = monitor.update(epoch=epoch, loss=total / len(x), val_loss=val)
            if status.should_stop:
                break
    return val_losses, (xv, yv)


@torch.no_grad()
def validation_loss(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    return nn.functional.cross_entropy(net(x), y).item()


def _messages():
    said: list[tuple[str, str]] = []
    return said, lambda severity, text: said.append((severity, text))


def test_an_overfitting_run_stops_and_ships_the_best_weights(tmp_path):
    torch.manual_seed(0)
    net = _net(256)
    said, log = _messages()
    monitor = Monitor(
        action="stop", model=net, max_epochs=100, log=log, report=tmp_path / "run.html"
    )
    losses, (xv, yv) = _train(monitor, net, noisy=True, epochs=100, lr=3e-3)
    monitor.finish()
    assert monitor.stopped_at is not None and len(losses) < 40
    best = int(np.argmin(losses))
    assert monitor.best_epoch == best
    # the weights the model holds now are the best epoch's
    assert validation_loss(net, xv, yv) == pytest.approx(losses[best], rel=1e-6)
    assert monitor.kept is not None and monitor.kept.epoch == best
    codes = [text.split()[3] for _, text in said if text.startswith("overfitlint: epoch")]
    assert "OFL301" in codes and len(codes) == len(set(codes))  # each finding logged once
    summary = said[-1][1]
    assert f"stopped at epoch {len(losses) - 1}" in summary
    assert f"best epoch {best}" in summary and "planned epochs saved" in summary
    assert (tmp_path / "run.html").read_text().startswith("<!DOCTYPE html>")


def test_a_healthy_run_is_not_stopped(tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(20, 8), nn.ReLU(), nn.Linear(8, 2))
    monitor = Monitor(action="stop", model=net, log=_messages()[1])
    losses, _ = _train(monitor, net, noisy=False, epochs=30, lr=1e-3)
    report = monitor.finish()
    assert len(losses) == 30 and monitor.stopped_at is None and monitor.diverged_at is None
    assert report.verdict.status == "healthy"


def test_warn_lets_the_run_go_on_and_says_when_it_diverged():
    torch.manual_seed(0)
    net = _net(256)
    said, log = _messages()
    monitor = Monitor(action="warn", model=net, restore_best=False, log=log)
    losses, _ = _train(monitor, net, noisy=True, epochs=30, lr=3e-3)
    report = monitor.finish()
    assert len(losses) == 30 and monitor.diverged_at is not None
    assert any("action='warn' lets the run go on" in text for _, text in said)
    assert report.verdict.status == "overfitting"  # nothing restored: the diverged weights ship


def test_the_json_report_knows_the_kept_epoch(tmp_path):
    torch.manual_seed(0)
    net = _net(256)
    monitor = Monitor(action="stop", model=net, samples=300, log=_messages()[1])
    _train(monitor, net, noisy=True, epochs=60, lr=3e-3)
    monitor.finish()
    path = monitor.report(tmp_path / "run.json")
    report = read_report(path)
    assert report.run.kept_epoch == monitor.best_epoch
    assert report.run.kept_epoch_source == "restored by the callback"
    assert report.run.samples == 300
    assert report.model is not None and report.model.framework == "pytorch"
    assert json.loads(path.read_text())["logs"][0]["series"]["val_loss"]["values"]


def _diverging(monitor: Monitor, epochs: int = 40) -> None:
    for epoch in range(epochs):
        val = 0.9 - 0.04 * epoch if epoch <= 10 else 0.5 + 0.03 * (epoch - 10)
        if monitor.update(epoch=epoch, loss=1 / (1 + 0.2 * epoch), val_loss=val).should_stop:
            return


def test_config_ignoring_the_rule_means_no_stop():
    monitor = Monitor(action="stop", config={"ignore": ["OFL301"]}, log=_messages()[1])
    _diverging(monitor)
    assert monitor.stopped_at is None and monitor.stop_blocked


def test_config_thresholds_are_the_ci_gate_ones(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[tool.overfitlint]\nfail-on = 'error'\n[tool.overfitlint.thresholds.OFL301]\n"
        "short_min_after = 8\npatience = 8\n[[tool.overfitlint.models]]\nlogs = ['none/*.csv']\n"
    )
    strict = Monitor(action="stop", config=pyproject, log=_messages()[1])
    default = Monitor(action="stop", log=_messages()[1])
    _diverging(strict)
    _diverging(default)
    assert default.stopped_at is not None
    assert strict.stopped_at is not None and strict.stopped_at > default.stopped_at
    assert strict.rules.fail_on == "error"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"thresholds": {"OFL301": {"patiense": 8}}}, "did you mean 'patience'"),
        ({"severity": {"OFL301": "loud"}}, "must be one of info, warning, error"),
        ({"selcet": ["OFL3"]}, "did you mean 'select'"),
        ({"select": ["OFL999"]}, "matches no rule"),
    ],
)
def test_a_wrong_config_is_one_clear_error(config, message):
    with pytest.raises(InputError, match=message):
        Monitor(config=config)


def test_the_full_rule_runs_rarely_on_a_long_noisy_run():
    """10,000 epochs of a slowly improving, noisy curve: the pre-test keeps OFL301's full
    runs few (the statistics decide the rest in O(1) per epoch)."""
    rng = np.random.default_rng(1)
    monitor = Monitor(action="stop", log=_messages()[1])
    for epoch in range(10_000):
        noise = 1 + 0.05 * rng.standard_normal()
        val = 0.5 * (1 + 1 / (1 + 0.01 * epoch)) * noise
        monitor.update(epoch=epoch, loss=1.0 / (1 + 0.01 * epoch), val_loss=val)
    assert monitor.stopped_at is None
    assert monitor.full_runs < 300


def test_a_metric_it_cannot_find_is_said_once_and_training_goes_on():
    said, log = _messages()
    monitor = Monitor(action="stop", monitor="val_los", log=log)
    for epoch in range(5):
        assert not monitor.update(epoch=epoch, loss=1.0, val_loss=0.5).should_stop
    warnings = [text for severity, text in said if severity == "warning"]
    assert len(warnings) == 1 and "'val_los' is not a column" in warnings[0]
    assert "monitor=NAME" in warnings[0]
    monitor.finish()
    assert "without a validation metric" in said[-1][1]


def test_an_accuracy_is_watched_higher_is_better():
    monitor = Monitor(action="stop", monitor="val_accuracy", log=_messages()[1])
    for epoch in range(40):
        accuracy = 0.5 + 0.03 * epoch if epoch <= 10 else 0.8 - 0.02 * (epoch - 10)
        status = monitor.update(
            epoch=epoch, accuracy=0.5 + 0.012 * epoch, val_accuracy=accuracy, loss=1.0
        )
        if status.should_stop:
            break
    assert monitor.best_epoch == 10 and monitor.stopped_at is not None
