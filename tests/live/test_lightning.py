"""The Lightning callback on real ``trainer.fit`` runs, one process and DDP on CPU."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("lightning")

from lightning.pytorch.callbacks import ModelCheckpoint

from overfitlint.integrations.lightning import OverfitLintCallback
from overfitlint.report import read_report
from tests.conftest import ROOT
from tests.live.lightning_run import fit, validation_loss


def _val_losses(callback) -> np.ndarray:
    return callback.lint.history.series("val_loss").values


def test_an_overfitting_run_stops_with_the_best_weights_restored(caplog):
    callback = OverfitLintCallback(action="stop")
    with caplog.at_level(logging.INFO, logger="lightning.pytorch.callbacks.overfitlint"):
        run, module, val = fit(callback, noisy=True, epochs=100)
    losses = _val_losses(callback)
    assert run.should_stop and len(losses) < 40
    best = int(np.argmin(losses))
    assert callback.lint.best_epoch == best
    assert validation_loss(module, val) == pytest.approx(losses[best], rel=1e-5)
    messages = [r.getMessage() for r in caplog.records]
    assert any("OFL301" in m for m in messages) and "stopped at epoch" in messages[-1]


def test_a_healthy_run_is_not_stopped():
    callback = OverfitLintCallback(action="stop")
    run, _, _ = fit(callback, noisy=False, epochs=20, width=8, lr=1e-3)
    assert run.current_epoch == 20 and callback.lint.stopped_at is None


def test_the_best_checkpoint_is_restored_when_modelcheckpoint_keeps_it(tmp_path):
    checkpoint = ModelCheckpoint(dirpath=tmp_path, monitor="val_loss", mode="min")
    callback = OverfitLintCallback(action="stop", report=tmp_path / "run.json")
    _, module, val = fit(
        callback, noisy=True, epochs=100, enable_checkpointing=True, callbacks=[checkpoint]
    )
    losses = _val_losses(callback)
    assert validation_loss(module, val) == pytest.approx(losses.min(), rel=1e-5)
    assert callback.lint.restored.startswith("restored from the best checkpoint epoch=")
    assert callback.weights.memory._best is None  # no copy was kept in memory
    assert read_report(tmp_path / "run.json").run.kept_epoch == int(np.argmin(losses))


def test_ddp_rank_zero_judges_and_every_rank_stops_with_the_same_weights(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-m", "tests.live.lightning_run", str(tmp_path)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=240,
    )
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["judges"] for r in ranks] == [True, False]
    assert ranks[0]["epochs"] == ranks[1]["epochs"] < 40
    assert ranks[0]["val_loss"] == pytest.approx(ranks[1]["val_loss"], rel=1e-6)
    report = read_report(tmp_path / "run.json")
    assert report.run.kept_epoch is not None
