"""The on-disk form of a trained model, shared by every trainer and by evaluation.

A model directory holds ``embeddings.npy`` (float32, one row per product), ``index.parquet``
(the asin of each row), ``bias.npy`` (float32 per row; zeros where the model has none) and
``model.json`` (how to score a pair, plus training facts). Scoring reads only these files, so
every model family is evaluated by the same code. ``vectors.bin`` repeats the vectors in the
word2vec binary format (asins as words), for tools outside this workflow.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .runtime import atomic_path, load_npy, save_npy, write_json

SIMILARITIES = ("cosine", "dot")
CHUNK_BYTES = 32 << 20  # vectors.bin is written in pieces of about this size


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
        bad = ~np.isfinite(self.embeddings).all(axis=1) | ~np.isfinite(self.bias)
        if bad.any() or not math.isfinite(self.global_bias):
            raise ValueError(
                f"{int(bad.sum())} of {len(bad)} products have a vector or bias that is NaN or "
                f"infinite (global bias {self.global_bias}): training diverged, so no scores, "
                "neighbours or metrics can come from it; try a lower learning rate"
            )

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
        write_word2vec(directory / "vectors.bin", self.asins, self.embeddings)

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


def write_word2vec(path: str | Path, words, vectors: np.ndarray) -> None:
    """Write ``vectors`` in the word2vec binary format, which gensim and the C tools read.

    A header ``b"<rows> <dim>\\n"``, then per row the UTF-8 word, a space, ``dim`` float32
    little-endian and a newline. Words end at a space and readers strip leading newlines, so
    empty words or words with whitespace are refused. Rows of equal word length have a fixed
    size, so each run of them is written as one structured array (in chunks of bounded size).
    """
    words = np.asarray(words, dtype=str)
    vectors = np.asarray(vectors, dtype="<f4")
    bad = np.char.str_len(words) == 0
    for space in (" ", "\t", "\n", "\r", "\v", "\f"):
        bad |= np.char.find(words, space) >= 0
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} product ids are empty or contain whitespace, which the word2vec "
            f"format cannot hold, e.g. {str(words[bad][0])!r}"
        )
    encoded = np.char.encode(words, "utf-8")
    step = max(1, CHUNK_BYTES // (4 * vectors.shape[1] + 16))
    changes = np.flatnonzero(np.diff(np.char.str_len(encoded))) + 1
    cuts = [changes, np.arange(0, len(words), step), [len(words)]]
    bounds = np.unique(np.concatenate(cuts)).tolist()
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(f"{len(words)} {vectors.shape[1]}\n".encode())
        pieces = itertools.pairwise(bounds)
        fh.writelines(_records(encoded[a:b], vectors[a:b]).tobytes() for a, b in pieces)


def _records(words: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Word, space, vector, newline per row, packed: words all of the same byte length."""
    width = np.char.str_len(words[0])
    layout = [("word", f"S{width}"), ("space", "S1"), ("vector", "<f4", vectors.shape[1:])]
    records = np.empty(len(words), dtype=[*layout, ("newline", "S1")])
    records["word"], records["space"] = words, b" "
    records["vector"], records["newline"] = vectors, b"\n"
    return records
