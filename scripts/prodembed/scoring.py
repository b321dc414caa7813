"""A pair's score under a model's own similarity, with one cold-start rule for every model.

Cold-start rule: a pair is *covered* when the model has a row for both products. Uncovered pairs
get the NEUTRAL score, the median of the model's scores over the covered pairs of the same
evaluation set, which places them in the middle of the model's own ranking: neither rewarded nor
penalised, and the same rule for every model (docs/STUDY.md says how the study's own rule
rewarded an accident). numpy and numba only, so every rule's env can score pairs (learning
curves too).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numba import njit
from scipy.special import expit

from .artifacts import ModelArtifacts

PROTOCOLS = {"uniform": "", "degree_matched": "_dm"}
"""Validation-pair protocols and the suffix of their metric keys."""


def row_index(model: ModelArtifacts) -> pd.Index:
    """Hash index asin -> row, built once and queried with ``get_indexer`` (-1: no row)."""
    index = pd.Index(model.asins)
    if not index.is_unique:
        raise ValueError("model index has duplicate asins")
    return index


def codes_of(*columns) -> tuple[list[np.ndarray], pd.Index]:
    """Each column as codes into one index of its distinct asins.

    Pairs and edges name the same products over and over: hashing every string once, then
    looking up only the distinct ones, is about twice as fast as ``get_indexer`` per column and
    serves several lookups (model rows, seen products) at once.
    """
    values = pd.concat([pd.Series(c) for c in columns], ignore_index=True)
    codes, uniques = pd.factorize(values)
    return np.split(codes, np.cumsum([len(c) for c in columns])[:-1]), pd.Index(uniques)


def positions_in(index: pd.Index, uniques: pd.Index) -> np.ndarray:
    """Position of each distinct value in ``index`` (-1: absent), plus -1 for missing values."""
    return np.append(index.get_indexer(uniques), -1)


def score_pairs(model: ModelArtifacts, a, b) -> tuple[np.ndarray, np.ndarray]:
    """Score the pairs ``(a[i], b[i])`` by the model's own similarity.

    Returns ``(scores, covered)``: float64 scores (cosine, or sigmoid of dot + biases) and
    whether the model has a row for both products. Uncovered pairs get the neutral score (module
    docstring); when no pair is covered any constant is rank-neutral, and 0 is used.
    """
    (ca, cb), uniques = codes_of(a, b)
    rows = positions_in(row_index(model), uniques)
    return score_rows(model, rows[ca], rows[cb])


def score_rows(model: ModelArtifacts, ra: np.ndarray, rb: np.ndarray) -> tuple[np.ndarray, ...]:
    """:func:`score_pairs` on model rows (-1: none)."""
    covered = (ra >= 0) & (rb >= 0)
    ca, cb = ra[covered], rb[covered]
    inner = _inner(model.embeddings, ca, cb, model.similarity == "cosine")
    if model.similarity == "dot":
        bias = model.bias.astype(np.float64)
        inner = expit(inner + bias[ca] + bias[cb] + model.global_bias)
    scores = np.full(len(ra), np.median(inner) if len(inner) else 0.0)
    scores[covered] = inner
    return scores, covered


@njit(cache=True, nogil=True)
def _inner(emb, ca, cb, cosine) -> np.ndarray:
    """Float64 inner product (or cosine) of rows ``ca[i]`` and ``cb[i]``, one pass per pair:
    gathering (chunk, dim) float64 copies for an einsum took 2.5-4x the CPU at Electronics size."""
    out = np.empty(len(ca))
    for i in range(len(ca)):
        a, b = emb[ca[i]], emb[cb[i]]
        dot = aa = bb = 0.0
        for d in range(emb.shape[1]):
            x, y = np.float64(a[d]), np.float64(b[d])
            dot += x * y
            aa += x * x
            bb += y * y
        norms = math.sqrt(aa) * math.sqrt(bb)
        # A zero vector has no direction: similarity 0 rather than NaN.
        out[i] = (dot / norms if norms > 0 else 0.0) if cosine else dot
    return out
