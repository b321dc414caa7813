"""Paired comparisons of models ranked next to each other: an order, or a tie.

Every model is scored on the same validation pairs and, where both answer it, the same ranking
queries, so two models' difference is tested on paired data (:mod:`.intervals`): DeLong for
an AUC, per-query differences for recall/NDCG. Replicate r of one model is paired with
replicate r of the other; :func:`.intervals.tie` combines the replicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import pandas as pd

from . import intervals


@dataclass
class RunDetails:
    """What evaluation kept of one replicate for paired tests (``evaluate_details``)."""

    pairs: pd.DataFrame  # protocol, label, seen, score
    queries: pd.DataFrame  # query, hit, dcg


def _paired_auc(metric: str, first: RunDetails, second: RunDetails):
    protocol = "degree_matched" if metric.endswith("_dm") else "uniform"
    subset = metric.removesuffix("_dm").removeprefix("auc_")
    a = first.pairs[first.pairs["protocol"] == protocol]
    b = second.pairs[second.pairs["protocol"] == protocol]
    if len(a) != len(b) or not (a["label"].to_numpy() == b["label"].to_numpy()).all():
        raise ValueError(f"{metric}: the two models were scored on different validation pairs")
    seen = a["seen"].to_numpy()
    rows = {"all": slice(None), "seen": seen, "cold": ~seen}[subset]
    labels = a["label"].to_numpy()[rows]
    return intervals.paired_auc(labels, a["score"].to_numpy()[rows], b["score"].to_numpy()[rows])


def _paired_queries(metric: str, first: RunDetails, second: RunDetails):
    column = "hit" if metric.startswith("recall") else "dcg"
    both = first.queries.merge(second.queries, on="query", suffixes=("_a", "_b"))
    return intervals.paired_mean(both[f"{column}_a"], both[f"{column}_b"])


def compare(metric: str, first: list[RunDetails], second: list[RunDetails]):
    """(tie, p) for ``first`` against ``second`` on ``metric``; None where untestable."""
    paired = _paired_auc if metric.startswith("auc_") else _paired_queries
    results = [paired(metric, a, b) for a, b in zip(first, second, strict=False)]
    if not results or any(r is None for r in results):
        return None
    diffs, variances = zip(*results, strict=True)
    return intervals.tie(diffs, variances)


def ranking_with_ties(
    models: list[str], metric: str, details: dict[str, list[RunDetails]]
) -> list[tuple[bool | None, float | None]]:
    """For each model after the first (in ranked order): (tied with the one above, p-value);
    (None, None) where either has no details or the test is undefined."""
    out = []
    for above, below in pairwise(models):
        if above not in details or below not in details:
            out.append((None, None))
            continue
        result = compare(metric, details[above], details[below])
        out.append((None, None) if result is None else result)
    return out
