"""Learning curves: the fixed pair sample, points through training, the last point is the
evaluation of the saved model on the same sample."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from prodembed.artifacts import ModelArtifacts
from prodembed.curves import POINTS, sample_curve_pairs
from prodembed.gensim_w2v import train_gensim
from prodembed.mf import train_mf
from prodembed.runtime import write_parquet
from prodembed.scoring import score_pairs
from prodembed.skipgram import train_skipgram
from prodembed.testing import non_edges, planted_graph, random_walks, split_edges
from prodembed.training import TrainingRun, node_ids, replicate_seed
from sklearn.metrics import roc_auc_score

N = 400


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Planted graph with asins, validation pairs of both protocols, and the files a run reads."""
    edges, _ = planted_graph(N)
    train, held = split_edges(edges)
    asins = np.array([f"P{i:04d}" for i in range(N)], dtype=object)
    seen = np.unique(train)
    nodes = asins[seen]  # the training graph's node order
    node_of = np.full(N, -1)
    node_of[seen] = np.arange(len(seen))

    def val(seed):
        neg = non_edges(edges, np.arange(N), len(held), seed=seed)
        pairs = np.r_[held, neg]
        labels = np.r_[np.ones(len(held)), np.zeros(len(neg))].astype(np.int8)
        return pd.DataFrame({"a": asins[pairs[:, 0]], "b": asins[pairs[:, 1]], "label": labels})

    train_edges = pd.DataFrame({"a": asins[train[:, 0]], "b": asins[train[:, 1]], "weight": 1.0})
    sample = sample_curve_pairs(val(1), val(2), train_edges, 300, seed=0)
    folder = tmp_path_factory.mktemp("curves")
    write_parquet(pd.DataFrame({"node": np.arange(len(nodes)), "asin": nodes}), folder / "n.pq")
    write_parquet(sample, folder / "pairs.pq")
    walks = random_walks(node_of[train], len(nodes), num_walks=5).astype(np.int32)
    return SimpleNamespace(
        val=val, train=train_edges, sample=sample, nodes=nodes, walks=walks, folder=folder
    )


def test_curve_sample_is_seen_bounded_and_seeded(data):
    sample = data.sample
    seen = set(data.train["a"]) | set(data.train["b"])
    assert sample["a"].isin(seen).all() and sample["b"].isin(seen).all()
    assert sample["protocol"].value_counts().to_dict() == {"uniform": 300, "degree_matched": 300}
    again = sample_curve_pairs(data.val(1), data.val(2), data.train, 300, seed=0)
    pd.testing.assert_frame_equal(sample, again)
    other = sample_curve_pairs(data.val(1), data.val(2), data.train, 300, seed=1)
    assert not other.equals(sample)


def run_of(data, tmp_path, replicate=0):
    out = tmp_path / f"rep{replicate}"
    out.mkdir()
    snakemake = SimpleNamespace(
        output=SimpleNamespace(model=out / "model.json", curves=out / "curves.parquet"),
        input=SimpleNamespace(nodes=data.folder / "n.pq", curve_pairs=data.folder / "pairs.pq"),
        params=SimpleNamespace(seed=7, train={"dim": 16, "epochs": 3, "negatives": 5}),
        wildcards=SimpleNamespace(replicate=str(replicate)),
        threads=1,
    )
    return TrainingRun(snakemake), out


def train_one(name, data, run):
    shared = {"dim": 16, "epochs": 3, "negatives": 5, "seed": run.seed, "curve": run.curve}
    n = len(data.nodes)
    if name == "mf":
        a, b = node_ids(data.nodes, data.train["a"]), node_ids(data.nodes, data.train["b"])
        emb, bias, glob, info = train_mf(a, b, n, bias=True, batch_size=32, **shared)
        run.save(emb, data.nodes, "dot", bias=bias, global_bias=glob, **info)
    elif name == "skipgram":
        emb, info = train_skipgram(data.walks, n, window=3, batch_size=1024, **shared)
        run.save(emb, data.nodes, "cosine", **info)
    else:
        del shared["curve"], shared["seed"]
        emb, has, info = train_gensim(data.walks, n, **shared, window=3, curve=run.curve)
        run.save(emb, data.nodes, "cosine", has_vector=has, **info)


@pytest.mark.parametrize("name", ["mf", "skipgram", "gensim"])
def test_last_point_is_the_saved_models_evaluation(name, data, tmp_path):
    run, out = run_of(data, tmp_path)
    train_one(name, data, run)
    curve = pd.read_parquet(out / "curves.parquet")
    model = ModelArtifacts.load(out)
    last = curve.iloc[-1]
    assert last["final"] and curve["final"].sum() == 1
    for protocol, column in (("uniform", "auc_seen"), ("degree_matched", "auc_seen_dm")):
        pairs = data.sample[data.sample["protocol"] == protocol]
        scores, covered = score_pairs(model, pairs["a"], pairs["b"])
        assert covered.all()
        assert last[column] == roc_auc_score(pairs["label"], scores)
    ends = curve[curve["epoch_end"]]
    assert list(ends["epoch"]) == [1.0, 2.0, 3.0]
    assert curve["step"].is_monotonic_increasing
    points = len(curve) - 1
    assert points == 3 if name == "gensim" else POINTS <= points <= POINTS + 3, curve
    assert curve["auc_seen_dm"].iloc[-1] > curve["auc_seen_dm"].iloc[0] or name == "gensim"
    info = model.info
    assert info["curve_seconds"] > 0 and info["train_seconds"] >= 0
    assert (curve["loss"].notna().all()) == (name != "gensim")


def test_replicates_get_their_own_seed_and_replicate_zero_keeps_the_configs(data, tmp_path):
    assert replicate_seed(7, 0) == 7
    assert len({replicate_seed(7, r) for r in range(5)}) == 5
    assert replicate_seed(7, 1) == replicate_seed(7, 1) != replicate_seed(8, 1)
    first, _ = run_of(data, tmp_path, 0)
    second, _ = run_of(data, tmp_path, 1)
    assert (first.seed, second.seed) == (7, replicate_seed(7, 1))
