"""Random walks over the training graph: first-order weighted (DeepWalk) and node2vec.

Two implementations share one contract (int32 array, row ``r * n + v`` is round ``r``'s walk
from node ``v``, ``length`` nodes including the start):

* numba kernels (CPU), parallel over walks. Each walk draws from its own counter-based
  splitmix64 stream keyed by ``(seed, walk index)``, so the bytes do not depend on the thread
  count or scheduling, which numba's per-thread ``np.random`` state cannot promise.
* torch (GPU), advancing every walk of a batch one step at a time. Same distribution, other
  bytes; deterministic for a given seed and device.

Memory stays O(edges) in both: a step samples from per-row cumulative weights by binary search,
and node2vec's second-order bias is applied by exact rejection sampling (propose from the
first-order distribution of ``v``, accept with ``alpha(t, x) / max(1/p, 1, 1/q)``), testing "is x
a neighbour of t" by binary search in t's sorted row, instead of storing a transition table per
edge as the reference implementation does.
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

log = logging.getLogger(__name__)

WALKERS = ("deepwalk", "node2vec")
CHUNK_WALKS = 1 << 20  # numba walks per kernel call: bounds the gap between progress lines
TORCH_BATCH_WALKS = 1 << 22  # torch walks advanced together: bounds device memory

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


@njit(cache=True, inline="always")
def _pick(indptr, indices, cum, v, u):
    """Neighbour of ``v`` drawn with probability w / strength: first row entry with cum > u*total.

    Clamping to the row's last entry guards against ``u * total`` rounding up to ``total``.
    """
    lo = indptr[v]
    hi = indptr[v + 1] - 1
    target = u * cum[hi]
    while lo < hi:
        mid = (lo + hi) >> 1
        if cum[mid] > target:
            hi = mid
        else:
            lo = mid + 1
    return np.int64(indices[lo])


@njit(cache=True, inline="always")
def _is_neighbour(indptr, indices, t, x):
    lo = indptr[t]
    end = indptr[t + 1]
    hi = end
    while lo < hi:
        mid = (lo + hi) >> 1
        if indices[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and indices[lo] == x


@njit(cache=True, parallel=True)
def _row_cumsum(indptr, weights):
    """Inclusive cumulative weights restarted at each row (float64, so big rows stay exact)."""
    cum = np.empty(weights.shape[0], dtype=np.float64)
    for v in prange(indptr.shape[0] - 1):
        acc = 0.0
        for e in range(indptr[v], indptr[v + 1]):
            acc += weights[e]
            cum[e] = acc
    return cum


@njit(cache=True, parallel=True)
def _first_order_kernel(indptr, indices, cum, seed, start, out):
    n = indptr.shape[0] - 1
    for i in prange(out.shape[0]):
        k = start + i
        state = _walk_state(seed, k)
        v = np.int64(k % n)
        out[i, 0] = v
        for s in range(1, out.shape[1]):
            state, u = _uniform(state)
            v = _pick(indptr, indices, cum, v, u)
            out[i, s] = v


@njit(cache=True, parallel=True)
def _node2vec_kernel(indptr, indices, cum, inv_p, inv_q, seed, start, out):
    """Second-order walks by rejection; the first step draws exactly as the first-order kernel.

    A proposal x != t is accepted outright when the threshold is below min(1, 1/q) and rejected
    when it is at least max(1, 1/q), so the binary-search neighbour test runs only in between.
    """
    n = indptr.shape[0] - 1
    a_max = max(inv_p, 1.0, inv_q)
    low = min(1.0, inv_q)
    high = max(1.0, inv_q)
    for i in prange(out.shape[0]):
        k = start + i
        state = _walk_state(seed, k)
        t = np.int64(k % n)
        out[i, 0] = t
        if out.shape[1] > 1:
            state, u = _uniform(state)
            v = _pick(indptr, indices, cum, t, u)
            out[i, 1] = v
            for s in range(2, out.shape[1]):
                while True:
                    state, u = _uniform(state)
                    x = _pick(indptr, indices, cum, v, u)
                    state, r = _uniform(state)
                    threshold = r * a_max
                    if x == t:
                        if threshold < inv_p:
                            break
                    elif threshold < low:
                        break
                    elif threshold < high:
                        alpha = 1.0 if _is_neighbour(indptr, indices, t, x) else inv_q
                        if threshold < alpha:
                            break
                t = v
                v = x
                out[i, s] = v


def _check_walkable(graph: Graph, walks_per_node: int, length: int) -> None:
    if walks_per_node < 1 or length < 1:
        raise ValueError(f"walks_per_node ({walks_per_node}) and length ({length}) must be >= 1")
    if graph.n_nodes == 0:
        raise ValueError("cannot walk an empty graph")
    if not np.all(np.isfinite(graph.weights)) or np.any(graph.weights < 0):
        raise ValueError("edge weights must be finite and non-negative")
    stuck = np.flatnonzero(graph.strength() <= 0)
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


def _run_numba(label, kernel, params, graph, walks_per_node, length, threads) -> np.ndarray:
    """Run a kernel chunk by chunk into one array, logging progress between chunks."""
    _check_walkable(graph, walks_per_node, length)
    n_walks = walks_per_node * graph.n_nodes
    out = np.empty((n_walks, length), dtype=np.int32)
    with _numba_threads(threads):
        log.info(
            "%s: %d walks (%d per node) of length %d on %d threads",
            label, n_walks, walks_per_node, length, numba.get_num_threads(),
        )  # fmt: skip
        started = time.perf_counter()
        cum = _row_cumsum(graph.indptr, graph.weights)
        for start in range(0, n_walks, CHUNK_WALKS):
            stop = min(start + CHUNK_WALKS, n_walks)
            kernel(graph.indptr, graph.indices, cum, *params, start, out[start:stop])
            _log_progress(label, stop, n_walks, started)
    return out


def _log_progress(label: str, done: int, total: int, started: float) -> None:
    seconds = max(time.perf_counter() - started, 1e-9)
    log.info("%s: %d/%d walks, %.0f walks/s", label, done, total, done / seconds)


def first_order_walks(
    graph: Graph, walks_per_node: int, length: int, seed: int, threads: int | None = None
) -> np.ndarray:
    """DeepWalk walks weighted by edge weight: P(v -> x) = w_vx / sum_k w_vk."""
    return _run_numba(
        "deepwalk", _first_order_kernel, (_seed64(seed),), graph, walks_per_node, length, threads
    )


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
    params = (1.0 / p, 1.0 / q, _seed64(seed))
    return _run_numba(
        f"node2vec(p={p:g}, q={q:g})", _node2vec_kernel, params, graph, walks_per_node, length,
        threads,
    )  # fmt: skip


class _TorchGraph:
    """The graph on a torch device, in global (not per-row) form so one searchsorted serves all.

    ``cum`` is the global inclusive prefix sum of weights; row ``v`` spans ``base[v]`` to
    ``base[v] + total[v]``. ``keys = row * n + column`` is globally sorted, so searching
    ``t * n + x`` in it is a binary search confined to t's row.
    """

    def __init__(self, graph: Graph, device):
        self.device = torch.device(device)
        self.n = graph.n_nodes
        self.indptr = torch.from_numpy(graph.indptr).to(self.device)
        self.indices = torch.from_numpy(graph.indices).to(self.device)
        self.cum = torch.cumsum(torch.from_numpy(graph.weights).to(self.device, torch.float64), 0)
        prefix = torch.cat([self.cum.new_zeros(1), self.cum])
        self.base = prefix[self.indptr[:-1]]
        self.total = prefix[self.indptr[1:]] - self.base
        rows = torch.repeat_interleave(
            torch.arange(self.n, device=self.device), self.indptr[1:] - self.indptr[:-1]
        )
        self.keys = rows * self.n + self.indices.long()

    def rand(self, size: int, gen: torch.Generator) -> torch.Tensor:
        return torch.rand(size, generator=gen, device=self.device, dtype=torch.float64)

    def pick(self, v: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """One weighted neighbour per entry of ``v`` (clamped to v's row against rounding)."""
        target = self.base[v] + self.rand(len(v), gen) * self.total[v]
        e = torch.searchsorted(self.cum, target, right=True)
        e = torch.minimum(torch.maximum(e, self.indptr[v]), self.indptr[v + 1] - 1)
        return self.indices[e].long()

    def is_neighbour(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        query = t * self.n + x
        pos = torch.searchsorted(self.keys, query).clamp_(max=len(self.keys) - 1)
        return self.keys[pos] == query


def _run_torch(label, step, graph, walks_per_node, length, seed, device) -> np.ndarray:
    """Advance each batch of walks together; ``step(tg, prev, cur, gen)`` returns the next nodes.

    The first step of every walk is first-order (there is no previous node yet).
    """
    _check_walkable(graph, walks_per_node, length)
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
            prev, cur = cur, tg.pick(cur, gen)
            batch[:, 1] = cur
        for s in range(2, length):
            prev, cur = cur, step(tg, prev, cur, gen)
            batch[:, s] = cur
        out[start:stop] = batch.cpu().numpy()
        _log_progress(label, stop, n_walks, started)
    return out


def _first_order_step(tg: _TorchGraph, prev, cur, gen):
    return tg.pick(cur, gen)


def _node2vec_step(inv_p: float, inv_q: float):
    """A second-order step for every walk by rejection, redrawing only the rejected walks."""
    a_max = max(inv_p, 1.0, inv_q)

    def step(tg: _TorchGraph, prev, cur, gen):
        nxt = torch.empty_like(cur)
        pending = torch.arange(len(cur), device=tg.device)
        while len(pending):
            t = prev[pending]
            x = tg.pick(cur[pending], gen)
            alpha = torch.full(x.shape, inv_q, dtype=torch.float64, device=tg.device)
            alpha.masked_fill_(tg.is_neighbour(t, x), 1.0).masked_fill_(x == t, inv_p)
            accept = tg.rand(len(pending), gen) * a_max < alpha
            nxt[pending[accept]] = x[accept]
            pending = pending[~accept]
        return nxt

    return step


def first_order_walks_torch(
    graph: Graph, walks_per_node: int, length: int, seed: int, device="cuda"
) -> np.ndarray:
    """First-order walks on a torch device (the GPU path of :func:`first_order_walks`)."""
    return _run_torch(
        "deepwalk[torch]", _first_order_step, graph, walks_per_node, length, seed, device
    )


def node2vec_walks_torch(
    graph: Graph, walks_per_node: int, length: int, p: float, q: float, seed: int, device="cuda"
) -> np.ndarray:
    """node2vec walks on a torch device (the GPU path of :func:`node2vec_walks`)."""
    _check_pq(p, q)
    if p == 1 and q == 1:
        return first_order_walks_torch(graph, walks_per_node, length, seed, device)
    step = _node2vec_step(1.0 / p, 1.0 / q)
    label = f"node2vec(p={p:g}, q={q:g})[torch]"
    return _run_torch(label, step, graph, walks_per_node, length, seed, device)


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
