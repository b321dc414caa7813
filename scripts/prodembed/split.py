"""Seeded train/validation split of the edges, with two negative sets for the same positives.

Positives are a random ``val_fraction`` of the edges (held out of training). Negatives are
non-edges, as many as positives, drawn two ways:

* ``uniform``: both endpoints uniform over the products of the validation edges — the
  study's protocol. Positive endpoints are degree-biased and these are not, so popularity
  alone scores well on it.
* ``degree_matched``: endpoints drawn in proportion to how often each product is a
  positive endpoint, so the degree distribution of negatives matches that of positives and
  popularity alone scores about 0.5. Rejecting edges removes popular pairs more often than
  others, which would pull negatives towards low degrees; the draw probabilities are
  corrected for that by a short fixed-point iteration, so the accepted negatives' endpoint
  distribution matches the positives' (see ``_matched_probabilities``).

Sampling is vectorised rejection: draw a batch of candidate pairs, drop self-pairs, edges of
the full graph and repeats, keep going until there are enough.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

NEGATIVE_PROTOCOLS = ("uniform", "degree_matched")


class SplitError(ValueError):
    """The edges cannot be split as configured (too few edges or too few non-edges)."""


def split_edges(
    edges: pd.DataFrame, *, val_fraction: float, seed: int
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict]:
    """Return (train edges, {protocol: validation pairs}, report)."""
    if not 0.0 < val_fraction < 1.0:
        raise SplitError(f"split.val_fraction must be in (0, 1), got {val_fraction}")
    n_edges = len(edges)
    n_val = round(val_fraction * n_edges)
    if n_val < 1 or n_val >= n_edges:
        raise SplitError(
            f"{n_edges} edges cannot be split with val_fraction={val_fraction}: "
            "need at least one training and one validation edge"
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_edges)
    val_mask = np.zeros(n_edges, dtype=bool)
    val_mask[order[:n_val]] = True
    train = edges[~val_mask].reset_index(drop=True)
    positives = edges[val_mask].reset_index(drop=True)

    # Sorted codes keep a < b for the sampled negatives, as for the edges. Factorising the
    # (Arrow-backed) columns, not an object array of them, holds no Python string per edge.
    codes, uniques = pd.factorize(pd.concat([edges["a"], edges["b"]], ignore_index=True), sort=True)
    n = len(uniques)
    a_all, b_all = codes[:n_edges].astype(np.int64), codes[n_edges:].astype(np.int64)
    edge_keys = np.sort(np.minimum(a_all, b_all) * n + np.maximum(a_all, b_all))
    pos_ends = np.concatenate([a_all[val_mask], b_all[val_mask]])
    pool, counts = np.unique(pos_ends, return_counts=True)
    pools = {
        "uniform": (pool, None),
        "degree_matched": (pool, _matched_probabilities(pool, counts, a_all, b_all, n)),
    }

    val_sets = {}
    for protocol in NEGATIVE_PROTOCOLS:
        lo, hi = _sample_non_edges(pools[protocol], n_val, edge_keys, n, rng, protocol)
        negatives = pd.DataFrame({"a": uniques.take(lo), "b": uniques.take(hi)})
        pairs = pd.concat(
            [positives[["a", "b"]].assign(label=1), negatives.assign(label=0)], ignore_index=True
        )
        pairs["label"] = pairs["label"].astype(np.int8)
        val_sets[protocol] = pairs

    train_products = pd.concat([train["a"], train["b"]]).unique()
    val_products = uniques.take(np.unique(pos_ends))
    report = {
        "edges": n_edges,
        "train_edges": len(train),
        "val_positives": n_val,
        "val_negatives": n_val,
        "seed": seed,
        "val_fraction": val_fraction,
        "train_products": len(train_products),
        "val_products": len(val_products),
        "val_products_without_training_edges": int(
            (~pd.Index(val_products).isin(train_products)).sum()
        ),
    }
    log.info("split: %s", report)
    return train, val_sets, report


def _matched_probabilities(
    pool: np.ndarray, counts: np.ndarray, a: np.ndarray, b: np.ndarray, n: int, rounds: int = 10
) -> np.ndarray:
    """Draw probabilities whose accepted (non-edge, non-self) pairs have the target marginal.

    A product u drawn with probability q(u) survives rejection with probability
    1 - s(u), where s(u) is the q-mass of u itself and its graph neighbours. Solving
    q(u) proportional to target(u) / (1 - s(u)) by fixed-point iteration makes the accepted
    endpoints follow the target: the positives' endpoint frequencies.
    """
    target = np.zeros(n)
    target[pool] = counts / counts.sum()
    q = target.copy()
    for _ in range(rounds):
        blocked = (
            q
            + np.bincount(a, weights=q[b], minlength=n)
            + np.bincount(b, weights=q[a], minlength=n)
        )
        q = np.where(target > 0, target / np.clip(1.0 - blocked, 1e-3, None), 0.0)
        q /= q.sum()
    return q[pool]


def _sample_non_edges(
    pool: tuple[np.ndarray, np.ndarray | None],
    count: int,
    edge_keys: np.ndarray,
    n: int,
    rng: np.random.Generator,
    protocol: str,
    max_rounds: int = 1000,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``count`` distinct non-edge pairs with both endpoints from ``pool``.

    ``pool`` is (products, draw probabilities or None for uniform).
    """
    products, probs = pool
    chosen = np.empty(0, dtype=np.int64)
    for _ in range(max_rounds):
        need = count - len(chosen)
        if need <= 0:
            break
        size = int(need * 1.3) + 16
        u, v = rng.choice(products, (2, size), p=probs)
        keys = np.minimum(u, v) * n + np.maximum(u, v)
        keys = keys[(u != v) & ~_contains(edge_keys, keys)]
        # keep first occurrences in draw order so the result does not depend on batch sizes
        keys = keys[~np.isin(keys, chosen)]
        _, first = np.unique(keys, return_index=True)
        chosen = np.concatenate([chosen, keys[np.sort(first)][:need]])
    if len(chosen) < count:
        raise SplitError(
            f"could only draw {len(chosen)} of {count} {protocol} negatives: "
            "the validation products have too few non-edges"
        )
    return np.divmod(chosen, n)


def _contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(sorted_keys, keys)
    pos[pos == len(sorted_keys)] = 0
    return sorted_keys[pos] == keys
