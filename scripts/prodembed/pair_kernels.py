"""The numba kernels of the pair engine's CPU path (:class:`~prodembed.pairs.PairEngine`).

On a CPU the torch engine spent ~0.27 us per pair (benchmarks/RESULTS.md), a fifth of a fused
trainer's epoch: a dozen full-array passes to build the pairs, a permutation gather, and
negatives gathered from a unigram table of 64 slots per node (116 MB at Electronics size, a
cache miss per draw). Here a chunk's pairs come from one pass over its walks, and negatives
from an alias table over the walked nodes (16 bytes per node, mostly in cache), exact
unigram^power rather than rounded to table slots. Every draw comes from one splitmix64
stream per epoch (:mod:`.walk_kernels`), so the same seed gives the same bytes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .walk_kernels import uniform, walk_state


def stream(seed: int) -> np.ndarray:
    """A splitmix64 stream keyed by a 63-bit ``seed``: its state as a 1-element uint64 array,
    which the kernels advance in place (a uint64 returned to Python comes back as an int,
    and numba would then mix it with uint64 constants in floating point)."""
    return np.array([walk_state(np.uint64(seed), np.uint64(0))], dtype=np.uint64)


@njit(cache=True, inline="always")
def _below(state, k):
    """Advance the stream; return the new state and an integer uniform on ``0..k-1``."""
    state, u = uniform(state)
    return state, min(np.int64(u * k), k - 1)


@njit(cache=True, nogil=True)
def permutation(n, stream):
    """A uniform permutation of ``0..n-1`` (Fisher-Yates)."""
    state = stream[0]
    order = np.arange(n, dtype=np.int64)
    for i in range(n - 1, 0, -1):
        state, j = _below(state, i + 1)
        order[i], order[j] = order[j], order[i]
    stream[0] = state
    return order


@njit(cache=True, nogil=True)
def walk_pairs(walks, order, window, dynamic, stream, centers, contexts):
    """The (center, context) pairs of ``walks[order]``, shuffled, into ``centers``/``contexts``.

    word2vec's window: each center's contexts within ``b`` places, ``b ~ U{1..window}``
    (``window`` when not ``dynamic``); padding (``-1``) is no one's center or context. The pairs
    are then shuffled (Fisher-Yates): in word2vec's own order, walk by walk, the per-pair
    kernels ran ~10% faster (rows still in cache) but skip-gram lost 0.004 seen AUC on a
    planted graph (6 seeds, every one lower or equal). Returns the pair count; the buffers
    must hold every pair.
    """
    state = stream[0]
    length = walks.shape[1]
    n = 0
    for w in range(order.shape[0]):
        row = walks[order[w]]
        for i in range(length):
            v = row[i]
            if v < 0:
                continue
            b = window
            if dynamic:
                state, b = _below(state, window)
                b += 1
            for j in range(max(0, i - b), min(length, i + b + 1)):
                if j != i and row[j] >= 0:
                    centers[n] = v
                    contexts[n] = row[j]
                    n += 1
    for i in range(n - 1, 0, -1):
        state, j = _below(state, i + 1)
        centers[i], centers[j] = centers[j], centers[i]
        contexts[i], contexts[j] = contexts[j], contexts[i]
    stream[0] = state
    return n


@njit(cache=True, nogil=True)
def targets(contexts, bounds, table, prob, stream, out):
    """A batch's targets: ``out[:, 0]`` the ``contexts``, ``out[:, 1:]`` negatives drawn from
    one alias row (``walk_kernels.alias_tables``)."""
    state = stream[0]
    d = bounds[1]
    for i in range(out.shape[0]):
        out[i, 0] = contexts[i]
        for j in range(1, out.shape[1]):
            state, u = uniform(state)
            x = u * d
            e = min(np.int64(x), d - 1)
            # A select, not walk_kernels.draw's branch: a coin flip mispredicted after the
            # record's cache miss would serialise the draws' misses.
            keep = np.int64(x - e < prob[e, 0])
            out[i, j] = keep * table[e, 1] + (1 - keep) * table[e, 2]
    stream[0] = state
