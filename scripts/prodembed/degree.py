"""The popularity baseline: score(a, b) grows with log(1 + deg a) + log(1 + deg b).

Stored as a 0-dimensional ``dot`` model whose per-product bias is log(1 + training degree),
so it is scored, covered and reported by exactly the same code as the learned models. It
shows how much AUC the popularity bias of a protocol hands out for free.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .artifacts import ModelArtifacts


def degree_model(train_edges: pd.DataFrame) -> ModelArtifacts:
    ends = pd.concat([train_edges["a"], train_edges["b"]], ignore_index=True)
    counts = ends.value_counts().sort_index()
    asins = np.asarray(counts.index, dtype=object)
    return ModelArtifacts(
        embeddings=np.zeros((len(asins), 0), dtype=np.float32),
        asins=asins,
        similarity="dot",
        bias=np.log1p(counts.to_numpy(dtype=np.float64)).astype(np.float32),
        info={"method": "degree"},
    )
