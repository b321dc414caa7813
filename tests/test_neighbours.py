"""Top-k neighbour lists: exact on tiny models, deterministic ties, blocks change nothing."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from prodembed.artifacts import ModelArtifacts
from prodembed.neighbours import top_k_neighbours, write_neighbours
from scipy.special import expit

R = 1 / math.sqrt(2)


def model_of(emb, similarity="cosine", bias=None, names="ABCD") -> ModelArtifacts:
    asins = np.array(list(names)[: len(emb)], dtype=object)
    return ModelArtifacts(np.asarray(emb, np.float32), asins, similarity, bias=bias)


def lists(df: pd.DataFrame) -> dict[str, list[str]]:
    return {a: g.sort_values("rank")["neighbour"].tolist() for a, g in df.groupby("asin")}


def test_cosine_neighbours_exact_with_ties_broken_by_row():
    # cos: AB = AC = BD = CD = 1/sqrt2, BC = 1, AD = 0
    model = model_of([[1, 0], [1, 1], [1, 1], [0, 1]])
    df = top_k_neighbours(model, k=2)
    assert list(df.columns) == ["asin", "rank", "neighbour", "score"]
    assert df["rank"].tolist() == [1, 2] * 4
    assert lists(df) == {"A": ["B", "C"], "B": ["C", "A"], "C": ["B", "A"], "D": ["B", "C"]}
    np.testing.assert_allclose(df["score"], [R, R, 1, R, 1, R, R, R], atol=1e-6)


def test_k_larger_than_n_minus_one_returns_every_other_product():
    model = model_of([[1, 0], [1, 1], [1, 1], [0, 1]])
    df = top_k_neighbours(model, k=10)
    assert len(df) == 12 and df["rank"].max() == 3
    assert lists(df) == {
        "A": ["B", "C", "D"],
        "B": ["C", "A", "D"],
        "C": ["B", "A", "D"],
        "D": ["B", "C", "A"],
    }
    assert top_k_neighbours(model_of([[1, 0]]), k=10).empty


def test_all_tied_keeps_lowest_rows():
    df = top_k_neighbours(model_of(np.zeros((4, 3))), k=2)
    assert lists(df) == {"A": ["B", "C"], "B": ["A", "C"], "C": ["A", "B"], "D": ["A", "B"]}
    assert (df["score"] == 0).all()


def test_degree_model_neighbours_are_popular_products():
    bias = np.log1p([1.0, 4.0, 2.0, 4.0])
    df = top_k_neighbours(model_of(np.zeros((4, 0)), "dot", bias), k=2)
    assert lists(df) == {"A": ["B", "D"], "B": ["D", "C"], "C": ["B", "D"], "D": ["B", "C"]}
    a = df[df.asin == "A"]["score"].to_numpy()
    np.testing.assert_allclose(a, expit(bias[0] + bias[[1, 3]]), atol=1e-6)


def reference(model: ModelArtifacts, k: int) -> dict[str, list[str]]:
    """Brute force: float64 logits, sort by (score descending, row)."""
    emb = model.embeddings.astype(np.float64)
    bias = model.bias.astype(np.float64)
    logits = emb @ emb.T + bias[:, None] + bias[None, :]
    out = {}
    for i, a in enumerate(model.asins):
        order = [j for j in np.lexsort((np.arange(len(emb)), -logits[i])) if j != i][:k]
        out[a] = [model.asins[j] for j in order]
    return out


@pytest.mark.parametrize("batch", [1, 7, 37, None])
def test_block_size_changes_nothing(batch, torch_device):
    # Small integers keep float32 arithmetic exact, and make ties plentiful.
    rng = np.random.default_rng(0)
    names = [f"p{i:02d}" for i in range(37)]
    emb = rng.integers(-2, 3, size=(37, 4))
    bias = rng.integers(-1, 2, size=37).astype(np.float32)
    model = model_of(emb, "dot", bias, names=names)
    df = top_k_neighbours(model, k=5, batch=batch, device=torch_device)
    assert lists(df) == reference(model, 5)
    pd.testing.assert_frame_equal(df, top_k_neighbours(model, k=5, batch=37))


def test_write_neighbours_round_trip(tmp_path):
    df = top_k_neighbours(model_of([[1, 0], [1, 1], [0, 1]]), k=2)
    path = tmp_path / "m" / "neighbours.parquet"
    write_neighbours(df, path)
    table = pq.read_table(path)
    assert [str(t) for t in table.schema.types] == ["string", "int32", "string", "double"]
    assert table.to_pydict()["neighbour"] == df["neighbour"].tolist()
    assert [p.name for p in path.parent.iterdir()] == ["neighbours.parquet"]


def test_long_runs_log_their_progress(monkeypatch, caplog):
    from prodembed import runtime

    monkeypatch.setattr(runtime, "PROGRESS_SECONDS", -1.0)  # a line before every later block
    model = model_of(np.eye(4, 2), names="ABCD")
    with caplog.at_level("INFO", logger="prodembed.neighbours"):
        top_k_neighbours(model, k=1, batch=1)
    assert [r.getMessage().split(",")[0] for r in caplog.records] == [
        "neighbours: 1/4 products", "neighbours: 2/4 products", "neighbours: 3/4 products"
    ]  # fmt: skip
