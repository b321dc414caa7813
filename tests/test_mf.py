"""MF on graph edges: quality on a planted-structure graph, determinism, options."""

from __future__ import annotations

import numpy as np
import pytest
from prodembed.mf import auto_batch, train_mf
from prodembed.testing import dot, planted_graph, seen_auc, split_edges

pytestmark = pytest.mark.usefixtures("one_thread")

N = 2000


@pytest.fixture(scope="module")
def edges():
    return split_edges(planted_graph(N)[0])


@pytest.mark.parametrize("bias, floor", [(False, 0.7), (True, 0.8)])
def test_mf_beats_chance_on_held_out_edges(edges, bias, floor, torch_device):
    train, held = edges
    emb, b, glob, info = train_mf(
        *train.T, N, dim=32, bias=bias, epochs=10, batch_size=256, device=torch_device
    )
    assert emb.shape == (N, 32)
    if bias:
        assert b.shape == (N,) and isinstance(glob, float)
    else:
        assert b is None and glob == 0.0
    assert seen_auc(dot(emb, b), train, held, N) > floor
    assert info["loss"][-1] < info["loss"][0]
    assert info["edges_per_s"] > 0


def test_mf_same_seed_same_embeddings(edges):
    train = edges[0]
    runs = [train_mf(*train.T, N, dim=8, bias=True, epochs=2, seed=s) for s in (5, 5, 6)]
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][0], runs[2][0])


def test_mf_edge_weights_change_training_only_when_asked(edges):
    train = edges[0]
    weights = np.random.default_rng(0).uniform(0.5, 5.4, len(train))
    plain = train_mf(*train.T, N, dim=8, epochs=1)[0]
    ignored = train_mf(*train.T, N, weights=weights, dim=8, epochs=1)[0]
    used = train_mf(*train.T, N, weights=weights, use_weights=True, dim=8, epochs=1)[0]
    np.testing.assert_array_equal(plain, ignored)
    assert not np.array_equal(plain, used)
    with pytest.raises(ValueError):
        train_mf(*train.T, N, use_weights=True, epochs=1)


def test_mf_rejects_out_of_range_edges():
    with pytest.raises(ValueError):
        train_mf(np.array([0]), np.array([5]), 5, epochs=1)


def test_auto_batch_aims_at_about_a_hundred_steps_per_epoch():
    assert auto_batch(10) == 256  # the floor
    assert auto_batch(18_422) == 256  # 72 steps
    assert auto_batch(38_000) == 512  # 74 steps
    assert auto_batch(2_700_000) == 32768  # 82 steps
    assert auto_batch(10**9) == 65536
