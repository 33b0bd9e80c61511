"""The one downsampler of the JSON result and the HTML charts: shape, extremes, named points."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from overfitlint.curves import Series
from overfitlint.downsample import MAX_POINTS, bounded, largest_triangles, positions
from tests.render.inprocess import run_main


def _series(values, name="val_loss") -> Series:
    values = np.asarray(values, dtype=np.float64)
    epochs = np.arange(values.size, dtype=np.float64)
    return Series(name, epochs, values, epochs.astype(np.int64) + 2)


@pytest.mark.parametrize("seed", range(5))
def test_positions_keep_order_ends_extremes_and_named_points(seed):
    rng = random.Random(seed)
    n = rng.randint(50, 5000)
    y = np.array([rng.gauss(0, 1) for _ in range(n)])
    x = np.arange(n, dtype=np.float64)
    limit = rng.randint(10, 700)
    named = [rng.randrange(n) for _ in range(3)]
    kept = positions(x, y, limit, named)
    assert kept.size <= max(limit, 10)
    assert kept[0] == 0 and kept[-1] == n - 1
    assert np.all(np.diff(kept) > 0)
    assert int(np.argmin(y)) in kept and int(np.argmax(y)) in kept
    assert set(named) <= set(kept.tolist())
    if n <= limit:
        assert kept.tolist() == list(range(n))


def test_largest_triangles_keeps_a_spike_and_the_shape_of_a_step():
    y = np.concatenate([np.ones(5000), np.zeros(5000)])
    y[2500] = 40.0
    x = np.arange(y.size, dtype=np.float64)
    kept = largest_triangles(x, y, 100)
    assert 2500 in kept.tolist()
    drawn = y[kept]
    assert drawn[: np.searchsorted(kept, 4999)].min() == 1.0  # the step is not smeared
    assert set(drawn[kept > 5000].tolist()) == {0.0}


def test_non_finite_stretches_keep_their_edges():
    values = np.linspace(1.0, 2.0, 10_000)
    values[4000:4200] = np.nan
    values[-1] = np.inf
    series = bounded(_series(values), 200)
    kept = series.index.tolist()
    assert {4000, 4199, 9999, 3999}.issubset(kept)
    assert len(series) <= 200


def test_bounded_series_remembers_the_full_one_and_is_not_thinned_again():
    series = _series(np.sin(np.linspace(0, 20, 50_000)))
    small = bounded(series, 500, epochs=[12_345.2], lines=[30_002])
    assert len(small) <= 500 and small.count == 50_000
    assert {12_345, 30_000} <= set(small.index.tolist())
    assert bounded(small, 500, epochs=[12_345.2], lines=[30_002]) is small
    again = bounded(small, 100)
    assert again.count == 50_000 and set(again.index.tolist()) <= set(small.index.tolist())
    assert bounded(_series([1.0, 2.0]), 500).index is None


def test_a_bounded_series_goes_through_json_and_back():
    series = bounded(_series(np.cos(np.linspace(0, 9, 20_000))), MAX_POINTS)
    document = json.loads(json.dumps(series.to_dict()))
    assert document["downsampled"]["points"] == 20_000
    assert len(document["values"]) == len(document["downsampled"]["positions"]) <= MAX_POINTS
    back = Series.from_dict(document)
    assert back.count == 20_000 and np.array_equal(back.index, series.index)
    assert np.array_equal(back.values, series.values)
    assert np.array_equal(back.epochs, series.epochs)


def test_whole_epochs_are_json_integers_exactly_however_large():
    epochs = np.array([1e300, -5.0, 0.5, 2.0**63, 3.0])
    values = np.array([1.0, np.nan, np.inf, 0.25, 2.0])
    document = Series("val_loss", epochs, values, np.arange(5) + 2).to_dict()
    assert document["epochs"] == [int(1e300), -5, 0.5, 2**63, 3]
    assert document["values"] == [1.0, "nan", "inf", 0.25, 2.0]
    assert Series.from_dict(json.loads(json.dumps(document))).epochs.tolist() == epochs.tolist()


def _long_log(path, epochs: int = 30_000):
    """A long run that overfits, with a spike and a stretch of NaN in the validation loss."""
    rng = np.random.default_rng(7)
    t = np.arange(epochs)
    loss = 2.0 * np.exp(-t / 4000) + 0.01 + 0.002 * rng.random(epochs)
    val = (
        2.0 * np.exp(-t / 4000)
        + 0.3
        + np.maximum(0, (t - 12_000) / 20_000)
        + 0.01 * rng.random(epochs)
    )
    val[20_000] = 9.0
    rows = [
        f"{e},{a:.6f},{'nan' if 25_000 <= e < 25_050 else f'{b:.6f}'}"
        for e, a, b in zip(t.tolist(), loss.tolist(), val.tolist(), strict=True)
    ]
    path.write_text("epoch,loss,val_loss\n" + "\n".join(rows) + "\n")
    return path


def test_json_is_bounded_and_a_saved_result_renders_the_live_charts(tmp_path):
    log = _long_log(tmp_path / "long.csv")
    live = tmp_path / "live.html"
    check = run_main(
        "check", log, "--no-probe", "--format", "json", "--output", "r.json", "--report", live,
        cwd=tmp_path,
    )  # fmt: skip
    assert check.code == 1, check.stderr
    document = json.loads((tmp_path / "r.json").read_text())
    series = document["logs"][0]["series"]["val_loss"]
    assert series["downsampled"]["points"] == 30_000
    assert len(series["values"]) <= MAX_POINTS
    named = {
        e["value"]
        for f in document["findings"]
        for e in f["evidence"]
        if e["unit"] == "epoch" and isinstance(e["value"], int | float)
    }
    assert named and named <= set(series["epochs"])  # best epoch, onset... kept exactly
    assert {20_000, 25_000, 25_049, 29_999} <= set(series["epochs"])  # spike, NaN edges, end
    assert "nan" in series["values"]
    saved = tmp_path / "saved.html"
    assert run_main("report", "r.json", "-o", saved, cwd=tmp_path).code == 0
    assert saved.read_bytes() == live.read_bytes()
    full = run_main(
        "check", log, "--no-probe", "--no-report", "--full-series", "--format", "json",
        "--output", "full.json", cwd=tmp_path,
    )  # fmt: skip
    assert full.code == 1, full.stderr
    whole = json.loads((tmp_path / "full.json").read_text())["logs"][0]["series"]["val_loss"]
    assert len(whole["values"]) == 30_000 and "downsampled" not in whole
