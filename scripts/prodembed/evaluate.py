"""Score validation pairs and compute metrics with one policy for every model.

Every model is scored from its saved artifacts by the same code (``ModelArtifacts``, pair scores
and the cold-start rule in :mod:`.scoring`), so the numbers differ only where the models differ.
Coverage is reported next to every AUC, and "seen" AUCs use only pairs whose two products appear
in the training edges (a property of the split, not of the model), so nothing is hidden by the
imputation of uncovered pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from numba import njit
from scipy.special import expit

from . import intervals
from .artifacts import ModelArtifacts
from .scoring import PROTOCOLS, codes_of, positions_in, row_index, score_rows

BLOCK_ELEMENTS = 1 << 25
"""Scores held at once when scoring query rows against every product (128 MiB in float32)."""


def _training(index: pd.Index, train_edges: pd.DataFrame) -> tuple[pd.Index, np.ndarray, ...]:
    """Seen products (those with training edges) and the model rows of both ends of each edge."""
    (ca, cb), seen = codes_of(train_edges["a"], train_edges["b"])
    rows = positions_in(index, seen)
    return seen, rows[ca], rows[cb]


def _pair_rows(index: pd.Index, seen: pd.Index, pairs: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Model rows of both products of each pair, and whether both are seen in training."""
    (ca, cb), uniques = codes_of(pairs["a"], pairs["b"])
    rows = positions_in(index, uniques)
    known = positions_in(seen, uniques) >= 0
    return rows[ca], rows[cb], known[ca] & known[cb]


def _score_sets(model, index, seen, val_pairs, val_pairs_dm) -> dict[str, pd.DataFrame]:
    scored = {}
    for protocol, pairs in zip(PROTOCOLS, (val_pairs, val_pairs_dm), strict=True):
        if pairs is None:
            continue
        ra, rb, is_seen = _pair_rows(index, seen, pairs)
        scores, covered = score_rows(model, ra, rb)
        scored[protocol] = pd.DataFrame(
            {
                "label": pairs["label"].to_numpy(dtype=np.int8),
                "score": scores,
                "covered": covered,
                "seen": is_seen,
                "row_a": ra,
                "row_b": rb,
            }
        )
    return scored


def evaluate_model(model: ModelArtifacts, val_pairs: pd.DataFrame, **options) -> dict:
    """All metrics of one model, as a flat JSON-ready dict: ``evaluate_details``'s first part."""
    return evaluate_details(model, val_pairs, **options)[0]


def evaluate_details(
    model: ModelArtifacts,
    val_pairs: pd.DataFrame,
    *,
    val_pairs_dm: pd.DataFrame | None = None,
    train_edges: pd.DataFrame,
    k: int = 10,
    ranking_sample: int = 2000,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """All metrics of one model (full precision; None = undefined), plus what paired tests
    between models need.

    Pair metrics per protocol (suffix ``_dm`` for degree-matched negatives; all None when that
    set is not given): ``auc_all``, ``auc_seen``, ``auc_cold`` (pairs with a product without
    training edges: 0.5 for a model that cannot embed it), ``pr_auc``, ``coverage``,
    ``coverage_pos``, ``coverage_neg``, ``n_pairs``, ``n_seen_pairs``. Ranking metrics from the
    held-out positives (``ranking_metrics``): ``recall_at_{k}``, ``ndcg_at_{k}``,
    ``n_ranking_queries``. Every AUC, PR-AUC and ranking metric also has its 95% interval as
    ``<key>_lo``/``<key>_hi`` (:mod:`.intervals`).

    Returns (metrics, scored, queries): ``scored`` maps each protocol given to its scored
    validation pairs (``label``, ``score``, ``covered``, ``seen``, ``row_a``/``row_b``: the model
    rows, -1 for none; the neutral score computed over that set's covered pairs), ``queries``
    has one row per ranking query (``query``: the position of its positive pair among the
    uniform set's positives; ``hit`` and ``dcg``: its expected hit@k and DCG@k).
    """
    index = row_index(model)
    seen, ta, tb = _training(index, train_edges)
    scored = _score_sets(model, index, seen, val_pairs, val_pairs_dm)
    metrics: dict = {}
    for protocol, suffix in PROTOCOLS.items():
        pair_metrics = _pair_metrics(scored.get(protocol), seed)
        metrics.update({_protocol_key(key, suffix): value for key, value in pair_metrics.items()})
    positives = scored["uniform"][scored["uniform"]["label"] == 1]
    qa, qb = positives["row_a"].to_numpy(), positives["row_b"].to_numpy()
    ranking, queries = _ranking(model, qa, qb, ta, tb, k, ranking_sample, seed, device)
    return {**metrics, **ranking}, scored, queries


def pair_table(scored: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``scored`` as one table (``protocol``, ``label``, ``seen``, ``score``; each protocol's
    pairs in its file's order): what paired tests between models read (``scores.parquet``)."""
    frames = [f[["label", "seen", "score"]].assign(protocol=p) for p, f in scored.items()]
    return pd.concat(frames, ignore_index=True)


def _protocol_key(key: str, suffix: str) -> str:
    """``auc_all`` -> ``auc_all_dm``, and its bound ``auc_all_lo`` -> ``auc_all_dm_lo``."""
    base, _, end = key.rpartition("_")
    return f"{base}{suffix}_{end}" if end in ("lo", "hi") else f"{key}{suffix}"


def _share(mask: np.ndarray) -> float | None:
    return float(mask.mean()) if len(mask) else None


def _pair_metrics(scored: pd.DataFrame | None, seed: int = 0) -> dict:
    keys = ("auc_all", "auc_seen", "auc_cold", "pr_auc", "coverage", "coverage_pos", "coverage_neg")
    bounds = [f"{key}_{end}" for key in intervals.PAIR_METRICS for end in ("lo", "hi")]
    if scored is None:
        return {**dict.fromkeys(keys + tuple(bounds)), "n_pairs": None, "n_seen_pairs": None}
    labels, scores = scored["label"].to_numpy(), scored["score"].to_numpy()
    covered, seen = scored["covered"].to_numpy(), scored["seen"].to_numpy()
    subsets = {"auc_all": slice(None), "auc_seen": seen, "auc_cold": ~seen}
    metrics = {}
    for key, rows in subsets.items():
        metrics[key], metrics[f"{key}_lo"], metrics[f"{key}_hi"] = intervals.auc(
            labels[rows], scores[rows]
        )
    metrics["pr_auc"], metrics["pr_auc_lo"], metrics["pr_auc_hi"] = intervals.pr_auc(
        labels, scores, seed
    )
    return {
        **metrics,
        "coverage": _share(covered),
        "coverage_pos": _share(covered[labels == 1]),
        "coverage_neg": _share(covered[labels == 0]),
        "n_pairs": len(labels),
        "n_seen_pairs": int(seen.sum()),
    }


class ScoreTable:
    """The model's vectors on a device, scoring query rows against every product in one matmul.

    ``logits`` is monotone in the model's pair score (cosine, or the logit under the sigmoid), so
    ranking by it ranks by the score; ``to_score`` maps it back.
    """

    def __init__(self, model: ModelArtifacts, device: str | torch.device = "cpu") -> None:
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
        self._block = None

    @property
    def n(self) -> int:
        return self.emb.shape[0]

    def block_rows(self) -> int:
        """Query rows per block so that a (rows, n) score block stays within BLOCK_ELEMENTS."""
        return max(1, BLOCK_ELEMENTS // max(self.n, 1))

    def logits(self, rows: np.ndarray) -> torch.Tensor:
        """(len(rows), n) float32 scores of the given rows against every row, valid until the
        next call: every call writes into one reused block, since faulting in a fresh 128 MiB
        block per call made each call about 30% slower on a CPU."""
        r = torch.from_numpy(np.asarray(rows, dtype=np.int64)).to(self.device)
        if self._block is None or len(self._block) < len(r):
            shape = (max(len(r), self.block_rows()), self.n)
            self._block = torch.empty(shape, dtype=self.emb.dtype, device=self.device)
        out = torch.mm(self.emb[r], self.emb.T, out=self._block[: len(r)])
        if self.bias is not None:  # in place: a broadcast sum would be one more (rows, n) block
            out.add_(self.bias[None, :]).add_((self.bias[r] + self.global_bias)[:, None])
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
    device: str | torch.device = "cpu",
) -> dict:
    """Recall@k and NDCG@k of held-out positives ranked among every product the model embeds.

    Queries: a seeded sample of at most ``ranking_sample`` positive pairs (a, b) whose query a
    the model covers. Candidates: every product with a vector, minus a and a's training
    neighbours (already known, so not a recommendation). One relevant item per query; b without
    a vector is a miss. Ties are broken at random in expectation: with g candidates scoring above
    b and e others tied with it, b's rank is uniform on g..g+e, and the metrics are the exact
    expectations, so a constant scorer earns k/n rather than a perfect score.
    """
    index = row_index(model)
    seen, ta, tb = _training(index, train_edges)
    qa, qb, _ = _pair_rows(index, seen, val_pairs[val_pairs["label"] == 1])
    return _ranking(model, qa, qb, ta, tb, k, ranking_sample, seed, device)[0]


def _ranking(model, qa, qb, ta, tb, k, ranking_sample, seed, device) -> tuple[dict, pd.DataFrame]:
    """``ranking_metrics`` on model rows (queries (qa, qb), training edges (ta, tb)), plus the
    per-query values (see ``evaluate_details``)."""
    names = (f"recall_at_{k}", f"ndcg_at_{k}")
    query = np.flatnonzero(qa >= 0)
    if len(query) > ranking_sample:
        pick = np.random.default_rng(seed).choice(len(query), ranking_sample, replace=False)
        query = query[np.sort(pick)]
    qa, qb = qa[query], qb[query]
    n_queries = len(qa)
    hit, dcg = np.zeros(n_queries), np.zeros(n_queries)
    queries = pd.DataFrame({"query": query, "hit": hit, "dcg": dcg})
    if n_queries == 0:
        bounds = {f"{name}_{end}": None for name in names for end in ("lo", "hi")}
        return {**dict.fromkeys(names), **bounds, "n_ranking_queries": 0}, queries
    # Only queries whose held-out item has a vector can score; the rest stay misses.
    scorable = qb >= 0
    qa, qb = qa[scorable], qb[scorable]
    known_query, known_item = _known_items(ta, tb, qa)
    table = ScoreTable(model, device)
    above, tied = np.empty(len(qa), np.int64), np.empty(len(qa), np.int64)
    step = table.block_rows()
    for start in range(0, len(qa), step):
        stop = min(start + step, len(qa))
        scores = table.logits(qa[start:stop])
        local = torch.arange(stop - start, device=table.device)
        target = torch.from_numpy(qb[start:stop]).to(table.device)
        target_score = scores[local, target].clone()
        lo, hi = np.searchsorted(known_query, [start, stop])
        q_known = torch.from_numpy(known_query[lo:hi] - start).to(table.device)
        i_known = torch.from_numpy(known_item[lo:hi]).to(table.device)
        scores[q_known, i_known] = -torch.inf
        scores[local, torch.from_numpy(qa[start:stop]).to(table.device)] = -torch.inf
        scores[local, target] = target_score
        above[start:stop], tied[start:stop] = _rank_counts(scores, target_score)
    hit[scorable], dcg[scorable] = _expected_hits(above, tied, k)
    queries = pd.DataFrame({"query": query, "hit": hit, "dcg": dcg})
    metrics = {names[0]: float(hit.mean()), names[1]: float(dcg.mean())}
    for name, values in zip(names, (hit, dcg), strict=True):
        metrics[f"{name}_lo"], metrics[f"{name}_hi"] = intervals.mean_interval(values, seed)
    return {**metrics, "n_ranking_queries": int(n_queries)}, queries


def _rank_counts(scores: torch.Tensor, target: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per row, how many candidates score above its target and how many others tie with it.

    On a CPU one compiled pass per row: torch's two compares and two sums over each
    (rows, products) block were about half of an Electronics-size ranking (~7 of 13 CPU-s).
    """
    if scores.device.type == "cpu":
        return _count_around(scores.numpy(), target.numpy())
    threshold = target[:, None]
    above = (scores > threshold).sum(1).cpu().numpy()
    return above, (scores == threshold).sum(1).cpu().numpy() - 1


@njit(cache=True, nogil=True)
def _count_around(scores: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    above = np.zeros(len(target), np.int64)
    tied = np.full(len(target), -1, np.int64)  # the target itself is not a tie
    for q in range(len(target)):
        t, row = target[q], scores[q]
        for value in row:
            above[q] += value > t
            tied[q] += value == t
    return above, tied


def _known_items(ta: np.ndarray, tb: np.ndarray, queries: np.ndarray):
    """(query positions, model rows) of every training neighbour of each query, by query."""
    both = (ta >= 0) & (tb >= 0)
    edges = pd.DataFrame(
        {"row": np.concatenate([ta[both], tb[both]]), "item": np.concatenate([tb[both], ta[both]])}
    )
    edges = edges[edges["row"].isin(queries)]
    query_rows = pd.DataFrame({"query": np.arange(len(queries)), "row": queries})
    known = query_rows.merge(edges, on="row").sort_values("query", kind="stable")
    return known["query"].to_numpy(copy=True), known["item"].to_numpy(copy=True)


def _expected_hits(above: np.ndarray, tied: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-query expected hit@k and DCG@k for a rank uniform on above..above+tied."""
    ranks = np.arange(k)
    inside = (ranks >= above[:, None]) & (ranks <= (above + tied)[:, None])
    discount = 1.0 / np.log2(ranks + 2)
    return inside.sum(1) / (tied + 1), (inside * discount).sum(1) / (tied + 1)
