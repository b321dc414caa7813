"""Skip-gram with negative sampling (SGNS) and "MF with bias on sequences" on walk pairs.

Both trainers draw (center, context, negatives) batches from :class:`PairEngine`.

SGNS optimiser: word2vec's own recipe -- plain SGD on the summed per-pair loss, lr decayed
linearly from ``lr`` (0.025) to ``lr * 1e-4`` over all pairs of all epochs -- applied to
large batches with analytic gradients and ``index_add_`` row updates (no autograd, no
sparse-gradient coalescing, no optimiser state). Compared on the planted-structure graph
of ``benchmarks/bench_skipgram.py`` against nn.Embedding(sparse=True) + SparseAdam on a
mean loss (the study's optimiser, with per-epoch cosine restarts), this gave the same or
better seen-only AUC at 2-4x the pairs/s on the CPU, and it needs no per-batch host sync,
so a GPU runs the batches back to back (see benchmarks/RESULTS.md for what was measured
where).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch
import torch.nn.functional as F

from .pairs import PairEngine

log = logging.getLogger(__name__)

#: Pairs per batch. Large batches amortise kernel launches on a GPU; on a CPU a batch's
#: (batch x (negatives+1) x dim) gather should stay cache-sized.
DEFAULT_BATCH = {"cpu": 4096, "cuda": 131072}


def default_batch(device: torch.device | str) -> int:
    return DEFAULT_BATCH.get(torch.device(device).type, DEFAULT_BATCH["cuda"])


def _linear_lr(lr: float, done: float, total: float) -> float:
    return lr * max(1e-4, 1.0 - done / total)


def train_skipgram(
    walks: np.ndarray,
    n_nodes: int,
    *,
    dim: int = 128,
    window: int = 5,
    negatives: int = 5,
    epochs: int = 5,
    lr: float = 0.025,
    batch_size: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    log_every: int = 200,
) -> tuple[np.ndarray, dict]:
    """Train SGNS on ``walks``; return the center (input) table and training facts.

    Tables are initialised like word2vec: centers U(-0.5/dim, 0.5/dim), contexts zero.
    Loss per pair: -log s(u.v) - sum_k log s(-u.v_k). ``info`` holds ``loss`` (mean per
    positive pair, per epoch), ``pairs`` (positive pairs trained), ``pairs_per_s`` and
    ``seconds``.
    """
    device = torch.device(device)
    batch_size = batch_size or default_batch(device)
    engine = PairEngine(
        walks, n_nodes, window=window, negatives=negatives, batch_size=batch_size, seed=seed,
        device=device,
    )  # fmt: skip
    gen = torch.Generator(device="cpu").manual_seed(seed)
    center = ((torch.rand(n_nodes, dim, generator=gen) - 0.5) / dim).to(device)
    context = torch.zeros(n_nodes, dim, device=device)
    # The target of each row of `scores`: 1 for the context, 0 for the negatives.
    sign = torch.full((1, negatives + 1), 1.0, device=device)
    sign[0, 0] = -1.0
    label = (sign < 0).float()
    total, done, losses = epochs * engine.pairs_per_epoch, 0, []
    start = time.perf_counter()
    for epoch in range(epochs):
        t0, n_epoch = time.perf_counter(), 0
        loss_sum = torch.zeros((), device=device)
        for step, (c, x, neg) in enumerate(engine.epoch(epoch)):
            alpha = _linear_lr(lr, done, total)
            targets = torch.cat([x[:, None], neg], 1)  # (B, 1+K)
            u, v = center[c], context[targets]  # (B, D), (B, 1+K, D)
            scores = torch.bmm(v, u[:, :, None]).squeeze(2)
            loss_sum += F.softplus(scores * sign).sum()
            g = torch.sigmoid(scores) - label  # d loss / d score
            grad_u = torch.bmm(g[:, None, :], v).squeeze(1)
            context.index_add_(0, targets.reshape(-1), (g[:, :, None] * u[:, None, :]).reshape(-1, dim), alpha=-alpha)  # fmt: skip
            center.index_add_(0, c, grad_u, alpha=-alpha)
            done += len(c)
            n_epoch += len(c)
            if log_every and step % log_every == 0 and step:
                log.info("epoch %d step %d: lr %.5f, %d pairs", epoch, step, alpha, n_epoch)
        losses.append(float(loss_sum) / max(n_epoch, 1))
        secs = time.perf_counter() - t0
        log.info(
            "epoch %d: loss %.4f, %d pairs, %.0f pairs/s, %.1f s",
            epoch, losses[-1], n_epoch, n_epoch / secs, secs,
        )  # fmt: skip
    seconds = time.perf_counter() - start
    info = {
        "loss": losses,
        "pairs": done,
        "pairs_per_s": done / seconds,
        "seconds": seconds,
        "device": str(device),
        "batch_size": batch_size,
        "optimizer": "sgd-linear-decay",
    }
    return center.cpu().numpy(), info
