"""Skip-gram with negative sampling (SGNS) and "MF with bias on sequences" on walk pairs.

Both trainers draw (center, context, negatives) batches from :class:`PairEngine` and update
plain tensors with :class:`RowAdagrad`; EGES (:mod:`.eges`) reuses both, :func:`sgns_update`
and :func:`cpu_step`.

Why row-wise Adagrad (lr 0.5, decayed linearly to 0 over all pairs like word2vec) rather
than the study's SparseAdam or word2vec's plain SGD -- seen-only AUC after 5 epochs on a
planted-structure graph (5,000 nodes in 50 groups, 10 walks x 10 per node), CPU:

- plain SGD, summed loss, lr 0.025 / 0.05 / 0.1 with linear decay: 0.895 / 0.894 / 0.895
  (gensim skip-gram on the same walks: 0.894). The many rare nodes get few updates and
  barely leave their tiny initial vectors.
- SparseAdam, mean loss, lr 0.025, cosine annealing restarted each epoch (the study's
  recipe): batch 128 / 1,024 / 8,192: 0.908 / 0.907 / 0.904 (constant lr: 0.892).
- row-wise Adagrad: batch 1,024 / 32,768 / 131,072: 0.911 / 0.911 / 0.912.

Adagrad scales each row's step by its own gradient history, so rare rows move as far as
frequent ones, and it is insensitive to batch size once repeated rows are accounted for
(see :class:`RowAdagrad`; without that, batch 131,072 diverged early and ended at 0.863).
Unlike SparseAdam it needs no sparse-gradient coalescing (a sort and a host sync per batch on
CUDA) and keeps one float of state per row; it ran at plain SGD's speed, 2-4x SparseAdam's.

Two paths, one model. On a GPU each batch is a handful of batched torch ops with analytic
gradients (no autograd graph); the loss is summed on the device and read once per epoch, and
no step reads anything back to the host, so batches queue back to back. Per positive pair the
update gathers 7 rows of ``dim`` floats and writes 7 back with atomics, ~4 GB of memory
traffic per 131,072-pair batch at dim 128, which bounds an H100 (~3 TB/s) at roughly 1e8
trained pairs/s (an estimate; not yet measured). On a CPU the same batched ops are
memory-bound at ~0.4M pairs/s per core, so the CPU path runs the fused per-pair kernels of
:mod:`.sgd_cpu` on the same engine batches instead: ~1.2M pairs/s per core, close to gensim's
C loop, with the higher AUC (benchmarks/RESULTS.md, Skip-gram).

With ``threads`` > 1 the CPU path is Hogwild, like word2vec's C code and gensim: worker
threads run the (nogil) kernel on slices of each batch, sharing the tables and Adagrad states
without locks, while one of them builds the next batch (the engine is ~15-20% of a serial
epoch, which would otherwise cap 2 threads near 1.7x). Results then vary within noise from
run to run; ``threads=1`` calls the serial kernel exactly as before (same seed, same bytes).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from itertools import pairwise
from typing import Self

import numpy as np
import torch
import torch.nn.functional as F

from . import sgd_cpu
from .curves import LearningCurve, Snapshot, table_snapshot
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
    if fused and device.type != "cpu":
        raise ValueError(f"the fused kernels run on the CPU, not on {device}")
    return device.type == "cpu" if fused is None else fused


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


def cpu_step(kernel, *arrays, scalars: tuple = (), workers: Hogwild = SERIAL):
    """A :func:`train_pairs` step running a :mod:`.sgd_cpu` kernel on numpy views of the
    tables and optimiser states (shared memory: the kernel updates the tensors in place),
    on ``workers``."""
    views = [a.numpy() for a in arrays]

    def kernel_on(c: np.ndarray, targets: np.ndarray, lr: float) -> float:
        return kernel(*views, c, targets, lr, *scalars, EPS)

    def step(c: torch.Tensor, targets: torch.Tensor, lr: float) -> float:
        return workers.run(kernel_on, c.numpy(), targets.view(len(c), -1).numpy(), lr)

    return step


def sgns_update(
    u: torch.Tensor,
    targets: torch.Tensor,
    context: torch.Tensor,
    opt_context: RowAdagrad,
    lr: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Score centers ``u`` (B, D) against ``targets`` (B * (1+K): each pair's context, then
    its K negatives), update those context rows, return (summed loss, d loss / d u).

    Loss per pair: -log s(u.v) - sum_k log s(-u.v_k); gradients are analytic (no autograd).
    """
    batch, dim = u.shape
    v = context.index_select(0, targets).view(batch, -1, dim)
    scores = torch.bmm(u[:, None, :], v.transpose(1, 2)).squeeze(1)  # (B, 1+K)
    loss = F.softplus(-scores[:, 0]).sum() + F.softplus(scores[:, 1:]).sum()
    g = torch.sigmoid(scores)  # d loss / d score ...
    g[:, 0] -= 1.0  # ... minus the label
    grad_u = torch.bmm(g[:, None, :], v).squeeze(1)
    # A context row's gradient is g * u: its mean square needs no (B, 1+K, D) temporary.
    sq_mean = g.square() * u.square().mean(1, keepdim=True)
    g = g * opt_context.scale(targets, sq_mean.view(-1)).view_as(g)
    update = torch.mul(g[:, :, None], u[:, None, :], out=v).view(-1, dim)
    context.index_add_(0, targets, update, alpha=-lr)
    return loss, grad_u


def sgns_step(c, targets, lr, *, center, opt_center, opt_context) -> torch.Tensor:
    """One batched SGNS step on the device (the trainers' GPU path); returns the summed loss."""
    loss, grad_u = sgns_update(
        center.index_select(0, c), targets, opt_context.table, opt_context, lr
    )
    opt_center.step(c, grad_u, lr)
    return loss


def mf_step(c, targets, lr, *, opts, l2) -> torch.Tensor:
    """One batched step of MF with bias on sequences (tables are the optimisers' own)."""
    opt_emb, opt_bias, opt_glob = opts
    emb, bias, glob = opt_emb.table, opt_bias.table, opt_glob.table
    dim = emb.shape[1]
    e_c, e_t = emb.index_select(0, c), emb.index_select(0, targets).view(len(c), -1, dim)
    b_t = bias.index_select(0, targets).view(len(c), -1)
    dots = torch.bmm(e_c[:, None, :], e_t.transpose(1, 2)).squeeze(1)  # (B, 1+K)
    logits = dots + bias.index_select(0, c) + b_t + glob
    label = torch.zeros_like(logits)
    label[:, 0] = 1.0
    loss = F.binary_cross_entropy_with_logits(logits, label, reduction="sum")
    g = torch.sigmoid(logits) - label  # d loss / d logit
    grad_c = torch.bmm(g[:, None, :], e_t).squeeze(1) + 2 * l2 * e_c
    grad_t = g[:, :, None] * e_c[:, None, :] + 2 * l2 * e_t
    opt_emb.step(torch.cat([c, targets]), torch.cat([grad_c, grad_t.view(-1, dim)]), lr)
    opt_bias.step(torch.cat([c, targets]), torch.cat([g.sum(1), g.view(-1)]), lr)
    opt_glob.step(torch.zeros(1, dtype=torch.long, device=c.device), g.sum().view(1, 1), lr)
    return loss


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
        for batch, (c, x, neg) in enumerate(workers.ahead(engine.epoch(epoch)), 1):
            alpha = lr * max(1e-4, 1.0 - done / max(total, 1.0))
            loss_sum += step(c, torch.cat([x[:, None], neg], 1).view(-1), alpha)
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


def train_skipgram(
    walks: np.ndarray,
    n_nodes: int,
    *,
    dim: int = 128,
    window: int = 5,
    negatives: int = 5,
    epochs: int = 5,
    lr: float = 0.5,
    batch_size: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    log_every: int = 0,
    fused: bool | None = None,
    threads: int = 1,
    curve: LearningCurve | None = None,
) -> tuple[np.ndarray, dict]:
    """Train SGNS on ``walks``; return the center (input) table and training facts.

    Tables start like word2vec's: centers U(-0.5/dim, 0.5/dim), contexts zero. ``info``:
    ``loss`` (mean per positive pair, per epoch), ``pairs`` (positive pairs trained),
    ``pairs_per_s``, ``seconds``. ``log_every`` > 0 also logs every that many batches
    (a host sync there). ``fused``: see :func:`use_fused`. ``threads`` > 1 runs the fused
    kernel Hogwild (:class:`Hogwild`; results then vary within noise).
    """
    device = torch.device(device)
    engine = make_engine(walks, n_nodes, window, negatives, batch_size, seed, device)
    center = word2vec_init(n_nodes, dim, seed, device)
    context = torch.zeros(n_nodes, dim, device=device)
    opt_center, opt_context = RowAdagrad(center), RowAdagrad(context)
    fused = use_fused(device, fused)
    with Hogwild(threads if fused else 1) as workers:
        if fused:
            states = opt_center.state, opt_context.state
            step = cpu_step(sgd_cpu.sgns_pairs, center, context, *states, workers=workers)
        else:
            step = partial(sgns_step, center=center, opt_center=opt_center, opt_context=opt_context)
        tracked = None if curve is None else (curve, table_snapshot("cosine", center))
        info = train_pairs(engine, epochs, lr, step, log_every, workers, tracked)
    return center.cpu().numpy(), info


def train_mf_sequences(
    walks: np.ndarray,
    n_nodes: int,
    *,
    dim: int = 128,
    window: int = 5,
    negatives: int = 5,
    epochs: int = 5,
    lr: float = 0.5,
    batch_size: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    l2: float = 1e-3,
    fused: bool | None = None,
    threads: int = 1,
    curve: LearningCurve | None = None,
) -> tuple[np.ndarray, np.ndarray, float, dict]:
    """The study's "MF with bias on sequences": one shared table, scored s(e_a.e_b+b_a+b_b+g).

    Trained with BCE on the pair engine's (center, context) pairs (label 1) and its
    unigram^0.75 negatives (label 0), plus ``l2`` x squared norm of every row occurrence in
    the batch (planted graph of the module docstring: l2 1e-6 / 1e-3 / 1e-2 gave seen-only
    AUC 0.931 / 0.936 / 0.936). Same optimiser, schedule, ``fused``, ``threads`` and ``curve`` as
    :func:`train_skipgram`. Returns (embeddings, bias, global_bias, info).
    """
    device = torch.device(device)
    engine = make_engine(walks, n_nodes, window, negatives, batch_size, seed, device)
    emb = word2vec_init(n_nodes, dim, seed, device)
    bias = torch.zeros(n_nodes, 1, device=device)
    glob = torch.zeros(1, 1, device=device)
    opt_emb, opt_bias, opt_glob = RowAdagrad(emb), RowAdagrad(bias), RowAdagrad(glob)
    fused = use_fused(device, fused)
    with Hogwild(threads if fused else 1) as workers:
        if fused:
            tables = emb, bias.view(-1), glob.view(-1)
            states = opt_emb.state, opt_bias.state, opt_glob.state
            step = cpu_step(sgd_cpu.mf_pairs, *tables, *states, scalars=(l2,), workers=workers)
        else:
            step = partial(mf_step, opts=(opt_emb, opt_bias, opt_glob), l2=l2)
        snapshot = table_snapshot("dot", emb, bias, glob)
        tracked = None if curve is None else (curve, snapshot)
        info = train_pairs(engine, epochs, lr, step, workers=workers, curve=tracked)
    return emb.cpu().numpy(), bias.squeeze(1).cpu().numpy(), float(glob), info
