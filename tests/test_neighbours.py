"""Top-k neighbour lists from a FAISS index: exact mode equals brute force (ties by row), the
approximate index reaches the recall it records, and index.faiss answers the documented query."""

from __future__ import annotations

import dataclasses
import math
import runpy
from pathlib import Path
from types import SimpleNamespace

import faiss
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from prodembed import neighbours
from prodembed.artifacts import ModelArtifacts
from prodembed.neighbours import (
    IndexSettings,
    _list_knn,
    _top_k_rows,
    index_vectors,
    read_neighbour_info,
    top_k_neighbours,
    write_index,
    write_neighbours,
)
from prodembed.scoring import score_pairs
from prodembed.testing import clustered_vectors
from scipy.special import expit

R = 1 / math.sqrt(2)
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "neighbours.py"
APPROXIMATE = IndexSettings(exact_max_products=0, nprobe=1, max_scan=1.0, recall_queries=10_000)


def model_of(emb, similarity="cosine", bias=None, names="ABCD", global_bias=0.0):
    asins = np.array(list(names)[: len(emb)], dtype=object)
    emb = np.asarray(emb, np.float32)
    return ModelArtifacts(emb, asins, similarity, bias=bias, global_bias=global_bias)


def named(emb, similarity="cosine", bias=None, global_bias=0.0) -> ModelArtifacts:
    names = [f"p{i:05d}" for i in range(len(emb))]
    return model_of(emb, similarity, bias, names, global_bias)


def lists(df: pd.DataFrame) -> dict[str, list[str]]:
    return {a: g.sort_values("rank")["neighbour"].tolist() for a, g in df.groupby("asin")}


def reference(model: ModelArtifacts, k: int) -> dict[str, list[str]]:
    """Brute force: float64 logits, sorted by (score descending, row)."""
    emb = model.embeddings.astype(np.float64)
    if model.similarity == "cosine":
        emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-300)
    bias = model.bias.astype(np.float64)
    logits = emb @ emb.T + bias[:, None] + bias[None, :]
    out = {}
    for i, a in enumerate(model.asins):
        order = [j for j in np.lexsort((np.arange(len(emb)), -logits[i])) if j != i][:k]
        out[a] = [model.asins[j] for j in order]
    return out


def test_cosine_neighbours_exact_with_ties_broken_by_row():
    # cos: AB = AC = BD = CD = 1/sqrt2, BC = 1, AD = 0
    found = top_k_neighbours(model_of([[1, 0], [1, 1], [1, 1], [0, 1]]), k=2)
    df = found.table
    assert list(df.columns) == ["asin", "rank", "neighbour", "score"]
    assert df["rank"].tolist() == [1, 2] * 4
    assert lists(df) == {"A": ["B", "C"], "B": ["C", "A"], "C": ["B", "A"], "D": ["B", "C"]}
    np.testing.assert_allclose(df["score"], [R, R, 1, R, 1, R, R, R], atol=1e-6)
    assert found.info["kind"] == "flat" and found.info["recall_at_k"] == 1.0


def test_k_larger_than_n_minus_one_returns_every_other_product():
    df = top_k_neighbours(model_of([[1, 0], [1, 1], [1, 1], [0, 1]]), k=10).table
    assert len(df) == 12 and df["rank"].max() == 3
    assert lists(df) == {
        "A": ["B", "C", "D"],
        "B": ["C", "A", "D"],
        "C": ["B", "A", "D"],
        "D": ["B", "C", "A"],
    }
    assert top_k_neighbours(model_of([[1, 0]]), k=10).table.empty
    tiny = top_k_neighbours(model_of([[1, 0], [0, 1]]), k=10, settings=APPROXIMATE)
    assert tiny.info["kind"] == "flat"  # fewer products than IVF lists: exact


def test_all_tied_keeps_lowest_rows():
    df = top_k_neighbours(model_of(np.zeros((4, 3))), k=2).table
    assert lists(df) == {"A": ["B", "C"], "B": ["A", "C"], "C": ["A", "B"], "D": ["A", "B"]}
    assert (df["score"] == 0).all()


def test_degree_model_neighbours_are_popular_products():
    bias = np.log1p([1.0, 4.0, 2.0, 4.0])
    df = top_k_neighbours(model_of(np.zeros((4, 0)), "dot", bias), k=2).table
    assert lists(df) == {"A": ["B", "D"], "B": ["D", "C"], "C": ["B", "D"], "D": ["B", "C"]}
    a = df[df.asin == "A"]["score"].to_numpy()
    np.testing.assert_allclose(a, expit(bias[0] + bias[[1, 3]]), atol=1e-6)


@pytest.mark.parametrize("batch", [1, 7, 37, 16_384])
def test_exact_dot_with_bias_equals_brute_force_at_any_block_size(batch, torch_device):
    # Small integers keep float32 arithmetic exact, and make ties plentiful.
    rng = np.random.default_rng(0)
    emb = rng.integers(-2, 3, size=(37, 4))
    bias = rng.integers(-1, 2, size=37).astype(np.float32)
    model = named(emb, "dot", bias, global_bias=0.5)
    found = top_k_neighbours(model, k=5, batch=batch, device=torch_device)
    assert lists(found.table) == reference(model, 5)
    assert found.info["brute_force_rows"] > 0  # the tie repair was exercised
    expected, _ = score_pairs(model, found.table["asin"], found.table["neighbour"])
    np.testing.assert_allclose(found.table["score"], expected, rtol=1e-6)


def test_exact_cosine_equals_brute_force():
    model = named(np.random.default_rng(1).standard_normal((300, 8)))
    df = top_k_neighbours(model, k=10, batch=64).table
    assert lists(df) == reference(model, 10)
    expected, _ = score_pairs(model, df["asin"], df["neighbour"])
    np.testing.assert_allclose(df["score"], expected, atol=1e-6)


def true_recall(model: ModelArtifacts, df: pd.DataFrame, k: int) -> float:
    """Recall@k by brute force in float64: returned neighbours scoring >= the true k-th."""
    vectors = index_vectors(model)
    inner = vectors.queries.astype(np.float64) @ vectors.items.T.astype(np.float64)
    np.fill_diagonal(inner, -np.inf)
    kth = -np.sort(-inner, axis=1)[:, k - 1]
    slack = 1e-6 * np.maximum(1.0, np.abs(kth))  # the documented float32 allowance
    rows = np.arange(len(inner))
    cols = pd.Index(model.asins).get_indexer(df["neighbour"]).reshape(-1, k)
    return float((inner[rows[:, None], cols] >= (kth - slack)[:, None]).mean())


@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_approximate_index_reaches_the_recall_it_records(similarity):
    emb = clustered_vectors(3000, 16, groups=60)
    bias = np.random.default_rng(2).normal(0, 0.3, 3000) if similarity == "dot" else None
    model = named(emb, similarity, bias, global_bias=-1.0)
    found = top_k_neighbours(model, k=10, settings=APPROXIMATE)
    info, df = found.info, found.table
    assert info["kind"] == "ivf" and info["recall_queries"] == 3000  # every product
    assert info["metric"] == {"cosine": "inner_product", "dot": "l2"}[similarity]
    assert info["recall_at_k"] >= 0.95 and len(info["nprobe_tried"]) > 1
    tried = sorted(info["nprobe_tried"], key=lambda t: t["nprobe"])
    recalls = [t["recall_at_k"] for t in tried]
    assert recalls == sorted(recalls)  # a fixed sample's recall never falls as nprobe grows
    below = max(t["nprobe"] for t in tried if t["recall_at_k"] < 0.95)
    assert info["nprobe"] == min(t["nprobe"] for t in tried if t["recall_at_k"] >= 0.95)
    assert below < info["nprobe"] <= below + max(1, info["nprobe"] // 8)  # bisected
    assert true_recall(model, df, 10) == pytest.approx(info["recall_at_k"], abs=1e-4)
    assert (df["asin"] != df["neighbour"]).all() and len(df) == 30_000
    expected, _ = score_pairs(model, df["asin"], df["neighbour"])
    np.testing.assert_allclose(df["score"], expected, rtol=1e-5, atol=1e-6)


def test_top_k_rows_orders_by_value_then_column():
    scores = np.array([[1, 3, 3, 2, 3], [5, 4, 3, 2, 1], [0, 0, 0, 0, 9]], np.float32)
    offset = np.array([0, 0, 0, 0, 0], np.float32)
    values, cols = _top_k_rows(scores, offset, 2)
    assert cols.tolist() == [[1, 2], [0, 1], [4, 0]]
    assert values.tolist() == [[3, 3], [5, 4], [9, 0]]
    values, cols = _top_k_rows(scores, np.array([0, 0, 0, 0, 10], np.float32), 5)
    assert cols.tolist() == [[1, 2, 3, 0, 4], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]
    assert values[2].tolist() == [0, 0, 0, 0, -1]


@pytest.mark.parametrize("metric", [faiss.METRIC_INNER_PRODUCT, faiss.METRIC_L2])
@pytest.mark.parametrize("items", [1, 4, 11, 300])
def test_list_search_returns_what_faiss_knn_does(metric, items, monkeypatch):
    """The per-list step of the IVF search: same ids and distances as faiss.knn, in query
    blocks of any size, and no padding where a list holds fewer than k items."""
    rng = np.random.default_rng(items)
    queries = rng.standard_normal((500, 17)).astype(np.float32)
    xb = rng.standard_normal((items, 17)).astype(np.float32)
    expected_d, expected_i = faiss.knn(queries, xb, 11, metric=metric)
    monkeypatch.setattr(neighbours, "BLOCK_ELEMENTS", 7 * items)  # blocks of 7 queries
    d, i = _list_knn(queries, xb, 11, metric=metric)
    assert i.shape == (500, min(11, items)) and (i >= 0).all()
    np.testing.assert_array_equal(i, expected_i[:, : min(11, items)])
    np.testing.assert_allclose(d, expected_d[:, : min(11, items)], rtol=1e-5, atol=1e-4)


def test_scan_cap_stops_the_tuner_and_the_shortfall_is_recorded(caplog):
    """Vectors without neighbourhood structure (Gaussian noise) would need most lists probed:
    the tuner stops before a query scans more than max_scan of the catalogue, and says so."""
    emb = np.random.default_rng(3).normal(size=(3000, 16))
    settings = IndexSettings(exact_max_products=0, nprobe=1, max_scan=0.05, recall_queries=3000)
    found = top_k_neighbours(named(emb), k=10, settings=settings)
    info = found.info
    assert info["capped"] and info["recall_at_k"] < 0.95
    assert info["recall_at_k"] == pytest.approx(true_recall(named(emb), found.table, 10), abs=1e-4)
    scans = [t["scan"] for t in info["nprobe_tried"]]
    assert scans == sorted(scans) and scans[-1] == info["scan"] <= 0.05
    assert scans[-1] * 1.5 > 0.05 * 0.9  # it stopped near the cap, not far before it
    assert "below neighbours.min_recall" in caplog.text
    uncapped = top_k_neighbours(named(emb), k=10, settings=APPROXIMATE).info
    assert not uncapped["capped"] and uncapped["recall_at_k"] >= 0.95 > info["recall_at_k"]


def documented_query(model: ModelArtifacts, rows: np.ndarray, index) -> np.ndarray:
    """docs/CONTRACTS.md: unit vectors for cosine models, [e_a, 1] for dot models, and a 0
    appended for the L2 index of a large dot model."""
    emb = model.embeddings[rows].astype(np.float32)
    if model.similarity == "cosine":
        return emb / np.linalg.norm(emb, axis=1, keepdims=True)
    ones = np.ones((len(rows), 1), np.float32)
    if index.metric_type == faiss.METRIC_L2:
        return np.hstack([emb, ones, 0 * ones])
    return np.hstack([emb, ones])


@pytest.mark.parametrize(
    ("similarity", "settings"),
    [
        ("cosine", IndexSettings()),
        ("dot", IndexSettings()),
        ("cosine", APPROXIMATE),
        ("dot", APPROXIMATE),
    ],
    ids=["flat-cosine", "flat-dot", "ivf-cosine", "ivf-dot"],
)
def test_index_file_answers_the_documented_query(tmp_path, similarity, settings):
    emb = clustered_vectors(2000, 16, groups=40, seed=3)
    bias = np.random.default_rng(4).normal(0, 0.3, 2000) if similarity == "dot" else None
    model = named(emb, similarity, bias)
    found = top_k_neighbours(model, k=10, settings=settings)
    write_index(found.index, tmp_path / "index.faiss")
    index = faiss.read_index(str(tmp_path / "index.faiss"))
    assert index.ntotal == 2000 and [p.name for p in tmp_path.iterdir()] == ["index.faiss"]
    rows = np.arange(0, 2000, 97)
    _, ids = index.search(documented_query(model, rows, index), 11)
    for row, hits in zip(rows, ids, strict=True):
        expected = found.table["neighbour"].to_numpy()[row * 10 : row * 10 + 10]
        assert list(model.asins[[h for h in hits if h != row][:10]]) == list(expected)


@pytest.fixture
def restored_globals():
    """The rule script sets torch's and faiss's threads and the root log handlers: undo it."""
    import logging

    import torch

    threads, omp = torch.get_num_threads(), faiss.omp_get_max_threads()
    handlers = list(logging.getLogger().handlers)
    yield
    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(omp)
    for handler in logging.getLogger().handlers:
        if handler not in handlers:
            handler.close()
            logging.getLogger().removeHandler(handler)
    for handler in handlers:
        logging.getLogger().addHandler(handler)


@pytest.mark.usefixtures("restored_globals")
def test_rule_script_writes_lists_index_and_info(tmp_path):
    model_dir = tmp_path / "models" / "m"
    named(clustered_vectors(500, 8, groups=10), "dot", np.zeros(500)).save(model_dir)
    out = {n: tmp_path / n for n in ("neighbours.parquet", "index.faiss", "neighbours.json")}
    snakemake = SimpleNamespace(
        input=SimpleNamespace(model=str(model_dir / "model.json")),
        output=SimpleNamespace(
            neighbours=str(out["neighbours.parquet"]),
            index=str(out["index.faiss"]),
            info=str(out["neighbours.json"]),
        ),
        log=[str(tmp_path / "log.txt")],
        threads=1,
        resources=SimpleNamespace(gpu=0),
        params=SimpleNamespace(k=5, index={"exact_max_products": 100}, seed=7),
    )
    runpy.run_path(str(SCRIPT), init_globals={"snakemake": snakemake})
    info = read_neighbour_info(out["neighbours.json"])
    assert info["kind"] == "ivf" and info["n"] == 500 and info["k"] == 5
    assert info["settings"]["seed"] == 7 and info["threads"] == 1
    assert info["recall_at_k"] >= 0.95 and info["recall_queries"] == 500
    assert faiss.read_index(str(out["index.faiss"])).nprobe == info["nprobe"]
    assert len(pq.read_table(out["neighbours.parquet"])) == 2500


def test_write_neighbours_round_trip(tmp_path):
    df = top_k_neighbours(model_of([[1, 0], [1, 1], [0, 1]]), k=2).table
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


def test_config_block_is_the_index_settings():
    """config.schema.yaml's neighbours block holds exactly IndexSettings' fields (the seed
    comes from the top-level seed), with the same defaults."""
    schema = yaml.safe_load((SCRIPT.parents[1] / "config.schema.yaml").read_text())
    block = schema["properties"]["neighbours"]["properties"]
    fields = {f.name: f.default for f in dataclasses.fields(IndexSettings) if f.name != "seed"}
    assert set(block) == set(fields)
    for name, default in fields.items():
        assert block[name].get("default") == default, name
