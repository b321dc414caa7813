"""EGES: skip-gram whose center vector is a learned, per-item weighting of side information.

Wang et al., "Billion-scale Commodity Embedding for E-commerce Recommendation in Alibaba"
(KDD 2018). Item v's center representation is

    H_v = sum_j exp(a_vj) W_j[s_j(v)] / sum_j exp(a_vj)

over the fields j present for v (item id, brand, category levels, price bucket; missing side
info is masked out of the softmax, not embedded as a "missing" value). Contexts and
negatives use a separate plain per-item table -- the study's broken version mixed the two
and used the center's metadata for the context.

Cold products (metadata but no training edges) have neither a learned a_v nor a trained
item vector; as in the paper's cold-start experiment they get the plain average of their
present side-information vectors. A cold product without any side information gets no
vector (``has_vector`` False) and is left to the evaluation's cold-start policy.

Training shares the pair engine and optimiser of :mod:`.skipgram` (row-wise Adagrad with
linear decay); the per-field tables are concatenated into one table so each batch is a
single gather and a single row update for all fields.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch
import torch.nn.functional as F

from .side_info import MISSING, SideInfo
from .skipgram import RowAdagrad, _engine, _log_epoch, _word2vec_init, linear_lr

log = logging.getLogger(__name__)


def _weights(a: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """softmax(a) over the present fields of each row."""
    return a.masked_fill(~present, float("-inf")).softmax(1)


def train_eges(
    walks: np.ndarray,
    side_info: SideInfo,
    *,
    dim: int = 128,
    window: int = 5,
    negatives: int = 5,
    epochs: int = 5,
    lr: float = 0.5,
    batch_size: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Train EGES on walks over the training nodes (rows ``0..side_info.n_train-1``).

    Returns ``emb`` (n_rows, dim) for every row of ``side_info``, ``has_vector`` (bool per
    row) and ``info`` (``loss`` per epoch, ``pairs_per_s``, ``seconds``, and
    ``field_weights``: the mean over training nodes of softmax(a_v) per field name).
    """
    device = torch.device(device)
    n_train, n_fields = side_info.n_train, len(side_info.field_names)
    engine = _engine(walks, n_train, window, negatives, batch_size, seed, device)

    # One table for all fields: field j's code k lives at row offsets[j] + k. The item
    # field only needs the training rows; cold rows never look it up.
    sizes = [n_train, *side_info.cardinalities[1:]]
    offsets = torch.tensor(np.r_[0, np.cumsum(sizes)[:-1]], device=device)
    codes = torch.as_tensor(side_info.codes, device=device)
    present = codes != MISSING
    present[:, 0] = True
    train_rows = codes[:n_train] + offsets
    train_present = present[:n_train]

    fields = _word2vec_init(sum(sizes), dim, seed, device)
    attn = torch.zeros(n_train, n_fields, device=device)
    context = torch.zeros(n_train, dim, device=device)
    opt_fields, opt_attn, opt_ctx = RowAdagrad(fields), RowAdagrad(attn), RowAdagrad(context)
    label = torch.zeros(1, negatives + 1, device=device)
    label[0, 0] = 1.0
    sign = 1.0 - 2.0 * label
    total, done, losses = epochs * engine.pairs_per_epoch, 0, []
    start = time.perf_counter()
    for epoch in range(epochs):
        t0, n_epoch = time.perf_counter(), 0
        loss_sum = torch.zeros((), device=device)
        for c, x, neg in engine.epoch(epoch):
            alpha = linear_lr(lr, done, total)
            rows = train_rows.index_select(0, c).view(-1)  # (B * F,)
            e = fields.index_select(0, rows).view(len(c), n_fields, dim).requires_grad_()
            a = attn.index_select(0, c).requires_grad_()
            targets = torch.cat([x[:, None], neg], 1).view(-1)
            v = context.index_select(0, targets).view(len(c), negatives + 1, dim)
            v.requires_grad_()
            w = _weights(a, train_present.index_select(0, c))
            h = torch.bmm(w[:, None, :], e)  # (B, 1, D)
            scores = torch.bmm(h, v.transpose(1, 2)).squeeze(1)
            loss = F.softplus(scores * sign).sum()
            loss.backward()
            opt_fields.step(rows, e.grad, alpha)
            opt_attn.step(c, a.grad, alpha)
            opt_ctx.step(targets, v.grad, alpha)
            loss_sum += loss.detach()
            done += len(c)
            n_epoch += len(c)
        losses.append(float(loss_sum) / max(n_epoch, 1))
        _log_epoch(epoch, losses[-1], n_epoch, time.perf_counter() - t0)
    seconds = time.perf_counter() - start

    emb = torch.zeros(side_info.n_rows, dim, device=device)
    w_train = _weights(attn, train_present)
    for s in range(0, n_train, 65536):
        end = min(s + 65536, n_train)
        emb[s:end] = torch.bmm(w_train[s:end, None, :], fields[train_rows[s:end]]).squeeze(1)
    side_present = present[n_train:, 1:].float()
    if len(side_present):
        side = fields[(codes[n_train:, 1:] + offsets[1:]).clamp(max=len(fields) - 1)]
        count = side_present.sum(1, keepdim=True)
        emb[n_train:] = (side * side_present[:, :, None]).sum(1) / count.clamp(min=1)
    has_vector = present[:, 1:].any(1)
    has_vector[:n_train] = True

    info = {
        "loss": losses,
        "pairs": done,
        "pairs_per_s": done / seconds,
        "seconds": seconds,
        "device": str(device),
        "batch_size": engine.batch_size,
        "optimizer": "row-adagrad, linear lr decay",
        "field_weights": dict(
            zip(side_info.field_names, w_train.mean(0).cpu().tolist(), strict=True)
        ),
        "cold_rows": side_info.n_rows - n_train,
        "cold_with_vector": int(has_vector[n_train:].sum()),
    }
    return emb.cpu().numpy(), has_vector.cpu().numpy(), info
