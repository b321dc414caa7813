"""MF throughput: our vectorised train_mf against the study's per-pair Python DataLoader.

    python benchmarks/bench_mf.py [--nodes N] [--avg-degree D] [--epochs E] [--subset S]
                                  [--threads T] [--devices cpu,cuda]

Both train on the training edges of a planted graph (``prodembed.testing.planted_graph``,
as in the tests; 1/3 of the edges held out). Ours runs ``--epochs`` epochs (seconds
per epoch and the seen-only AUC of held-out edges vs random non-edges are reported). The
baseline is the study's approach -- a map-style Dataset whose ``__getitem__`` returns one
edge plus 5 uniformly drawn negative pairs, batched by a DataLoader (batch 128), dense
nn.Embedding + Adam with weight decay -- timed for one pass over ``--subset`` edges and
extrapolated to one epoch over all training edges.
"""

from __future__ import annotations

import argparse
import os
import random

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as prodembed.device sets it for the rules

import numpy as np
import torch
import torch.nn.functional as F
from bench_skipgram import Clock, machine
from prodembed.device import configure_threads
from prodembed.mf import train_mf
from prodembed.testing import dot, planted_graph, seen_auc, split_edges


class EdgeDataset(torch.utils.data.Dataset):
    """One positive edge and ``negatives`` random node pairs per item, drawn in Python."""

    def __init__(self, a, b, n_nodes, negatives=5):
        self.a, self.b, self.n, self.negatives = a, b, n_nodes, negatives

    def __len__(self):
        return len(self.a)

    def __getitem__(self, i):
        left = [int(self.a[i])] + [random.randrange(self.n) for _ in range(self.negatives)]
        right = [int(self.b[i])] + [random.randrange(self.n) for _ in range(self.negatives)]
        label = [1.0] + [0.0] * self.negatives
        return torch.tensor(left), torch.tensor(right), torch.tensor(label)


def per_pair_baseline(a, b, n, dim, bias) -> tuple[Clock, Clock]:
    """(data loading alone, data loading + training) for one pass over the edges."""
    emb = torch.nn.Embedding(n, dim)
    node_bias = torch.nn.Embedding(n, 1)
    opt = torch.optim.Adam([*emb.parameters(), *node_bias.parameters()], lr=0.01, weight_decay=1e-6)
    loader = torch.utils.data.DataLoader(EdgeDataset(a, b, n), batch_size=128, shuffle=True)
    with Clock() as loading:
        for _ in loader:
            pass
    with Clock() as clock:
        for left, right, label in loader:
            logits = (emb(left) * emb(right)).sum(-1)
            if bias:
                logits = logits + (node_bias(left) + node_bias(right)).squeeze(-1)
            loss = F.binary_cross_entropy_with_logits(logits, label)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return loading, clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--avg-degree", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--subset", type=int, default=5_000, help="edges for the baseline")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument(
        "--devices",
        help="comma-separated torch devices for ours (default: cpu, and cuda if present)",
    )
    args = parser.parse_args()
    default = "cpu,cuda" if torch.cuda.is_available() else "cpu"
    devices = [torch.device(d) for d in (args.devices or default).split(",")]
    if any(d.type == "cuda" for d in devices) and not torch.cuda.is_available():
        parser.error("--devices names cuda, but no CUDA device is available")
    configure_threads(args.threads)
    random.seed(0)
    torch.manual_seed(0)

    n = args.nodes
    edges, _ = planted_graph(n, groups=args.groups, avg_deg=args.avg_degree)
    train, held = split_edges(edges)
    a, b = train.T
    print(f"Machine: {machine()}\n")
    print(
        f"Planted graph: {n:,} nodes, {args.groups} groups, {len(train):,} training / "
        f"{len(held):,} held-out edges; dim {args.dim}, 5 negatives per edge, "
        f"{args.threads} threads.\n"
    )
    print("| method | device | s/epoch (wall) | CPU s/epoch | edges/s | seen AUC |")
    print("|---|---|---:|---:|---:|---:|")
    for bias in (False, True):
        name = "mf_bias" if bias else "mf"
        for device in devices:
            train_mf(
                a[:256], b[:256], n, dim=args.dim, bias=bias, epochs=1, device=device
            )  # warm-up
            with Clock() as clock:
                emb, node_bias, _, info = train_mf(
                    a, b, n, dim=args.dim, bias=bias, epochs=args.epochs, device=device
                )
            auc = seen_auc(dot(emb, node_bias), train, held, n)
            print(
                f"| {name}: ours, train_mf (batch {info['batch_size']:,}) | {device} | "
                f"{clock.wall / args.epochs:.2f} | {clock.cpu / args.epochs:.2f} | "
                f"{len(a) * args.epochs / clock.wall:,.0f} | {auc:.4f} |"
            )
        subset = np.random.default_rng(0).choice(len(a), min(args.subset, len(a)), replace=False)
        loading, clock = per_pair_baseline(a[subset], b[subset], n, args.dim, bias)
        scale = len(a) / len(subset)
        for what, c in (
            ("per-pair DataLoader + dense Adam", clock),
            ("per-pair DataLoader alone", loading),
        ):
            print(
                f"| {name}: {what} (study; {len(subset):,} edges, extrapolated) | cpu | "
                f"{c.wall * scale:.2f} | {c.cpu * scale:.2f} | {len(subset) / c.wall:,.0f} | – |"
            )


if __name__ == "__main__":
    main()
