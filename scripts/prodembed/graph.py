"""The training graph as CSR arrays (``graph/nodes.parquet`` + ``graph/csr.npz``).

CSR keeps memory at O(edges) and gives each node's neighbours as one contiguous, sorted slice,
which is what the walkers need: per-row alias tables for sampling, and for node2vec's "is x a
neighbour of t" test a hash set built from the rows (numba) or a binary search in t's sorted
row (torch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .runtime import atomic_path

NODES_FILE = "nodes.parquet"
CSR_FILE = "csr.npz"


@dataclass
class Graph:
    """Symmetric weighted graph; node ``i`` is product ``asins[i]`` (asins sorted ascending)."""

    indptr: np.ndarray  # int64, n + 1
    indices: np.ndarray  # int32, each row's neighbours sorted ascending
    weights: np.ndarray  # float32, aligned with indices
    asins: np.ndarray  # str per node

    def __post_init__(self) -> None:
        self.indptr = np.ascontiguousarray(self.indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(self.indices, dtype=np.int32)
        self.weights = np.ascontiguousarray(self.weights, dtype=np.float32)
        self.asins = np.asarray(self.asins, dtype=object)
        n = len(self.asins)
        if self.indptr.shape != (n + 1,) or self.indptr[0] != 0:
            raise ValueError(f"indptr must have n_nodes + 1 = {n + 1} entries starting at 0")
        if np.any(np.diff(self.indptr) < 0):
            raise ValueError("indptr must be non-decreasing")
        if self.indptr[-1] != len(self.indices) or len(self.indices) != len(self.weights):
            raise ValueError("indptr[-1], len(indices) and len(weights) must agree")
        if len(self.indices) and (self.indices.min() < 0 or self.indices.max() >= n):
            raise ValueError("indices out of range [0, n_nodes)")
        ascending = np.diff(self.indices) > 0
        row_starts = self.indptr[1:-1]
        ascending[row_starts[(row_starts > 0) & (row_starts < len(self.indices))] - 1] = True
        if not ascending.all():
            raise ValueError("each row's indices must be strictly ascending (no duplicates)")

    @property
    def n_nodes(self) -> int:
        return len(self.asins)

    @property
    def n_entries(self) -> int:
        """Stored (directed) entries: twice the undirected edges, self-loops once."""
        return len(self.indices)

    def degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    def strength(self) -> np.ndarray:
        """Weighted degree; from one float64 prefix sum so empty rows need no special case."""
        prefix = np.concatenate([[0.0], np.cumsum(self.weights, dtype=np.float64)])
        return prefix[self.indptr[1:]] - prefix[self.indptr[:-1]]


def graph_from_ids(a: np.ndarray, b: np.ndarray, weight: np.ndarray, asins: np.ndarray) -> Graph:
    """Build the CSR graph from undirected edges between integer node ids ``0..len(asins)-1``.

    Both directions are stored and repeated pairs (in either orientation) are summed, so the
    result does not depend on how the edge list was oriented or deduplicated upstream.
    """
    n = len(asins)
    if n >= 2**31:
        raise ValueError(f"{n} nodes do not fit int32 node ids")
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    weight = np.asarray(weight, dtype=np.float64)
    if not (a.shape == b.shape == weight.shape) or a.ndim != 1:
        raise ValueError("a, b and weight must be 1-d arrays of equal length")
    if not np.all(np.isfinite(weight)) or np.any(weight <= 0):
        raise ValueError("edge weights must be finite and positive")
    loop = a == b  # a self-loop is one entry, not two
    src = np.concatenate([a, b[~loop]])
    dst = np.concatenate([b, a[~loop]])
    w = np.concatenate([weight, weight[~loop]])
    keys, inverse = np.unique(src * n + dst, return_inverse=True)
    summed = np.bincount(inverse, weights=w, minlength=len(keys))
    rows = keys // n
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return Graph(indptr=indptr, indices=keys % n, weights=summed, asins=asins)


def graph_from_edges(a, b, weight) -> Graph:
    """Build the graph from an asin edge list; nodes are the sorted unique asins of ``a`` and ``b``.

    The endpoints are factorised as Arrow-backed strings (a column passes through as it is),
    hashing each once and sorting only the distinct ones: an object array of all endpoints
    holds a Python string per edge, and ``np.unique`` on it was 10x slower on 2M edges.
    """
    a, b = pd.Series(a, dtype="str"), pd.Series(b, dtype="str")
    if len(a) != len(b):
        raise ValueError("a and b must have equal length")
    codes, distinct = pd.factorize(pd.concat([a, b], ignore_index=True), sort=True)
    if len(codes) and codes.min() < 0:
        raise ValueError("edge endpoints must not be missing")
    asins = np.asarray(distinct, dtype=object)
    return graph_from_ids(codes[: len(a)], codes[len(a) :], weight, asins)


def save_graph(graph: Graph, directory: str | Path) -> None:
    """Write ``nodes.parquet`` and ``csr.npz``, each atomically, in plain (unpickled) formats."""
    directory = Path(directory)
    nodes = pa.table(
        {
            "node": pa.array(np.arange(graph.n_nodes, dtype=np.int32)),
            "asin": pa.array(graph.asins.tolist(), type=pa.string()),
        }
    )
    with atomic_path(directory / NODES_FILE) as tmp:
        pq.write_table(nodes, tmp)
    # A file object, not a path, stops np.savez appending ".npz" to the temporary name.
    with atomic_path(directory / CSR_FILE) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, indptr=graph.indptr, indices=graph.indices, weights=graph.weights)


def load_graph(directory: str | Path) -> Graph:
    """Read a graph written by :func:`save_graph`; never unpickles, and validates the arrays."""
    directory = Path(directory)
    nodes = pq.read_table(directory / NODES_FILE, columns=["node", "asin"])
    node = nodes.column("node").to_numpy()
    if not np.array_equal(node, np.arange(len(node))):
        raise ValueError(f"{directory / NODES_FILE}: node column must be 0..n-1 in order")
    asins = np.asarray(nodes.column("asin").to_pylist(), dtype=object)
    with np.load(directory / CSR_FILE, allow_pickle=False) as csr:
        return Graph(
            indptr=csr["indptr"], indices=csr["indices"], weights=csr["weights"], asins=asins
        )
