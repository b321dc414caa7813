"""Pair-trainer throughput and quality: ours (CPU; CUDA when present) against gensim skip-gram.

    python benchmarks/bench_skipgram.py [--nodes N] [--groups G] [--walks-per-node R]
                                        [--length L] [--epochs E] [--threads 1,2]
                                        [--methods engine-cpu,gensim,...]

All methods train on the same uniform random walks over the training edges of a planted
graph (nodes in groups, 90% of edges within a group, power-law degrees; the generator of
tests/test_skipgram.py); 1/3 of the edges are held out. Quality is the seen-only AUC of
held-out edges against random non-edges (cosine; MF on sequences scores e_a.e_b + b_a + b_b).
gensim runs as skip-gram (sg=1, window 5, 5 negatives, min_count 1), once with its default
frequent-word downsampling (sample=1e-3, fewer pairs) and once with sample=0 (the same pairs
as ours). Our fused CPU kernels run as SGNS (train_skipgram), MF on sequences and EGES (side
information: a brand that is the node's group 70% of the time, missing for 30%, and a
category of 5 groups). The pair engine alone (batches of pairs and negatives, no training)
runs both ways on the CPU: our numba kernels (``engine-cpu``) and the torch operations the
GPU path uses (``engine-torch-cpu``, the CPU path before them). Every CPU method runs once
per ``--threads`` value (gensim's ``workers``, our Hogwild threads, torch's intra-op
threads). Wall seconds include each
method's setup (gensim's vocabulary scan, our pair engine); CPU seconds count every thread of
this process, a fairer measure on a busy machine.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as prodembed.device sets it for the rules

import numpy as np
import torch
from prodembed.device import configure_threads
from prodembed.eges import train_eges
from prodembed.pairs import PairEngine
from prodembed.pairtrain import default_batch
from prodembed.side_info import SideInfo
from prodembed.skipgram import train_mf_sequences, train_skipgram
from prodembed.testing import cosine, dot, planted_graph, random_walks, seen_auc, split_edges

METHODS = [
    "engine-cpu", "engine-torch-cpu", "gensim", "gensim-sample0", "ours-cpu", "ours-mf-cpu",
    "ours-eges-cpu", "ours-cpu-batched",
]  # fmt: skip
CUDA_METHODS = ["engine-cuda", "ours-cuda"]
#: Kernel names of the fused trainers in the table.
KERNELS = {"ours-cpu": "sgns", "ours-mf-cpu": "mf_sequences", "ours-eges-cpu": "EGES"}


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((x.split(":", 1)[1].strip() for x in lines if "model name" in x), platform.machine())
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"
    return (
        f"{datetime.date.today()}, {cpu}, nproc {os.cpu_count()}{gpu}, Python "
        f"{platform.python_version()}, torch {torch.__version__}"
    )


class Clock:
    """Wall and process-CPU seconds of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def planted_side_info(group: np.ndarray, seed: int = 0) -> SideInfo:
    """Item, brand (the group 70% of the time, else random; missing for 30%) and category
    (5 groups each) for every node: the side information EGES is benchmarked with."""
    rng = np.random.default_rng(seed)
    n, groups = len(group), int(group.max()) + 1
    brand = np.where(rng.random(n) < 0.7, group, rng.integers(groups, size=n)) + 1
    brand[rng.random(n) < 0.3] = 0
    codes = np.stack([np.arange(n), brand, group // 5 + 1], 1).astype(np.int64)
    cards = (n, groups + 1, groups // 5 + 2)
    asins = np.arange(n).astype(str).astype(object)
    return SideInfo(codes, asins, n, ("item", "brand", "cat_1"), cards, np.array([]))


def train_ours(method, walks, n, args, threads, side_info, batch_size, fused):
    """Train one of our pair trainers; (training info, score function for the AUC)."""
    kw = {
        "dim": args.dim, "window": args.window, "negatives": args.negatives,
        "epochs": args.epochs, "batch_size": batch_size, "seed": 0, "fused": fused,
        "threads": threads,
    }  # fmt: skip
    if method == "ours-mf-cpu":
        emb, bias, _, info = train_mf_sequences(walks, n, **kw)
        return info, dot(emb, bias)
    if method == "ours-eges-cpu":
        emb, _, info = train_eges(walks, side_info, **kw)
        return info, cosine(emb)
    device = torch.device("cuda" if method == "ours-cuda" else "cpu")
    emb, info = train_skipgram(walks, n, device=device, **kw)
    return info, cosine(emb)


def gensim_embeddings(walks, n, args, sample, workers):
    from gensim.models import Word2Vec

    sentences = [list(map(str, w)) for w in walks.tolist()]
    with Clock() as clock:
        model = Word2Vec(
            sentences, vector_size=args.dim, window=args.window, negative=args.negatives,
            min_count=1, sg=1, sample=sample, workers=workers, epochs=args.epochs, seed=0,
        )  # fmt: skip
    emb = np.zeros((n, args.dim), dtype=np.float32)
    words = np.array(model.wv.index_to_key, dtype=np.int64)
    emb[words] = model.wv.vectors
    return emb, clock


def engine_rate(walks, n, args, device, numba) -> tuple[float, Clock]:
    """Pairs of one epoch and its clock: the engine alone, at the trainers' batch size."""
    engine = PairEngine(
        walks, n, window=args.window, negatives=args.negatives, device=device,
        batch_size=args.batch_size or default_batch(device), numba=numba,
    )  # fmt: skip
    with Clock() as clock:
        pairs = 0
        for c, _ in engine.epoch(0):
            pairs += len(c)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return pairs, clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--avg-degree", type=int, default=8)
    parser.add_argument("--walks-per-node", type=int, default=10)
    parser.add_argument("--length", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--negatives", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=None, help="ours; default per device")
    parser.add_argument(
        "--threads",
        default=str(os.cpu_count()),
        help="comma-separated thread counts, e.g. 1,2; every CPU method runs once per count",
    )
    parser.add_argument(
        "--methods",
        help=f"comma-separated subset of {','.join(METHODS + CUDA_METHODS)} "
        "(default: all, the cuda ones where a GPU is present)",
    )
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    chosen = args.methods.split(",") if args.methods else METHODS + CUDA_METHODS * cuda
    unknown = sorted(set(chosen) - set(METHODS + CUDA_METHODS))
    if unknown or (not cuda and any("cuda" in m for m in chosen)):
        parser.error(f"unknown or unavailable methods: {', '.join(unknown) or 'cuda ones'}")
    thread_counts = [int(t) for t in args.threads.split(",")]

    n = args.nodes
    edges, group = planted_graph(n, groups=args.groups, avg_deg=args.avg_degree)
    train, held = split_edges(edges)
    walks = random_walks(train, n, num_walks=args.walks_per_node, length=args.length)
    print(f"Machine: {machine()}\n")
    print(
        f"Planted graph: {n:,} nodes, {args.groups} groups, {len(train):,} training / "
        f"{len(held):,} held-out edges; {len(walks):,} walks x {args.length}; dim {args.dim}, "
        f"window {args.window}, {args.negatives} negatives, {args.epochs} epochs, "
        f"threads {args.threads}.\n"
    )
    pairs_per_epoch = PairEngine(walks, n, window=args.window).pairs_per_epoch

    side_info = planted_side_info(group) if "ours-eges-cpu" in chosen else None
    print(
        "| method | device | threads | s/epoch (wall) | CPU s/epoch | walks/s | M pairs/s "
        "| seen AUC |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|", flush=True)

    def row(method, device, threads, clock, epochs, pairs_per_epoch=None, auc=None):
        """Print a table row as soon as it is measured: a long run shows its progress."""
        rate = f"{pairs_per_epoch * epochs / clock.wall / 1e6:.2f}" if pairs_per_epoch else "–"
        quality = "–" if auc is None else f"{auc:.4f}"
        print(
            f"| {method} | {device} | {threads} | {clock.wall / epochs:.2f} | "
            f"{clock.cpu / epochs:.2f} | {len(walks) * epochs / clock.wall:,.0f} | {rate} | "
            f"{quality} |",
            flush=True,
        )

    for method in chosen:
        cuda_method = "cuda" in method
        for threads in thread_counts[-1:] if cuda_method else thread_counts:
            configure_threads(threads)
            if method.startswith("engine-"):
                device = torch.device("cuda" if cuda_method else "cpu")
                numba = method == "engine-cpu"
                pairs, clock = engine_rate(walks, n, args, device, numba)
                kind = "numba kernels" if numba else "torch ops"
                row(f"pair engine only ({kind})", device, threads, clock, 1, pairs)
            elif method.startswith("gensim"):
                sample = 0.0 if method == "gensim-sample0" else 1e-3
                emb, clock = gensim_embeddings(walks, n, args, sample, threads)
                auc = seen_auc(cosine(emb), train, held, n)
                same_pairs = pairs_per_epoch if sample == 0 else None
                label = f"gensim Word2Vec sg, sample={sample:g}"
                row(label, "cpu", threads, clock, args.epochs, same_pairs, auc)
            else:
                # The fused kernels; ours-cpu-batched: the GPU path's batched torch step
                # (fused=False) at the batch size that path used on the CPU before the kernels.
                batched = method == "ours-cpu-batched"
                fused, batch_size = (False, 1024) if batched else (None, args.batch_size)
                with Clock() as clock:
                    info, score = train_ours(
                        method, walks, n, args, threads, side_info, batch_size, fused
                    )
                auc = seen_auc(score, train, held, n)
                kind = "batched torch" if batched or cuda_method else "fused numba kernel"
                name = KERNELS.get(method, "sgns")
                label = f"ours, {name}, {kind} (batch {info['batch_size']:,})"
                device = "cuda" if cuda_method else "cpu"
                row(label, device, threads, clock, args.epochs, info["pairs"] / args.epochs, auc)

    print(f"\nPairs per epoch (expected, dynamic window): {pairs_per_epoch:,.0f}.")


if __name__ == "__main__":
    main()
