"""Learning curves: loss and seen-pair AUC at evenly spaced points through training.

The study judged training by its curves ("one epoch seems sufficient", MF "forgetting" at
each learning-rate restart). Every trainer here records about ``POINTS`` points plus each
epoch's end, on a fixed seeded sample of seen validation pairs of both protocols
(``curve_pairs.parquet``) that is never used to choose anything. The x axis is positive
examples seen (walk pairs, or edges for MF), so all models share it.

A point scores the sample from the trainer's live tables through a small ``ModelArtifacts``
of the sampled rows, with the evaluation's own pair scoring, so the curve measures what the
evaluation measures. The last point is taken from the vectors the run saves, so it equals the
final evaluation on the same sample. The time spent on points is kept apart (``overhead``)
and left out of the model's training time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

from .artifacts import ModelArtifacts
from .runtime import atomic_path
from .scoring import PROTOCOLS, score_rows

log = logging.getLogger(__name__)

POINTS = 20
"""Evenly spaced points per training run, besides the epoch ends."""

COLUMNS = {
    "step": pa.float64(),
    "unit": pa.string(),
    "epoch": pa.float64(),
    "epoch_end": pa.bool_(),
    "final": pa.bool_(),
    "loss": pa.float64(),
    "auc_seen": pa.float64(),
    "auc_seen_dm": pa.float64(),
    "train_seconds": pa.float64(),
}
"""``curves.parquet``: one row per point; ``auc_seen`` uniform, ``auc_seen_dm`` degree-matched."""

Snapshot = Callable[[np.ndarray], ModelArtifacts]
"""Live vectors of the given training-node rows, as a model over exactly those rows."""


def sample_curve_pairs(
    val_pairs: pd.DataFrame, val_pairs_dm: pd.DataFrame, train_edges: pd.DataFrame, n: int, seed
) -> pd.DataFrame:
    """Up to ``n`` seen pairs per protocol (both products have training edges), seeded.

    Columns ``protocol``, ``a``, ``b``, ``label``, in each protocol's file order.
    """
    seen = pd.Index(pd.unique(np.concatenate([train_edges["a"], train_edges["b"]])))
    frames = []
    sets = zip(PROTOCOLS, (val_pairs, val_pairs_dm), strict=True)
    for stream, (protocol, pairs) in enumerate(sets):
        both = seen.get_indexer(pairs["a"]) >= 0
        both &= seen.get_indexer(pairs["b"]) >= 0
        rows = np.flatnonzero(both)
        if len(rows) > n:
            rng = np.random.default_rng([seed, stream])
            rows = np.sort(rng.choice(rows, n, replace=False))
        frames.append(pairs.iloc[rows][["a", "b", "label"]].assign(protocol=protocol))
    out = pd.concat(frames, ignore_index=True)
    return out[["protocol", "a", "b", "label"]]


class LearningCurve:
    """Records the points of one training run over the products ``node_asins`` (by node id).

    The trainer calls :meth:`begin` with the positives it will see, then :meth:`due` /
    :meth:`record` as it goes and at each epoch's end; the run calls :meth:`final`.
    """

    def __init__(self, pairs: pd.DataFrame, node_asins: np.ndarray | None) -> None:
        """``node_asins=None``: a model without a graph (the popularity baseline)."""
        if node_asins is None:
            node_asins = pd.unique(np.concatenate([pairs["a"], pairs["b"]]))
        index = pd.Index(node_asins)
        ra, rb = index.get_indexer(pairs["a"]), index.get_indexer(pairs["b"])
        known = (ra >= 0) & (rb >= 0)
        if not known.all():
            raise ValueError(
                f"{int((~known).sum())} curve pairs name products outside the training graph; "
                "curve_pairs.parquet and the graph come from different runs"
            )
        self.rows, inverse = np.unique(np.concatenate([ra, rb]), return_inverse=True)
        self.pair_rows = inverse.reshape(2, -1)
        self.products = np.asarray(node_asins, dtype=object)[self.rows]
        self.labels = pairs["label"].to_numpy(dtype=np.int8)
        self.protocol = pairs["protocol"].to_numpy()
        self.points: list[dict] = []
        self.begin(0.0, "pairs")

    def begin(self, total: float, unit: str) -> None:
        """Training starts: ``total`` positives (``unit``: pairs or edges) are to come."""
        self.total, self.unit = float(total), unit
        self.marks = self.total * np.arange(1, POINTS + 1) / POINTS
        self.next = 0
        self.overhead = 0.0
        self.start = time.perf_counter()

    def due(self, done: float) -> bool:
        """Whether ``done`` positives reach the next evenly spaced point."""
        return self.next < len(self.marks) and done >= self.marks[self.next] * (1 - 1e-9)

    def record(
        self, done: float, epoch: float, loss: float, snapshot: Snapshot, *, epoch_end=False
    ) -> None:
        """Score the sample with ``snapshot(self.rows)`` (rows in that order) and keep the point."""
        t0 = time.perf_counter()
        while self.due(done):
            self.next += 1
        if self.points and self.points[-1]["step"] == done:  # an epoch's end on a point
            self.points[-1]["epoch_end"] |= epoch_end
            return
        model = snapshot(self.rows)
        self._keep(done, epoch, loss, model, np.arange(len(self.rows)), epoch_end, False)
        self.overhead += time.perf_counter() - t0

    def final(self, model: ModelArtifacts, loss: float | None) -> None:
        """The last point, from the saved vectors (what the evaluation reads)."""
        t0 = time.perf_counter()
        found = pd.Index(model.asins).get_indexer(self.products)
        present = found >= 0
        local = np.full(len(found), -1)
        local[present] = np.arange(int(present.sum()))
        rows = found[present]
        sub = ModelArtifacts(
            model.embeddings[rows],
            self.products[present],
            model.similarity,
            bias=model.bias[rows],
            global_bias=model.global_bias,
        )
        last = self.points[-1] if self.points else {"step": self.total, "epoch": 0.0}
        self._keep(last["step"], last["epoch"], loss, sub, local, False, True)
        self.overhead += time.perf_counter() - t0

    def _keep(self, done, epoch, loss, model, local, epoch_end, final) -> None:
        scores, _ = score_rows(model, local[self.pair_rows[0]], local[self.pair_rows[1]])
        point = {
            "step": float(done),
            "unit": self.unit,
            "epoch": float(epoch),
            "epoch_end": bool(epoch_end),
            "final": bool(final),
            "loss": np.nan if loss is None else float(loss),
            "train_seconds": time.perf_counter() - self.start - self.overhead,
        }
        for protocol, suffix in PROTOCOLS.items():
            mask = self.protocol == protocol
            labels = self.labels[mask]
            defined = len(labels) > 0 and labels.min() != labels.max()
            auc = roc_auc_score(labels, scores[mask]) if defined else np.nan
            point[f"auc_seen{suffix}"] = float(auc)
        self.points.append(point)
        log.info(
            "curve: %.0f %s, epoch %.2f, loss %.4f, seen AUC %.4f / dm %.4f",
            done, self.unit, epoch, point["loss"], point["auc_seen"], point["auc_seen_dm"],
        )  # fmt: skip

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.points, columns=list(COLUMNS))

    def write(self, path) -> None:
        table = pa.Table.from_pandas(self.frame(), schema=pa.schema(COLUMNS), preserve_index=False)
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)


def table_snapshot(similarity: str, table, bias=None, global_bias=None) -> Snapshot:
    """A snapshot of torch tables: rows of ``table`` and ``bias``; ``global_bias`` a 1-element
    tensor. Reads the live tables, so call it between steps."""

    def snapshot(rows: np.ndarray) -> ModelArtifacts:
        emb = table.detach()[rows].cpu().numpy()
        b = None if bias is None else bias.detach().reshape(-1)[rows].cpu().numpy()
        g = 0.0 if global_bias is None else float(global_bias.detach().reshape(-1)[0])
        return ModelArtifacts(emb, rows, similarity, bias=b, global_bias=g)

    return snapshot
