"""Matrix factorisation on the training edges: score s(e_a.e_b [+ b_a + b_b + g]).

The study's MF streamed one edge at a time through a Python DataLoader (~5k edges/s, 43 min
per Electronics run) and decayed the whole table with Adam's weight decay every step. Here
an epoch is a seeded permutation of the edge arrays on the device, each batch adds
``negatives`` uniformly drawn node pairs per edge (label 0) in one ``randint``, and the L2
penalty is a loss term on the rows in the batch only.

Measured on planted-structure graphs (seen-only AUC of held-out edges, MF with bias, 5
epochs; CPU):

- Optimiser: dense Adam (lr 0.01, fused) as in the study. It beat the cheaper sparse
  optimisers clearly (20k nodes, batch 1024: Adam 0.872, SparseAdam 0.820, row-wise
  Adagrad 0.789): its momentum keeps moving rarely-seen rows between their visits. Its price
  is a step over the whole table (fused: ~16 ms per 1e5 x 128 rows on one CPU core, little
  on a GPU); gradients go through a preallocated buffer of which only the batch's rows are
  written and re-zeroed.
- L2 is a per-pair penalty, l2 x (|e_a|^2 + |e_b|^2) averaged like the BCE, so its weight
  does not depend on the batch size. 1e-2 was best (20k nodes, batch 256: 1e-6: 0.875,
  1e-3: 0.868, 1e-2: 0.927, 3e-2: 0.913; 100k nodes: 1e-6: 0.847, 1e-2: 0.933; without
  bias 0.628 -> 0.689): at 1e-6 it does nothing. The study's whole-table decay (also 1e-6)
  acts quite differently under Adam: it shrinks every unvisited row by ~lr per step (0.908).
- Quality follows the number of Adam steps more than the batch size (study-style Adam,
  20k nodes: batch 256: 0.908, 1024: 0.866, 4096: 0.782; 100k nodes: 512: 0.928, 2048:
  0.941, 8192: 0.897; this module, 2k nodes, 3 epochs: 32: 0.876, 256: 0.752), but small
  batches do not help on the default synthetic datasets (degree-matched seen-only AUC, mf /
  mf_bias; electronics, 18k training edges: batch 32: 0.726 / 0.925, 64: 0.782 / 0.941,
  256: 0.872 / 0.945, 1024: 0.859 / 0.892; books, 38k: 128: 0.839 / 0.949, 256: 0.876 /
  0.953, 512: 0.900 / 0.953). The default batch aims at ~100 steps per epoch, at least 256.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch
import torch.nn.functional as F

from .curves import LearningCurve, table_snapshot
from .pairs import epoch_seed

log = logging.getLogger(__name__)


def auto_batch(n_edges: int, steps_per_epoch: int = 100) -> int:
    """Power of two in [256, 65536] giving about ``steps_per_epoch`` steps per epoch."""
    return int(np.clip(2 ** round(np.log2(max(n_edges, 1) / steps_per_epoch)), 256, 65536))


class _SparseRowsGrad:
    """A parameter's dense gradient buffer, written and re-zeroed only at the batch's rows."""

    def __init__(self, param: torch.nn.Parameter) -> None:
        self.param = param
        param.grad = torch.zeros_like(param)

    def add(self, rows: torch.Tensor, grad: torch.Tensor) -> None:
        self.param.grad.index_add_(0, rows, grad)

    def clear(self, rows: torch.Tensor) -> None:
        self.param.grad.index_fill_(0, rows, 0.0)


def train_mf(
    a_idx: np.ndarray,
    b_idx: np.ndarray,
    n_nodes: int,
    *,
    weights: np.ndarray | None = None,
    use_weights: bool = False,
    dim: int = 128,
    bias: bool = False,
    negatives: int = 5,
    epochs: int = 5,
    lr: float = 0.01,
    l2: float = 1e-2,
    init_std: float = 0.1,
    batch_size: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    curve: LearningCurve | None = None,
) -> tuple[np.ndarray, np.ndarray | None, float, dict]:
    """Train MF with BCE on edges (label 1) and uniform random node pairs (label 0).

    ``use_weights`` multiplies each edge's loss by its weight (the study ignored weights).
    ``curve`` records learning-curve points (x: edges seen) as training goes.
    Returns (embeddings, bias per node or None, global bias, info); ``info`` holds ``loss``
    (summed BCE per edge, per epoch), ``edges_per_s`` and ``seconds``.
    """
    device = torch.device(device)
    a = torch.as_tensor(np.asarray(a_idx), dtype=torch.long).to(device)
    b = torch.as_tensor(np.asarray(b_idx), dtype=torch.long).to(device)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("a_idx and b_idx must be 1-d and of equal length")
    if len(a) and int(torch.maximum(a, b).max()) >= n_nodes:
        raise ValueError("edge endpoints must be < n_nodes")
    w = None
    if use_weights:
        if weights is None:
            raise ValueError("use_weights=True needs weights")
        w = torch.as_tensor(np.asarray(weights), dtype=torch.float32).to(device)
    batch_size = batch_size or auto_batch(len(a))

    gen = torch.Generator().manual_seed(seed)
    emb = torch.nn.Parameter((torch.randn(n_nodes, dim, generator=gen) * init_std).to(device))
    node_bias = torch.nn.Parameter(torch.zeros(n_nodes, 1, device=device))
    glob = torch.nn.Parameter(torch.zeros(1, device=device))
    params = [emb, node_bias, glob] if bias else [emb]
    grads = [_SparseRowsGrad(p) for p in params[:2]]
    opt = torch.optim.Adam(params, lr=lr, fused=True)
    losses = []
    snapshot = table_snapshot("dot", emb, node_bias if bias else None, glob if bias else None)
    if curve is not None:
        curve.begin(epochs * len(a), "edges")
    start = time.perf_counter()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        g = torch.Generator(device=device)
        g.manual_seed(epoch_seed(seed, epoch))
        order = torch.randperm(len(a), generator=g, device=device)
        loss_sum = torch.zeros((), device=device)
        for s in range(0, len(a), batch_size):
            idx = order[s : s + batch_size]
            n_pos = len(idx)
            neg = torch.randint(n_nodes, (2, n_pos * negatives), generator=g, device=device)
            rows = torch.cat([a[idx], neg[0], b[idx], neg[1]])  # left endpoints, then right
            e = emb.detach().index_select(0, rows).requires_grad_()
            e_l, e_r = e.view(2, -1, dim)
            logits = (e_l * e_r).sum(1)
            if bias:
                bb = node_bias.detach().index_select(0, rows).requires_grad_()
                gg = glob.detach().clone().requires_grad_()
                logits = logits + bb.view(2, -1).sum(0) + gg
            target = torch.zeros_like(logits)
            target[:n_pos] = 1.0
            per_pair = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
            if w is not None:
                per_pair = torch.cat([per_pair[:n_pos] * w[idx], per_pair[n_pos:]])
            bce = per_pair.mean()
            (bce + l2 * e.pow(2).sum() / len(per_pair)).backward()
            grads[0].add(rows, e.grad)
            if bias:
                grads[1].add(rows, bb.grad)
                glob.grad = gg.grad
            opt.step()
            for grad in grads:
                grad.clear(rows)
            loss_sum += bce.detach() * len(per_pair)
            done = epoch * len(a) + s + n_pos
            if curve is not None and curve.due(done):
                mean = float(loss_sum) / (s + n_pos)
                curve.record(done, done / max(len(a), 1), mean, snapshot)
        losses.append(float(loss_sum) / max(len(a), 1))
        if curve is not None:
            curve.record((epoch + 1) * len(a), epoch + 1, losses[-1], snapshot, epoch_end=True)
        secs = time.perf_counter() - t0
        log.info(
            "epoch %d: loss %.4f, %d edges, %.0f edges/s, %.1f s",
            epoch, losses[-1], len(a), len(a) / max(secs, 1e-9), secs,
        )  # fmt: skip
    seconds = time.perf_counter() - start
    info = {
        "loss": losses,
        "edges": len(a),
        "edges_per_s": epochs * len(a) / max(seconds, 1e-9),
        "seconds": seconds,
        "device": str(device),
        "batch_size": batch_size,
        "optimizer": "adam (fused, dense)",
        "use_weights": use_weights,
    }
    bias_out = node_bias.detach().squeeze(1).cpu().numpy() if bias else None
    return emb.detach().cpu().numpy(), bias_out, float(glob.detach()) if bias else 0.0, info
