"""Intervals and paired tests: DeLong by hand, coverage of a known AUC, the tie rule."""

from __future__ import annotations

import numpy as np
import pytest
from prodembed import intervals
from scipy.stats import norm
from sklearn.metrics import average_precision_score, roc_auc_score


def test_delong_by_hand():
    # Positives 0.9, 0.6, 0.4; negatives 0.5, 0.4, 0.1 (one tie, 0.4 vs 0.4).
    labels = np.array([1, 1, 1, 0, 0, 0])
    scores = np.array([0.9, 0.6, 0.4, 0.5, 0.4, 0.1])
    # Placements: positives beat 3, 3, 1.5 of the 3 negatives -> V10 = 1, 1, 0.5;
    # negatives are beaten by 2, 2.5, 3 of the 3 positives -> V01 = 2/3, 5/6, 1.
    # AUC = mean V10 = 5/6; var = var(V10)/3 + var(V01)/3 with ddof 1:
    # var(V10) = 1/12, var(V01) = 1/36 -> (1/12 + 1/36) / 3 = 1/27.
    aucs, cov = intervals.delong(labels, scores)
    assert aucs[0] == pytest.approx(5 / 6)
    assert cov[0, 0] == pytest.approx(1 / 27)
    estimate, lo, hi = intervals.auc(labels, scores)
    half = norm.ppf(0.975) * np.sqrt(1 / 27)
    assert (estimate, lo, hi) == pytest.approx((5 / 6, 5 / 6 - half, 1.0))


def test_delong_matches_brute_force_placements_with_ties():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 400)
    scores = np.round(rng.normal(size=400) + labels, 1)  # many ties
    pos, neg = scores[labels == 1], scores[labels == 0]
    greater = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = greater.mean(1), greater.mean(0)
    expected = v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)
    aucs, cov = intervals.delong(labels, scores)
    assert aucs[0] == pytest.approx(roc_auc_score(labels, scores))
    assert cov[0, 0] == pytest.approx(expected)
    placements = intervals._placements(labels, np.stack([scores, -scores]))
    np.testing.assert_allclose(placements[0], [v10, 1 - v10], atol=1e-14)  # one sort per row,
    np.testing.assert_allclose(placements[1], [v01, 1 - v01], atol=1e-14)  # classes in order
    estimate, lo, hi = intervals.auc(labels, scores)
    assert estimate == pytest.approx(roc_auc_score(labels, scores), abs=1e-15)
    assert hi - lo == pytest.approx(2 * norm.ppf(0.975) * np.sqrt(expected))


def binormal(rng, n, shift):
    """Scores with true AUC Phi(shift / sqrt 2): positives N(shift, 1), negatives N(0, 1)."""
    labels = np.repeat([1, 0], n)
    return labels, rng.normal(size=2 * n) + shift * labels


def test_auc_interval_covers_the_true_auc_at_the_nominal_rate():
    rng = np.random.default_rng(0)
    shift = 1.0
    true_auc = norm.cdf(shift / np.sqrt(2))
    hits = []
    for _ in range(400):
        labels, scores = binormal(rng, 150, shift)
        _, lo, hi = intervals.auc(labels, scores)
        hits.append(lo <= true_auc <= hi)
    # 400 draws: the rate's standard error is ~0.011 at 0.95.
    assert 0.92 <= np.mean(hits) <= 0.98


def test_bootstrap_mean_interval_covers_at_the_nominal_rate():
    rng = np.random.default_rng(1)
    hits = []
    for i in range(300):
        lo, hi = intervals.mean_interval(rng.random(300) < 0.3, seed=i)
        hits.append(lo <= 0.3 <= hi)
    assert 0.91 <= np.mean(hits) <= 0.98


def test_pr_auc_bootstrap_covers_the_true_average_precision():
    """The pair bootstrap is a little conservative for AP (duplicated pairs form tied blocks):
    its width matches the spread of AP across samples within a few tens of percent, and it
    covers the population AP at least at the nominal rate."""
    rng = np.random.default_rng(7)
    true_ap = average_precision_score(*binormal(rng, 500_000, 1.0))
    estimates, widths, hits = [], [], []
    for i in range(200):
        labels, scores = binormal(rng, 300, 1.0)
        estimate, lo, hi = intervals.pr_auc(labels, scores, seed=i)
        assert estimate == pytest.approx(average_precision_score(labels, scores), abs=1e-12)
        estimates.append(estimate)
        widths.append(hi - lo)
        hits.append(lo <= true_ap <= hi)
    assert np.mean(hits) >= 0.93  # 200 draws: the rate's standard error is ~0.015 at 0.95
    assert 0.95 <= np.mean(widths) / (2 * norm.ppf(0.975) * np.std(estimates)) <= 1.35


def test_intervals_are_seeded_and_undefined_without_both_classes():
    rng = np.random.default_rng(2)
    labels, scores = binormal(rng, 50, 1.0)
    assert intervals.pr_auc(labels, scores, 5) == intervals.pr_auc(labels, scores, 5)
    assert intervals.pr_auc(labels, scores, 5) != intervals.pr_auc(labels, scores, 6)
    _, lo, hi = intervals.pr_auc(labels, scores, 5)
    assert 0 < lo < hi <= 1
    assert intervals.auc(np.ones(5), np.arange(5)) == (None, None, None)
    assert intervals.auc([], []) == (None, None, None)
    assert intervals.auc([1, 0, 0], [3, 2, 1]) == (1.0, None, None)  # one positive: no variance
    assert intervals.pr_auc(np.zeros(5), np.arange(5)) == (None, None, None)
    assert intervals.paired_auc(np.ones(5), np.arange(5), np.arange(5)) is None


def test_poisson_resample_weights_are_poisson_1():
    """Each bootstrap weight is a Poisson(1) count: P(k) = e^-1 / k! within sampling error."""
    weights = intervals.poisson_weights(1_000_000, np.uint64(3), 0)
    assert weights.min() == 0 and weights.max() <= intervals.POISSON_CAP
    frequencies = np.bincount(weights.astype(np.int64), minlength=5)[:5] / len(weights)
    expected = np.exp(-1) / np.array([1, 1, 2, 6, 24])
    assert np.all(np.abs(frequencies - expected) < 4 * np.sqrt(expected / len(weights)))
    assert not np.array_equal(weights, intervals.poisson_weights(1_000_000, np.uint64(3), 1))


@pytest.mark.parametrize("decimals", [None, 1])
def test_each_poisson_resample_is_the_weighted_average_precision_of_its_weights(decimals):
    """The fused pass (weights drawn as it walks the pairs) equals sklearn's AP under the very
    weights :func:`intervals.poisson_weights` reproduces, ties included."""
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 2, 3000)
    scores = rng.normal(size=3000) + labels
    if decimals is not None:
        scores = np.round(scores, decimals)
    order, last = intervals.by_score(scores)
    fused = intervals._poisson_ap(labels[order].astype(float), last, np.uint64(11), 3)
    for r in range(3):
        weights = np.empty(3000)
        weights[order] = intervals.poisson_weights(3000, np.uint64(11), r)
        expected = average_precision_score(labels, scores, sample_weight=weights)
        assert fused[r] == pytest.approx(expected, rel=1e-12)


def test_paired_test_finds_a_small_real_difference_that_separate_intervals_miss():
    rng = np.random.default_rng(4)
    labels, base = binormal(rng, 3000, 1.0)
    noise = rng.normal(size=len(base))
    better, worse = base + 0.3 * noise, base + 0.45 * noise  # worse: a little more noise
    diff, var = intervals.paired_auc(labels, better, worse)
    assert diff == pytest.approx(roc_auc_score(labels, better) - roc_auc_score(labels, worse))
    is_tie, p = intervals.tie([diff], [var])
    assert not is_tie and p < 0.01
    _, _, hi_w = intervals.auc(labels, worse)
    _, lo_b, _ = intervals.auc(labels, better)
    assert lo_b < hi_w  # the separate intervals overlap


def test_identical_models_tie():
    rng = np.random.default_rng(5)
    labels, scores = binormal(rng, 100, 1.0)
    diff, var = intervals.paired_auc(labels, scores, scores)
    assert (diff, var) == (0.0, 0.0)
    assert intervals.tie([diff], [var]) == (True, 1.0)


def test_replicate_spread_widens_the_tie_rule():
    # The same within-run variance; replicates that disagree make the difference a tie.
    assert not intervals.tie([0.01, 0.01, 0.01], [1e-5] * 3)[0]
    assert intervals.tie([0.04, -0.02, 0.01], [1e-5] * 3)[0]
    diff, var = intervals.paired_mean([1, 1, 0, 1], [0, 1, 0, 0])
    assert diff == 0.5 and var == pytest.approx(np.var([1, 0, 0, 1], ddof=1) / 4)


@pytest.mark.parametrize("decimals", [None, 1])
def test_weighted_average_precision_is_sklearns(decimals):
    """The bootstrap's sort-once AP equals sklearn's, ties and resampling weights included."""
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 2, 2000)
    scores = rng.normal(size=2000) + labels
    if decimals is not None:
        scores = np.round(scores, decimals)
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    last = np.flatnonzero(np.r_[ranked[1:] != ranked[:-1], True])
    weights = rng.integers(0, 3, (3, 2000))
    weights[0] = 1
    got = intervals.weighted_average_precision(labels[order].astype(float), last, weights[:, order])
    for row, value in zip(weights, got, strict=True):
        assert value == pytest.approx(average_precision_score(labels, scores, sample_weight=row))
