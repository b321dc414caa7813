"""Fused per-pair SGD kernels (numba): the CPU path of the pair trainers.

On a CPU the batched torch step of :mod:`.skipgram` is memory-bound: every batch gathers
(B, 1+K, dim) context rows into a temporary, multiplies, and scatters (B, 1+K, dim) updates
back, several full passes over buffers larger than the caches. These kernels do the same
model, loss, optimiser and schedule one pair at a time, as word2vec's C loop does: the center
row and its 1+K target rows are read once, updated in place and stay in L1. They consume the
same :class:`~prodembed.pairs.PairEngine` batches (the same pairs and negatives) and the same
row-wise Adagrad state as the torch path.

The only semantic difference is the update granularity: each pair sees the updates of the pairs
before it (Adagrad per occurrence, as in the paper) instead of one summed step per batch. For a
single pair whose targets are distinct the two paths agree to float precision (tested).

On tables larger than the caches each pair is 1+K+1 row misses; the kernels prefetch the rows
of the pair ``AHEAD`` places on, so those misses overlap the current pair's arithmetic
(+25% pairs/s at 500k rows, +12% at 5k on the benchmark machine; no change to any result).
Every random line counts: MF's biases and their states, and EGES's lookups of which field
rows a node has (fetched ``2 * AHEAD`` on, since they decide what to prefetch at ``AHEAD``).

The loss only feeds logs and learning curves, so the kernels take it from every
``LOSS_EVERY``-th pair of a batch and scale the sum to the batch: batches are shuffled, so the
estimate is unbiased, and it skips most of the ``log1p`` calls, 6-9% of the kernels'
time (RESULTS.md, Skip-gram). A one-pair batch still reports its exact loss.

Each call is serial and releases the GIL (``nogil``), so a trainer with ``threads`` > 1 runs
Hogwild like word2vec's C code and gensim (:class:`~prodembed.pairtrain.Hogwild`): threads call
the kernel on slices of a batch and update the shared tables and Adagrad states without
locks. A race loses a float add at worst (an Adagrad accumulator only grows, so it stays
positive), and results vary within noise from run to run. With one thread the calls run in
order: same seed, same bytes. Speed on the 2-core benchmark machine is in
benchmarks/RESULTS.md (Skip-gram, "Several threads (Hogwild)").
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .prefetch import prefetch

#: Clamp for logits before exp(): beyond it the sigmoid is 0/1 to float32 precision.
MAX_LOGIT = 30.0
#: Pairs between a row's prefetch and its use.
AHEAD = 4
#: float32 values per 64-byte cache line.
LINE = 16
#: The loss is summed over one pair in this many (the first of each run of them).
LOSS_EVERY = 8


@njit(cache=True, inline="always")
def _prefetch_row(table, state, row) -> None:
    """Prefetch every cache line of ``table[row]`` and its Adagrad state."""
    vec = table[row]
    for d in range(0, vec.shape[0], LINE):
        prefetch(vec, d)
    prefetch(state, row)


@njit(cache=True, inline="always")
def _prefetch_targets(ctx, ctx_state, targets) -> None:
    """Prefetch the context rows of one pair's targets."""
    for j in range(targets.shape[0]):
        _prefetch_row(ctx, ctx_state, targets[j])


@njit(cache=True, inline="always")
def _prefetch_mf(emb, emb_state, bias, bias_state, row) -> None:
    """Prefetch one MF row: its vector, bias and both Adagrad states (the biases are two more
    random lines per row, as costly to miss as the vector's)."""
    _prefetch_row(emb, emb_state, row)
    prefetch(bias, row)
    prefetch(bias_state, row)


@njit(cache=True, fastmath=True, inline="always")
def _sigmoid_loss(s: float, label: bool, with_loss: bool) -> tuple[float, float]:
    """(d loss / d logit, loss if ``with_loss`` else 0) of BCE with logits for one target,
    overflow-safe."""
    s = min(max(s, -MAX_LOGIT), MAX_LOGIT)
    if label:
        e = math.exp(-s)
        return -e / (1.0 + e), math.log1p(e) if with_loss else 0.0
    e = math.exp(s)
    return e / (1.0 + e), math.log1p(e) if with_loss else 0.0


@njit(cache=True, inline="always")
def _batch_loss(sampled: float, n: int) -> float:
    """A batch's summed loss estimated from its pairs ``p % LOSS_EVERY == 0``."""
    if n == 0:
        return 0.0
    return sampled * n / ((n + LOSS_EVERY - 1) // LOSS_EVERY)


@njit(cache=True, fastmath=True, inline="always")
def _adagrad_row(table, state, row, grad, scale, lr, eps) -> None:
    """table[row] -= lr * scale * grad / sqrt(state[row]), state[row] += mean((scale*grad)^2)."""
    dim = table.shape[1]
    sq = np.float32(0.0)
    for d in range(dim):
        sq += grad[d] * grad[d]
    state[row] += scale * scale * sq / dim
    step = np.float32(lr * scale / math.sqrt(state[row] + eps))
    vec = table[row]
    for d in range(dim):
        vec[d] -= step * grad[d]


@njit(cache=True, fastmath=True, inline="always")
def _adagrad_scalar(values, state, i, g, lr, eps) -> None:
    """Adagrad on one scalar parameter (a bias): state[i] += g^2, then the step."""
    state[i] += g * g
    values[i] -= lr * g / math.sqrt(state[i] + eps)


@njit(cache=True, fastmath=True, inline="always")
def _sgns_targets(h, ctx, ctx_state, targets, grad_h, lr, eps, with_loss) -> float:
    """Score ``h`` against ``targets`` (the context, then the negatives), update those context
    rows, add d loss / d h to ``grad_h``; return the pair's loss (0 unless ``with_loss``).
    Reads rows before updating."""
    dim = h.shape[0]
    h_sq = np.float32(0.0)
    for d in range(dim):
        h_sq += h[d] * h[d]
    h_sq /= dim
    loss = 0.0
    for j in range(len(targets)):
        t = targets[j]
        v = ctx[t]
        s = np.float32(0.0)
        for d in range(dim):
            s += h[d] * v[d]
        g64, pair_loss = _sigmoid_loss(s, j == 0, with_loss)
        g = np.float32(g64)
        loss += pair_loss
        for d in range(dim):
            grad_h[d] += g * v[d]
        # The context row's gradient is g * h; its mean square is g^2 * mean(h^2).
        ctx_state[t] += g * g * h_sq
        step = np.float32(lr * g / math.sqrt(ctx_state[t] + eps))
        for d in range(dim):
            v[d] -= step * h[d]
    return loss


@njit(cache=True, fastmath=True, nogil=True)
def sgns_pairs(center, ctx, center_state, ctx_state, c, targets, lr, eps) -> float:
    """Skip-gram with negative sampling on a batch; returns the summed loss.

    ``c`` (B,) are the centers, ``targets`` (B, 1+K) each pair's context then its negatives.
    """
    grad = np.empty(center.shape[1], np.float32)
    loss = 0.0
    for p in range(len(c)):
        if p + AHEAD < len(c):
            _prefetch_row(center, center_state, c[p + AHEAD])
            _prefetch_targets(ctx, ctx_state, targets[p + AHEAD])
        grad[:] = 0.0
        with_loss = p % LOSS_EVERY == 0
        loss += _sgns_targets(center[c[p]], ctx, ctx_state, targets[p], grad, lr, eps, with_loss)
        _adagrad_row(center, center_state, c[p], grad, 1.0, lr, eps)
    return _batch_loss(loss, len(c))


@njit(cache=True, fastmath=True, nogil=True)
def mf_pairs(emb, bias, glob, emb_state, bias_state, glob_state, c, targets, lr, l2, eps):
    """MF with bias on one shared table, logit e_c.e_t + b_c + b_t + g, BCE + l2 per occurrence.

    ``glob``/``glob_state`` are 1-element arrays; bias rows are (n,) with (n,) state.
    """
    dim = emb.shape[1]
    decay = np.float32(2.0 * l2)
    grad_c = np.empty(dim, np.float32)
    grad_t = np.empty(dim, np.float32)
    loss = 0.0
    for p in range(len(c)):
        if p + AHEAD < len(c):
            _prefetch_mf(emb, emb_state, bias, bias_state, c[p + AHEAD])
            for t in targets[p + AHEAD]:
                _prefetch_mf(emb, emb_state, bias, bias_state, t)
        ci = c[p]
        e_c = emb[ci]
        with_loss = p % LOSS_EVERY == 0
        grad_c[:] = 0.0
        g_c = np.float32(0.0)  # also the global bias's gradient: both sum every pair's g
        for j in range(targets.shape[1]):
            t = targets[p, j]
            e_t = emb[t]
            s = bias[ci] + bias[t] + glob[0]
            for d in range(dim):
                s += e_c[d] * e_t[d]
            g64, pair_loss = _sigmoid_loss(s, j == 0, with_loss)
            g = np.float32(g64)
            loss += pair_loss
            g_c += g
            for d in range(dim):
                grad_c[d] += g * e_t[d]
                grad_t[d] = g * e_c[d] + decay * e_t[d]
            _adagrad_row(emb, emb_state, t, grad_t, 1.0, lr, eps)
            _adagrad_scalar(bias, bias_state, t, g, lr, eps)
        for d in range(dim):
            grad_c[d] += decay * e_c[d]
        _adagrad_row(emb, emb_state, ci, grad_c, 1.0, lr, eps)
        _adagrad_scalar(bias, bias_state, ci, g_c, lr, eps)
        _adagrad_scalar(glob, glob_state, 0, g_c, lr, eps)
    return _batch_loss(loss, len(c))


@njit(cache=True, fastmath=True, nogil=True)
def eges_pairs(
    fields, attn, ctx, fields_state, attn_state, ctx_state, rows, present, c, targets, lr, eps
) -> float:
    """EGES on a batch: H_c = softmax(attn[c] over present fields) . fields[rows[c]], then
    SGNS against the context table; updates the field rows, attn[c] and the context rows.

    ``rows`` (n_train, F) are each node's rows in the concatenated field table, ``present``
    (n_train, F) whether the field is set (the item field always is).
    """
    dim = fields.shape[1]
    n_fields = rows.shape[1]
    h = np.empty(dim, np.float32)
    grad_h = np.empty(dim, np.float32)
    w = np.empty(n_fields, np.float32)
    grad_a = np.empty(n_fields, np.float32)
    loss = 0.0
    for p in range(len(c)):
        if p + 2 * AHEAD < len(c):  # the lookups that say which field rows to prefetch next
            far = c[p + 2 * AHEAD]
            prefetch(rows[far], 0)
            prefetch(present[far], 0)
        if p + AHEAD < len(c):
            ahead = c[p + AHEAD]
            _prefetch_row(attn, attn_state, ahead)
            for f in range(n_fields):
                if present[ahead, f]:
                    _prefetch_row(fields, fields_state, rows[ahead, f])
            _prefetch_targets(ctx, ctx_state, targets[p + AHEAD])
        ci = c[p]
        a = attn[ci]
        top = -np.inf
        for f in range(n_fields):
            if present[ci, f] and a[f] > top:
                top = a[f]
        total = 0.0
        for f in range(n_fields):
            w[f] = math.exp(a[f] - top) if present[ci, f] else 0.0
            total += w[f]
        h[:] = 0.0
        for f in range(n_fields):
            w[f] /= total
            if w[f] > 0.0:
                e = fields[rows[ci, f]]
                for d in range(dim):
                    h[d] += w[f] * e[d]
        grad_h[:] = 0.0
        with_loss = p % LOSS_EVERY == 0
        loss += _sgns_targets(h, ctx, ctx_state, targets[p], grad_h, lr, eps, with_loss)
        # Softmax backward with the field rows as they were when h was formed.
        weighted = 0.0
        for f in range(n_fields):
            gw = np.float32(0.0)
            if w[f] > 0.0:
                e = fields[rows[ci, f]]
                for d in range(dim):
                    gw += e[d] * grad_h[d]
            grad_a[f] = gw
            weighted += w[f] * gw
        for f in range(n_fields):
            grad_a[f] = w[f] * (grad_a[f] - weighted)
        for f in range(n_fields):
            if w[f] > 0.0:
                _adagrad_row(fields, fields_state, rows[ci, f], grad_h, w[f], lr, eps)
        _adagrad_row(attn, attn_state, ci, grad_a, 1.0, lr, eps)
    return _batch_loss(loss, len(c))
