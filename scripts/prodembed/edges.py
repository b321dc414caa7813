"""Co-purchase edges from the products' related lists.

Pairs are made undirected (``a < b``), self-pairs dropped, and weights summed over every
relation, duplicate listing and direction, as the study did. Work is columnar: asins are
factorised to integer codes once, so even Books-sized dumps (tens of millions of related
entries) are a few array operations, not a Python loop per pair.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

RELATIONS = ("also_bought", "also_viewed", "bought_together", "buy_after_viewing")

log = logging.getLogger(__name__)


def build_edges(
    products: pa.Table, weights: dict[str, float], min_also_bought: int = 2
) -> tuple[pd.DataFrame, dict]:
    """Return the weighted edge table (a, b, weight) and counts for the stage report.

    Only records with at least ``min_also_bought`` also_bought entries are used as sources
    (the study's filter); targets are kept whether or not they have a record of their own.
    """
    unknown = set(weights) - set(RELATIONS)
    if unknown:
        raise ValueError(f"unknown relation(s) in edge weights: {sorted(unknown)}")
    n_also = pc.fill_null(pc.list_value_length(products.column("also_bought")), 0)
    sources = products.filter(pc.greater_equal(n_also, min_also_bought))
    stats: dict = {
        "records": products.num_rows,
        "source_records": sources.num_rows,
        "min_also_bought": min_also_bought,
        "entries": {},
    }
    asins = sources.column("asin").combine_chunks()
    src_parts, tgt_parts, w_parts = [], [], []
    for relation in RELATIONS:
        weight = float(weights.get(relation, 0.0))
        if weight == 0.0:
            continue
        lists = sources.column(relation).combine_chunks()
        targets = pc.list_flatten(lists)
        src_parts.append(asins.take(pc.list_parent_indices(lists)))
        tgt_parts.append(targets)
        w_parts.append(np.full(len(targets), weight))
        stats["entries"][relation] = len(targets)
    if not src_parts:
        raise ValueError("every relation weight is 0: no edges can be built")
    w = np.concatenate(w_parts)

    # Sorted factorisation: code order equals string order, so a < b on codes holds for asins.
    # The asins stay in Arrow (no Python string per related entry) until they are codes.
    ends = pa.chunked_array([*src_parts, *tgt_parts]).to_pandas()
    codes, uniques = pd.factorize(ends, sort=True)
    n_src = len(w)
    s, t = codes[:n_src].astype(np.int64), codes[n_src:].astype(np.int64)
    keep = s != t
    stats["self_pairs_dropped"] = int((~keep).sum())
    lo, hi, w = np.minimum(s, t)[keep], np.maximum(s, t)[keep], w[keep]
    keys, inverse = np.unique(lo * len(uniques) + hi, return_inverse=True)
    summed = np.bincount(inverse, weights=w)
    a, b = np.divmod(keys, len(uniques))
    edges = pd.DataFrame({"a": uniques.take(a), "b": uniques.take(b), "weight": summed})
    stats["edges"] = len(edges)
    stats["products"] = len(np.union1d(a, b))
    stats["max_weight"] = float(summed.max()) if len(summed) else 0.0
    log.info(
        "%d edges over %d products from %d source records",
        stats["edges"],
        stats["products"],
        stats["source_records"],
    )
    return edges, stats
