"""SGNS and MF-on-sequences: quality on a planted-structure graph, determinism.

The planted graph helpers here are shared with test_mf.py and test_eges.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from prodembed.skipgram import RowAdagrad, train_mf_sequences, train_skipgram, use_fused
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
    unit = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    return lambda a, b: (unit[a] * unit[b]).sum(1)


def dot(emb, bias=None):
    """The MF score before the sigmoid (monotone, so the same AUC)."""
    if bias is None:
        return lambda a, b: (emb[a] * emb[b]).sum(1)
    return lambda a, b: (emb[a] * emb[b]).sum(1) + bias[a] + bias[b]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny batches gain nothing from threads, and spinning threads stall a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def planted():
    edges, _ = planted_graph()
    train, held = split_edges(edges)
    return train, held, random_walks(train, 600)


def test_skipgram_recovers_planted_structure(planted):
    train, held, walks = planted
    emb, info = train_skipgram(walks, 600, dim=32, epochs=3, batch_size=1024)
    assert emb.shape == (600, 32) and emb.dtype == np.float32
    assert seen_auc(cosine(emb), train, held, 600) > 0.8
    assert info["loss"][-1] < info["loss"][0]
    assert info["pairs"] > 0 and info["pairs_per_s"] > 0


def test_mf_sequences_recovers_planted_structure(planted):
    train, held, walks = planted
    emb, bias, glob, info = train_mf_sequences(walks, 600, dim=32, epochs=3, batch_size=1024)
    assert emb.shape == (600, 32) and bias.shape == (600,) and isinstance(glob, float)
    assert seen_auc(dot(emb, bias), train, held, 600) > 0.8
    assert info["loss"][-1] < info["loss"][0]


@pytest.mark.parametrize("trainer", ["skipgram", "mf_sequences"])
def test_batched_torch_path_learns_as_well_as_the_fused_kernel(planted, trainer, torch_device):
    """The GPU path's batched torch step (fused=False on the CPU) learns the same model as the
    CPU's fused kernel: similar AUC on the same walks."""
    train, held, walks = planted
    kwargs = {"dim": 32, "epochs": 3, "batch_size": 1024}
    runs = [("cpu", True), (torch_device, False)]
    if trainer == "skipgram":
        embs = [train_skipgram(walks, 600, device=d, fused=f, **kwargs)[0] for d, f in runs]
        aucs = [seen_auc(cosine(emb), train, held, 600) for emb in embs]
    else:
        fits = [train_mf_sequences(walks, 600, device=d, fused=f, **kwargs) for d, f in runs]
        aucs = [seen_auc(dot(emb, bias), train, held, 600) for emb, bias, *_ in fits]
    assert min(aucs) > 0.8 and abs(aucs[0] - aucs[1]) < 0.03


def test_fused_kernels_by_default_on_the_cpu_only():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert use_fused(cpu, None) and not use_fused(cpu, False) and not use_fused(cuda, None)
    with pytest.raises(ValueError, match="fused kernels run on the CPU"):
        use_fused(cuda, True)


def test_skipgram_same_seed_same_embeddings(planted):
    walks = planted[2][:1500]
    first, _ = train_skipgram(walks, 600, dim=16, epochs=2, batch_size=512, seed=3)
    again, _ = train_skipgram(walks, 600, dim=16, epochs=2, batch_size=512, seed=3)
    other, _ = train_skipgram(walks, 600, dim=16, epochs=2, batch_size=512, seed=4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_mf_sequences_same_seed_same_embeddings(planted):
    walks = planted[2][:1500]
    first = train_mf_sequences(walks, 600, dim=16, epochs=1, batch_size=512, seed=3)
    again = train_mf_sequences(walks, 600, dim=16, epochs=1, batch_size=512, seed=3)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


def test_row_adagrad_bounds_the_step_of_repeated_rows():
    table = torch.zeros(4, 2)
    opt = RowAdagrad(table)
    opt.step(torch.tensor([1, 1, 1, 2]), torch.ones(4, 2), lr=1.0)
    # Row 1 occurs 3 times with gradient (1, 1): accumulator 3 x 3 x 1 = 9, each occurrence
    # steps 1/3, so the row moves lr in total (as Adagrad on the summed gradient would).
    np.testing.assert_allclose(table[1].numpy(), [-1.0, -1.0], rtol=1e-6)
    np.testing.assert_allclose(table[2].numpy(), [-1.0, -1.0], rtol=1e-6)
    assert not table[[0, 3]].any()
    opt.step(torch.tensor([2]), torch.ones(1, 2), lr=1.0)  # accumulator 1 + 1: step 1/sqrt(2)
    np.testing.assert_allclose(table[2].numpy(), [-1 - 2**-0.5] * 2, rtol=1e-6)


def test_long_epochs_log_their_progress(planted, monkeypatch, caplog):
    from prodembed import runtime

    monkeypatch.setattr(runtime, "PROGRESS_SECONDS", -1.0)  # a line after every batch
    walks = planted[2][:300]
    with caplog.at_level("INFO", logger="prodembed.skipgram"):
        train_skipgram(walks, 600, dim=8, epochs=2, batch_size=2048)
    progress = [r.getMessage() for r in caplog.records if " of ~" in r.getMessage()]
    first = [int(m.split()[2]) for m in progress if m.startswith("epoch 0: ")]
    assert first[:-1] == [2048 * (i + 1) for i in range(len(first) - 1)] and len(first) > 2
    assert 0 < first[-1] - first[-2] <= 2048  # the last batch holds the rest
    assert progress[-1].startswith("epoch 1: ")
