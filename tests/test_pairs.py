"""The pair engine: exact pair sets, window bounds, negative distribution, seeding, chunking."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from prodembed.pairs import PairEngine, alias_row, unigram_table
from scipy.stats import chisquare


@pytest.fixture(params=["numba", "torch-cpu", "cuda"])
def path(request) -> dict:
    """Both CPU paths everywhere (the torch one is the GPU's), CUDA where a GPU is present."""
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    return {"numba": {}, "torch-cpu": {"numba": False}, "cuda": {"device": "cuda"}}[request.param]


def all_pairs(engine: PairEngine, epoch: int = 0):
    batches = list(engine.epoch(epoch))
    centers = torch.cat([c for c, _ in batches]).cpu().numpy()
    targets = torch.cat([t for _, t in batches]).cpu().numpy()
    return centers, targets[:, 0], targets[:, 1:]


def test_full_window_gives_exactly_the_word2vec_pairs(path):
    walks = np.array([[0, 1, 2, 3], [4, 5, 6, 7]], dtype=np.int32)
    engine = PairEngine(walks, 8, window=2, batch_size=3, dynamic_window=False, **path)
    centers, contexts, negatives = all_pairs(engine)
    expected = Counter(
        (int(w[i]), int(w[j]))
        for w in walks
        for i in range(4)
        for j in range(4)
        if 0 < abs(i - j) <= 2
    )
    assert Counter(zip(centers.tolist(), contexts.tolist(), strict=True)) == expected
    assert engine.pairs_per_epoch == len(centers) == 20
    assert negatives.shape == (20, 5) and negatives.dtype == np.int64


def test_dynamic_window_pairs_stay_within_window_on_their_walk(path):
    walks = np.arange(300 * 10, dtype=np.int32).reshape(300, 10)  # node id -> (walk, position)
    engine = PairEngine(walks, walks.size, window=3, batch_size=4096, seed=1, **path)
    centers, contexts, _ = all_pairs(engine)
    offset = contexts - centers  # same walk and |offset| <= 3 <=> same row, nearby column
    assert np.all(centers // 10 == contexts // 10)
    assert np.all((np.abs(offset) >= 1) & (np.abs(offset) <= 3))
    assert (offset > 0).any() and (offset < 0).any()
    # b ~ U{1..3}: offset d is kept with probability (4 - d) / 3; compare with the exact mean.
    assert abs(len(centers) - engine.pairs_per_epoch) < 0.02 * engine.pairs_per_epoch
    counts = Counter(np.abs(offset).tolist())
    assert counts[1] > counts[2] > counts[3]
    assert counts[1] / counts[3] == pytest.approx(3 * 9 / 7, rel=0.1)


def test_negatives_follow_unigram_to_the_075(path):
    rng = np.random.default_rng(0)
    walks = rng.choice(20, size=(500, 10), p=np.arange(1, 21) / 210).astype(np.int32)
    engine = PairEngine(walks, 25, window=2, negatives=5, batch_size=100_000, seed=2, **path)
    _, _, negatives = all_pairs(engine)
    freq = np.bincount(walks.ravel(), minlength=25).astype(float)
    expected = freq**0.75 / (freq**0.75).sum() * negatives.size
    observed = np.bincount(negatives.ravel(), minlength=25)
    assert observed[20:].sum() == 0  # nodes absent from the walks are never drawn
    assert chisquare(observed[:20], expected[:20]).pvalue > 1e-3


def test_alias_row_gives_each_walked_node_exactly_count_to_the_075():
    counts = np.array([0, 1, 16, 81, 0, 5])
    bounds, table, prob = alias_row(counts, 0.75)
    assert bounds.tolist() == [0, 4]  # only walked nodes have slots
    implied = np.zeros(len(counts))
    np.add.at(implied, table[:, 1], prob[:, 0])
    np.add.at(implied, table[:, 2], 1.0 - prob[:, 0])
    expected = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(implied / bounds[1], expected, atol=1e-7)


def test_numba_path_is_cpu_only():
    with pytest.raises(ValueError, match="on the CPU"):
        PairEngine(np.array([[0, 1]], np.int32), 2, device="cuda", numba=True)


def test_unigram_table_slots_are_proportional():
    table = unigram_table(torch.tensor([0, 1, 16, 81]), power=0.75, size=1000)
    slots = np.bincount(table.numpy(), minlength=4)
    np.testing.assert_allclose(slots, np.array([0, 1, 8, 27]) / 36 * 1000, atol=1)


def test_same_seed_same_batches_and_epochs_differ(path):
    walks = np.random.default_rng(0).integers(50, size=(40, 8)).astype(np.int32)

    def run(seed, epoch):
        engine = PairEngine(walks, 50, window=3, batch_size=64, seed=seed, **path)
        return all_pairs(engine, epoch)

    for first, again in zip(run(7, 0), run(7, 0), strict=True):
        np.testing.assert_array_equal(first, again)
    assert not np.array_equal(run(7, 0)[0], run(8, 0)[0])
    assert not np.array_equal(run(7, 0)[0], run(7, 1)[0])


def test_chunked_epoch_yields_the_same_pairs(path):
    walks = np.random.default_rng(0).integers(30, size=(64, 6)).astype(np.int32)
    whole = PairEngine(walks, 30, window=2, dynamic_window=False, batch_size=100, **path)
    chunked = PairEngine(
        walks, 30, window=2, dynamic_window=False, batch_size=100, max_pairs=50, **path
    )
    assert chunked.chunk_walks < len(walks)

    def pair_set(engine):
        c, x, _ = all_pairs(engine)
        return Counter(zip(c.tolist(), x.tolist(), strict=True))

    assert pair_set(whole) == pair_set(chunked)


def test_padding_never_forms_pairs(path):
    walks = np.array([[0, 1, 2, -1, -1], [3, 4, -1, -1, -1]], dtype=np.int32)
    engine = PairEngine(walks, 5, window=2, dynamic_window=False, **path)
    centers, contexts, negatives = all_pairs(engine)
    pairs = Counter(zip(centers.tolist(), contexts.tolist(), strict=True))
    assert pairs == Counter({(0, 1): 1, (1, 0): 1, (0, 2): 1, (2, 0): 1, (1, 2): 1, (2, 1): 1,
                             (3, 4): 1, (4, 3): 1})  # fmt: skip
    assert engine.pairs_per_epoch == 8
    assert negatives.min() >= 0


def test_rejects_bad_walks():
    with pytest.raises(ValueError):
        PairEngine(np.array([[0, 9]], dtype=np.int32), 5)
    with pytest.raises(ValueError):
        PairEngine(np.array([0, 1, 2], dtype=np.int32), 5)
