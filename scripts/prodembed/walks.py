"""Random walks over the training graph: first-order weighted (DeepWalk) and node2vec.

Two implementations share one contract (int32 array, row ``r * n + v`` is round ``r``'s walk
from node ``v``, ``length`` nodes including the start):

* numba kernels (CPU; ``walk_kernels``), parallel over groups of walks. Each walk draws from
  its own counter-based stream keyed by ``(seed, walk index)``, so the bytes depend neither on
  the thread count nor on scheduling; neighbours come from per-row alias tables (O(1) per
  step).
* torch (GPU), advancing every walk of a batch one step at a time with ``searchsorted`` into
  cumulative weights. Same distribution, other bytes; deterministic for a seed and device.

Memory stays O(edges) in both: node2vec's second-order bias is applied by exact rejection
sampling against the first-order distribution of ``v``, testing "is x a neighbour of t" in a
hash set of the edges (numba) or by binary search in t's sorted row (torch), instead of
storing a transition table per edge (O(sum of squared degrees)) as the reference
implementation does.
"""

from __future__ import annotations

import logging
import time

import numba
import numpy as np
import torch

from . import walk_kernels as kernels
from .graph import Graph
from .runtime import numba_threads

log = logging.getLogger(__name__)

WALKERS = ("deepwalk", "node2vec")
CHUNK_WALKS = 1 << 20  # numba walks per kernel call: bounds the gap between progress lines
TORCH_BATCH_WALKS = 1 << 22  # torch walks advanced together: bounds device memory


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
    with numba_threads(threads):
        log.info(
            "%s: %d walks (%d per node) of length %d on %d threads",
            label, n_walks, walks_per_node, length, numba.get_num_threads(),
        )  # fmt: skip
        started = time.perf_counter()
        table, strength = kernels.alias_tables(graph.indptr, graph.indices, graph.weights)
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
        kernels.first_order_kernel(graph.indptr, table, table.view(np.float32), seed64, start, out)

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
        edges = kernels.edge_set(graph.indptr, graph.indices)
        log.info(
            "edge set: %d slots (%.0f MiB) in %.1f s",
            len(edges), edges.nbytes / 2**20, time.perf_counter() - started,
        )  # fmt: skip
        return (edges,)

    def launch(table, strength, start, out, edges):
        kernels.node2vec_kernel(
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
