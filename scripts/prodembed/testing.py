"""Helpers for the tests and the benchmarks, not for the workflow: graphs and vectors with a
planted structure, and the seen-only AUC that says how much of it a model recovered.

Tests and benchmarks share them so that a benchmark measures quality on the graphs the tests
check, and neither imports the other's files.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import roc_auc_score


def planted_graph(n=600, groups=20, avg_deg=8, p_in=0.9, seed=0):
    """Undirected edges (a < b), mostly within ``groups`` planted groups, power-law degrees."""
    rng = np.random.default_rng(seed)
    group = rng.integers(groups, size=n)
    w = rng.pareto(1.5, size=n) + 1.0
    m = n * avg_deg // 2
    a = rng.choice(n, size=m, p=w / w.sum())
    within = rng.random(m) < p_in
    b = rng.choice(n, size=m, p=w / w.sum())
    for g in range(groups):
        members = np.flatnonzero(group == g)
        sel = np.flatnonzero(within & (group[a] == g))
        b[sel] = rng.choice(members, size=len(sel), p=w[members] / w[members].sum())
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return np.unique(np.stack([lo, hi], 1)[lo != hi], axis=0), group


def split_edges(edges, frac=1 / 3, seed=0):
    """(training, held-out) edges, each edge held out with probability ``frac``."""
    held = np.random.default_rng(seed).random(len(edges)) < frac
    return edges[~held], edges[held]


def random_walks(edges, n, num_walks=10, length=10, seed=0):
    """Uniform first-order walks from every node with edges (int32, like the walks stage)."""
    rng = np.random.default_rng(seed)
    src = np.r_[edges[:, 0], edges[:, 1]]
    dst = np.r_[edges[:, 1], edges[:, 0]][np.argsort(src, kind="stable")]
    indptr = np.searchsorted(np.sort(src), np.arange(n + 1))
    deg = np.diff(indptr)
    cur = np.repeat(np.flatnonzero(deg), num_walks)
    walks = np.empty((len(cur), length), dtype=np.int32)
    walks[:, 0] = cur
    for t in range(1, length):
        cur = dst[indptr[cur] + (rng.random(len(cur)) * deg[cur]).astype(np.int64)]
        walks[:, t] = cur
    return walks


def non_edges(edges, candidates, count, seed=1):
    """``count`` random pairs of distinct ``candidates`` that are not in ``edges``.

    Uniform ordered pairs drawn in bulk, rejected when equal or an edge (either direction),
    so a million pairs cost seconds rather than a Python loop's minutes.
    """
    rng = np.random.default_rng(seed)
    n = int(max(edges.max(), candidates.max())) + 1
    known = np.sort(np.r_[edges[:, 0] * n + edges[:, 1], edges[:, 1] * n + edges[:, 0]])
    out = np.empty((0, 2), dtype=np.int64)
    while len(out) < count:
        x, y = rng.choice(candidates, (2, 2 * (count - len(out)) + 16))
        key = x * n + y
        hit = np.minimum(np.searchsorted(known, key), len(known) - 1)
        keep = (x != y) & (known[hit] != key)
        out = np.r_[out, np.stack([x[keep], y[keep]], 1)]
    return out[:count]


def seen_auc(score, train, held, n):
    """AUC of held-out edges vs random non-edges, both among nodes with training edges."""
    seen = np.zeros(n, bool)
    seen[train.ravel()] = True
    pos = held[seen[held[:, 0]] & seen[held[:, 1]]]
    neg = non_edges(np.r_[train, held], np.flatnonzero(seen), len(pos))
    pairs = np.r_[pos, neg]
    return roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], score(*pairs.T))


def cosine(emb):
    """The skip-gram families' pair score, for ``seen_auc``."""
    unit = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    return lambda a, b: (unit[a] * unit[b]).sum(1)


def dot(emb, bias=None):
    """The MF score before the sigmoid (monotone, so the same AUC)."""
    if bias is None:
        return lambda a, b: (emb[a] * emb[b]).sum(1)
    return lambda a, b: (emb[a] * emb[b]).sum(1) + bias[a] + bias[b]


def clustered_vectors(n: int, dim: int, groups: int, seed: int = 0, noise: float = 0.4):
    """Nested clusters like trained product vectors: heavy-tailed groups (categories) of
    10-product subgroups (bought together), plus isotropic noise; rows shuffled."""
    rng = np.random.default_rng(seed)
    weights = rng.pareto(1.0, groups) + 1.0
    group = np.sort(rng.choice(groups, n, p=weights / weights.sum()))
    centres = rng.standard_normal((groups, dim))
    offsets = 0.6 * rng.standard_normal((n // 10 + 1, dim))
    x = centres[group] + offsets[np.arange(n) // 10] + noise * rng.standard_normal((n, dim))
    return (x[rng.permutation(n)] / math.sqrt(dim)).astype(np.float32)
