"""What every training rule does around its trainer: inputs, device, timing, saving."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from .artifacts import ModelArtifacts
from .curves import LearningCurve
from .runtime import Stopwatch, load_npy, peak_rss_mb, read_parquet, seed_everything

log = logging.getLogger(__name__)


def node_asins(nodes_path: str | Path) -> np.ndarray:
    """Asin of each training node id (graph/nodes.parquet is written in node order)."""
    table = pq.read_table(nodes_path)
    nodes = table.column("node").to_numpy()
    if not np.array_equal(nodes, np.arange(len(nodes))):
        raise ValueError(f"{nodes_path}: node ids are not 0..n-1 in order")
    return np.asarray(table.column("asin").to_numpy(zero_copy_only=False), dtype=object)


def node_ids(asins: np.ndarray, values) -> np.ndarray:
    """Vectorised asin -> node id lookup; every value must be a training node."""
    ids = pd.Index(asins).get_indexer(values)
    if (ids < 0).any():
        raise ValueError(f"{int((ids < 0).sum())} products are not nodes of the training graph")
    return ids.astype(np.int64)


def load_walks(path: str | Path, n_nodes: int) -> np.ndarray:
    walks = load_npy(path)
    if walks.ndim != 2 or walks.dtype != np.int32:
        raise ValueError(
            f"{path}: expected an int32 (n_walks, length) array, got {walks.dtype} {walks.shape}"
        )
    if walks.size and (walks.min() < 0 or walks.max() >= n_nodes):
        raise ValueError(f"{path}: node ids outside 0..{n_nodes - 1}; walks and graph disagree")
    return walks


def replicate_seed(seed: int, replicate: int) -> int:
    """The training seed of a replicate: the config's own for replicate 0 (so a single
    replicate reproduces earlier runs), a well-mixed one derived from both for the others."""
    if replicate == 0:
        return seed
    return int(np.random.SeedSequence([seed, replicate]).generate_state(1)[0])


class TrainingRun:
    """Seeds, times and saves one model; the rule script supplies only the trainer call."""

    def __init__(self, snakemake, device="cpu") -> None:
        """``device`` comes from ``device.job_device`` in torch rules; gensim and degree use the CPU."""
        self.out_dir = Path(snakemake.output.model).parent
        self.curve_path = getattr(snakemake.output, "curves", None)
        self.seed = replicate_seed(
            int(getattr(snakemake.params, "seed", 0)),
            int(getattr(snakemake.wildcards, "replicate", 0)),
        )
        self.params = getattr(snakemake.params, "train", {})
        self.threads = snakemake.threads
        self.device = device
        self.curve = None
        if self.curve_path is not None:
            nodes = getattr(snakemake.input, "nodes", None)
            pairs = read_parquet(snakemake.input.curve_pairs)
            self.curve = LearningCurve(pairs, node_asins(nodes) if nodes else None)
        seed_everything(self.seed)
        self.clock = Stopwatch()

    def shared(self, *, walks: bool = True) -> dict:
        """The hyper-parameters every learned torch model shares, as trainer keyword arguments,
        with the run's seed, device and learning curve."""
        keys = ("dim", "epochs", "negatives") + (("window",) if walks else ())
        run = {"seed": self.seed, "device": self.device, "curve": self.curve}
        return {key: self.params[key] for key in keys} | run

    def save(
        self,
        embeddings: np.ndarray,
        asins: np.ndarray,
        similarity: str,
        *,
        bias: np.ndarray | None = None,
        global_bias: float = 0.0,
        has_vector: np.ndarray | None = None,
        **info,
    ) -> None:
        seconds = self.clock.seconds
        if has_vector is not None:
            embeddings, asins = embeddings[has_vector], asins[has_vector]
            bias = None if bias is None else bias[has_vector]
        model = ModelArtifacts(embeddings, asins, similarity, bias=bias, global_bias=global_bias)
        if self.curve is not None:
            seconds -= self.curve.overhead
            losses = info.get("loss") or [None]
            self.curve.final(model, losses[-1])
            self.curve.write(self.curve_path)
            log.info(
                "learning curve: %d points, %.1f s", len(self.curve.points), self.curve.overhead
            )
        facts = {
            **info,
            "train_seconds": seconds,
            "curve_seconds": None if self.curve is None else self.curve.overhead,
            "peak_rss_mb": peak_rss_mb(),
            "device": str(self.device),
            "threads": self.threads,
            "seed": self.seed,
        }
        model.save(self.out_dir, **facts)
        log.info("trained in %.1f s on %s; %d vectors saved", seconds, self.device, len(asins))
