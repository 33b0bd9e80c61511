"""The measurements' building blocks against independent references."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from overfitlint.data.hashing import nearest_hamming, perceptual_hashes, row_hashes
from overfitlint.data.noise import confident_joint
from overfitlint.data.shift import ks_statistics
from overfitlint.data.statistics import chi2_sf, ks_p_value, robust_center_scale
from tests.data import builders


def test_row_hash_canonical_encoding():
    rows = np.array(
        [[0.0, 1.0, np.nan], [-0.0, 1.0, float("nan")], [0.0, 1.0, 2.0], [1.0, 0.0, np.nan]]
    )
    hashes = row_hashes(np.asfortranarray(rows))
    assert hashes[0] == hashes[1]  # -0.0 is 0.0, every NaN is one NaN
    assert len({int(h) for h in hashes[1:]}) == 3  # column order matters
    ints = row_hashes(np.array([[1, 2, 3]], dtype=np.int64).astype(np.float64))
    assert ints[0] == row_hashes(np.array([[1.0, 2.0, 3.0]]))[0]


def test_row_hashes_of_many_distinct_rows_do_not_collide():
    x = np.random.default_rng(0).integers(0, 3, size=(200_000, 12)).astype(np.float64)
    distinct = len(np.unique(x, axis=0))
    assert len(np.unique(row_hashes(x))) == distinct


def test_perceptual_hash_survives_noise_and_brightness_but_not_another_image():
    images, _ = builders.dataset("digits")
    first, other = (builders.digit_image(images[i].reshape(8, 8)) for i in (0, 10))
    rng = np.random.default_rng(0)
    variants = [
        first,
        builders.near_copy(first, rng, "noise"),
        builders.near_copy(first, rng, "brighter"),
        first.resize((64, 64)).resize((32, 32), Image.Resampling.BOX),
        other,
    ]
    hashes = perceptual_hashes(np.stack([np.asarray(v, dtype=np.float64) for v in variants]))
    distances, where = nearest_hamming(hashes[1:], hashes[:1])
    assert distances[:3].max() <= 2 and distances[3] > 10
    assert (where == 0).all()


def test_nearest_hamming_inside_one_list_looks_only_backwards():
    hashes = np.array([0b1111, 0b1110, 0b0000_1111_0000, 0b1111], dtype=np.uint64)
    distances, where = nearest_hamming(hashes, hashes, exclude_self=True)
    assert distances[0] == 65 and where[0] == -1  # nothing before the first
    assert (distances[1], where[1]) == (1, 0)
    assert (distances[3], where[3]) == (0, 0)


def test_confident_joint_recovers_a_known_noise_rate():
    rng = np.random.default_rng(0)
    true = rng.integers(0, 3, 3000)
    given = true.copy()
    flip = rng.random(3000) < 0.2
    given[flip] = (true[flip] + 1) % 3
    probabilities = np.full((3000, 3), 0.05)
    probabilities[np.arange(3000), true] = 0.9  # a model that knows the true classes
    joint, confident, thresholds = confident_joint(given, probabilities)
    assert 1 - np.trace(joint) == pytest.approx(flip.mean(), abs=0.01)
    assert ((confident != given) == flip).mean() > 0.99
    assert thresholds.shape == (3,)


def test_ks_and_its_p_value_match_scipy():
    rng = np.random.default_rng(1)
    a = np.column_stack([rng.normal(size=400), rng.integers(0, 4, 400)]).astype(float)
    b = np.column_stack([rng.normal(0.3, size=300), rng.integers(0, 5, 300)]).astype(float)
    ours, n1, n2 = ks_statistics(a, b)
    for j in range(2):
        reference = stats.ks_2samp(a[:, j], b[:, j], method="asymp")
        assert ours[j] == pytest.approx(
            reference.statistic
        )  # Stephens' small-sample correction: within 15%
        assert ks_p_value(ours[j], int(n1[j]), int(n2[j])) == pytest.approx(
            reference.pvalue, rel=0.15
        )


@pytest.mark.parametrize(("x", "dof"), [(0.5, 1), (3.0, 2), (10.0, 3), (50.0, 9), (30.0, 30)])
def test_chi2_survival_matches_scipy(x, dof):
    assert chi2_sf(x, dof) == pytest.approx(stats.chi2.sf(x, dof), rel=1e-9)


def test_robust_scale_falls_back_to_the_iqr():
    column = np.r_[np.zeros(60), np.arange(1, 41)].astype(float)[:, None]
    center, scale = robust_center_scale(column)
    assert center[0] == 0.0
    assert scale[0] == pytest.approx((np.percentile(column, 75) - 0) / 1.349)
