"""The examples page: degree buckets, seeded picks, held-out and cold marks, missing records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from prodembed import examples
from prodembed.examples import (
    COLD,
    HELD_OUT,
    NO_RECORD,
    NO_VECTOR,
    build_pages,
    degree_buckets,
    example_table,
    pick_queries,
    product_info,
    sections,
    training_degree,
)
from prodembed.runtime import write_parquet

# Degrees A 3, B C D E G H 2, F 1; X has a record but no training edge; Z and H have no record.
TRAIN = pd.DataFrame(
    [("A", "B"), ("A", "C"), ("A", "D"), ("B", "C"), ("D", "E"), ("F", "G"), ("G", "H")]
    + [("E", "H")],
    columns=["a", "b"],
).assign(weight=1.0)
VAL = pd.DataFrame(
    {"a": ["A", "C", "A", "B"], "b": ["X", "A", "E", "Z"], "label": np.int8([1, 1, 0, 1])}
)
POSITIVES = {frozenset(p) for p in [("A", "X"), ("A", "C"), ("B", "Z")]}
PRODUCTS = pd.DataFrame(
    {
        "asin": list("ABCDEFGX"),
        "title": ["Alpha | cable", "Beta &amp; Co", "Gamma", "", "Epsilon", "Phi", "G" * 80, "Xi"],
        "brand": ["Acme", None, "Acme", "Ore", "Ore", "Ore", "Gee", "Acme"],
        "price": [9.5, np.nan, 1234.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "categories": [["Electronics", "Cables"], [], None, ["Books"], ["Books"], ["Books"]]
        + [["Books", "Poetry"], ["Electronics", "Cables"]],
    }
)


def lists_of(neighbours: dict[str, str]) -> pd.DataFrame:
    """A neighbours.parquet table: each query's neighbours in rank order, scores falling."""
    rows = [
        (query, rank, n, 1.0 - rank / 10)
        for query, ns in neighbours.items()
        for rank, n in enumerate(ns, start=1)
    ]
    return pd.DataFrame(rows, columns=["asin", "rank", "neighbour", "score"])


EVERY = {q: "ABCDEFGH".replace(q, "")[:6] for q in "ABCDEFGH"}
LISTS = {
    "torch_w2v_side_info": lists_of({**EVERY, "A": "XCZBDE", "B": "ZACDEF", "X": "ABCDEF"}),
    "mf": lists_of({q: ns for q, ns in EVERY.items() if q != "F"}),
    "degree": lists_of(EVERY),
}
DEGREE = training_degree(TRAIN)


def test_training_degree_counts_both_ends():
    assert DEGREE.to_dict() == {"A": 3, "B": 2, "C": 2, "D": 2, "E": 2, "G": 2, "H": 2, "F": 1}


def test_buckets_are_contiguous_degree_ranges_of_the_right_sizes():
    degree = pd.Series(np.arange(40, 0, -1), index=[f"P{i:02d}" for i in range(40)])
    frame = degree_buckets(degree.sample(frac=1.0, random_state=0))
    assert frame["bucket"].value_counts().to_dict() == {"popular": 4, "middle": 16, "tail": 20}
    by_bucket = frame.groupby("bucket", observed=True)["degree"]
    assert by_bucket.min()["popular"] > by_bucket.max()["middle"]
    assert by_bucket.min()["middle"] > by_bucket.max()["tail"]
    queries = pick_queries(degree, degree.index, seed=7)
    assert queries["bucket"].astype(str).tolist() == ["popular"] * 4 + ["middle"] * 4 + ["tail"] * 4
    ranks = 40 - queries.set_index("bucket", append=True)["degree"]  # 0 = most edges
    assert ranks.xs("popular", level=1).between(0, 3).all()
    assert ranks.xs("middle", level=1).between(4, 19).all()
    assert ranks.xs("tail", level=1).between(20, 39).all()
    assert queries["asin"].is_unique


def test_picks_are_seeded_among_products_with_training_edges_and_records():
    degree = pd.Series(np.arange(200, 0, -1) // 3 + 1, index=[f"P{i:03d}" for i in range(200)])
    first = pick_queries(degree, degree.index, seed=1)
    pd.testing.assert_frame_equal(first, pick_queries(degree, degree.index, seed=1))
    assert not first["asin"].equals(pick_queries(degree, degree.index, seed=2)["asin"])
    # fewer than 4 per bucket: every one; never X (a record but no edge) nor H (no record)
    assert set(pick_queries(DEGREE, PRODUCTS["asin"], seed=1)["asin"]) == set("ABCDEFG")


def test_marks_agree_with_held_out_positives_and_training_edges():
    queries = pick_queries(DEGREE, DEGREE.index, seed=3)
    table = example_table(queries, LISTS, VAL, DEGREE)
    pairs = [frozenset(p) for p in zip(table["query"], table["neighbour"], strict=True)]
    assert table["held_out"].tolist() == [p in POSITIVES for p in pairs]
    assert table["held_out"].sum() >= 3  # (A, X), (A, C) and (B, Z) all shown
    assert table["cold"].tolist() == [n in ("X", "Z") for n in table["neighbour"]]
    assert "X" not in set(table["query"])  # X has no training edges, so is never a query
    info = product_info(PRODUCTS)
    for part in sections(queries, table, info, VAL, examples.model_order(LISTS)):
        shown = part.rows[part.rows["asin"] != ""]
        query = part.heading.rsplit("(", 1)[1].rstrip(")")
        held = shown["asin"].map(lambda n, q=query: frozenset((q, n)) in POSITIVES)
        assert (shown["mark"].str.contains(HELD_OUT) == held).all()
        assert (shown["mark"].str.contains(COLD) == shown["asin"].isin(["X", "Z"])).all()


def test_page_is_seeded_bytes_and_shows_missing_records_and_vectors():
    def page(seed):
        queries = pick_queries(DEGREE, DEGREE.index, seed=seed, per_bucket=2)
        return build_pages("tiny", queries, LISTS, PRODUCTS, VAL, DEGREE, seed=seed)

    md, html = page(5)
    assert page(5) == (md, html)
    assert page(5)[0] != page(6)[0]
    # H is a query without a record; Z a neighbour without one; mf has no vector for F
    queries = pick_queries(DEGREE, DEGREE.index, seed=5, per_bucket=4)
    md = build_pages("tiny", queries, LISTS, PRODUCTS, VAL, DEGREE, seed=5)[0]
    (heading,) = [line for line in md.splitlines() if line.endswith(" (H)")]
    assert heading.startswith("## ") and NO_RECORD in heading
    z_rows = [line for line in md.splitlines() if "| Z |" in line]
    assert z_rows and all(NO_RECORD in line for line in z_rows)
    assert [line for line in md.splitlines() if NO_VECTOR in line and "|" in line] == [
        f"| mf |  | {NO_VECTOR} |  |  |  |  |  |  |"
    ]
    assert f"{HELD_OUT}; {COLD}" in md  # (A, X): held out and X is cold


def test_page_lists_models_in_report_order_with_fields():
    queries = pick_queries(DEGREE, DEGREE.index, seed=0)
    md = build_pages("tiny", queries, LISTS, PRODUCTS, VAL, DEGREE, seed=0)[0]
    first = md.split("## 2.")[0]
    model_rows = [line.split(" | ")[0].strip("| ") for line in first.splitlines()]
    named = [m.replace("\\", "") for m in model_rows if m.replace("\\", "") in LISTS]
    assert named == ["degree", "mf", "torch_w2v_side_info"]
    assert "Alpha \\| cable" in md  # a pipe in a title cannot break the table
    assert "$1,234.00" in md and "Cables" in md and "GGG…" in md and "Beta & Co" in md


@pytest.mark.parametrize("top", [1, 5])
def test_read_lists_reads_only_the_queries_top_ranks(tmp_path, top):
    path = tmp_path / "neighbours.parquet"
    write_parquet(LISTS["degree"], path)
    got = examples.read_lists(path, pd.Series(["A", "C"]), top=top)
    assert set(got["asin"]) == {"A", "C"} and got["rank"].max() == top
    assert len(got) == 2 * top
