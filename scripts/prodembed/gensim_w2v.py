"""gensim Word2Vec on walk sequences: the reference CPU implementation of skip-gram.

Walks are streamed to gensim's ``corpus_file`` mode (one walk per line, node ids as tokens),
which releases the GIL and scales with worker threads, unlike an iterator of Python lists.
Skip-gram is the default; the study ran CBOW by accident (``sg`` unset), selectable here.
"""

from __future__ import annotations

import logging
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import ModelArtifacts
from .curves import LearningCurve

log = logging.getLogger(__name__)


def write_corpus(walks: np.ndarray, path: Path, chunk: int = 100_000) -> None:
    """One walk per line of space-separated node ids, written in vectorised chunks."""
    with open(path, "w") as fh:
        for start in range(0, len(walks), chunk):
            block = walks[start : start + chunk].astype(str)
            fh.write("\n".join(" ".join(row) for row in block))
            fh.write("\n")


def expected_pairs(walks: np.ndarray, window: int) -> float:
    """(center, context) pairs per epoch with word2vec's window drawn from 1..window."""
    length = walks.shape[1]
    window = min(window, length - 1)
    return float(
        sum(2 * len(walks) * (length - d) * (window - d + 1) / window for d in range(1, window + 1))
    )


def _snapshot(wv, rows: np.ndarray) -> ModelArtifacts:
    """The live vectors of node ids ``rows`` (every walked node is in the vocabulary)."""
    found = pd.Index(wv.index_to_key).get_indexer(np.asarray(rows).astype(str))
    return ModelArtifacts(wv.vectors[found], rows, "cosine")


def train_gensim(
    walks: np.ndarray,
    n_nodes: int,
    *,
    dim: int = 128,
    window: int = 5,
    negatives: int = 5,
    epochs: int = 5,
    sg: bool = True,
    lr: float = 0.025,
    sample: float = 1e-3,
    seed: int = 0,
    workers: int = 1,
    curve: LearningCurve | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Return (embeddings (n_nodes, dim), has_vector mask, info).

    ``curve`` gets a point at each epoch's end (gensim offers no hook inside an epoch and no
    per-pair loss in ``corpus_file`` mode, so the points carry no loss); x is the expected
    (center, context) pairs per epoch before subsampling, as the pair trainers count them.
    """
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    per_epoch = expected_pairs(walks, window)
    if curve is not None:
        curve.begin(epochs * per_epoch, "pairs")

    class EpochLogger(CallbackAny2Vec):
        def __init__(self) -> None:
            self.epoch = 0

        def on_epoch_end(self, model) -> None:
            self.epoch += 1
            log.info("gensim epoch %d/%d done", self.epoch, epochs)
            if curve is not None:
                snapshot = partial(_snapshot, model.wv)
                curve.record(self.epoch * per_epoch, self.epoch, None, snapshot, epoch_end=True)

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "walks.txt"
        write_corpus(walks, corpus)
        model = Word2Vec(
            corpus_file=str(corpus),
            vector_size=dim,
            window=window,
            negative=negatives,
            sg=int(sg),
            alpha=lr,
            sample=sample,
            min_count=1,
            epochs=epochs,
            seed=seed,
            workers=max(1, workers),
            callbacks=[EpochLogger()],
        )
    emb = np.zeros((n_nodes, dim), dtype=np.float32)
    has_vector = np.zeros(n_nodes, dtype=bool)
    keys = np.array([int(k) for k in model.wv.index_to_key], dtype=np.int64)
    emb[keys] = model.wv.vectors
    has_vector[keys] = True
    info = {"sg": bool(sg), "workers": workers, "vocab": len(keys)}
    return emb, has_vector, info
