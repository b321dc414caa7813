"""The loop every pair trainer shares: batches, optimiser, learning-rate schedule, threads.

Skip-gram (:mod:`.skipgram`), MF on sequences and EGES (:mod:`.eges`) all draw (center,
context, negatives) batches from :class:`~prodembed.pairs.PairEngine` and update plain tensors
with :class:`RowAdagrad`, lr decayed linearly to 0 over all pairs like word2vec's.

Why row-wise Adagrad rather than the study's SparseAdam or word2vec's plain SGD: on a planted
graph it beat both (seen AUC 0.911 against 0.908 and 0.895; benchmarks/RESULTS.md), because it
moves rare rows as far as frequent ones, it is insensitive to the batch size once repeated
rows are accounted for (:class:`RowAdagrad`), and it needs no sparse-gradient coalescing (a
sort and a host sync per batch on CUDA).

Two paths, one model. On a GPU each batch is a handful of batched torch ops with analytic
gradients and no host sync, so batches queue back to back. On a CPU those ops are memory-bound,
so the fused per-pair kernels of :mod:`.sgd_cpu` run on the same engine batches instead
(:func:`cpu_step`), Hogwild on several threads (:class:`Hogwild`); one thread is the serial,
byte-reproducible path.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Self

import numpy as np
import torch

from .curves import LearningCurve, Snapshot
from .device import cpu_path
from .pairs import PairEngine
from .runtime import Progress

log = logging.getLogger(__name__)

#: Pairs per batch. Large batches amortise kernel launches on a GPU; on the CPU the fused
#: kernels of :mod:`.sgd_cpu` update per pair, and the batch only sets how often Python runs.
DEFAULT_BATCH = {"cpu": 16384, "cuda": 131072}

#: Adagrad's epsilon, shared by the torch and the CPU kernels.
EPS = 1e-10

#: Kernel slices per thread and batch: threads that finish early take another slice, so a
#: thread descheduled by other work (or building the next batch) does not stall the batch.
SLICES_PER_THREAD = 4


def default_batch(device: torch.device | str) -> int:
    return DEFAULT_BATCH.get(torch.device(device).type, DEFAULT_BATCH["cuda"])


class RowAdagrad:
    """Row-wise Adagrad (one accumulator per row) applied only to the rows a batch touched.

    ``step`` takes one gradient row per occurrence, duplicates included. A row met m times
    in a batch adds m x (sum of its occurrences' mean squared gradients) to its
    accumulator, an upper bound on the squared norm of their sum (Cauchy-Schwarz), so the
    row's total step stays <= lr however often it recurs -- hubs appear thousands of times
    in a large batch, and without the factor m their summed step grows like sqrt(m).
    Everything stays on the table's device; no host sync.
    """

    def __init__(self, table: torch.Tensor, eps: float = EPS) -> None:
        self.table = table
        self.state = torch.zeros(len(table), device=table.device)
        self.count = torch.zeros(len(table), device=table.device)  # all zero between steps
        self.eps = eps

    def scale(self, rows: torch.Tensor, sq_mean: torch.Tensor) -> torch.Tensor:
        """Accumulate per-occurrence mean squared gradients; 1/sqrt(accumulator) per row."""
        # Occurrences per row without torch.bincount, which syncs with the host on CUDA.
        self.count.index_add_(0, rows, torch.ones_like(sq_mean))
        repeats = self.count.index_select(0, rows)
        self.count.index_fill_(0, rows, 0.0)
        self.state.index_add_(0, rows, sq_mean * repeats)
        return self.state.index_select(0, rows).add_(self.eps).rsqrt_()

    def step(self, rows: torch.Tensor, grad: torch.Tensor, lr: float) -> None:
        grad = grad.reshape(len(rows), -1)
        scale = self.scale(rows, grad.pow(2).mean(1))
        self.table.index_add_(0, rows, grad * scale[:, None], alpha=-lr)


def word2vec_init(n: int, dim: int, seed: int, device: torch.device) -> torch.Tensor:
    """word2vec's input-vector init, U(-0.5/dim, 0.5/dim), drawn on the CPU for every device."""
    gen = torch.Generator().manual_seed(seed)
    return ((torch.rand(n, dim, generator=gen) - 0.5) / dim).to(device)


def make_engine(walks, n_nodes, window, negatives, batch_size, seed, device) -> PairEngine:
    return PairEngine(
        walks, n_nodes, window=window, negatives=negatives, seed=seed, device=device,
        batch_size=batch_size or default_batch(device),
    )  # fmt: skip


def use_fused(device: torch.device, fused: bool | None) -> bool:
    """Whether a trainer runs the fused CPU kernels: by default exactly when on the CPU;
    ``fused=False`` forces the batched torch step there (tests and benchmarks use it)."""
    return cpu_path(device, fused, "the fused kernels")


class Hogwild:
    """``threads`` workers that share the tables and run a kernel on slices of each batch
    without locks; one of them builds the next batch meanwhile (:meth:`ahead`). With one
    thread everything runs in the caller, in order: the serial, deterministic path."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = max(1, int(threads))
        self.pool = None
        if self.threads > 1:
            self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="hogwild")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def run(self, kernel, c: np.ndarray, targets: np.ndarray, *args) -> float:
        """``kernel(c, targets, *args)`` on contiguous slices in parallel; the summed loss."""
        if self.pool is None:
            return kernel(c, targets, *args)
        bounds = np.linspace(0, len(c), SLICES_PER_THREAD * self.threads + 1).astype(int)
        futures = [
            self.pool.submit(kernel, c[a:b], targets[a:b], *args)
            for a, b in pairwise(bounds)
            if b > a
        ]
        return sum(f.result() for f in futures)

    def ahead(self, batches):
        """Yield from ``batches`` while a worker builds the next one."""
        if self.pool is None:
            yield from batches
            return
        batches = iter(batches)
        pending = self.pool.submit(next, batches, None)
        while (batch := pending.result()) is not None:
            pending = self.pool.submit(next, batches, None)
            yield batch


#: One thread: the kernels run in the caller, batch after batch.
SERIAL = Hogwild()


def cpu_step(
    kernel, *arrays, scalars: tuple = (), workers: Hogwild = SERIAL, private: tuple[int, ...] = ()
):
    """A :func:`train_pairs` step running a :mod:`.sgd_cpu` kernel on numpy views of the
    tables and optimiser states (shared memory: the kernel updates the tensors in place),
    on ``workers``.

    ``private``: positions in ``arrays`` of small arrays that every pair writes (MF's global
    bias and its Adagrad state). On several threads each slice updates its own copy and adds
    its change to the shared array when it ends, under a lock, so no change is lost: shared,
    that one cache line moves between the cores on every pair (``mf_pairs`` on 2 threads:
    6-10% more pairs/s with copies, benchmarks/RESULTS.md). One thread keeps the serial path."""
    views = [a.numpy() for a in arrays]
    lock = threading.Lock()

    def kernel_on(c: np.ndarray, targets: np.ndarray, lr: float) -> float:
        if not private or workers.pool is None:
            return kernel(*views, c, targets, lr, *scalars, EPS)
        with lock:
            start = {i: views[i].copy() for i in private}
        own = [start[i].copy() if i in start else v for i, v in enumerate(views)]
        loss = kernel(*own, c, targets, lr, *scalars, EPS)
        with lock:
            for i in private:
                views[i] += own[i] - start[i]
        return loss

    def step(c: torch.Tensor, targets: torch.Tensor, lr: float) -> float:
        return workers.run(kernel_on, c.numpy(), targets.view(len(c), -1).numpy(), lr)

    return step


def train_pairs(
    engine: PairEngine,
    epochs: int,
    lr: float,
    step,
    log_every: int = 0,
    workers=SERIAL,
    curve: tuple[LearningCurve, Snapshot] | None = None,
) -> dict:
    """The epoch loop shared by the pair trainers.

    ``step(center, targets, lr)`` updates the model on one batch (``targets`` as in
    :func:`sgns_update`) and returns its summed loss as a device tensor; losses are summed
    on the device and read once per epoch, so nothing waits for the GPU per batch. The lr
    decays linearly over all pairs like word2vec's. A progress line (pair counts only, no sync)
    at most every ``runtime.PROGRESS_SECONDS``. With :class:`Hogwild` ``workers`` the next
    batch is built while the step runs. ``curve``: a learning curve and the snapshot of the
    model's vectors it scores, recorded between steps (x: positive pairs seen).
    """
    total, done, losses = epochs * engine.pairs_per_epoch, 0, []
    if curve is not None:
        curve[0].begin(total, "pairs")
    start = time.perf_counter()
    for epoch in range(epochs):
        t0, n_epoch, progress = time.perf_counter(), 0, Progress()
        loss_sum = torch.zeros((), device=engine.device)
        for batch, (c, targets) in enumerate(workers.ahead(engine.epoch(epoch)), 1):
            alpha = lr * max(1e-4, 1.0 - done / max(total, 1.0))
            loss_sum += step(c, targets.view(-1), alpha)
            done += len(c)
            n_epoch += len(c)
            if curve is not None and curve[0].due(done):
                loss = float(loss_sum) / n_epoch
                curve[0].record(done, epoch + n_epoch / engine.pairs_per_epoch, loss, curve[1])
            if log_every and batch % log_every == 0:
                log.info("epoch %d batch %d: loss %.4f", epoch, batch, float(loss_sum) / n_epoch)
            elif progress.due():
                log.info(
                    "epoch %d: %d of ~%d pairs, %.0f pairs/s",
                    epoch, n_epoch, engine.pairs_per_epoch, progress.rate(n_epoch),
                )  # fmt: skip
        losses.append(float(loss_sum) / max(n_epoch, 1))
        if curve is not None:
            curve[0].record(done, epoch + 1, losses[-1], curve[1], epoch_end=True)
        secs = time.perf_counter() - t0
        log.info(
            "epoch %d: loss %.4f, %d pairs, %.0f pairs/s, %.1f s",
            epoch, losses[-1], n_epoch, n_epoch / max(secs, 1e-9), secs,
        )  # fmt: skip
    seconds = time.perf_counter() - start
    return {
        "loss": losses,
        "pairs": done,
        "pairs_per_s": done / max(seconds, 1e-9),
        "seconds": seconds,
        "device": str(engine.device),
        "batch_size": engine.batch_size,
        "optimizer": "row-wise adagrad, linear lr decay",
    }
