import numpy as np
import pandas as pd
import pytest
from prodembed.split import SplitError, split_edges
from sklearn.metrics import roc_auc_score


def random_graph(n_nodes=5000, n_edges=15000, seed=1):
    """Power-law-ish random graph so degree matching has something to match."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_nodes + 1) ** 0.6
    p /= p.sum()
    u, v = rng.choice(n_nodes, (2, n_edges * 2), p=p)
    keep = u != v
    lo, hi = np.minimum(u, v)[keep], np.maximum(u, v)[keep]
    pairs = np.unique(lo * n_nodes + hi)[:n_edges]
    names = np.array([f"P{i:04d}" for i in range(n_nodes)], dtype=object)
    a, b = names[pairs // n_nodes], names[pairs % n_nodes]
    return pd.DataFrame({"a": a, "b": b, "weight": np.ones(len(a))})


def keys(frame):
    return set(zip(frame["a"], frame["b"], strict=True))


@pytest.fixture(scope="module")
def split():
    edges = random_graph()
    return edges, *split_edges(edges, val_fraction=1 / 3, seed=7)


def test_counts_and_disjointness(split):
    edges, train, val_sets, report = split
    n_val = round(len(edges) / 3)
    assert len(train) == len(edges) - n_val == report["train_edges"]
    for pairs in val_sets.values():
        pos, neg = pairs[pairs.label == 1], pairs[pairs.label == 0]
        assert len(pos) == len(neg) == n_val
        assert not keys(pos) & keys(train)  # no validation positive in training
        assert keys(pos) | keys(train) == keys(edges)
        assert not keys(neg) & keys(edges)  # negatives are non-edges
        assert len(keys(neg)) == n_val  # and distinct
        assert (neg.a < neg.b).all() and (neg.a != neg.b).all()
        val_products = set(pos.a) | set(pos.b)
        assert set(neg.a) | set(neg.b) <= val_products
    assert keys(val_sets["uniform"][val_sets["uniform"].label == 1]) == keys(
        val_sets["degree_matched"][val_sets["degree_matched"].label == 1]
    )


def test_degree_matched_negatives_match_positive_degrees(split):
    _, train, val_sets, _ = split
    degree = pd.concat([train.a, train.b]).value_counts()

    def mean_log_degree(frame):
        ends = pd.concat([frame.a, frame.b])
        return np.log1p(ends.map(degree).fillna(0)).mean()

    def popularity_auc(frame):
        score = sum(np.log1p(frame[end].map(degree).fillna(0)) for end in ("a", "b"))
        return roc_auc_score(frame.label, score)

    dm, uni = val_sets["degree_matched"], val_sets["uniform"]
    pos = mean_log_degree(dm[dm.label == 1])
    assert abs(mean_log_degree(dm[dm.label == 0]) - pos) < 0.05 * pos
    assert mean_log_degree(uni[uni.label == 0]) < 0.8 * pos  # uniform is what degree games
    assert abs(popularity_auc(dm) - 0.5) < 0.03
    assert popularity_auc(uni) > 0.85


def test_same_seed_same_split_other_seed_differs():
    edges = random_graph()
    one = split_edges(edges, val_fraction=0.3, seed=3)
    two = split_edges(edges, val_fraction=0.3, seed=3)
    other = split_edges(edges, val_fraction=0.3, seed=4)
    pd.testing.assert_frame_equal(one[0], two[0])
    for protocol in one[1]:
        pd.testing.assert_frame_equal(one[1][protocol], two[1][protocol])
    assert not one[0].equals(other[0])


def test_bad_fraction_and_complete_graph_fail_clearly():
    edges = random_graph(n_nodes=50, n_edges=200)
    with pytest.raises(SplitError, match="val_fraction"):
        split_edges(edges, val_fraction=1.0, seed=0)
    full = pd.DataFrame({"a": ["A", "A", "B"], "b": ["B", "C", "C"], "weight": [1.0] * 3})
    with pytest.raises(SplitError, match="negatives"):
        split_edges(full, val_fraction=0.67, seed=0)
