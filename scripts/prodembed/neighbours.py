"""Top-k most similar products per product: the "customers also bought" lists a model implies.

Scores come from the same ``ScoreTable`` as the ranking metrics, so the lists agree with the
evaluation. Work goes in blocks of query rows (one matmul and one top-k each), so memory stays
bounded by the block, never n x n.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from .artifacts import ModelArtifacts
from .evaluate import ScoreTable
from .runtime import Progress, atomic_path

log = logging.getLogger(__name__)


def top_k_neighbours(
    model: ModelArtifacts,
    k: int = 10,
    batch: int | None = None,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """For every product with a vector, its k most similar other products.

    Returns columns ``asin``, ``rank`` (1..k), ``neighbour``, ``score`` (the model's pair score),
    ordered by model row then rank; ``min(k, n - 1)`` neighbours each. Ties are ordered by model
    row (the index order), so the lists are deterministic whatever the block size or device
    ordering of ``torch.topk``. ``batch`` is the number of query rows per block (default: as many
    as keep a block near 128 MiB).
    """
    table = ScoreTable(model, device)
    n, k = table.n, min(k, table.n - 1)
    if k <= 0:
        return _frame(model, np.empty(0, np.int64), np.empty((0, 0), np.int64), np.empty(0))
    step = batch or table.block_rows()
    cols, scores = [], []
    progress = Progress()
    for start in range(0, n, step):
        rows = np.arange(start, min(start + step, n))
        logits = table.logits(rows)
        local = torch.arange(len(rows), device=table.device)
        logits[local, torch.from_numpy(rows).to(table.device)] = -torch.inf
        values, columns = _deterministic_topk(logits, k)
        cols.append(columns.cpu().numpy())
        scores.append(table.to_score(values))
        done = start + len(rows)
        if done < n and progress.due():
            log.info("neighbours: %d/%d products, %.0f/s", done, n, progress.rate(done))
    return _frame(model, np.arange(n), np.concatenate(cols), np.concatenate(scores))


def _deterministic_topk(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top k per row ordered by (score descending, column ascending); needs k < columns.

    ``torch.topk`` picks arbitrarily among values tied with the k-th. Asking for k + 1 finds the
    rows where such a tie reaches past the k-th place (the (k+1)-th value equals the k-th);
    only those are redone exactly: everything above the k-th value plus the lowest columns
    among those equal to it.
    """
    values, columns = torch.topk(scores, k + 1, dim=1)
    spill = values[:, k] == values[:, k - 1]
    values, columns = values[:, :k].contiguous(), columns[:, :k].contiguous()
    if spill.any():
        rows = spill.nonzero().squeeze(1)
        sub, threshold = scores[rows], values[rows, k - 1 :]
        above, tie = sub > threshold, sub == threshold
        need = k - above.sum(1, keepdim=True)
        keep = above | (tie & (tie.cumsum(1) <= need))
        columns[rows] = keep.nonzero()[:, 1].view(-1, k)
        values[rows] = sub.gather(1, columns[rows])
    columns, order = columns.sort(dim=1)
    values = values.gather(1, order)
    values, order = values.sort(dim=1, descending=True, stable=True)
    return values, columns.gather(1, order)


def _frame(model: ModelArtifacts, rows: np.ndarray, cols: np.ndarray, scores) -> pd.DataFrame:
    k = cols.shape[1]
    asins = np.asarray(model.asins, dtype=object)
    return pd.DataFrame(
        {
            "asin": asins[np.repeat(rows, k)],
            "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), len(rows)),
            "neighbour": asins[cols.ravel()],
            "score": np.asarray(scores, dtype=np.float64).ravel(),
        }
    )


def write_neighbours(df: pd.DataFrame, path) -> None:
    """Write the neighbour lists as parquet, atomically (a failed job leaves no partial file)."""
    table = pa.table(
        {
            "asin": pa.array(df["asin"].to_numpy(dtype=object), pa.string()),
            "rank": pa.array(df["rank"].to_numpy(dtype=np.int32), pa.int32()),
            "neighbour": pa.array(df["neighbour"].to_numpy(dtype=object), pa.string()),
            "score": pa.array(df["score"].to_numpy(dtype=np.float64), pa.float64()),
        }
    )
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
