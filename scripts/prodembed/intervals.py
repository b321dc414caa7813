"""How sure a number is: intervals for every headline metric and paired tests between models.

- AUC: DeLong's variance (the fast midrank form of Sun & Xu, 2014), O(n log n) and exact for
  ties; a normal 95% interval clipped to [0, 1]. Two models scored on the same pairs are
  compared by the paired DeLong test, whose variance accounts for the correlation of their
  scores: far more sensitive than comparing two separate intervals.
- PR-AUC: a seeded Poisson bootstrap over pairs (no closed form).
- recall@k / NDCG@k: means of per-query values, so a seeded bootstrap over queries, and a
  paired comparison on the queries both models answered.

Across training seeds (``replicates``) the validation pairs stay the same, so their noise does
not average out over replicates while the seeds' does: the variance of a mean difference over
N replicates is (paired within-run variance) + (spread of the per-replicate differences) / N.
:func:`tie` decides on that total.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy.stats import norm

from .walk_kernels import uniform, walk_state

PAIR_METRICS = ("auc_all", "auc_seen", "auc_cold", "pr_auc")
"""Pair metrics that carry an interval (``<key>_lo``/``_hi``, per protocol), besides the
ranking metrics recall@k and NDCG@k."""
LEVEL = 0.95
Z = float(norm.ppf(0.5 + LEVEL / 2))
BOOTSTRAP_PAIRS = 400
"""Resamples for PR-AUC (sorted once, see :func:`pr_auc`)."""
POISSON_CAP = 12
"""A resample weighs each pair by a Poisson(1) count, exact up to this value, which stands for
every larger one (probability 1.3e-10 per pair)."""
_POISSON_CDF = np.cumsum([math.exp(-1) / math.factorial(k) for k in range(POISSON_CAP)])
BOOTSTRAP_QUERIES = 2000
"""Resamples for per-query means: one vectorised gather each, so cheap."""


def _placements(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, ...]:
    """(positives' placements, negatives' placements) with ``scores`` shaped (models, pairs).

    A positive's placement is the share of negatives it outscores (ties count half), a
    negative's the share of positives that outscore it; the AUC is the mean of either. Each
    is in its class's input order, so rows of different models pair up.
    """
    labels = np.asarray(labels).astype(bool)
    rows = [_sorted_placements(labels, row, np.argsort(row)) for row in scores]
    return np.stack([v10 for v10, _ in rows]), np.stack([v01 for _, v01 in rows])


@numba.njit(cache=True, nogil=True)
def _sorted_placements(labels, scores, order):
    """Placements from one ascending sort, walking tie groups with the counts of each class
    below: the midrank formula's values exactly, where ranking the pooled scores and each
    class apart took three sorts."""
    m = labels.sum()
    n = len(labels) - m
    slot = np.empty(len(labels), np.int64)  # each pair's position within its class
    taken = np.zeros(2, np.int64)
    for i in range(len(labels)):
        slot[i] = taken[np.int64(labels[i])]
        taken[np.int64(labels[i])] += 1
    v10, v01 = np.empty(m), np.empty(n)
    pos_below = neg_below = start = 0
    while start < len(order):
        end, pos_tied = start, 0
        while end < len(order) and scores[order[end]] == scores[order[start]]:
            pos_tied += labels[order[end]]
            end += 1
        neg_tied = end - start - pos_tied
        for k in range(start, end):
            i = order[k]
            if labels[i]:
                v10[slot[i]] = (neg_below + 0.5 * neg_tied) / n
            else:
                v01[slot[i]] = 1.0 - (pos_below + 0.5 * pos_tied) / m
        pos_below += pos_tied
        neg_below += neg_tied
        start = end
    return v10, v01


def delong(labels, *scores) -> tuple[np.ndarray, np.ndarray]:
    """AUC of each score vector and their DeLong covariance matrix (models x models).

    Needs both classes and at least two pairs of each for a variance.
    """
    labels = np.asarray(labels)
    matrix = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    v10, v01 = _placements(labels, matrix)
    return v10.mean(axis=1), _covariance(v10, v01)


def _covariance(v10: np.ndarray, v01: np.ndarray) -> np.ndarray:
    """DeLong's covariance matrix of the AUCs from their placements (models x models)."""
    return np.atleast_2d(np.cov(v10)) / v10.shape[1] + np.atleast_2d(np.cov(v01)) / v01.shape[1]


def _defined(labels) -> bool:
    """Both classes with at least two pairs each: an AUC and its variance exist."""
    labels = np.asarray(labels)
    positives = int(labels.sum())
    return positives >= 2 and len(labels) - positives >= 2


def auc(labels, scores) -> tuple[float | None, float | None, float | None]:
    """(AUC, DeLong 95% interval clipped to [0, 1]): the AUC where both classes occur, the
    interval where each has at least two pairs, else None. One rank pass gives both."""
    labels = np.asarray(labels)
    if len(labels) == 0 or labels.min() == labels.max():
        return None, None, None
    v10, v01 = _placements(labels, np.asarray(scores, dtype=np.float64)[None, :])
    estimate = float(v10.mean())
    if not _defined(labels):
        return estimate, None, None
    half = Z * math.sqrt(max(_covariance(v10, v01)[0, 0], 0.0))
    return estimate, max(0.0, estimate - half), min(1.0, estimate + half)


def paired_auc(labels, first, second) -> tuple[float, float] | None:
    """(AUC difference first - second, its variance) on the same pairs; None where undefined."""
    if not _defined(labels):
        return None
    aucs, cov = delong(labels, first, second)
    return float(aucs[0] - aucs[1]), float(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0))


def _percentile(values: np.ndarray) -> tuple[float, float]:
    tail = 100 * (1 - LEVEL) / 2
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return float(lo), float(hi)


def pr_auc(labels, scores, seed: int = 0) -> tuple[float | None, float | None, float | None]:
    """(average precision, seeded percentile-bootstrap 95% interval): sklearn's AP, tied scores
    as one threshold; all None unless each class has at least two pairs.

    The bootstrap is Poisson's: a resample weighs every pair by an independent Poisson(1)
    count, the large-sample equivalent of drawing n pairs with replacement (Hanley &
    MacGibbon, 2006). The pairs are sorted once, and each resample is one compiled pass that
    draws its weights as it walks them (a splitmix64 stream per resample): no positions
    drawn, no counts scattered into memory, which took twice the CPU at Electronics size
    (benchmarks/bench_intervals.py).
    """
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if not _defined(labels):
        return None, None, None
    order, last = by_score(scores)
    positive = labels[order].astype(np.float64)
    estimate = float(weighted_average_precision(positive, last, np.ones((1, len(labels))))[0])
    key = np.uint64(seed % (1 << 63))
    values = _poisson_ap(positive, last, key, BOOTSTRAP_PAIRS)
    return (estimate, *_percentile(values[np.isfinite(values)]))


def by_score(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs' order by descending score (stable) and, in that order, the index of each
    distinct score's last pair: what :func:`weighted_average_precision` takes."""
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    return order, np.flatnonzero(np.r_[ranked[1:] != ranked[:-1], True])


@numba.njit(cache=True, inline="always")
def poisson_weight(state, cdf):
    """Advance the stream; return the new state and a Poisson(1) count by inverse CDF (capped
    at ``len(cdf)``), as a sum of compares: no branch to mispredict."""
    state, u = uniform(state)
    count = 0
    for threshold in cdf:
        count += u >= threshold
    return state, count


@numba.njit(cache=True, nogil=True)
def poisson_weights(n, key, resample) -> np.ndarray:
    """The weights resample ``resample`` of :func:`pr_auc` gives ``n`` sorted pairs."""
    state, out = walk_state(key, np.uint64(resample)), np.empty(n)
    for j in range(n):
        state, out[j] = poisson_weight(state, _POISSON_CDF)
    return out


@numba.njit(cache=True, nogil=True)
def _poisson_ap(positive, last, key, resamples) -> np.ndarray:
    """AP of each Poisson resample of the sorted pairs: :func:`weighted_average_precision` on
    weights drawn in the same pass."""
    out = np.empty(resamples)
    for r in range(resamples):
        state = walk_state(key, np.uint64(r))
        tp = fp = before = ap = 0.0
        j = 0
        for end in last:
            while j <= end:
                state, w = poisson_weight(state, _POISSON_CDF)
                tp += w * positive[j]
                fp += w * (1.0 - positive[j])
                j += 1
            ap += (tp - before) * tp / max(tp + fp, 1.0)
            before = tp
        out[r] = ap / tp if tp > 0 and fp > 0 else np.nan
    return out


@numba.njit(cache=True, nogil=True)
def weighted_average_precision(positive, last, weights) -> np.ndarray:
    """AP per row of ``weights`` (rows, pairs) for pairs sorted by descending score.

    ``positive``: 1.0 for a positive pair; ``last``: index of each distinct score's last pair.
    AP = sum over thresholds of (recall step) x precision, as sklearn computes it; NaN for a
    row without positives or without negatives.
    """
    out = np.empty(weights.shape[0])
    for r in range(weights.shape[0]):
        out[r] = _weighted_ap(positive, last, weights[r])
    return out


@numba.njit(cache=True, nogil=True)
def _weighted_ap(positive, last, weights) -> float:
    """One pass over the sorted pairs: (tp step) x precision at each distinct score, / tp."""
    tp = fp = before = ap = 0.0
    j = 0
    for end in last:
        while j <= end:
            if positive[j] > 0:
                tp += weights[j]
            else:
                fp += weights[j]
            j += 1
        if tp > before:
            ap += (tp - before) * tp / (tp + fp)
            before = tp
    return ap / tp if tp > 0 and fp > 0 else np.nan


def mean_interval(values, seed: int = 0) -> tuple[float | None, float | None]:
    """Seeded percentile-bootstrap 95% interval of a mean of per-query values."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return None, None
    rng = np.random.default_rng(seed)
    means = np.empty(BOOTSTRAP_QUERIES)
    for start in range(0, BOOTSTRAP_QUERIES, 250):  # bounds the (resamples, n) gather
        picks = rng.integers(0, len(values), (min(250, BOOTSTRAP_QUERIES - start), len(values)))
        means[start : start + len(picks)] = values[picks].mean(axis=1)
    return _percentile(means)


def paired_mean(first, second) -> tuple[float, float] | None:
    """(mean difference, its variance) of per-query values of two models on the same queries."""
    diff = np.asarray(first, dtype=np.float64) - np.asarray(second, dtype=np.float64)
    if len(diff) < 2:
        return None
    return float(diff.mean()), float(diff.var(ddof=1) / len(diff))


def tie(differences, variances) -> tuple[bool, float]:
    """Whether two models tie, and the two-sided p-value, from per-replicate paired results.

    ``differences`` / ``variances``: one paired difference and its within-run variance per
    replicate. The mean difference's variance is the mean within-run variance (the pairs are
    shared, so it does not shrink with replicates) plus the replicates' spread over N.
    """
    diffs = np.asarray(differences, dtype=np.float64)
    variance = float(np.mean(variances))
    if len(diffs) > 1:
        variance += float(diffs.var(ddof=1)) / len(diffs)
    mean = float(diffs.mean())
    if variance <= 0.0:
        return mean == 0.0, 1.0 if mean == 0.0 else 0.0
    p = float(2 * norm.sf(abs(mean) / math.sqrt(variance)))
    return p >= 1 - LEVEL, p
