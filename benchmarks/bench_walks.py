"""Walk throughput: numba walkers and the torch path against a vectorised-numpy reference.

    python benchmarks/bench_walks.py [--nodes N] [--avg-degree D] [--walks-per-node R]
                                     [--length L] [--methods numpy,numba-1,...]
                                     [--pq 0.5:2,1:0.5,...]

Builds a synthetic power-law-ish weighted graph (Chung-Lu style, node ids shuffled so that hubs
are scattered as they are in asin order) and prints a markdown table. The reference advances
all walks together, one ``np.searchsorted`` into global cumulative weights per step: the usual
way to walk without a compiler. Peak RSS is per method (the kernel's high-water mark is reset
before each, via /proc/self/clear_refs): the whole process (interpreter, torch, graph) and,
separately, its rise during the method (walks array, alias tables, temporaries).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
from pathlib import Path

import numba
import numpy as np
import torch
from prodembed.graph import Graph, graph_from_ids
from prodembed.walks import (
    first_order_walks,
    first_order_walks_torch,
    node2vec_walks,
    node2vec_walks_torch,
)

P, Q = 0.5, 2.0  # the workflow's default node2vec setting (config.yaml)
# torch node2vec on the CPU is a fallback, not a production path, and takes minutes here.
DEFAULT_METHODS = [
    "numpy", "numba-1", "numba", "node2vec-1", "node2vec", "torch-cpu-1", "torch-cpu"
]  # fmt: skip
CUDA_METHODS = ["torch-cuda", "torch-n2v-cuda"]


def synthetic_graph(n: int, avg_degree: float, seed: int = 0) -> Graph:
    """Endpoints drawn with propensity ~ rank^-0.7 (degree tail exponent ~2.4), weights 1-4."""
    rng = np.random.default_rng(seed)
    propensity = np.cumsum(np.arange(1, n + 1, dtype=np.float64) ** -0.7)
    m = int(n * avg_degree / 2)
    ends = np.searchsorted(propensity, rng.random(2 * m) * propensity[-1], side="right")
    ends = rng.permutation(n)[ends]
    a, b = ends[:m], ends[m:]
    keep = a != b
    used, ids = np.unique(np.concatenate([a[keep], b[keep]]), return_inverse=True)
    weight = rng.integers(1, 5, keep.sum()).astype(np.float64)
    asins = np.char.mod("P%09d", used).astype(object)
    return graph_from_ids(ids[: keep.sum()], ids[keep.sum() :], weight, asins)


def numpy_first_order(graph: Graph, walks_per_node: int, length: int, seed: int) -> np.ndarray:
    """The reference: every walk advanced per step by one searchsorted over global cum weights."""
    rng = np.random.default_rng(seed)
    cum = np.cumsum(graph.weights, dtype=np.float64)
    base = np.concatenate([[0.0], cum])[graph.indptr[:-1]]
    total = graph.strength()
    last = graph.indptr[1:] - 1
    cur = np.tile(np.arange(graph.n_nodes), walks_per_node)
    out = np.empty((len(cur), length), dtype=np.int32)
    out[:, 0] = cur
    for s in range(1, length):
        target = base[cur] + rng.random(len(cur)) * total[cur]
        entry = np.minimum(np.searchsorted(cum, target, side="right"), last[cur])
        cur = graph.indices[entry]
        out[:, s] = cur
    return out


def reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark (VmHWM), so each method gets its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def status_mb(field: str) -> float:
    """A memory field of /proc/self/status in MiB (VmHWM is what clear_refs resets; getrusage's
    ru_maxrss is not)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def torch_threads(threads: int, run):
    """Pin torch's intra-op pool for one run: numba's OpenMP layer resets it when it launches."""

    def pinned(*args):
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return run(*args)
        finally:
            torch.set_num_threads(previous)

    return pinned


def method_table(cuda: bool, settings: list[tuple[float, float]]) -> dict:
    """key -> (label, threads, run); a node2vec key expands to one method per (p, q)."""
    all_threads = numba.config.NUMBA_NUM_THREADS

    def n2v(threads, p, q):
        return lambda g, r, n, s: node2vec_walks(g, r, n, p, q, s, threads=threads)

    def n2v_torch(device, p, q):
        return lambda g, r, n, s: node2vec_walks_torch(g, r, n, p, q, s, device)

    methods = {
        "numpy": [("numpy reference, first-order", 1, numpy_first_order)],
        "numba-1": [(
            "numba first-order", 1, lambda g, r, n, s: first_order_walks(g, r, n, s, threads=1)
        )],
        "numba": [(
            "numba first-order", all_threads,
            lambda g, r, n, s: first_order_walks(g, r, n, s, threads=all_threads),
        )],
        "node2vec-1": [(f"numba node2vec p={p} q={q}", 1, n2v(1, p, q)) for p, q in settings],
        "node2vec": [
            (f"numba node2vec p={p} q={q}", all_threads, n2v(all_threads, p, q))
            for p, q in settings
        ],
        "torch-cpu-1": [(
            "torch first-order (cpu)", 1,
            torch_threads(1, lambda g, r, n, s: first_order_walks_torch(g, r, n, s, "cpu")),
        )],
        "torch-cpu": [(
            "torch first-order (cpu)", all_threads,
            torch_threads(
                all_threads, lambda g, r, n, s: first_order_walks_torch(g, r, n, s, "cpu")
            ),
        )],
        "torch-n2v-cpu": [
            (f"torch node2vec p={p} q={q} (cpu)", all_threads,
             torch_threads(all_threads, n2v_torch("cpu", p, q)))
            for p, q in settings
        ],
    }  # fmt: skip
    if cuda:
        methods["torch-cuda"] = [(
            "torch first-order (cuda)", "gpu",
            lambda g, r, n, s: first_order_walks_torch(g, r, n, s, device="cuda"),
        )]  # fmt: skip
        methods["torch-n2v-cuda"] = [
            (f"torch node2vec p={p} q={q} (cuda)", "gpu", n2v_torch("cuda", p, q))
            for p, q in settings
        ]
    return methods


def expected_proposals(graph: Graph, walks: np.ndarray, p: float, q: float, steps: int) -> float:
    """Mean envelope-to-target mass ratio (proposals per step) of the numba kernel's rejection
    sampler over ``steps`` second-order steps sampled from ``walks``: a property of the graph
    and (p, q), not of the code. Far moves (accepted 1/q of the time for q > 1) dominate on a
    graph with few triangles, so it grows with q."""
    rng = np.random.default_rng(0)
    keys = np.repeat(np.arange(graph.n_nodes, dtype=np.int64), graph.degree()) * graph.n_nodes
    keys = np.sort(keys + graph.indices)
    rows, cols = rng.integers(len(walks), size=steps), rng.integers(1, walks.shape[1], size=steps)
    m = max(1.0, 1.0 / q)
    ratios = np.empty(steps)
    for i, (t, v) in enumerate(zip(walks[rows, cols - 1], walks[rows, cols], strict=True)):
        lo, hi = graph.indptr[v], graph.indptr[v + 1]
        x, w = graph.indices[lo:hi], graph.weights[lo:hi]
        query = t * np.int64(graph.n_nodes) + x
        near = keys[np.minimum(np.searchsorted(keys, query), len(keys) - 1)] == query
        alpha = np.where(x == t, 1.0 / p, np.where(near, 1.0, 1.0 / q))
        w_vt = w[x == t].sum()
        ratios[i] = (m * w.sum() + w_vt * max(0.0, 1.0 / p - m)) / (w * alpha).sum()
    return float(ratios.mean())


def timed(run, graph: Graph, walks_per_node: int, length: int) -> tuple[float, float, float]:
    """Seconds, peak RSS and the peak's rise over the RSS at the start (MiB) of one run."""
    per_method_peak = reset_peak_rss()
    before = status_mb("VmRSS")
    start = time.perf_counter()
    walks = run(graph, walks_per_node, length, 1)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    assert walks.shape == (walks_per_node * graph.n_nodes, length)
    del walks
    peak = status_mb("VmHWM") if per_method_peak else float("nan")
    return seconds, peak, peak - before


def main() -> None:
    cuda = torch.cuda.is_available()
    default = ",".join(DEFAULT_METHODS + CUDA_METHODS * cuda)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200_000)
    parser.add_argument("--avg-degree", type=float, default=20.0)
    parser.add_argument("--walks-per-node", type=int, default=5)
    parser.add_argument("--length", type=int, default=40)
    parser.add_argument(
        "--methods",
        default=None,
        help=f"comma list of {', '.join(method_table(cuda, []))}; default {default}",
    )
    parser.add_argument(
        "--pq", default=f"{P}:{Q}",
        help="node2vec settings p:q, comma-separated; with several, each node2vec method runs "
        "once per setting and a table compares it with first-order walks",
    )  # fmt: skip
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = [tuple(float(x) for x in pq.split(":")) for pq in args.pq.split(",")]
    methods = method_table(cuda, settings)
    chosen = args.methods.split(",") if args.methods else DEFAULT_METHODS + CUDA_METHODS * cuda
    if unknown := sorted(set(chosen) - set(methods)):
        parser.error(f"unknown or unavailable methods: {', '.join(unknown)}")

    start = time.perf_counter()
    graph = synthetic_graph(args.nodes, args.avg_degree)
    build_s = time.perf_counter() - start
    degree = graph.degree()
    csr_mb = (graph.indptr.nbytes + graph.indices.nbytes + graph.weights.nbytes) / 2**20
    tiny = synthetic_graph(200, 5.0, seed=1)
    for key in chosen:  # warm-up: numba compile (or cache load), torch kernel selection
        for _, _, run in methods[key]:
            run(tiny, 1, 5, 0)

    n_walks = args.walks_per_node * graph.n_nodes
    steps = n_walks * (args.length - 1)
    cpu = platform.processor()
    with open("/proc/cpuinfo") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    print(
        f"graph: {graph.n_nodes:,} nodes, {graph.n_entries // 2:,} edges "
        f"({graph.n_entries:,} CSR entries), mean degree {degree.mean():.1f}, "
        f"max degree {degree.max():,}; CSR {csr_mb:.0f} MiB; built in {build_s:.1f} s; "
        f"sum of squared degrees (entries of a per-edge node2vec table) "
        f"{np.square(degree, dtype=np.float64).sum():.2e}"
    )
    print(
        f"walks: {args.walks_per_node} per node x length {args.length} = {n_walks:,} walks, "
        f"{steps:,} steps; cpu: {cpu}, {numba.config.NUMBA_NUM_THREADS} numba threads"
        + (f"; gpu: {torch.cuda.get_device_name()}" if cuda else "")
        + f"; load average {os.getloadavg()[0]:.1f}"
    )
    print()
    print(
        "| method | threads | seconds | walks/s | steps/s | vs numpy | peak RSS MiB "
        "| of which this method |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    reference, seconds_of = None, {}
    for key in chosen:
        for label, threads, run in methods[key]:
            seconds, rss, rise = timed(run, graph, args.walks_per_node, args.length)
            seconds_of[label, threads] = seconds
            if key == "numpy":
                reference = seconds
            speedup = f"{reference / seconds:.1f}x" if reference else "-"
            print(
                f"| {label} | {threads} | {seconds:.2f} | {n_walks / seconds:,.0f} | "
                f"{steps / seconds:,.0f} | {speedup} | {rss:,.0f} | {rise:,.0f} |",
                flush=True,
            )
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    if len(settings) > 1:
        compare_settings(graph, settings, seconds_of, args.length)


def compare_settings(graph, settings, seconds_of, length) -> None:
    """node2vec time over first-order time at equal threads, beside the proposals per step."""
    print("\n| p | q | expected proposals per step | node2vec / first-order, by threads |")
    print("|---:|---:|---:|---|")
    for p, q in settings:
        walks = node2vec_walks(graph, 1, length, p, q, seed=0)
        ratios = [
            f"{n2v / seconds_of['numba first-order', threads]:.1f}x ({threads})"
            for (label, threads), n2v in seconds_of.items()
            if label == f"numba node2vec p={p} q={q}"
            and ("numba first-order", threads) in seconds_of
        ]
        proposals = expected_proposals(graph, walks, p, q, steps=2000)
        print(f"| {p:g} | {q:g} | {proposals:.2f} | {', '.join(ratios) or '-'} |", flush=True)


if __name__ == "__main__":
    main()
