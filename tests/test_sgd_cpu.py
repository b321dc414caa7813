"""The fused CPU kernels against the batched torch steps they stand in for.

On one pair whose center and targets are distinct rows, per-pair and batched updates are the
same computation, so every table, optimiser state and the loss must agree to float precision.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from prodembed import sgd_cpu
from prodembed.eges import eges_step
from prodembed.pairtrain import EPS, SLICES_PER_THREAD, Hogwild, RowAdagrad, cpu_step
from prodembed.skipgram import mf_step, sgns_step

DIM, LR = 8, 0.3
C = torch.tensor([0])
TARGETS = torch.tensor([1, 2, 3, 4])  # the context, then three negatives


def tables(*shapes, seed=0):
    """Random tables with their optimisers, whose states start from a non-trivial history."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for shape in shapes:
        opt = RowAdagrad(torch.randn(*shape, generator=gen) * 0.5)
        opt.state += torch.rand(shape[0], generator=gen)
        out.append(opt)
    return out


def clone(opts):
    copies = []
    for opt in opts:
        copy = RowAdagrad(opt.table.clone())
        copy.state = opt.state.clone()
        copies.append(copy)
    return copies


def assert_same(torch_opts, kernel_opts, before):
    """Both paths moved every table the same way (and did move it)."""
    for ref, got, start in zip(torch_opts, kernel_opts, before, strict=True):
        assert not torch.equal(ref.table, start.table)
        np.testing.assert_allclose(got.table.numpy(), ref.table.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got.state.numpy(), ref.state.numpy(), rtol=1e-5, atol=1e-7)


def test_sgns_kernel_matches_the_torch_step():
    ref = tables((6, DIM), (6, DIM))
    got, before = clone(ref), clone(ref)
    loss = sgns_step(C, TARGETS, LR, center=ref[0].table, opt_center=ref[0], opt_context=ref[1])
    kernel_loss = cpu_step(sgd_cpu.sgns_pairs, *(o.table for o in got), *(o.state for o in got))(
        C, TARGETS, LR
    )
    assert kernel_loss == pytest.approx(float(loss), rel=1e-5)
    assert_same(ref, got, before)


def test_mf_kernel_matches_the_torch_step():
    ref = tables((6, DIM), (6, 1), (1, 1), seed=1)
    got, before = clone(ref), clone(ref)
    loss = mf_step(C, TARGETS, LR, opts=ref, l2=0.01)
    views = got[0].table, got[1].table.view(-1), got[2].table.view(-1)
    step = cpu_step(sgd_cpu.mf_pairs, *views, *(o.state for o in got), scalars=(0.01,))
    assert step(C, TARGETS, LR) == pytest.approx(float(loss), rel=1e-5)
    assert_same(ref, got, before)


def test_eges_kernel_matches_the_torch_step():
    # 5 nodes, 3 fields (item, brand, category); node 0 has no category: masked out.
    ref = tables((5 + 3 + 4, DIM), (5, 3), (5, DIM), seed=2)
    ref[1].table[0] = torch.tensor([0.3, -0.2, 5.0])  # a large weight on the missing field
    got, before = clone(ref), clone(ref)
    rows_of = torch.tensor([[0, 5, 8], [1, 6, 9], [2, 7, 10], [3, 5, 11], [4, 6, 8]])
    present_of = torch.ones(5, 3, dtype=torch.bool)
    present_of[0, 2] = False
    loss = eges_step(C, TARGETS, LR, opts=ref, rows_of=rows_of, present_of=present_of)
    step = cpu_step(
        sgd_cpu.eges_pairs, *(o.table for o in got), *(o.state for o in got), rows_of, present_of
    )
    assert step(C, TARGETS, LR) == pytest.approx(float(loss), rel=1e-5)
    assert_same(ref, got, before)
    # The missing field's row and weight got no update.
    np.testing.assert_array_equal(got[0].table[8].numpy(), ref[0].table[8].numpy())
    assert got[1].table[0, 2] == 5.0


def test_kernels_keep_the_loss_finite_at_saturated_logits():
    center, context = torch.full((2, DIM), 40.0), torch.full((2, DIM), 40.0)
    states = torch.zeros(2), torch.zeros(2)
    loss = sgd_cpu.sgns_pairs(
        center.numpy(), context.numpy(), *(s.numpy() for s in states),
        np.array([0]), np.array([[1, 1]]), LR, EPS,
    )  # fmt: skip
    # The positive scores 1.0 (loss ~0), the negative scores a huge logit: loss ~30 (clamped).
    assert np.isfinite(loss) and loss == pytest.approx(30.0, rel=1e-3)
    assert np.isfinite(center.numpy()).all() and np.isfinite(context.numpy()).all()


def _frozen_kernels(nodes=50, seed=0):
    """Each kernel on random tables as ``f(c, targets)`` with lr = 0, so no row moves and every
    pair's loss is what that pair alone scores."""
    gen = np.random.default_rng(seed)

    def table(*shape):
        return (gen.standard_normal(shape) * 0.5).astype(np.float32)

    def ones(*shape):
        return np.ones(shape, np.float32)

    rows = np.stack([np.arange(nodes), nodes + np.arange(nodes) % 7], axis=1)
    present = np.ones((nodes, 2), bool)
    present[::3, 1] = False
    sgns = table(nodes, DIM), table(nodes, DIM), ones(nodes), ones(nodes)
    mf = table(nodes, DIM), table(nodes), table(1), ones(nodes), ones(nodes), ones(1)
    eges = table(nodes + 7, DIM), table(nodes, 2), table(nodes, DIM), ones(nodes + 7)
    eges += ones(nodes), ones(nodes), rows, present
    return {
        "sgns": lambda c, t: sgd_cpu.sgns_pairs(*sgns, c, t, 0.0, EPS),
        "mf": lambda c, t: sgd_cpu.mf_pairs(*mf, c, t, 0.0, 0.01, EPS),
        "eges": lambda c, t: sgd_cpu.eges_pairs(*eges, c, t, 0.0, EPS),
    }


@pytest.mark.parametrize("kind", ["sgns", "mf", "eges"])
def test_kernels_estimate_a_batch_loss_from_every_eighth_pair(kind):
    kernel = _frozen_kernels()[kind]
    gen = np.random.default_rng(1)
    n = 37
    c, targets = gen.integers(0, 50, n), gen.integers(0, 50, (n, 4))
    each = np.array([kernel(c[p : p + 1], targets[p : p + 1]) for p in range(n)])
    sampled = each[:: sgd_cpu.LOSS_EVERY]  # pairs 0, 8, ..., 32: five of them
    assert len(sampled) == 5
    assert kernel(c, targets) == pytest.approx(sampled.sum() * n / 5, rel=1e-5)
    assert kernel(c[:0], targets[:0]) == 0.0
    # The estimate is not the exact sum here, so the assertion above could tell them apart.
    assert abs(sampled.sum() * n / 5 - each.sum()) > 1e-3 * each.sum()


def test_private_arrays_add_every_slice_change_to_the_shared_one():
    """With threads, a ``private`` array reaches each slice as a copy, and every slice's change
    is added to the shared array: three slices that start together from the same value must
    not overwrite each other. Other arrays stay shared."""
    shared, counter = torch.zeros(3), torch.zeros(1)
    together = threading.Barrier(3)
    copies = []

    def kernel(counter_view, shared_view, c, targets, lr, eps):
        copies.append(not np.shares_memory(counter_view, counter.numpy()))
        assert np.shares_memory(shared_view, shared.numpy())
        together.wait(timeout=10)  # three slices hold copies of the same starting value
        counter_view[0] += len(c)
        return float(len(c))

    with Hogwild(3) as workers:
        step = cpu_step(kernel, counter, shared, workers=workers, private=(0,))
        loss = step(torch.arange(1200), torch.zeros(1200, 2, dtype=torch.int64), LR)
    assert all(copies) and len(copies) == SLICES_PER_THREAD * 3
    assert counter.item() == 1200 and loss == 1200
