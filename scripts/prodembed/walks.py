"""Random walks over the training graph: first-order weighted (DeepWalk) and node2vec.

Two implementations share one contract (int32 array, row ``r * n + v`` is round ``r``'s walk
from node ``v``, ``length`` nodes including the start):

* numba kernels (CPU), parallel over groups of walks. Each walk draws from its own
  counter-based splitmix64 stream keyed by ``(seed, walk index)``, so the bytes depend neither
  on the thread count nor on scheduling, which numba's per-thread ``np.random`` state cannot
  promise. Neighbours come from per-row alias tables packed with the neighbour ids (O(1) per
  step). On a graph larger than the caches a step is a chain of dependent cache misses, so
  each thread advances a group of walks in passes, each pass prefetching what the walk's next
  pass will read: the misses of the whole group overlap instead of queueing one by one.
* torch (GPU), advancing every walk of a batch one step at a time with ``searchsorted`` into
  cumulative weights. Same distribution, other bytes; deterministic for a seed and device.

Memory stays O(edges) in both: node2vec's second-order bias is applied by exact rejection
sampling against the first-order distribution of ``v``, testing "is x a neighbour of t" in a
hash set of the edges (numba) or by binary search in t's sorted row (torch), instead of
storing a transition table per edge (O(sum of squared degrees)) as the reference
implementation does.
"""

from __future__ import annotations

import contextlib
import logging
import time

import numba
import numpy as np
import torch
from numba import njit, prange

from .graph import Graph
from .prefetch import prefetch

log = logging.getLogger(__name__)

WALKERS = ("deepwalk", "node2vec")
CHUNK_WALKS = 1 << 20  # numba walks per kernel call: bounds the gap between progress lines
TORCH_BATCH_WALKS = 1 << 22  # torch walks advanced together: bounds device memory
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
def _uniform(state):
    """Advance a walk's splitmix64 stream; return the new state and a double in [0, 1)."""
    state = state + _GOLDEN
    return state, (_mix64(state) >> _SHIFT11) * _TO_UNIT


@njit(cache=True, inline="always")
def _walk_state(seed, k):
    return _mix64(_mix64(seed + _GOLDEN) ^ np.uint64(k))


@njit(cache=True, parallel=True)
def _alias_tables(indptr, indices, weights):
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
def _draw(indptr, table, prob, v, u):
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
def _edge_set(indptr, indices):
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
def _has_edge(keys, n, t, x):
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
    """The alias slot ``_draw`` reads for ``v`` and ``u``, to prefetch it a pass ahead."""
    start = indptr[v]
    d = indptr[v + 1] - start
    return start + min(np.int64(u * d), d - 1)


@njit(cache=True, parallel=True)
def _first_order_kernel(indptr, table, prob, seed, start, out):
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
            states[g] = _walk_state(seed, k)
            nodes[g] = k % n
            out[lo + g, 0] = nodes[g]
        for s in range(1, out.shape[1]):
            for g in range(size):
                states[g], draws[g] = _uniform(states[g])
                prefetch(table, _row_slot(indptr, nodes[g], draws[g]))
            for g in range(size):
                v, _ = _draw(indptr, table, prob, nodes[g], draws[g])
                nodes[g] = v
                out[lo + g, s] = v
                prefetch(indptr, v)


@njit(cache=True, parallel=True)
def _node2vec_kernel(indptr, weights, strength, table, prob, edges, inv_p, inv_q, seed, start, out):
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
            state = _walk_state(seed, k)
            t = np.int64(k % n)
            out[lo + g, 0] = t
            if length > 1:
                state, u = _uniform(state)
                v, e = _draw(indptr, table, prob, t, u)
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
                states[g], u = _uniform(states[g])
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
                    x, e = _draw(indptr, table, prob, nodes[g], draws[i])
                    states[g], tests[i] = _uniform(states[g])
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
                    elif _has_edge(edges, n, t, x):
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


def _check_walkable(graph: Graph, walks_per_node: int, length: int) -> None:
    if walks_per_node < 1 or length < 1:
        raise ValueError(f"walks_per_node ({walks_per_node}) and length ({length}) must be >= 1")
    if graph.n_nodes == 0:
        raise ValueError("cannot walk an empty graph")
    if not np.all(np.isfinite(graph.weights)) or np.any(graph.weights < 0):
        raise ValueError("edge weights must be finite and non-negative")


def _check_no_isolated(graph: Graph, strength: np.ndarray) -> None:
    stuck = np.flatnonzero(strength <= 0)
    if len(stuck):
        examples = ", ".join(str(a) for a in graph.asins[stuck[:5]])
        raise ValueError(
            f"{len(stuck)} isolated node(s) (no neighbour with positive weight) cannot start "
            f"or continue a walk, e.g. {examples}; build the graph from edges only"
        )


def _check_pq(p: float, q: float) -> None:
    if not (p > 0 and q > 0 and np.isfinite(p) and np.isfinite(q)):
        raise ValueError(f"node2vec p and q must be finite and positive, got p={p}, q={q}")


def _seed64(seed: int) -> np.uint64:
    return np.uint64(int(seed) % 2**64)


@contextlib.contextmanager
def _numba_threads(threads: int | None):
    """Temporarily cap numba's thread pool (results do not depend on it, only speed does)."""
    if threads is None:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _log_progress(label: str, done: int, total: int, started: float) -> None:
    seconds = max(time.perf_counter() - started, 1e-9)
    log.info("%s: %d/%d walks, %.0f walks/s", label, done, total, done / seconds)


def _run_numba(label, graph, walks_per_node, length, threads, launch, prepare=None) -> np.ndarray:
    """Check the inputs, build the alias tables (and ``prepare()``'s extra kernel inputs), then
    fill the walks chunk by chunk, logging between chunks.

    ``launch(table, strength, start, out, *extra)`` writes walks ``start .. start + len(out)``.
    """
    _check_walkable(graph, walks_per_node, length)
    n_walks = walks_per_node * graph.n_nodes
    with _numba_threads(threads):
        log.info(
            "%s: %d walks (%d per node) of length %d on %d threads",
            label, n_walks, walks_per_node, length, numba.get_num_threads(),
        )  # fmt: skip
        started = time.perf_counter()
        table, strength = _alias_tables(graph.indptr, graph.indices, graph.weights)
        _check_no_isolated(graph, strength)
        extra = prepare() if prepare else ()
        out = np.empty((n_walks, length), dtype=np.int32)
        for start in range(0, n_walks, CHUNK_WALKS):
            stop = min(start + CHUNK_WALKS, n_walks)
            launch(table, strength, start, out[start:stop], *extra)
            _log_progress(label, stop, n_walks, started)
    return out


def first_order_walks(
    graph: Graph, walks_per_node: int, length: int, seed: int, threads: int | None = None
) -> np.ndarray:
    """DeepWalk walks weighted by edge weight: P(v -> x) = w_vx / sum_k w_vk."""
    seed64 = _seed64(seed)

    def launch(table, strength, start, out):
        _first_order_kernel(graph.indptr, table, table.view(np.float32), seed64, start, out)

    return _run_numba("deepwalk", graph, walks_per_node, length, threads, launch)


def node2vec_walks(
    graph: Graph,
    walks_per_node: int,
    length: int,
    p: float,
    q: float,
    seed: int,
    threads: int | None = None,
) -> np.ndarray:
    """node2vec walks; with p = q = 1 these are exactly (same bytes) the first-order walks."""
    _check_pq(p, q)
    if p == 1 and q == 1:
        return first_order_walks(graph, walks_per_node, length, seed, threads)
    inv_p, inv_q, seed64 = 1.0 / p, 1.0 / q, _seed64(seed)

    def edge_set():
        started = time.perf_counter()
        edges = _edge_set(graph.indptr, graph.indices)
        log.info(
            "edge set: %d slots (%.0f MiB) in %.1f s",
            len(edges), edges.nbytes / 2**20, time.perf_counter() - started,
        )  # fmt: skip
        return (edges,)

    def launch(table, strength, start, out, edges):
        _node2vec_kernel(
            graph.indptr, graph.weights, strength, table, table.view(np.float32), edges,
            inv_p, inv_q, seed64, start, out,
        )  # fmt: skip

    label = f"node2vec(p={p:g}, q={q:g})"
    return _run_numba(label, graph, walks_per_node, length, threads, launch, edge_set)


class _TorchGraph:
    """The graph on a torch device, in global (not per-row) form so one searchsorted serves all.

    ``cum`` is the global inclusive prefix sum of weights; row ``v`` spans ``base[v]`` to
    ``base[v] + strength[v]``. ``keys = row * n + column`` is globally sorted, so searching
    ``t * n + x`` in it is a binary search confined to t's row.
    """

    def __init__(self, graph: Graph, device):
        self.device = torch.device(device)
        self.n = graph.n_nodes
        self.indptr = torch.from_numpy(graph.indptr).to(self.device)
        self.indices = torch.from_numpy(graph.indices).to(self.device)
        self.weights = torch.from_numpy(graph.weights).to(self.device, torch.float64)
        self.cum = torch.cumsum(self.weights, 0)
        prefix = torch.cat([self.cum.new_zeros(1), self.cum])
        self.base = prefix[self.indptr[:-1]]
        self.strength = prefix[self.indptr[1:]] - self.base
        rows = torch.repeat_interleave(
            torch.arange(self.n, device=self.device), self.indptr[1:] - self.indptr[:-1]
        )
        self.keys = rows * self.n + self.indices.long()

    def rand(self, size: int, gen: torch.Generator) -> torch.Tensor:
        return torch.rand(size, generator=gen, device=self.device, dtype=torch.float64)

    def draw_entry(self, v: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """One weighted CSR entry per walk, clamped to v's row against rounding."""
        e = torch.searchsorted(self.cum, self.base[v] + u * self.strength[v], right=True)
        return torch.minimum(torch.maximum(e, self.indptr[v]), self.indptr[v + 1] - 1)

    def first_order(self, v: torch.Tensor, gen: torch.Generator):
        """Next node and the weight of the edge taken, for every walk at ``v``."""
        e = self.draw_entry(v, self.rand(len(v), gen))
        return self.indices[e].long(), self.weights[e]

    def is_neighbour(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        query = t * self.n + x
        pos = torch.searchsorted(self.keys, query).clamp_(max=len(self.keys) - 1)
        return self.keys[pos] == query


def _run_torch(label, graph, walks_per_node, length, seed, device, step) -> np.ndarray:
    """Advance each batch of walks together; the first step is first-order, then ``step``.

    ``step(tg, t, v, w_vt, gen)`` returns the next node and edge weight of every walk.
    """
    _check_walkable(graph, walks_per_node, length)
    _check_no_isolated(graph, graph.strength())
    tg = _TorchGraph(graph, device)
    gen = torch.Generator(device=tg.device)
    gen.manual_seed(int(seed) % 2**63)
    n_walks = walks_per_node * graph.n_nodes
    out = np.empty((n_walks, length), dtype=np.int32)
    log.info("%s: %d walks of length %d on %s", label, n_walks, length, tg.device)
    started = time.perf_counter()
    for start in range(0, n_walks, TORCH_BATCH_WALKS):
        stop = min(start + TORCH_BATCH_WALKS, n_walks)
        batch = torch.empty((stop - start, length), dtype=torch.int32, device=tg.device)
        cur = torch.arange(start, stop, device=tg.device) % tg.n
        batch[:, 0] = cur
        if length > 1:
            prev, (cur, weight) = cur, tg.first_order(cur, gen)
            batch[:, 1] = cur
        for s in range(2, length):
            prev, (cur, weight) = cur, step(tg, prev, cur, weight, gen)
            batch[:, s] = cur
        out[start:stop] = batch.cpu().numpy()
        _log_progress(label, stop, n_walks, started)
    return out


def _first_order_step(tg: _TorchGraph, t, v, w_vt, gen):
    return tg.first_order(v, gen)


def _node2vec_step(inv_p: float, inv_q: float):
    """The numba kernel's folded-return rejection step, redrawing only still-rejected walks."""
    m = max(1.0, inv_q)
    return_gain = max(0.0, inv_p - m)
    accept_return = min(inv_p, m) / m

    def step(tg: _TorchGraph, t, v, w_vt, gen):
        nxt = torch.empty_like(v)
        w_next = torch.empty_like(w_vt)
        pending = torch.arange(len(v), device=tg.device)
        while len(pending):
            tp, vp, wp = t[pending], v[pending], w_vt[pending]
            extra = wp * return_gain
            mass = m * tg.strength[vp]
            y = tg.rand(len(pending), gen) * (mass + extra)
            folded = y < extra
            e = tg.draw_entry(vp, ((y - extra) / mass).clamp_(min=0.0))
            x = torch.where(folded, tp, tg.indices[e].long())
            w = torch.where(folded, wp, tg.weights[e])
            accept_prob = torch.full(x.shape, inv_q / m, dtype=torch.float64, device=tg.device)
            accept_prob.masked_fill_(tg.is_neighbour(tp, x), 1.0 / m)
            accept_prob.masked_fill_(x == tp, accept_return).masked_fill_(folded, 1.0)
            accept = tg.rand(len(pending), gen) < accept_prob
            nxt[pending[accept]] = x[accept]
            w_next[pending[accept]] = w[accept]
            pending = pending[~accept]
        return nxt, w_next

    return step


def first_order_walks_torch(
    graph: Graph, walks_per_node: int, length: int, seed: int, device="cuda"
) -> np.ndarray:
    """First-order walks on a torch device (the GPU path of :func:`first_order_walks`)."""
    label = "deepwalk[torch]"
    return _run_torch(label, graph, walks_per_node, length, seed, device, _first_order_step)


def node2vec_walks_torch(
    graph: Graph, walks_per_node: int, length: int, p: float, q: float, seed: int, device="cuda"
) -> np.ndarray:
    """node2vec walks on a torch device (the GPU path of :func:`node2vec_walks`)."""
    _check_pq(p, q)
    if p == 1 and q == 1:
        return first_order_walks_torch(graph, walks_per_node, length, seed, device)
    label = f"node2vec(p={p:g}, q={q:g})[torch]"
    step = _node2vec_step(1.0 / p, 1.0 / q)
    return _run_torch(label, graph, walks_per_node, length, seed, device, step)


def generate_walks(
    graph: Graph,
    walker: str,
    walks_per_node: int,
    length: int,
    p: float = 1.0,
    q: float = 1.0,
    seed: int = 0,
    threads: int | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """The ``walks`` rule's entry point: torch on ``cuda*`` devices, numba otherwise."""
    if walker not in WALKERS:
        raise ValueError(f"unknown walker {walker!r}; expected one of {WALKERS}")
    on_gpu = str(device).startswith("cuda")
    if walker == "deepwalk":
        if on_gpu:
            return first_order_walks_torch(graph, walks_per_node, length, seed, device)
        return first_order_walks(graph, walks_per_node, length, seed, threads)
    if on_gpu:
        return node2vec_walks_torch(graph, walks_per_node, length, p, q, seed, device)
    return node2vec_walks(graph, walks_per_node, length, p, q, seed, threads)
