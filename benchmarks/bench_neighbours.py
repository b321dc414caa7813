"""Neighbour lists: the old torch brute force against FAISS exact and approximate search.

    python benchmarks/bench_neighbours.py [--nodes N] [--dim D] [--groups G] [--noise S]
                                          [--similarity cosine|dot] [--model-dir DIR]
                                          [--sample Q] [--threads T] [--k K] [--faiss-knn]

Vectors: nested clusters like trained product vectors (``prodembed.testing.
clustered_vectors``: heavy-tailed groups of 10-product subgroups plus noise; ``--noise``
sets how hard the search is), or the saved model in ``--model-dir``. Three ways to every
product's top k:

- the torch brute force that the neighbours rule used before (``ScoreTable`` blocks and a
  deterministic top-k), timed on ``--sample`` query rows and extrapolated to all products;
- FAISS exact (flat inner product), timed on the same sample and extrapolated;
- FAISS approximate: ``top_k_neighbours`` with the IVF index, run in full (build, nprobe
  tuning on its own 1,000-query sample, search of every product); with ``--faiss-knn`` once
  more with faiss's own ``faiss.knn`` as the per-list step of the search (what it used
  before ``_list_knn``).

Recall@k of each against the exact lists of the sampled queries (ties count as hits:
``prodembed.neighbours._recall``).
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from unittest import mock

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as prodembed.device sets it for the rules

import faiss
import numpy as np
import pandas as pd
import torch
from bench_skipgram import Clock, machine
from prodembed import neighbours as neighbours_module
from prodembed.artifacts import ModelArtifacts
from prodembed.evaluate import ScoreTable
from prodembed.neighbours import (
    IndexSettings,
    _deterministic_topk,
    _kth_exact_inner,
    _recall,
    index_vectors,
    top_k_neighbours,
)
from prodembed.testing import clustered_vectors


def synthetic_model(args) -> ModelArtifacts:
    emb = clustered_vectors(args.nodes, args.dim, args.groups, seed=0, noise=args.noise)
    asins = np.array([f"p{i:07d}" for i in range(args.nodes)], dtype=object)
    if args.similarity == "cosine":
        return ModelArtifacts(emb, asins, "cosine")
    degree = np.random.default_rng(1).pareto(1.5, args.nodes)
    return ModelArtifacts(emb, asins, "dot", bias=np.log1p(degree), global_bias=-2.0)


def torch_brute_force(model: ModelArtifacts, rows: np.ndarray, k: int) -> tuple[np.ndarray, Clock]:
    """The rule's previous path: (rows, n) score blocks, self masked, deterministic top k."""
    with Clock() as clock:
        table = ScoreTable(model)
        step, cols = table.block_rows(), []
        for start in range(0, len(rows), step):
            block = rows[start : start + step]
            logits = table.logits(block)
            logits[torch.arange(len(block)), torch.from_numpy(block)] = -torch.inf
            cols.append(_deterministic_topk(logits, k)[1].numpy())
    return np.concatenate(cols), clock


def faiss_flat(vectors, rows: np.ndarray, k: int) -> tuple[np.ndarray, Clock, Clock]:
    """Exact inner-product search of the sampled rows: (top k without self, build, search)."""
    with Clock() as build:
        index = faiss.IndexFlatIP(vectors.items.shape[1])
        index.add(vectors.items)
    with Clock() as search:
        _, ids = index.search(vectors.queries[rows], k + 1)
    cols = np.array([[c for c in row if c != r][:k] for r, row in zip(rows, ids, strict=True)])
    return cols, build, search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=454_081)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--groups", type=int, default=2_000)
    parser.add_argument("--noise", type=float, default=0.4)
    parser.add_argument("--similarity", choices=["cosine", "dot"], default="cosine")
    parser.add_argument("--model-dir", type=Path, help="a trained model instead of synthetic")
    parser.add_argument("--sample", type=int, default=2_000, help="queries timed on exact paths")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--faiss-knn", action="store_true", help="also the IVF search with faiss.knn per list"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the nprobe tuning steps
    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)

    model = ModelArtifacts.load(args.model_dir) if args.model_dir else synthetic_model(args)
    n, k = len(model.asins), args.k
    source = args.model_dir or f"clustered, {args.groups} groups, noise {args.noise}"
    print(f"{machine()}, faiss {faiss.__version__}, threads {args.threads}")
    print(f"{n:,} vectors x dim {model.embeddings.shape[1]}, {model.similarity} ({source})")
    rows = np.sort(np.random.default_rng(0).choice(n, min(args.sample, n), replace=False))
    scale = n / len(rows)
    vectors = index_vectors(model)
    threshold = _kth_exact_inner(vectors, rows, k)

    results = []
    cols, clock = torch_brute_force(model, rows, k)
    recall, timed = _recall(vectors, rows, cols, threshold), f"{len(rows):,}, extrapolated"
    results.append(("torch brute force (old path)", 0.0, clock.wall * scale, clock.cpu * scale,
                    recall, timed))  # fmt: skip
    cols, build, search = faiss_flat(vectors, rows, k)
    recall = _recall(vectors, rows, cols, threshold)
    results.append(("faiss flat, exact", build.wall, search.wall * scale,
                    build.cpu + search.cpu * scale, recall, timed))  # fmt: skip
    steps = [("top_k_neighbours", neighbours_module._list_knn)]
    if args.faiss_knn:
        steps.append(("per-list step faiss.knn", faiss.knn))
    for label, step in steps:
        # big_batch_search's per-list step, swapped for this run only
        with mock.patch.object(neighbours_module, "_list_knn", step), Clock() as clock:
            found = top_k_neighbours(model, k=k, settings=IndexSettings(exact_max_products=0))
        info = found.info
        neighbours = found.table["neighbour"].to_numpy().reshape(n, -1)[rows]
        cols = pd.Index(model.asins).get_indexer(neighbours.ravel()).reshape(neighbours.shape)
        form = " (L2 form)" if info["metric"] == "l2" else ""
        name = f"faiss ivf{info['nlist']}{form}, nprobe {info['nprobe']} ({label})"
        results.append((name, info["build_seconds"], clock.wall - info["build_seconds"],
                        clock.cpu, _recall(vectors, rows, cols, threshold), f"all {n:,}"))  # fmt: skip
    print_table(results, k)
    tried = [(t["nprobe"], round(t["recall_at_k"], 4)) for t in info["nprobe_tried"]]
    print(f"\nivf: (nprobe, sampled recall@{k}) tried {tried}; recorded recall@{k} "
          f"{info['recall_at_k']:.4f} on {info['recall_queries']:,} queries; rows repaired by "
          f"brute force {info['brute_force_rows']}")  # fmt: skip


def print_table(results, k: int) -> None:
    """Search includes the IVF's nprobe tuning; speed-up is over the torch row's total."""
    print(f"\n| method | queries timed | build s | search s (all products) | total s | CPU s "
          f"| speedup (wall) | recall@{k} vs exact |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    baseline = results[0][1] + results[0][2]
    for name, build, search, cpu, recall, queries in results:
        total = build + search
        print(f"| {name} | {queries} | {build:.1f} | {search:.1f} | {total:.1f} | {cpu:.1f} "
              f"| {baseline / total:.1f}x | {recall:.4f} |")  # fmt: skip


if __name__ == "__main__":
    main()
