"""Top-k most similar products per product, from a FAISS index kept for serving.

Every model's vectors go into an inner-product index whose ids are the model's rows (the rows
of ``index.parquet``), built so that the inner product ranks exactly as the model's pair score:

- cosine models index unit vectors and query with the product's unit vector (inner product =
  cosine = the score);
- dot models (score = sigmoid(e_a . e_b + b_a + b_b + g)) index ``[e_b, b_b]`` and query with
  ``[e_a, 1]``; ``b_a + g`` and the sigmoid are added afterwards, so the score is the model's.

Catalogues of up to ``exact_max_products`` get an exact flat index, whose lists equal brute
force with ties ordered by model row. Larger ones get an IVF index (exact search of 454k
products took longer than the torch brute force it replaces, 20+ minutes on 2 cores):
its ``nprobe`` is the smallest (to within 1/8) whose recall@k against exact search on a seeded
sample of queries reaches ``min_recall``, and the recall it reached is recorded beside the index.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from faiss.contrib.big_batch_search import big_batch_search
from numba import njit, prange
from scipy.special import expit

from .artifacts import ModelArtifacts
from .evaluate import BLOCK_ELEMENTS
from .runtime import Progress, atomic_path, numba_threads

log = logging.getLogger(__name__)

SEARCH_BLOCK = 16_384
"""Queries per exact search call: bounds the result arrays and paces the progress log."""


@dataclass(frozen=True)
class IndexSettings:
    """How to index a model's vectors (config block ``neighbours``)."""

    exact_max_products: int = 50_000  # exact search costs ~n^2: ~16 s at 50k on 2 cores
    nlist: int | None = None  # IVF lists; default 2 * sqrt(n), a power of two
    nprobe: int = 8  # the first nprobe tried (see _tune_nprobe)
    min_recall: float = 0.95
    max_scan: float = 0.1  # nprobe is not raised past scanning this share of the catalogue
    recall_queries: int = 1_000
    seed: int = 0


@dataclass
class IndexVectors:
    """What the index holds and what each product queries it with.

    ``items[b] . queries[a] + offset[a]`` is the logit of pair (a, b): the cosine, or the
    argument of the sigmoid for dot models.
    """

    items: np.ndarray
    queries: np.ndarray
    offset: np.ndarray
    similarity: str

    def scores(self, rows: np.ndarray, inner: np.ndarray) -> np.ndarray:
        """The model's pair scores (float64) from the inner products of query ``rows``."""
        logits = inner.astype(np.float64) + self.offset[rows, None]
        return expit(logits) if self.similarity == "dot" else logits


@dataclass
class Neighbours:
    """The neighbour lists, the index they came from, and the facts recorded beside it."""

    table: pd.DataFrame
    index: faiss.Index
    info: dict


def index_vectors(model: ModelArtifacts) -> IndexVectors:
    """Index and query vectors whose inner product ranks pairs as the model's score does."""
    emb = model.embeddings
    n = len(emb)
    if model.similarity == "cosine":
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        unit = emb / np.maximum(norms, np.finfo(np.float32).tiny)  # a zero vector stays zero
        return IndexVectors(unit, unit, np.zeros(n), "cosine")
    bias = model.bias[:, None]
    items = np.hstack([emb, bias]).astype(np.float32)
    queries = np.hstack([emb, np.ones_like(bias)]).astype(np.float32)
    offset = model.bias.astype(np.float64) + float(model.global_bias)
    return IndexVectors(items, queries, offset, "dot")


def top_k_neighbours(
    model: ModelArtifacts,
    k: int = 10,
    settings: IndexSettings = IndexSettings(),
    batch: int = SEARCH_BLOCK,
    device: str | torch.device = "cpu",
) -> Neighbours:
    """For every product with a vector, its k most similar other products, and the index.

    The table has columns ``asin``, ``rank`` (1..k), ``neighbour``, ``score`` (the model's pair
    score), ordered by model row then rank; ``min(k, n - 1)`` neighbours each, never the product
    itself. Lists are ordered by (score descending, model row). ``device`` is where rows whose
    exact top k is decided by a tie are recomputed by brute force.
    """
    vectors = index_vectors(model)
    n, k = len(vectors.items), min(k, len(vectors.items) - 1)
    exact = n <= settings.exact_max_products or n < _nlist(n, settings)  # k-means needs n >= nlist
    l2 = not exact and model.similarity == "dot"
    if l2:
        vectors, max_norm = _as_nearest_neighbour(vectors)
    started = time.perf_counter()
    index = _flat(vectors.items) if exact else _ivf(vectors.items, settings, l2)
    build = time.perf_counter() - started
    info = {
        "kind": "flat" if exact else "ivf",
        "metric": "l2" if l2 else "inner_product",
        **({"max_norm": max_norm} if l2 else {}),
        "similarity": model.similarity,
        "n": n,
        "dim": int(vectors.items.shape[1]),
        "k": k,
        "build_seconds": build,
        "settings": asdict(settings),
        "faiss_version": faiss.__version__,
        "threads": faiss.omp_get_max_threads(),
        **({"recall_at_k": 1.0, "recall_queries": 0} if exact else {}),
    }
    if k <= 0:
        empty = np.empty((0, 0), np.int64)
        return Neighbours(_frame(model, np.empty(0, np.int64), empty, empty), index, info)
    if not exact:
        info.update(_tune_nprobe(index, vectors, k, settings))
    started = time.perf_counter()
    searcher = _on_gpu(index) if exact and torch.device(device).type == "cuda" else index
    cols, values = _search_all(searcher, vectors, k, exact, batch)
    redo = np.flatnonzero(np.isnan(values[:, -1]))
    if len(redo):
        cols[redo], values[redo] = _brute_force(vectors, redo, k, device)
    info.update(search_seconds=time.perf_counter() - started, brute_force_rows=len(redo))
    rows = np.arange(n)
    return Neighbours(_frame(model, rows, cols, vectors.scores(rows, values)), index, info)


def _flat(items: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(items.shape[1])
    index.add(items)
    return index


def _on_gpu(index: faiss.Index) -> faiss.Index:
    """The flat index copied to the GPUs where faiss was built with GPU support (faiss-cpu
    was not: it stays on the CPU)."""
    return faiss.index_cpu_to_all_gpus(index) if faiss.get_num_gpus() > 0 else index


def _as_nearest_neighbour(vectors: IndexVectors) -> tuple[IndexVectors, float]:
    """Dot-model vectors for an L2 index whose nearest neighbours are the top inner products.

    Items get one more coordinate, sqrt(M^2 - |x|^2) with M the largest norm, and queries a
    0 there: |q - x|^2 = |q|^2 + M^2 - 2 q.x, and q.x is unchanged. An inner-product IVF
    sends every query to the lists of the high-bias items (recall@10 0.43 at nprobe 16 of
    512 on 60k clustered vectors, 0.96 only at 122); this one ranks lists by distance.
    """
    norms = np.linalg.norm(vectors.items.astype(np.float64), axis=1)
    top = float(norms.max(initial=0.0))
    extra = np.sqrt(np.maximum(top**2 - norms**2, 0.0)).astype(np.float32)[:, None]
    items = np.hstack([vectors.items, extra])
    queries = np.hstack([vectors.queries, np.zeros_like(extra)])
    return IndexVectors(items, queries, vectors.offset, vectors.similarity), top


def _nlist(n: int, settings: IndexSettings) -> int:
    return settings.nlist or 2 ** round(math.log2(2 * math.sqrt(max(n, 1))))


def _ivf(items: np.ndarray, settings: IndexSettings, l2: bool) -> faiss.IndexIVFFlat:
    """An IVF index trained by k-means on a seeded sample of at most 64 items per list."""
    n, dim = items.shape
    nlist = _nlist(n, settings)
    metric = faiss.METRIC_L2 if l2 else faiss.METRIC_INNER_PRODUCT
    index = faiss.IndexIVFFlat(faiss.IndexFlat(dim, metric), dim, nlist, metric)
    index.cp.seed, index.cp.niter = settings.seed, 10  # 10 k-means rounds, not 25: 2.5x less work
    sample = np.random.default_rng(settings.seed).choice(n, min(n, 64 * nlist), replace=False)
    index.train(items[np.sort(sample)])
    index.add(items)
    return index


def _tune_nprobe(index: faiss.IndexIVFFlat, vectors: IndexVectors, k: int, settings) -> dict:
    """Raise nprobe from ``settings.nprobe`` by half until the sampled recall@k reaches the
    target, or until the next step would scan more than ``max_scan`` of the catalogue per
    query; then bisect between the last nprobe below the target and the first above it
    (the recall of a fixed sample never falls as nprobe grows: each probe list extends the
    last), so the search scans at most ~1/8 more than the smallest nprobe that reaches it.

    The cap bounds the search at a known share of exact search's work. Vectors with little
    neighbourhood structure need it: trained MF vectors at Electronics size (454k, dot)
    reached recall@10 0.96 only at nprobe 274 of 1,024 lists (7.8% scanned at nprobe 81, so
    about a quarter), a search still running after 17 minutes on one core. Where the cap
    stops the tuner, the recall reached (below ``min_recall``) is recorded and reported.
    """
    n = len(vectors.items)
    sample = np.sort(
        np.random.default_rng(settings.seed).choice(n, min(n, settings.recall_queries), False)
    )
    threshold = _kth_exact_inner(vectors, sample, k)
    tried = []

    def measure(nprobe: int) -> dict:
        index.nprobe = nprobe
        started = time.perf_counter()
        faiss.cvar.indexIVF_stats.reset()
        cols, _ = _search(index, vectors, sample, k, exact=False)
        scan = faiss.cvar.indexIVF_stats.ndis / len(sample) / n  # share scanned per query
        step = {"nprobe": nprobe, "recall_at_k": _recall(vectors, sample, cols, threshold),
                "scan": scan, "seconds": time.perf_counter() - started}  # fmt: skip
        log.info(
            "ivf nlist %d nprobe %d: recall@%d %.4f, %.1f%% of the catalogue scanned per query",
            index.nlist, nprobe, k, step["recall_at_k"], 100 * scan,
        )  # fmt: skip
        tried.append(step)
        return step

    below, best = None, measure(min(settings.nprobe, index.nlist))
    while best["recall_at_k"] < settings.min_recall and best["nprobe"] < index.nlist:
        following = min(max(best["nprobe"] + 1, round(1.5 * best["nprobe"])), index.nlist)
        if best["scan"] * following / best["nprobe"] > settings.max_scan:
            break
        below, best = best, measure(following)
    while (
        best["recall_at_k"] >= settings.min_recall
        and below is not None
        and best["nprobe"] - below["nprobe"] > max(1, best["nprobe"] // 8)
    ):
        middle = measure((below["nprobe"] + best["nprobe"]) // 2)
        if middle["recall_at_k"] >= settings.min_recall:
            best = middle
        else:
            below = middle
    index.nprobe = best["nprobe"]
    if best["recall_at_k"] < settings.min_recall:
        log.warning(
            "recall@%d %.4f is below neighbours.min_recall %.2f: raising nprobe further would "
            "scan more than neighbours.max_scan = %.2f of the catalogue per query",
            k, best["recall_at_k"], settings.min_recall, settings.max_scan,
        )  # fmt: skip
    return {
        "nlist": index.nlist,
        "nprobe": best["nprobe"],
        "recall_at_k": best["recall_at_k"],
        "scan": best["scan"],
        "capped": best["recall_at_k"] < settings.min_recall,
        "recall_queries": len(sample),
        "nprobe_tried": tried,
    }


def _kth_exact_inner(vectors: IndexVectors, rows: np.ndarray, k: int) -> np.ndarray:
    """Each query's exact k-th best inner product over the other products, in float64."""
    m = min(k + 1, len(vectors.items))
    _, ids = faiss.knn(vectors.queries[rows], vectors.items, m, faiss.METRIC_INNER_PRODUCT)
    inner = _inner64(vectors, rows, ids)
    inner[ids == rows[:, None]] = -np.inf
    return -np.sort(-inner, axis=1)[:, k - 1]


def _inner64(vectors: IndexVectors, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    queries = vectors.queries[rows].astype(np.float64)
    return np.einsum("qd,qkd->qk", queries, vectors.items[cols].astype(np.float64))


def _recall(vectors: IndexVectors, rows, cols: np.ndarray, threshold: np.ndarray) -> float:
    """Share of the returned neighbours that score at least the exact k-th best.

    Counting by score rather than by id makes a product tied with the k-th a hit, so the
    recall does not depend on how ties were broken; without ties it is the overlap of the sets.
    """
    found = cols < len(vectors.items)  # a short list's missing places are misses
    inner = _inner64(vectors, rows, np.where(found, cols, 0))
    slack = 1e-6 * np.maximum(1.0, np.abs(threshold))  # float32 search vs float64 check
    return float((found & (inner >= (threshold - slack)[:, None])).mean())


def _search_all(index, vectors: IndexVectors, k: int, exact: bool, batch: int):
    """(columns, inner products) of every product's top k; NaN rows need brute force.

    The IVF index is searched list by list (``big_batch_search``: the queries probing a list
    are scored against it in one matrix product, see ``_list_knn``), the same results as
    ``index.search`` at a fraction of the CPU time when every product is a query.
    """
    n = len(vectors.items)
    if not exact:
        with (
            contextlib.redirect_stdout(io.StringIO()),  # it prints progress at any verbosity
            numba_threads(torch.get_num_threads()),
        ):
            _, ids = big_batch_search(
                index, vectors.queries, min(k + 1, n), knn=_list_knn, verbose=1
            )
        rows = np.arange(n)
        return _select(rows, _inner32(vectors, rows, ids), ids, k, ties_beyond=False)
    cols, values = np.empty((n, k), np.int64), np.empty((n, k), np.float32)
    progress = Progress()
    for start in range(0, n, batch):
        rows = np.arange(start, min(start + batch, n))
        cols[rows], values[rows] = _search(index, vectors, rows, k, exact)
        if rows[-1] + 1 < n and progress.due():
            done = rows[-1] + 1
            log.info("neighbours: %d/%d products, %.0f/s", done, n, progress.rate(done))
    return cols, values


def _list_knn(queries: np.ndarray, items: np.ndarray, k: int, metric: int, **_):
    """The k best ``items`` of each query row, as ``faiss.knn`` returns them (distances for
    L2, inner products otherwise), for ``big_batch_search``'s per-list step.

    ``faiss.knn`` spends most of a list's step outside the matrix product (443 items against
    14,600 queries, one thread: 0.14 s, of which a BLAS product is 0.02 s); torch's product
    and a numba selection of the top k take 0.05 s, and whole IVF searches of 454k trained
    vectors 2.1-2.5x less time. Returns ``min(k, len(items))`` columns: no padding ids.
    """
    k = min(k, len(items))
    l2 = metric == faiss.METRIC_L2
    items_t = torch.from_numpy(items)
    # the nearest item has the largest q.x - |x|^2 / 2
    offset = 0.5 * (items * items).sum(1) if l2 else np.zeros(len(items), np.float32)
    values = np.empty((len(queries), k), np.float32)
    cols = np.empty((len(queries), k), np.int64)
    step = max(1, BLOCK_ELEMENTS // max(len(items), 1))
    for start in range(0, len(queries), step):
        part = slice(start, start + step)
        inner = torch.mm(torch.from_numpy(queries[part]), items_t.T).numpy()
        values[part], cols[part] = _top_k_rows(inner, offset, k)
    if l2:
        values = (queries * queries).sum(1, keepdims=True) - 2 * values
    return values, cols


@njit(cache=True, parallel=True)
def _top_k_rows(scores: np.ndarray, offset: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """Each row's k largest ``scores - offset`` and their columns, by (value descending,
    column), in one pass that compares most values only with the k-th best so far."""
    values = np.empty((scores.shape[0], k), np.float32)
    cols = np.empty((scores.shape[0], k), np.int64)
    for r in prange(scores.shape[0]):
        row, best, where = scores[r], values[r], cols[r]
        last = np.float32(-np.inf)
        for j in range(scores.shape[1]):
            x = row[j] - offset[j]
            if j >= k and not x > last:
                continue
            i = min(j, k - 1)
            while i > 0 and best[i - 1] < x:
                best[i], where[i] = best[i - 1], where[i - 1]
                i -= 1
            best[i], where[i] = x, j
            last = best[k - 1]
    return values, cols


def _search(index, vectors: IndexVectors, rows: np.ndarray, k: int, exact: bool):
    """Top k of the query ``rows`` (see ``_select``) by ``index.search``."""
    m = min(k + 2 if exact else k + 1, index.ntotal)
    values, ids = index.search(vectors.queries[rows], m)
    if not exact:
        values = _inner32(vectors, rows, ids)
    return _select(rows, values, ids, k, ties_beyond=exact and m < index.ntotal)


def _inner32(vectors: IndexVectors, rows: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The inner products of the candidates an approximate search returned (-inf for none):
    an L2 index returns distances, and one formula ranks both kinds alike."""
    out = np.full(ids.shape, -np.inf, np.float32)
    for start in range(0, len(rows), SEARCH_BLOCK):
        part = slice(start, start + SEARCH_BLOCK)
        found = ids[part] >= 0
        items = vectors.items[np.where(found, ids[part], 0)]
        inner = np.einsum("qd,qkd->qk", vectors.queries[rows[part]], items)
        out[part] = np.where(found, inner, -np.inf)
    return out


def _select(rows: np.ndarray, values: np.ndarray, ids: np.ndarray, k: int, ties_beyond: bool):
    """Top k of each query row without itself, ordered by (inner descending, row).

    An exact search fetches one more candidate than needed besides the product itself: where
    it did not fetch every product (``ties_beyond``), a row whose k-th and (k+1)-th candidates
    tie may have tied products the search left out, so it is marked (NaN in its last value)
    for brute force, as is any row for which the index found fewer than k.
    """
    invalid = (ids == rows[:, None]) | (ids < 0)
    values = np.where(invalid, -np.inf, values)
    ids = np.where(invalid, np.iinfo(np.int64).max, ids)
    order = np.lexsort((ids, -values), axis=1)
    values, ids = np.take_along_axis(values, order, 1), np.take_along_axis(ids, order, 1)
    redo = ids[:, k - 1] == np.iinfo(np.int64).max
    if ties_beyond:
        redo |= values[:, k] == values[:, k - 1]
    values, ids = values[:, :k].copy(), ids[:, :k].copy()
    values[redo, -1] = np.nan
    return ids, values


def _brute_force(vectors: IndexVectors, rows: np.ndarray, k: int, device) -> tuple[np.ndarray, ...]:
    """Exact top k of the query ``rows`` against every product, ties by row, in blocks."""
    device = torch.device(device)
    items = torch.from_numpy(vectors.items).to(device)
    queries = torch.from_numpy(vectors.queries).to(device)
    step = max(1, BLOCK_ELEMENTS // len(items))
    cols, values = [], []
    for start in range(0, len(rows), step):
        block = torch.from_numpy(rows[start : start + step]).to(device)
        inner = torch.mm(queries[block], items.T)
        inner[torch.arange(len(block), device=device), block] = -torch.inf
        top_values, top_cols = _deterministic_topk(inner, k)
        cols.append(top_cols.cpu().numpy())
        values.append(top_values.cpu().numpy())
    return np.concatenate(cols), np.concatenate(values)


def _deterministic_topk(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top k per row ordered by (score descending, column ascending); needs k < columns.

    ``torch.topk`` picks arbitrarily among values tied with the k-th. Asking for k + 1 finds the
    rows where such a tie reaches past the k-th place (the (k+1)-th value equals the k-th);
    only those are redone exactly: everything above the k-th value plus the lowest columns
    among those equal to it.
    """
    values, columns = torch.topk(scores, k + 1, dim=1)
    spill = values[:, k] == values[:, k - 1]
    values, columns = values[:, :k].contiguous(), columns[:, :k].contiguous()
    if spill.any():
        rows = spill.nonzero().squeeze(1)
        sub, threshold = scores[rows], values[rows, k - 1 :]
        above, tie = sub > threshold, sub == threshold
        need = k - above.sum(1, keepdim=True)
        keep = above | (tie & (tie.cumsum(1) <= need))
        columns[rows] = keep.nonzero()[:, 1].view(-1, k)
        values[rows] = sub.gather(1, columns[rows])
    columns, order = columns.sort(dim=1)
    values = values.gather(1, order)
    values, order = values.sort(dim=1, descending=True, stable=True)
    return values, columns.gather(1, order)


def _frame(model: ModelArtifacts, rows: np.ndarray, cols: np.ndarray, scores) -> pd.DataFrame:
    k = cols.shape[1]
    asins = np.asarray(model.asins, dtype=object)
    return pd.DataFrame(
        {
            "asin": asins[np.repeat(rows, k)],
            "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), len(rows)),
            "neighbour": asins[cols.ravel()],
            "score": np.asarray(scores, dtype=np.float64).ravel(),
        }
    )


def write_neighbours(df: pd.DataFrame, path) -> None:
    """Write the neighbour lists as parquet, atomically (a failed job leaves no partial file)."""
    table = pa.table(
        {
            "asin": pa.array(df["asin"].to_numpy(dtype=object), pa.string()),
            "rank": pa.array(df["rank"].to_numpy(dtype=np.int32), pa.int32()),
            "neighbour": pa.array(df["neighbour"].to_numpy(dtype=object), pa.string()),
            "score": pa.array(df["score"].to_numpy(dtype=np.float64), pa.float64()),
        }
    )
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def write_index(index: faiss.Index, path) -> None:
    """Write the FAISS index atomically, for ``faiss.read_index``."""
    with atomic_path(path) as tmp:
        faiss.write_index(index, str(tmp))


def read_neighbour_info(path: str | Path) -> dict:
    """The facts recorded beside a model's index (kind, parameters, recall@k, seconds)."""
    return json.loads(Path(path).read_text())
