"""SGNS and MF-on-sequences: quality on a planted-structure graph, determinism, Hogwild threads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from prodembed import sgd_cpu
from prodembed.pairs import PairEngine
from prodembed.pairtrain import EPS, RowAdagrad, use_fused, word2vec_init
from prodembed.skipgram import train_mf_sequences, train_skipgram
from prodembed.testing import cosine, dot, planted_graph, random_walks, seen_auc, split_edges

pytestmark = pytest.mark.usefixtures("one_thread")


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
    with caplog.at_level("INFO", logger="prodembed.pairtrain"):
        train_skipgram(walks, 600, dim=8, epochs=2, batch_size=2048)
    progress = [r.getMessage() for r in caplog.records if " of ~" in r.getMessage()]
    first = [int(m.split()[2]) for m in progress if m.startswith("epoch 0: ")]
    assert first[:-1] == [2048 * (i + 1) for i in range(len(first) - 1)] and len(first) > 2
    assert 0 < first[-1] - first[-2] <= 2048  # the last batch holds the rest
    assert progress[-1].startswith("epoch 1: ")


@pytest.mark.parametrize("trainer", ["skipgram", "mf_sequences"])
def test_hogwild_threads_learn_as_well_as_one(planted, trainer):
    """Several threads updating the shared tables without locks reach one thread's AUC."""
    train, held, walks = planted
    kwargs = {"dim": 32, "epochs": 3, "batch_size": 1024}
    if trainer == "skipgram":
        embs = [train_skipgram(walks, 600, threads=t, **kwargs)[0] for t in (1, 3)]
        aucs = [seen_auc(cosine(emb), train, held, 600) for emb in embs]
    else:
        fits = [train_mf_sequences(walks, 600, threads=t, **kwargs) for t in (1, 3)]
        aucs = [seen_auc(dot(emb, bias), train, held, 600) for emb, bias, *_ in fits]
    assert min(aucs) > 0.8 and abs(aucs[0] - aucs[1]) < 0.03  # Hogwild runs vary by ~0.01 here


def test_hogwild_threads_stay_finite_when_every_update_collides():
    """8 threads on 5 nodes: every pair touches rows other threads are writing."""
    walks = np.random.default_rng(0).integers(5, size=(400, 10), dtype=np.int32)
    emb, info = train_skipgram(walks, 5, dim=8, epochs=2, batch_size=4096, threads=8)
    mf, bias, glob, mf_info = train_mf_sequences(walks, 5, dim=8, epochs=2, threads=8)
    assert np.isfinite(emb).all() and np.isfinite(mf).all() and np.isfinite(bias).all()
    assert np.isfinite(glob) and np.isfinite(info["loss"] + mf_info["loss"]).all()
    assert info["pairs"] == mf_info["pairs"] > 0


def test_one_thread_is_the_serial_kernel_on_the_engine_batches(planted):
    """threads=1 is exactly the serial kernel run batch after batch (no reordering)."""
    walks = planted[2][:500]
    got, _ = train_skipgram(walks, 600, dim=16, epochs=2, batch_size=512, seed=3, threads=1)
    engine = PairEngine(walks, 600, batch_size=512, seed=3)
    center = word2vec_init(600, 16, 3, torch.device("cpu")).numpy()
    context = np.zeros_like(center)
    states = np.zeros(600, np.float32), np.zeros(600, np.float32)
    total, done = 2 * engine.pairs_per_epoch, 0
    for epoch in range(2):
        for c, targets in engine.epoch(epoch):
            lr = 0.5 * max(1e-4, 1.0 - done / total)
            sgd_cpu.sgns_pairs(center, context, *states, c.numpy(), targets.numpy(), lr, EPS)
            done += len(c)
    np.testing.assert_array_equal(got, center)
