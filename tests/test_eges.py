"""Side-information codes and EGES: seen and cold-start quality, masking, output shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from prodembed.eges import train_eges
from prodembed.side_info import SideInfo, encode_side_info
from prodembed.testing import cosine, planted_graph, random_walks, seen_auc
from sklearn.metrics import roc_auc_score

pytestmark = pytest.mark.usefixtures("one_thread")

N = 1000


def test_side_info_codes_rows_and_fields():
    products = pd.DataFrame(
        {
            "asin": ["b", "x", "a", "y", "z"],
            "brand": ["Sony", " sony", None, "", "LG"],
            "categories": [
                ["E", "Computers", "Mice"],
                ["Books", "Computers", "Fiction"],
                [],
                None,
                ["E"],
            ],
            "price": [10.0, np.nan, 3.0, 100.0, 0.0],
        }
    )
    info = encode_side_info(np.array(["a", "b", "c"]), products, price_buckets=2)
    # Training nodes first, in node order (c has no metadata), then cold products by asin.
    assert info.asins.tolist() == ["a", "b", "c", "x", "y", "z"] and info.n_train == 3
    assert info.field_names == ("item", "brand", "cat_1", "cat_2", "cat_3", "price_bucket")
    codes = pd.DataFrame(info.codes, columns=info.field_names, index=info.asins)
    assert codes["item"].tolist() == list(range(6))
    assert codes.loc["a", "brand"] == 0 and codes.loc["y", "brand"] == 0  # None and "" missing
    assert codes.loc["b", "brand"] == codes.loc["x", "brand"] != codes.loc["z", "brand"]
    assert codes.loc["b", "cat_1"] == codes.loc["z", "cat_1"] != codes.loc["x", "cat_1"]
    # Same name, different path: 'E>Computers' and 'Books>Computers' are different cat_2.
    assert 0 != codes.loc["b", "cat_2"] != codes.loc["x", "cat_2"] != 0
    assert codes.loc["z", "cat_2"] == 0 and 0 != codes.loc["b", "cat_3"] != codes.loc["x", "cat_3"]
    assert codes.loc[["a", "c", "y"], ["cat_1", "cat_2", "cat_3"]].eq(0).all().all()
    # Known positive prices 3, 10, 100 split at their median; NaN and 0 are missing.
    assert codes["price_bucket"].tolist() == [1, 2, 0, 0, 2, 0]
    assert info.cardinalities == (6, 3, 3, 3, 3, 3) and info.dropped_fields == ()
    assert (info.codes < np.array(info.cardinalities)).all()


def test_side_fields_that_cannot_tell_products_apart_are_left_out():
    products = pd.DataFrame(
        {
            "asin": [f"p{i}" for i in range(200)],
            "brand": ["Acme"] * 199 + ["Zeta"],  # 99.5% one value
            "categories": [["Music", f"Genre{i % 5}"] for i in range(200)],  # cat_1 constant
            "price": np.arange(1.0, 201.0),
        }
    )
    info = encode_side_info(products["asin"].to_numpy()[:150], products, price_buckets=4)
    assert info.dropped_fields == ("brand", "cat_1", "cat_3")
    assert info.field_names == ("item", "cat_2", "price_bucket")
    assert info.codes.shape == (200, 3) and len(info.cardinalities) == 3
    kept = encode_side_info(products["asin"].to_numpy(), products, max_value_share=1.0)
    assert kept.dropped_fields == ("cat_1", "cat_3")  # a single value is always left out


@pytest.fixture(scope="module")
def planted_with_metadata():
    """A planted graph whose 10% cold nodes lose every edge to validation; group-correlated
    brands and categories give them something to be embedded from."""
    rng = np.random.default_rng(5)
    edges, group = planted_graph(N, groups=20)
    cold = rng.random(N) < 0.1
    touches_cold = cold[edges[:, 0]] | cold[edges[:, 1]]
    held = rng.random(len(edges)) < 1 / 3
    train, held = edges[~touches_cold & ~held], edges[~touches_cold & held]
    cold_edges = edges[cold[edges[:, 0]] ^ cold[edges[:, 1]]]
    seen = np.zeros(N, bool)
    seen[train.ravel()] = True
    node = np.cumsum(seen) - 1  # node id of each seen product, in asin order

    asins = np.array([f"P{i:05d}" for i in range(N)], dtype=object)
    brand = (
        np.where(rng.random(N) < 0.7, group, rng.integers(20, size=N)).astype(str).astype(object)
    )
    brand[rng.random(N) < 0.3] = None
    cats = [[f"C{g // 5}", f"S{g}"] if rng.random() < 0.8 else [] for g in group]
    products = pd.DataFrame(
        {"asin": asins, "brand": brand, "categories": cats, "price": rng.lognormal(3, 1, N)}
    )
    products.loc[np.flatnonzero(cold)[:5], ["brand", "categories", "price"]] = None
    walks = node[random_walks(train, N, num_walks=5)].astype(np.int32)
    side = encode_side_info(asins[seen], products)
    emb, has_vector, info = train_eges(walks, side, dim=32, epochs=3, batch_size=1024)
    row = pd.Index(side.asins).get_indexer(asins)  # product -> row of emb
    return {
        "train": train, "held": held, "cold_edges": cold_edges, "cold": cold, "seen": seen,
        "side": side, "emb": emb, "has_vector": has_vector, "info": info, "row": row,
        "walks": walks,
    }  # fmt: skip


def test_eges_outputs_cover_every_row(planted_with_metadata):
    p = planted_with_metadata
    side, emb, has_vector = p["side"], p["emb"], p["has_vector"]
    assert emb.shape == (side.n_rows, 32) and has_vector.shape == (side.n_rows,)
    assert side.n_rows == N and has_vector[: side.n_train].all()
    no_side_info = (side.codes[:, 1:] == 0).all(1)
    np.testing.assert_array_equal(has_vector[side.n_train :], ~no_side_info[side.n_train :])
    assert not emb[~has_vector].any()
    assert p["info"]["cold_with_vector"] == int(has_vector[side.n_train :].sum())
    assert p["info"]["side_info_coverage"]["brand"] == pytest.approx(0.7, abs=0.05)


def test_eges_field_weights_are_a_distribution(planted_with_metadata):
    weights = planted_with_metadata["info"]["field_weights"]
    assert list(weights) == list(planted_with_metadata["side"].field_names)
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-5)
    # No product has a third category level: the field is left out, not trained as constant.
    assert "cat_3" not in weights and planted_with_metadata["side"].dropped_fields == ("cat_3",)
    assert all(w > 0 for w in weights.values())


def test_eges_batched_torch_path_learns_too(planted_with_metadata, torch_device):
    p = planted_with_metadata
    emb, has_vector, info = train_eges(
        p["walks"], p["side"], dim=32, epochs=3, batch_size=1024, device=torch_device, fused=False
    )
    node_emb = emb[p["row"]]
    assert seen_auc(cosine(node_emb), p["train"], p["held"], N) > 0.8
    assert info["loss"][-1] < info["loss"][0]
    np.testing.assert_array_equal(has_vector, p["has_vector"])


def test_eges_recovers_structure_for_seen_products(planted_with_metadata):
    p = planted_with_metadata
    score = cosine(p["emb"][p["row"]])
    assert seen_auc(score, p["train"], p["held"], N) > 0.8


def test_eges_embeds_cold_products_from_metadata(planted_with_metadata):
    p = planted_with_metadata
    edges, cold, row = p["cold_edges"], p["cold"], p["row"]
    cold_end = np.where(cold[edges[:, 0]], edges[:, 0], edges[:, 1])
    warm_end = np.where(cold[edges[:, 0]], edges[:, 1], edges[:, 0])
    keep = p["has_vector"][row[cold_end]] & p["seen"][warm_end]
    cold_end, warm_end = cold_end[keep], warm_end[keep]
    rng = np.random.default_rng(0)
    random_warm = rng.choice(np.flatnonzero(p["seen"]), len(cold_end))
    score = cosine(p["emb"][row])
    labels = np.r_[np.ones(len(cold_end)), np.zeros(len(cold_end))]
    scores = np.r_[score(cold_end, warm_end), score(cold_end, random_warm)]
    assert len(cold_end) > 100
    assert roc_auc_score(labels, scores) > 0.6


def test_eges_hogwild_threads_learn_as_well_as_one(planted_with_metadata):
    p = planted_with_metadata
    emb, _, _ = train_eges(p["walks"], p["side"], dim=32, epochs=3, batch_size=1024, threads=3)
    aucs = [seen_auc(cosine(e[p["row"]]), p["train"], p["held"], N) for e in (p["emb"], emb)]
    assert min(aucs) > 0.8 and abs(aucs[0] - aucs[1]) < 0.03  # Hogwild runs vary by ~0.01 here


def test_eges_hogwild_threads_stay_finite_when_every_update_collides():
    """8 threads on 5 nodes sharing 2 brands: every pair touches rows others are writing."""
    codes = np.array([[i, i % 2 + 1] for i in range(5)])
    side = SideInfo(codes, np.arange(5).astype(str), 5, ("item", "brand"), (5, 3), np.array([]))
    walks = np.random.default_rng(0).integers(5, size=(400, 10), dtype=np.int32)
    emb, _, info = train_eges(walks, side, dim=8, epochs=2, batch_size=4096, threads=8)
    assert np.isfinite(emb).all() and np.isfinite(info["loss"]).all()
    assert sum(info["field_weights"].values()) == pytest.approx(1.0, abs=1e-5)
