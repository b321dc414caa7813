"""The on-disk form of a trained model, shared by every trainer and by evaluation.

A model directory holds ``embeddings.npy`` (float32, one row per product), ``index.parquet``
(the asin of each row), ``bias.npy`` (float32 per row; zeros where the model has none) and
``model.json`` (how to score a pair, plus training facts). Scoring reads only these files, so
every model family is evaluated by the same code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .runtime import atomic_path, load_npy, save_npy, write_json

SIMILARITIES = ("cosine", "dot")


@dataclass
class ModelArtifacts:
    """Vectors plus the rule that turns two of them into a pair score.

    ``similarity='cosine'``: score = cos(e_a, e_b) (skip-gram families).
    ``similarity='dot'``: score = sigmoid(e_a . e_b + bias_a + bias_b + global_bias) (MF, degree).
    """

    embeddings: np.ndarray
    asins: np.ndarray
    similarity: str
    bias: np.ndarray | None = None
    global_bias: float = 0.0
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {SIMILARITIES}, got {self.similarity!r}")
        self.embeddings = np.ascontiguousarray(self.embeddings, dtype=np.float32)
        if self.embeddings.ndim != 2 or len(self.embeddings) != len(self.asins):
            raise ValueError(
                f"embeddings shape {self.embeddings.shape} does not match {len(self.asins)} asins"
            )
        if self.bias is None:
            self.bias = np.zeros(len(self.asins), dtype=np.float32)
        self.bias = np.asarray(self.bias, dtype=np.float32)

    def save(self, directory: str | Path, **extra_info) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_npy(directory / "embeddings.npy", self.embeddings)
        save_npy(directory / "bias.npy", self.bias)
        with atomic_path(directory / "index.parquet") as tmp:
            pq.write_table(pa.table({"asin": pa.array(self.asins.astype(str), pa.string())}), tmp)
        info = {
            **self.info,
            **extra_info,
            "similarity": self.similarity,
            "global_bias": float(self.global_bias),
            "dim": int(self.embeddings.shape[1]),
            "rows": len(self.asins),
        }
        write_json(directory / "model.json", info)

    @classmethod
    def load(cls, directory: str | Path) -> ModelArtifacts:
        directory = Path(directory)
        info = json.loads((directory / "model.json").read_text())
        asins = (
            pq.read_table(directory / "index.parquet").column("asin").to_numpy(zero_copy_only=False)
        )
        return cls(
            embeddings=load_npy(directory / "embeddings.npy"),
            asins=np.asarray(asins, dtype=object),
            similarity=info["similarity"],
            bias=load_npy(directory / "bias.npy"),
            global_bias=info.get("global_bias", 0.0),
            info=info,
        )
