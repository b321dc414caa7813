import pyarrow as pa
import pytest
from prodembed.edges import build_edges

WEIGHTS = {"bought_together": 1.2, "also_bought": 1.0, "also_viewed": 0.5}


def products(rows):
    lists = ("also_bought", "also_viewed", "bought_together", "buy_after_viewing")
    return pa.table(
        {
            "asin": [r["asin"] for r in rows],
            **{
                rel: pa.array([r.get(rel, []) for r in rows], pa.list_(pa.string()))
                for rel in lists
            },
        }
    )


def as_dict(edges):
    return {(a, b): round(w, 10) for a, b, w in edges.itertuples(index=False)}


def test_weights_summed_over_relations_duplicates_and_directions():
    table = products(
        [
            # P1 lists P2 twice (also_bought and also_viewed) and P3 as bought together
            {
                "asin": "P1",
                "also_bought": ["P2", "P3"],
                "also_viewed": ["P2"],
                "bought_together": ["P3"],
            },
            # P2 lists P1 back (other direction) and itself (self-pair, dropped)
            {"asin": "P2", "also_bought": ["P1", "P2", "X9"]},
            # too few also_bought entries: not a source
            {"asin": "P3", "also_bought": ["P1"], "also_viewed": ["P4"]},
        ]
    )
    edges, stats = build_edges(table, WEIGHTS, min_also_bought=2)
    assert as_dict(edges) == {
        ("P1", "P2"): 1.0 + 0.5 + 1.0,
        ("P1", "P3"): 1.0 + 1.2,
        ("P2", "X9"): 1.0,
    }
    assert stats["source_records"] == 2
    assert stats["self_pairs_dropped"] == 1
    assert (edges["a"] < edges["b"]).all()


def test_min_also_bought_zero_uses_every_record_and_zero_weight_relations_are_skipped():
    table = products([{"asin": "B", "also_viewed": ["A"]}, {"asin": "C", "also_bought": ["A"]}])
    edges, _ = build_edges(table, {"also_bought": 1.0, "also_viewed": 0.0}, min_also_bought=0)
    assert as_dict(edges) == {("A", "C"): 1.0}


def test_unknown_relation_is_rejected():
    with pytest.raises(ValueError, match="also_liked"):
        build_edges(products([{"asin": "A"}]), {"also_liked": 1.0})
