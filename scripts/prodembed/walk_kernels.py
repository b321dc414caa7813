"""The numba kernels of the CPU walkers; ``walks`` holds their API, input checks and the
torch path.

Each walk draws from its own counter-based splitmix64 stream keyed by ``(seed, walk index)``,
so the bytes depend neither on the thread count nor on scheduling, which numba's per-thread
``np.random`` state cannot promise. Neighbours come from per-row alias tables packed with the
neighbour ids (O(1) per step), node2vec's "is x a neighbour of t" from a hash set of the
edges. On a graph larger than the caches a step is a chain of dependent cache misses, so each
thread advances a group of walks in passes, each pass prefetching what the walk's next pass
will read: the misses of the whole group overlap instead of queueing one by one.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .prefetch import prefetch

GROUP = 32  # walks one numba thread interleaves (memory-level parallelism)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_SHIFT11 = np.uint64(11)
_SHIFT27 = np.uint64(27)
_SHIFT30 = np.uint64(30)
_SHIFT31 = np.uint64(31)
_TO_UNIT = 1.0 / float(1 << 53)


@njit(cache=True, inline="always")
def _mix64(z):
    """splitmix64's finaliser: a bijection on uint64, so distinct walk indices get distinct keys."""
    z = (z ^ (z >> _SHIFT30)) * _MUL1
    z = (z ^ (z >> _SHIFT27)) * _MUL2
    return z ^ (z >> _SHIFT31)


@njit(cache=True, inline="always")
def uniform(state):
    """Advance a walk's splitmix64 stream; return the new state and a double in [0, 1)."""
    state = state + _GOLDEN
    return state, (_mix64(state) >> _SHIFT11) * _TO_UNIT


@njit(cache=True, inline="always")
def walk_state(seed, k):
    return _mix64(_mix64(seed + _GOLDEN) ^ np.uint64(k))


@njit(cache=True, parallel=True)
def alias_tables(indptr, indices, weights):
    """Per-row Vose alias tables packed with the neighbours they point to, and row strengths.

    Row ``table[e]`` for slot ``e = indptr[v] + j`` is ``(prob, kept node, alias node, alias
    slot j')`` (prob as float32 bits): a draw reads one 16-byte record, so a step costs two
    cache misses (indptr, record) whatever the degree. Binary search over cumulative weights
    would cost log2(degree) dependent misses instead, and walks spend much of their time at
    the hubs of a power-law graph. 16 bytes per entry keeps memory O(edges).
    """
    table = np.empty((weights.shape[0], 4), dtype=np.int32)
    prob = table.view(np.float32)
    strength = np.zeros(indptr.shape[0] - 1, dtype=np.float64)
    for v in prange(indptr.shape[0] - 1):
        start = indptr[v]
        d = indptr[v + 1] - start
        total = 0.0
        for j in range(d):
            total += weights[start + j]
        strength[v] = total
        if total > 0:
            scaled = np.empty(d, dtype=np.float64)
            stack = np.empty(d, dtype=np.int64)  # small slots from the left, large from the right
            n_small = 0
            n_large = 0
            for j in range(d):
                scaled[j] = weights[start + j] * d / total
                prob[start + j, 0] = 1.0  # slots never paired below keep themselves
                table[start + j, 1] = indices[start + j]
                table[start + j, 2] = indices[start + j]
                table[start + j, 3] = j
                if scaled[j] < 1.0:
                    stack[n_small] = j
                    n_small += 1
                else:
                    n_large += 1
                    stack[d - n_large] = j
            while n_small > 0 and n_large > 0:
                n_small -= 1
                small = stack[n_small]
                large = stack[d - n_large]
                prob[start + small, 0] = scaled[small]
                table[start + small, 2] = indices[start + large]
                table[start + small, 3] = large
                scaled[large] = (scaled[large] + scaled[small]) - 1.0
                if scaled[large] < 1.0:
                    n_large -= 1
                    stack[n_small] = large
                    n_small += 1
    return table, strength


@njit(cache=True, inline="always")
def draw(indptr, table, prob, v, u):
    """A neighbour of ``v`` drawn with probability w / strength from one uniform, and its slot."""
    start = indptr[v]
    d = indptr[v + 1] - start
    x = u * d
    j = min(np.int64(x), d - 1)
    e = start + j
    if x - j < prob[e, 0]:
        return np.int64(table[e, 1]), e
    return np.int64(table[e, 2]), start + table[e, 3]


@njit(cache=True)
def edge_set(indptr, indices):
    """Open-addressing hash set of the undirected edges, keyed ``min * n + max``.

    node2vec asks "is x a neighbour of t" about once per step. A binary search in t's row is
    several dependent misses at a hub; a probe here is one line, known (so prefetchable) as
    soon as x is. At most half full: 16-32 bytes per undirected edge.
    """
    n = indptr.shape[0] - 1
    n_edges = 0
    for v in range(n):
        for e in range(indptr[v], indptr[v + 1]):
            n_edges += indices[e] > v
    size = 2
    while size < 2 * n_edges:
        size <<= 1
    keys = np.full(size, -1, dtype=np.int64)
    for v in range(n):
        for e in range(indptr[v], indptr[v + 1]):
            if indices[e] > v:
                key, slot = _edge_slot(keys, n, v, np.int64(indices[e]))
                while keys[slot] >= 0:
                    slot = (slot + 1) & (size - 1)
                keys[slot] = key
    return keys


@njit(cache=True, inline="always")
def _edge_slot(keys, n, t, x):
    key = min(t, x) * n + max(t, x)
    return key, np.int64(_mix64(np.uint64(key)) & np.uint64(keys.shape[0] - 1))


@njit(cache=True, inline="always")
def has_edge(keys, n, t, x):
    key, slot = _edge_slot(keys, n, t, x)
    while True:
        found = keys[slot]
        if found == key:
            return True
        if found < 0:
            return False
        slot = (slot + 1) & (keys.shape[0] - 1)


@njit(cache=True, inline="always")
def _row_slot(indptr, v, u):
    """The alias slot ``draw`` reads for ``v`` and ``u``, to prefetch it a pass ahead."""
    start = indptr[v]
    d = indptr[v + 1] - start
    return start + min(np.int64(u * d), d - 1)


@njit(cache=True, parallel=True)
def first_order_kernel(indptr, table, prob, seed, start, out):
    """Per step two passes over a group of walks: draw a uniform and prefetch the alias record
    it selects (the row was prefetched when the walk arrived), then read it and move."""
    n = indptr.shape[0] - 1
    n_out = out.shape[0]
    for group in prange((n_out + GROUP - 1) // GROUP):
        lo = group * GROUP
        size = min(GROUP, n_out - lo)
        states = np.empty(size, dtype=np.uint64)
        nodes = np.empty(size, dtype=np.int64)
        draws = np.empty(size, dtype=np.float64)
        for g in range(size):
            k = start + lo + g
            states[g] = walk_state(seed, k)
            nodes[g] = k % n
            out[lo + g, 0] = nodes[g]
        for s in range(1, out.shape[1]):
            for g in range(size):
                states[g], draws[g] = uniform(states[g])
                prefetch(table, _row_slot(indptr, nodes[g], draws[g]))
            for g in range(size):
                v, _ = draw(indptr, table, prob, nodes[g], draws[g])
                nodes[g] = v
                out[lo + g, s] = v
                prefetch(indptr, v)


@njit(cache=True, parallel=True)
def node2vec_kernel(indptr, weights, strength, table, prob, edges, inv_p, inv_q, seed, start, out):
    """Second-order steps by exact rejection from an envelope with the return folded out.

    Target from ``v`` (arrived from ``t``): f(x) = w_vx * alpha(x). Envelope:
    g(x) = M * w_vx + [x == t] * E with M = max(1, 1/q) and E = w_vt * max(0, 1/p - M), so a
    strong return bias (small p) costs one extra mass term instead of scaling every proposal's
    acceptance down by 1/p (KnightKing's outlier folding). Draws from the E part are returns and
    always accepted; first-order draws are accepted with alpha(x) / M, and the neighbour test
    runs only when the acceptance threshold falls between min(1, 1/q) / M and 1. ``w_vt`` is
    the weight of the edge just walked (the graph is symmetric). The first step draws exactly
    as the first-order kernel does.

    A proposal is three dependent misses (v's row, the alias record, the edge set), so the
    walks of a group take turns in rounds of three passes, each prefetching what the next pass
    reads: A draws from the envelope and prefetches the record, B reads it and prefetches the
    edge weight and the edge-set slot, C accepts (the walk moves on and prefetches its new row)
    or keeps the walk for another proposal. Walks move independently, so no walk waits for a
    slow one, and each consumes its own stream in the order a one-walk loop would.
    """
    n = indptr.shape[0] - 1
    n_out = out.shape[0]
    length = out.shape[1]
    m = max(1.0, inv_q)
    return_gain = max(0.0, inv_p - m)
    accept_return = min(inv_p, m) / m
    accept_near = 1.0 / m
    accept_far = inv_q / m
    low = min(accept_near, accept_far)
    for group in prange((n_out + GROUP - 1) // GROUP):
        lo = group * GROUP
        size = min(GROUP, n_out - lo)
        states = np.empty(size, dtype=np.uint64)
        prevs = np.empty(size, dtype=np.int64)
        nodes = np.empty(size, dtype=np.int64)
        walked = np.empty(size, dtype=np.float64)  # weight of the edge prev -> node
        steps = np.empty(size, dtype=np.int64)  # next column to fill
        active = np.empty(size, dtype=np.int64)  # walks still short of ``length``
        draws = np.empty(size, dtype=np.float64)  # proposal's uniform in v's row; -1: a return
        proposed = np.empty(size, dtype=np.int64)
        slots = np.empty(size, dtype=np.int64)
        tests = np.empty(size, dtype=np.float64)
        n_active = 0
        for g in range(size):
            k = start + lo + g
            state = walk_state(seed, k)
            t = np.int64(k % n)
            out[lo + g, 0] = t
            if length > 1:
                state, u = uniform(state)
                v, e = draw(indptr, table, prob, t, u)
                out[lo + g, 1] = v
                nodes[g] = v
                walked[g] = weights[e]
                prefetch(indptr, v)
                prefetch(strength, v)
            states[g] = state
            prevs[g] = t
            steps[g] = 2
            if length > 2:
                active[n_active] = g
                n_active += 1
        while n_active > 0:
            for i in range(n_active):  # A: draw from the envelope, prefetch the alias record
                g = active[i]
                v = nodes[g]
                states[g], u = uniform(states[g])
                extra = walked[g] * return_gain
                mass = m * strength[v]
                y = u * (mass + extra)
                draws[i] = -1.0
                if y >= extra:
                    draws[i] = (y - extra) / mass
                    prefetch(table, _row_slot(indptr, v, draws[i]))
            for i in range(n_active):  # B: read the record, prefetch its weight and edge test
                if draws[i] >= 0:
                    g = active[i]
                    x, e = draw(indptr, table, prob, nodes[g], draws[i])
                    states[g], tests[i] = uniform(states[g])
                    proposed[i] = x
                    slots[i] = e
                    prefetch(weights, e)
                    if tests[i] >= low and x != prevs[g]:
                        prefetch(edges, _edge_slot(edges, n, prevs[g], x)[1])
            kept = 0
            for i in range(n_active):  # C: accept (the walk moves on) or propose again
                g = active[i]
                t = prevs[g]
                if draws[i] < 0:
                    x = t
                    accepted = True
                else:
                    x = proposed[i]
                    r = tests[i]
                    if x == t:
                        accepted = r < accept_return
                    elif r < low:
                        accepted = True
                    elif has_edge(edges, n, t, x):
                        accepted = r < accept_near
                    else:
                        accepted = r < accept_far
                if accepted:
                    if x != t:  # a return walks the same edge back
                        walked[g] = weights[slots[i]]
                    prevs[g] = nodes[g]
                    nodes[g] = x
                    out[lo + g, steps[g]] = x
                    steps[g] += 1
                    prefetch(indptr, x)
                    prefetch(strength, x)
                    if steps[g] == length:
                        continue
                active[kept] = g
                kept += 1
            n_active = kept
