"""Skip-gram with negative sampling (SGNS) and "MF with bias on sequences" on walk pairs.

Both train on the shared pair loop of :mod:`.pairtrain` (engine batches, row-wise Adagrad,
linear decay, Hogwild threads on a CPU); this module holds their models: the batched torch
steps (the GPU path) and the choice of fused :mod:`.sgd_cpu` kernel (the CPU path). EGES
(:mod:`.eges`) reuses :func:`sgns_update`. Speeds and AUCs: benchmarks/RESULTS.md, Skip-gram.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from . import sgd_cpu
from .curves import LearningCurve, table_snapshot
from .pairtrain import (
    Hogwild,
    RowAdagrad,
    cpu_step,
    make_engine,
    train_pairs,
    use_fused,
    word2vec_init,
)


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
    (a host sync there). ``fused``: see :func:`.pairtrain.use_fused`. ``threads`` > 1 runs the fused
    kernel Hogwild (:class:`.pairtrain.Hogwild`; results then vary within noise).
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
            private = (2, 5)  # glob and its state: every pair writes them (cpu_step)
            step = cpu_step(
                sgd_cpu.mf_pairs, *tables, *states, scalars=(l2,), workers=workers, private=private
            )
        else:
            step = partial(mf_step, opts=(opt_emb, opt_bias, opt_glob), l2=l2)
        snapshot = table_snapshot("dot", emb, bias, glob)
        tracked = None if curve is None else (curve, snapshot)
        info = train_pairs(engine, epochs, lr, step, workers=workers, curve=tracked)
    return emb.cpu().numpy(), bias.squeeze(1).cpu().numpy(), float(glob), info
