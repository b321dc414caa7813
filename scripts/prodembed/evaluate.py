"""Score validation pairs and compute metrics with one policy for every model.

Every model is scored from its saved artifacts by the same code (``ModelArtifacts``), so the
numbers differ only where the models differ.

Cold-start rule: a pair is *covered* when the model has a row for both products. Uncovered pairs
get the NEUTRAL score, the median of the model's scores over the covered pairs of the same
evaluation set, which places them in the middle of the model's own ranking: neither rewarded nor
penalised, and the same rule for every model. The study this project grows from scored such pairs
with the median in gensim but with untrained vectors (cosine ~ 0) in its PyTorch models; uniform
negatives touch cold products far more often than positives do, so the low score was rewarded
and "all products" AUC ranked models partly by that accident. Coverage is reported next to every
AUC, and "seen" AUCs use only pairs whose two products appear in the training edges (a property
of the split, not of the model), so nothing is hidden by the imputation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy.special import expit
from sklearn.metrics import average_precision_score, roc_auc_score

from .artifacts import ModelArtifacts

PROTOCOLS = {"uniform": "", "degree_matched": "_dm"}
"""Validation-pair protocols and the suffix of their metric keys."""

PAIR_CHUNK = 1 << 16
"""Pairs scored at once: bounds the gathered (chunk, dim) float64 copies."""

BLOCK_ELEMENTS = 1 << 25
"""Scores held at once when scoring query rows against every product (128 MiB in float32)."""


def row_index(model: ModelArtifacts) -> pd.Index:
    """Hash index asin -> row, built once and queried with ``get_indexer`` (-1: no row)."""
    index = pd.Index(model.asins)
    if not index.is_unique:
        raise ValueError("model index has duplicate asins")
    return index


def score_pairs(model: ModelArtifacts, a, b) -> tuple[np.ndarray, np.ndarray]:
    """Score the pairs ``(a[i], b[i])`` by the model's own similarity.

    Returns ``(scores, covered)``: float64 scores (cosine, or sigmoid of dot + biases) and
    whether the model has a row for both products. Uncovered pairs get the neutral score (module
    docstring); when no pair is covered any constant is rank-neutral, and 0 is used.
    """
    index = row_index(model)
    return _score_rows(model, index.get_indexer(np.asarray(a)), index.get_indexer(np.asarray(b)))


def _score_rows(model: ModelArtifacts, ra: np.ndarray, rb: np.ndarray) -> tuple[np.ndarray, ...]:
    covered = (ra >= 0) & (rb >= 0)
    ca, cb = ra[covered], rb[covered]
    inner = np.empty(len(ca))
    for start in range(0, len(ca), PAIR_CHUNK):
        part = slice(start, start + PAIR_CHUNK)
        ea = model.embeddings[ca[part]].astype(np.float64)
        eb = model.embeddings[cb[part]].astype(np.float64)
        dot = np.einsum("ij,ij->i", ea, eb)
        if model.similarity == "cosine":
            norms = np.linalg.norm(ea, axis=1) * np.linalg.norm(eb, axis=1)
            # A zero vector has no direction: similarity 0 rather than NaN.
            dot = np.divide(dot, norms, out=np.zeros_like(dot), where=norms > 0)
        inner[part] = dot
    if model.similarity == "dot":
        bias = model.bias.astype(np.float64)
        inner = expit(inner + bias[ca] + bias[cb] + model.global_bias)
    scores = np.full(len(ra), np.median(inner) if len(inner) else 0.0)
    scores[covered] = inner
    return scores, covered


def score_protocols(
    model: ModelArtifacts,
    val_pairs: pd.DataFrame,
    val_pairs_dm: pd.DataFrame | None,
    train_edges: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """Scored validation pairs per protocol: columns ``label``, ``score``, ``covered``, ``seen``.

    The neutral score is computed per protocol, over that set's covered pairs.
    """
    index = row_index(model)
    seen = pd.Index(pd.unique(np.concatenate([train_edges["a"], train_edges["b"]])))
    sets = {"uniform": val_pairs, "degree_matched": val_pairs_dm}
    scored = {}
    for protocol, pairs in sets.items():
        if pairs is None:
            continue
        ra, rb = index.get_indexer(pairs["a"].to_numpy()), index.get_indexer(pairs["b"].to_numpy())
        scores, covered = _score_rows(model, ra, rb)
        is_seen = (seen.get_indexer(pairs["a"].to_numpy()) >= 0) & (
            seen.get_indexer(pairs["b"].to_numpy()) >= 0
        )
        scored[protocol] = pd.DataFrame(
            {
                "label": pairs["label"].to_numpy(dtype=np.int8),
                "score": scores,
                "covered": covered,
                "seen": is_seen,
            }
        )
    return scored


def evaluate_model(
    model: ModelArtifacts,
    val_pairs: pd.DataFrame,
    *,
    val_pairs_dm: pd.DataFrame | None = None,
    train_edges: pd.DataFrame,
    k: int = 10,
    ranking_sample: int = 2000,
    seed: int = 0,
    device: str = "cpu",
) -> dict:
    """All metrics of one model, as a flat JSON-ready dict (full precision; None = undefined).

    Pair metrics per protocol (suffix ``_dm`` for degree-matched negatives; all None when that
    set is not given): ``auc_all``, ``auc_seen``, ``pr_auc``, ``coverage``, ``coverage_pos``,
    ``coverage_neg``, ``n_pairs``, ``n_seen_pairs``. Ranking metrics from the held-out
    positives: ``recall_at_{k}``, ``ndcg_at_{k}``, ``n_ranking_queries``.
    """
    scored = score_protocols(model, val_pairs, val_pairs_dm, train_edges)
    metrics: dict = {}
    for protocol, suffix in PROTOCOLS.items():
        pair_metrics = _pair_metrics(scored.get(protocol))
        metrics.update({f"{key}{suffix}": value for key, value in pair_metrics.items()})
    metrics.update(
        ranking_metrics(
            model,
            val_pairs,
            train_edges,
            k=k,
            ranking_sample=ranking_sample,
            seed=seed,
            device=device,
        )
    )
    return metrics


def _auc(labels: np.ndarray, scores: np.ndarray, metric) -> float | None:
    """The metric, or None where it is undefined (fewer than two classes)."""
    if len(labels) == 0 or labels.min() == labels.max():
        return None
    return float(metric(labels, scores))


def _share(mask: np.ndarray) -> float | None:
    return float(mask.mean()) if len(mask) else None


def _pair_metrics(scored: pd.DataFrame | None) -> dict:
    keys = ("auc_all", "auc_seen", "pr_auc", "coverage", "coverage_pos", "coverage_neg")
    if scored is None:
        return {**dict.fromkeys(keys), "n_pairs": None, "n_seen_pairs": None}
    labels, scores = scored["label"].to_numpy(), scored["score"].to_numpy()
    covered, seen = scored["covered"].to_numpy(), scored["seen"].to_numpy()
    return {
        "auc_all": _auc(labels, scores, roc_auc_score),
        "auc_seen": _auc(labels[seen], scores[seen], roc_auc_score),
        "pr_auc": _auc(labels, scores, average_precision_score),
        "coverage": _share(covered),
        "coverage_pos": _share(covered[labels == 1]),
        "coverage_neg": _share(covered[labels == 0]),
        "n_pairs": int(len(labels)),
        "n_seen_pairs": int(seen.sum()),
    }


class ScoreTable:
    """The model's vectors on a device, scoring query rows against every product in one matmul.

    ``logits`` is monotone in the model's pair score (cosine, or the logit under the sigmoid), so
    ranking by it ranks by the score; ``to_score`` maps it back.
    """

    def __init__(self, model: ModelArtifacts, device: str = "cpu") -> None:
        self.similarity = model.similarity
        self.device = torch.device(device)
        emb = torch.from_numpy(model.embeddings).to(self.device)
        if self.similarity == "cosine":
            emb = emb / emb.norm(dim=1, keepdim=True).clamp_min(torch.finfo(emb.dtype).tiny)
            self.bias = None
        else:
            self.bias = torch.from_numpy(model.bias).to(self.device)
            self.global_bias = float(model.global_bias)
        self.emb = emb

    @property
    def n(self) -> int:
        return self.emb.shape[0]

    def block_rows(self, limit: int | None = None) -> int:
        """Query rows per block so that a (rows, n) score block stays within BLOCK_ELEMENTS."""
        rows = max(1, BLOCK_ELEMENTS // max(self.n, 1))
        return min(rows, limit) if limit else rows

    def logits(self, rows: np.ndarray) -> torch.Tensor:
        """(len(rows), n) float32 scores of the given rows against every row."""
        r = torch.from_numpy(np.asarray(rows, dtype=np.int64)).to(self.device)
        out = self.emb[r] @ self.emb.T
        if self.bias is not None:
            out += self.bias[r, None] + self.bias[None, :] + self.global_bias
        return out

    def to_score(self, logits: torch.Tensor) -> np.ndarray:
        values = logits.double().cpu().numpy()
        return expit(values) if self.similarity == "dot" else values


def ranking_metrics(
    model: ModelArtifacts,
    val_pairs: pd.DataFrame,
    train_edges: pd.DataFrame,
    *,
    k: int = 10,
    ranking_sample: int = 2000,
    seed: int = 0,
    device: str = "cpu",
) -> dict:
    """Recall@k and NDCG@k of held-out positives ranked among every product the model embeds.

    Queries: a seeded sample of at most ``ranking_sample`` positive pairs (a, b) whose query a
    the model covers. Candidates: every product with a vector, minus a and a's training
    neighbours (already known, so not a recommendation). One relevant item per query; b without
    a vector is a miss. Ties are broken at random in expectation: with g candidates scoring above
    b and e others tied with it, b's rank is uniform on g..g+e, and the metrics are the exact
    expectations, so a constant scorer earns k/n rather than a perfect score.
    """
    names = (f"recall_at_{k}", f"ndcg_at_{k}")
    index = row_index(model)
    positives = val_pairs[val_pairs["label"] == 1]
    qa = index.get_indexer(positives["a"].to_numpy())
    qb = index.get_indexer(positives["b"].to_numpy())
    covered = qa >= 0
    qa, qb = qa[covered], qb[covered]
    if len(qa) > ranking_sample:
        pick = np.sort(np.random.default_rng(seed).choice(len(qa), ranking_sample, replace=False))
        qa, qb = qa[pick], qb[pick]
    n_queries = len(qa)
    if n_queries == 0:
        return {**dict.fromkeys(names), "n_ranking_queries": 0}
    # Only queries whose held-out item has a vector can score; the rest stay misses.
    scorable = qb >= 0
    qa, qb = qa[scorable], qb[scorable]
    known = _known_items(index, train_edges, qa)
    table = ScoreTable(model, device)
    above, tied = np.empty(len(qa), np.int64), np.empty(len(qa), np.int64)
    step = table.block_rows()
    for start in range(0, len(qa), step):
        stop = min(start + step, len(qa))
        scores = table.logits(qa[start:stop])
        local = torch.arange(stop - start, device=table.device)
        target = torch.from_numpy(qb[start:stop]).to(table.device)
        target_score = scores[local, target].clone()
        lo, hi = np.searchsorted(known["query"].to_numpy(), [start, stop])
        q_known = torch.from_numpy(known["query"].to_numpy()[lo:hi] - start).to(table.device)
        i_known = torch.from_numpy(known["item"].to_numpy()[lo:hi]).to(table.device)
        scores[q_known, i_known] = -torch.inf
        scores[local, torch.from_numpy(qa[start:stop]).to(table.device)] = -torch.inf
        scores[local, target] = target_score
        above[start:stop] = (scores > target_score[:, None]).sum(1).cpu().numpy()
        tied[start:stop] = (scores == target_score[:, None]).sum(1).cpu().numpy() - 1
    recall, ndcg = _expected_hits(above, tied, k)
    return {
        names[0]: float(recall.sum() / n_queries),
        names[1]: float(ndcg.sum() / n_queries),
        "n_ranking_queries": int(n_queries),
    }


def _known_items(index: pd.Index, train_edges: pd.DataFrame, queries: np.ndarray) -> pd.DataFrame:
    """(query position, model row) of every training neighbour of each query, sorted by query."""
    ta = index.get_indexer(train_edges["a"].to_numpy())
    tb = index.get_indexer(train_edges["b"].to_numpy())
    both = (ta >= 0) & (tb >= 0)
    edges = pd.DataFrame(
        {"row": np.concatenate([ta[both], tb[both]]), "item": np.concatenate([tb[both], ta[both]])}
    )
    edges = edges[edges["row"].isin(queries)]
    query_rows = pd.DataFrame({"query": np.arange(len(queries)), "row": queries})
    known = query_rows.merge(edges, on="row")
    return known.sort_values("query", kind="stable")[["query", "item"]]


def _expected_hits(above: np.ndarray, tied: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-query expected hit@k and DCG@k for a rank uniform on above..above+tied."""
    gain = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(k) + 2))])
    lo = np.minimum(above, k)
    hi = np.minimum(above + tied + 1, k)
    return (hi - lo) / (tied + 1), (gain[hi] - gain[lo]) / (tied + 1)
