"""Evaluation policy: exact pair scores, the neutral cold-start rule, seen-only AUC, ranking."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from prodembed import evaluate
from prodembed.artifacts import ModelArtifacts
from prodembed.evaluate import evaluate_model, ranking_metrics
from prodembed.scoring import score_pairs
from scipy.special import expit


def model_of(vectors: dict, similarity="cosine", bias=None, global_bias=0.0) -> ModelArtifacts:
    asins = np.array(list(vectors), dtype=object)
    emb = np.array(list(vectors.values()), dtype=np.float32).reshape(len(asins), -1)
    return ModelArtifacts(emb, asins, similarity, bias=bias, global_bias=global_bias)


def pairs(rows, columns=("a", "b", "label")) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def test_cosine_scores_exact():
    model = model_of({"A": [1, 0], "B": [1, 1], "C": [0, 2]})
    scores, covered = score_pairs(model, ["A", "A", "B", "C"], ["B", "C", "C", "A"])
    r = 1 / math.sqrt(2)
    np.testing.assert_allclose(scores, [r, 0.0, r, 0.0], atol=1e-12)
    assert covered.all() and scores.dtype == np.float64


def test_dot_scores_with_bias_exact():
    model = model_of(
        {"A": [1, 0], "B": [0, 1], "C": [1, 1]},
        similarity="dot",
        bias=np.array([0.5, -0.5, 0.0]),
        global_bias=0.25,
    )
    scores, _ = score_pairs(model, ["A", "A", "B"], ["B", "C", "C"])
    np.testing.assert_allclose(scores, expit([0.25, 1.75, 0.75]), atol=1e-12)


def test_zero_dim_degree_model_is_bias_only():
    degree = np.array([3.0, 1.0, 2.0])
    model = model_of({"A": [], "B": [], "C": []}, similarity="dot", bias=np.log1p(degree))
    assert model.embeddings.shape == (3, 0)
    scores, covered = score_pairs(model, ["A", "B"], ["B", "C"])
    expected = expit([np.log1p(3) + np.log1p(1), np.log1p(1) + np.log1p(2)])
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    assert covered.all()


def test_uncovered_pairs_get_the_median_of_covered_scores():
    logit = {"A": 0.1, "B": 0.2, "C": 0.4, "D": 0.8}
    model = model_of({key: [] for key in logit}, "dot", bias=np.array(list(logit.values())))
    a = ["A", "A", "B", "C", "A", "X"]
    b = ["B", "C", "D", "D", "Y", "Z"]
    scores, covered = score_pairs(model, a, b)
    # covered logits 0.3, 0.5, 1.0, 1.2 -> median of the four sigmoids: mean of the middle two
    neutral = (expit(0.5) + expit(1.0)) / 2
    assert covered.tolist() == [True, True, True, True, False, False]
    np.testing.assert_allclose(scores[4:], [neutral, neutral], atol=1e-7)
    np.testing.assert_allclose(scores[:4], expit([0.3, 0.5, 1.0, 1.2]), atol=1e-7)


def test_nothing_covered_gives_a_constant():
    scores, covered = score_pairs(model_of({"A": [1.0]}), ["X", "Y"], ["Z", "A"])
    assert not covered.any() and scores.tolist() == [0.0, 0.0]


def test_auc_seen_uses_only_pairs_seen_in_training():
    # E has a vector (as a side-info model would give it) but no training edge: not seen.
    bias = {"A": 2.0, "B": 2.0, "C": -2.0, "D": -2.0, "E": 3.0}
    model = model_of({key: [] for key in bias}, "dot", bias=np.array(list(bias.values())))
    val = pairs([("A", "B", 1), ("C", "D", 0), ("A", "E", 0), ("C", "E", 1)])
    train = pairs([("A", "C", 1.0), ("B", "D", 1.0)], ("a", "b", "weight"))
    m = evaluate_model(model, val, val_pairs_dm=None, train_edges=train, k=2)
    assert m["auc_seen"] == 1.0
    assert m["auc_all"] == 0.5  # positives 4, 1 vs negatives 5, -4: two of four orders right
    assert m["auc_cold"] == 0.0  # cold pairs: the positive (1) scores below the negative (5)
    assert (m["n_pairs"], m["n_seen_pairs"], m["coverage"]) == (4, 2, 1.0)
    assert m["auc_all_dm"] is None and m["auc_seen_dm"] is None and m["pr_auc_dm"] is None


def test_coverage_by_label():
    model = model_of({"A": [1.0], "B": [1.0], "C": [-1.0]})
    val = pairs([("A", "B", 1), ("A", "X", 1), ("B", "C", 0), ("X", "Y", 0)])
    train = pairs([("A", "B", 1.0)], ("a", "b", "weight"))
    m = evaluate_model(model, val, val_pairs_dm=val, train_edges=train)
    assert (m["coverage"], m["coverage_pos"], m["coverage_neg"]) == (0.5, 0.5, 0.5)
    assert m["coverage_dm"] == 0.5 and m["n_pairs_dm"] == 4


def clusters(n_clusters=3) -> tuple[ModelArtifacts, pd.DataFrame, pd.DataFrame]:
    """Products i0, i1, i2 share direction e_i; train (i0, i2), (i1, i2); hold out (i0, i1)."""
    vectors = {f"{i}{j}": np.eye(n_clusters)[i] for i in range(n_clusters) for j in range(3)}
    val, train = [], []
    for i in range(n_clusters):
        val += [(f"{i}0", f"{i}1", 1), (f"{i}1", f"{(i + 1) % n_clusters}2", 0)]
        train += [(f"{i}0", f"{i}2", 1.0), (f"{i}1", f"{i}2", 1.0)]
    return model_of(vectors), pairs(val), pairs(train, ("a", "b", "weight"))


def test_perfect_model_scores_one_everywhere():
    model, val, train = clusters()
    m = evaluate_model(model, val, val_pairs_dm=val, train_edges=train, k=1)
    for key in ("auc_all", "auc_seen", "auc_all_dm", "auc_seen_dm", "pr_auc", "coverage"):
        assert m[key] == 1.0, key
    assert (m["recall_at_1"], m["ndcg_at_1"], m["n_ranking_queries"]) == (1.0, 1.0, 3)


RANKED = {"A": [1, 0], "B": [4, 1], "C": [2, 1], "D": [1, 1], "E": [0, 1]}
"""Cosine to A: B 0.970 > C 0.894 > D 0.707 > E 0."""


def test_ranking_excludes_self_and_training_neighbours():
    model = model_of(RANKED)
    val = pairs([("A", "D", 1)])
    unrelated = pairs([("B", "E", 1.0)], ("a", "b", "weight"))
    m = ranking_metrics(model, val, unrelated, k=3)  # D is rank 2 behind B and C
    assert (m["recall_at_3"], m["ndcg_at_3"]) == (1.0, 0.5)
    assert ranking_metrics(model, val, unrelated, k=2)["recall_at_2"] == 0.0
    known = pairs([("A", "B", 1.0), ("A", "C", 1.0)], ("a", "b", "weight"))
    m = ranking_metrics(model, val, known, k=1)  # B, C known: D becomes rank 0
    assert (m["recall_at_1"], m["ndcg_at_1"]) == (1.0, 1.0)


def test_ndcg_exact_and_uncovered_targets_are_misses():
    model = model_of(RANKED)
    val = pairs([("A", "C", 1), ("A", "E", 1), ("A", "Z", 1), ("Q", "B", 1), ("A", "B", 0)])
    m = ranking_metrics(model, val, pairs([], ("a", "b", "weight")), k=3)
    # C: rank 1; E: rank 3 (miss at k=3); Z has no vector (miss); Q is no query at all.
    assert m["n_ranking_queries"] == 3
    assert m["recall_at_3"] == pytest.approx(1 / 3, abs=1e-12)
    assert m["ndcg_at_3"] == pytest.approx((1 / math.log2(3)) / 3, abs=1e-12)


def test_ties_count_at_their_expected_rank():
    model = model_of({key: [] for key in "ABCDEF"}, "dot", bias=np.zeros(6))
    m = ranking_metrics(model, pairs([("A", "B", 1)]), pairs([], ("a", "b", "weight")), k=2)
    # Five candidates all tied: B's rank is uniform on 0..4.
    assert m["recall_at_2"] == pytest.approx(2 / 5, abs=1e-12)
    assert m["ndcg_at_2"] == pytest.approx((1 + 1 / math.log2(3)) / 5, abs=1e-12)


def brute_force_ranks(model, val, train, k):
    """Reference: per-query Python loop over float64 cosine scores."""
    emb = model.embeddings.astype(np.float64)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    row = {a: i for i, a in enumerate(model.asins)}
    hits, gains = [], []
    for a, b in val.loc[val.label == 1, ["a", "b"]].itertuples(index=False):
        known = {a} | set(train.b[train.a == a]) | set(train.a[train.b == a])
        scores = emb @ emb[row[a]]
        others = [scores[j] for x, j in row.items() if x not in known and x != b]
        rank = sum(s > scores[row[b]] for s in others)
        hits.append(rank < k)
        gains.append(1 / math.log2(rank + 2) if rank < k else 0.0)
    return np.mean(hits), np.mean(gains)


def test_ranking_matches_brute_force_at_any_block_size(monkeypatch, torch_device):
    rng = np.random.default_rng(3)
    names = [f"p{i:02d}" for i in range(40)]
    model = model_of(dict(zip(names, rng.normal(size=(40, 6)), strict=True)))
    edges = {tuple(sorted(rng.choice(names, 2, replace=False))) for _ in range(120)}
    edges = sorted(edges)
    val = pairs([(a, b, 1) for a, b in edges[:30]])
    train = pairs([(a, b, 1.0) for a, b in edges[30:]], ("a", "b", "weight"))
    recall, ndcg = brute_force_ranks(model, val, train, k=5)
    for block in (40 * 1, 40 * 7, evaluate.BLOCK_ELEMENTS):
        monkeypatch.setattr(evaluate, "BLOCK_ELEMENTS", block)
        m = ranking_metrics(model, val, train, k=5, device=torch_device)
        assert m["recall_at_5"] == pytest.approx(recall, abs=1e-12)
        assert m["ndcg_at_5"] == pytest.approx(ndcg, abs=1e-12)


def test_ranking_sample_is_seeded_and_bounded():
    model, val, train = clusters(10)
    first = ranking_metrics(model, val, train, k=1, ranking_sample=4, seed=7)
    assert first["n_ranking_queries"] == 4
    assert first == ranking_metrics(model, val, train, k=1, ranking_sample=4, seed=7)


def test_metrics_keys_and_json_types():
    model, val, train = clusters()
    m = evaluate_model(model, val, val_pairs_dm=val, train_edges=train)
    expected = {
        *(
            f"{key}{suffix}"
            for key in (
                "auc_all",
                "auc_seen",
                "auc_cold",
                "pr_auc",
                "coverage",
                "coverage_pos",
                "coverage_neg",
                "n_pairs",
                "n_seen_pairs",
            )
            for suffix in ("", "_dm")
        ),
        "recall_at_10",
        "ndcg_at_10",
        "n_ranking_queries",
    }
    keys = ("auc_all", "auc_seen", "auc_cold", "pr_auc")
    with_bounds = [f"{key}{suffix}" for key in keys for suffix in ("", "_dm")]
    with_bounds += ["recall_at_10", "ndcg_at_10"]
    expected |= {f"{key}_{end}" for key in with_bounds for end in ("lo", "hi")}
    assert set(m) == expected
    for key in with_bounds:
        if m[key] is not None:
            assert m[f"{key}_lo"] <= m[key] <= m[f"{key}_hi"], key
    # Every pair is seen here, so the cold AUC is undefined (None); everything else is a number.
    assert m["auc_cold"] is None and m["auc_cold_dm"] is None
    assert all(type(v) in (float, int) for k, v in m.items() if not k.startswith("auc_cold"))
    assert m["auc_cold_lo"] is None and m["auc_cold_dm_hi"] is None
