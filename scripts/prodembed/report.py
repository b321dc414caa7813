"""The dataset x model comparison: ``report.csv`` (every number) and ``report.md`` (to read).

The markdown puts the seed study's published numbers beside ours, but in their own columns:
they come from another cold-start policy (docs/STUDY.md), so merging them would mislead.
Output depends only on the inputs (no timestamps, fixed ordering), so reruns diff cleanly.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from . import intervals, plots, registry, seed_study
from .comparison import RunDetails, ranking_with_ties
from .runtime import atomic_path
from .scoring import PROTOCOLS

MODEL_ORDER = tuple(registry.MODELS)
"""Canonical model order (the registry's: popularity baseline first, then the study's); unknown
models follow."""

MISSING = "–"

PROTOCOL_TEXT = (
    "- **Uniform negatives** (`AUC all`, `AUC seen`; the seed study's protocol): negatives are "
    "random pairs of validation products while positives lean towards popular products, so "
    "popularity alone scores well, as the `degree` baseline shows. "
    "The number rewards knowing which products are popular as much as knowing which go "
    "together.\n"
    "- **Degree-matched negatives** (`… dm`): negatives have the same degree distribution as the "
    "positives, so popularity alone scores about 0.5. "
    "The number measures what the embedding knows beyond popularity, and ranks the models here."
)

DEFINITIONS = (
    "- *Seen only*: pairs whose two products both have training edges. *All*: every pair. "
    "*Cold*: the rest, pairs with a product that has no training edges; only a model that embeds "
    "such products (from side information) can score them, every other model scores 0.5 there.\n"
    "- *Coverage*: share of validation pairs for which the model has a vector for both products. "
    "Every model scores uncovered pairs with the same neutral score (the median of its scores on "
    "the covered pairs), so coverage is never rewarded or punished by accident.\n"
    "- *recall@{k}* / *NDCG@{k}*: for a sample of held-out edges (a, b), the rank of b among all "
    "products the model embeds by similarity to a, excluding a's training neighbours.\n"
    "- *study* columns: the seed study's published numbers (real 2014 dumps, uniform negatives, "
    "cold pairs scored differently per model); comparable to ours in protocol only.\n"
    "- *[lo, hi]*: the 95% interval from the validation data of one run (DeLong for AUCs, a "
    "seeded bootstrap for PR-AUC, recall and NDCG); *sd*: the standard deviation across training "
    "replicates (different seeds, same data), shown when there are several.\n"
    "- *Ranks and ties*: neighbouring models in a ranking are compared by a paired test on the "
    "same pairs or queries (paired DeLong for AUC, per-query differences for recall/NDCG), "
    "whose variance adds the replicates' spread; `=` and a shared rank mean the difference is "
    "not significant at 5%, `>` that it is."
)


def _order_key(model: str) -> tuple[int, str]:
    return (MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER), model)


def _dataset_info(meta: dict) -> dict[str, dict]:
    """Per-dataset facts when ``meta['datasets']`` is the config's mapping (a list has none)."""
    datasets = meta.get("datasets")
    return datasets if isinstance(datasets, dict) else {}


def _study_datasets(datasets, meta: dict) -> dict[str, str | None]:
    """Study dataset per dataset: ``meta['datasets'][ds]['study']`` if set, else by name."""
    info = _dataset_info(meta)
    return {
        ds: info[ds]["study"] if "study" in info.get(ds, {}) else seed_study.study_dataset(ds)
        for ds in datasets
    }


def _interval_metrics(k: int) -> list[str]:
    """Every metric with a within-run 95% interval: the pair metrics per protocol, recall, NDCG."""
    pair = [f"{key}{suffix}" for key in intervals.PAIR_METRICS for suffix in PROTOCOLS.values()]
    return [*pair, f"recall_at_{k}", f"ndcg_at_{k}"]


def report_table(metrics: list[dict], meta: dict | None = None, *, k: int = 10) -> pd.DataFrame:
    """One row per dataset x model with our metrics and the study's published cell.

    Several replicates of a cell (``replicate`` key) are averaged: each metric is the mean over
    replicates, ``<metric>_lo``/``_hi`` the mean within-run 95% interval, ``<metric>_sd`` the
    standard deviation across replicates (empty with one), ``n_replicates`` their number.
    """
    ranking = [f"recall_at_{k}", f"ndcg_at_{k}"]
    counts = ["n_pairs", "n_seen_pairs", "n_pairs_dm", "n_seen_pairs_dm", "n_ranking_queries"]
    with_interval = _interval_metrics(k)
    bounds = [f"{m}_{end}" for m in with_interval for end in ("lo", "hi", "sd")]
    numeric = [
        "auc_all",
        "auc_seen",
        "auc_all_dm",
        "auc_seen_dm",
        "auc_cold",
        "auc_cold_dm",
        "coverage",
        "coverage_pos",
        "coverage_neg",
        "pr_auc",
        "pr_auc_dm",
        *ranking,
        *bounds,
        *counts,
        "n_replicates",
        "train_minutes",
        "train_seconds",
        "curve_seconds",
        "peak_rss_mb",
    ]
    study_cols = ["study_dataset", "study_auc_all", "study_auc_seen", "study_minutes", "study_note"]
    columns = ["dataset", "model", *numeric, "device", *study_cols]
    study_of = _study_datasets({m["dataset"] for m in metrics}, meta or {})
    rows = []
    for (dataset, model), cells in _replicates(metrics).items():
        row = _mean_row(cells, numeric, with_interval)
        row.update(dataset=dataset, model=model, device=cells[0].get("device"))
        seconds = row.get("train_seconds")
        row["train_minutes"] = None if seconds is None else seconds / 60.0
        study = study_of[dataset]
        cell = seed_study.study_result(study, model) or seed_study.StudyResult(None, None, None)
        row.update(
            study_dataset=study,
            study_auc_all=cell.auc_all,
            study_auc_seen=cell.auc_seen,
            study_minutes=cell.minutes,
            study_note=cell.note,
        )
        rows.append(row)
    table = pd.DataFrame(rows, columns=columns)
    for col in [*numeric, "study_auc_all", "study_auc_seen", "study_minutes"]:
        kind = "Int64" if col in counts or col == "n_replicates" else float
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(kind)
    datasets = list(dict.fromkeys([*(meta or {}).get("datasets", []), *sorted(study_of)]))
    order = sorted(
        table.index,
        key=lambda i: (datasets.index(table.at[i, "dataset"]), _order_key(table.at[i, "model"])),
    )
    return table.loc[order].reset_index(drop=True)


def _replicates(metrics: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """Cells grouped by (dataset, model), replicates in order."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for m in sorted(metrics, key=lambda m: m.get("replicate") or 0):
        groups.setdefault((m["dataset"], m["model"]), []).append(m)
    return groups


def _mean_row(cells: list[dict], numeric: list[str], with_interval: list[str]) -> dict:
    """Means over replicates (missing values skipped), and each interval metric's spread."""
    frame = pd.DataFrame(cells).reindex(columns=numeric)
    frame = frame.apply(pd.to_numeric, errors="coerce")
    row = {col: frame[col].mean() if frame[col].notna().any() else None for col in numeric}
    for col in with_interval:
        values = frame[col].dropna()
        row[f"{col}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else None
    row["n_replicates"] = len(cells)
    return row


def _fmt(value, spec: str = ".4f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return format(value, spec) if spec else str(value)


def _ranked(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows best first by ``keys`` (missing values last), then canonical model order."""

    def key(i):
        values = (rows.at[i, col] for col in keys)
        return (
            *(math.inf if math.isnan(v) else -v for v in values),
            _order_key(rows.at[i, "model"]),
        )

    return rows.loc[sorted(rows.index, key=key)]


def _study_cell(row) -> str:
    if math.isnan(row["study_auc_all"]) and isinstance(row["study_note"], str):
        return row["study_note"]
    return _fmt(row["study_auc_all"])


def _ranks(ties: list[tuple[bool | None, float | None]]) -> list[str]:
    """Competition ranks where a model tied with the one above shares its rank ("2=")."""
    ranks, shared = [1], [False]
    for position, (tied, _) in enumerate(ties, start=2):
        ranks.append(ranks[-1] if tied else position)
        shared.append(bool(tied))
    shared = [s or (i + 1 < len(shared) and shared[i + 1]) for i, s in enumerate(shared)]
    return [f"{r}=" if tie else str(r) for r, tie in zip(ranks, shared, strict=True)]


def _with_interval(row, column: str) -> str:
    """``value [lo, hi]``, plus ``sd`` across replicates where there are several."""
    text = _fmt(row[column])
    if text == MISSING or pd.isna(row.get(f"{column}_lo")):
        return text
    text += f" [{row[f'{column}_lo']:.4f}, {row[f'{column}_hi']:.4f}]"
    if not pd.isna(row.get(f"{column}_sd")):
        text += f" sd {row[f'{column}_sd']:.4f}"
    return text


def _dataset_section(
    ds: str, rows: pd.DataFrame, info: dict, k: int, details: dict[str, list[RunDetails]]
) -> list[str]:
    recall, ndcg = f"recall_at_{k}", f"ndcg_at_{k}"
    study = rows["study_dataset"].iloc[0]
    study = None if pd.isna(study) else study
    lines = [f"## {ds}", ""]
    if info.get("source"):
        lines.append(f"Source: {info['source']}.")
    if study is None:
        lines.append("The seed study published no numbers for this dataset.")
    else:
        lines.append(f"Study columns: the seed study's published {study} results.")
        if info.get("source") == "synthetic":
            lines.append(
                "This dataset is synthetic, so they are a reference point, not a like-for-like "
                "comparison."
            )
    lines.append("")
    header = [
        "rank",
        "model",
        "AUC seen dm",
        "AUC all dm",
        "AUC cold dm",
        "AUC seen",
        "AUC all",
        "PR-AUC",
        "coverage",
        f"recall@{k}",
        f"NDCG@{k}",
        "train min",
        "peak RSS MiB",
        "device",
        "study AUC all",
        "study AUC seen",
        "study minutes",
    ]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    ranked = _ranked(rows, ["auc_seen_dm", recall])
    ties = ranking_with_ties(list(ranked["model"]), "auc_seen_dm", details)
    for rank, (_, r) in zip(_ranks(ties), ranked.iterrows(), strict=True):
        cells = [
            rank,
            f"`{r['model']}`",
            _with_interval(r, "auc_seen_dm"),
            _fmt(r["auc_all_dm"]),
            _fmt(r["auc_cold_dm"]),
            _fmt(r["auc_seen"]),
            _fmt(r["auc_all"]),
            _fmt(r["pr_auc"]),
            _fmt(r["coverage"], ".1%"),
            _with_interval(r, recall),
            _fmt(r[ndcg]),
            _fmt(r["train_minutes"], ".2f"),
            _fmt(r["peak_rss_mb"], ".0f"),
            _fmt(r["device"] if isinstance(r["device"], str) else None, ""),
            _study_cell(r),
            _fmt(r["study_auc_seen"]),
            _fmt(r["study_minutes"], ",.2f"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(_ranking_line("degree-matched seen-only AUC", ranked, "auc_seen_dm", ties))
    by_recall = _ranked(rows, [recall, "auc_seen_dm"])
    recall_ties = ranking_with_ties(list(by_recall["model"]), recall, details)
    lines.append(_ranking_line(f"recall@{k}", by_recall, recall, recall_ties))
    coverage = rows.dropna(subset=["coverage"]).sort_values("coverage", kind="stable")
    if len(coverage):
        low, high = coverage.iloc[0], coverage.iloc[-1]
        span = (
            f"{low['coverage']:.1%} for every model measured"
            if low["coverage"] == high["coverage"]
            else f"from {low['coverage']:.1%} (`{low['model']}`) "
            f"to {high['coverage']:.1%} (`{high['model']}`)"
        )
        lines.append(f"- Coverage of the validation pairs: {span}.")
    lines += _cold_line(rows)
    lines += _index_line(rows)
    for _, r in rows.iterrows():
        if isinstance(r["study_note"], str) and not math.isnan(r["study_auc_all"]):
            lines.append(f"- Study note, `{r['model']}`: {r['study_note']}.")
    eges = seed_study.EGES
    if study == eges.dataset:
        lines.append(
            f"- Published reference ({eges.citation}): base graph embedding AUC "
            f"{eges.base_auc:.4f}, with side information (EGES) about {eges.side_info_auc:.3f} "
            f"({eges.note})."
        )
    return [*lines, ""]


def _cold_line(rows: pd.DataFrame) -> list[str]:
    """Where the cold pairs stand: their share and the model that scores them best."""
    scored = rows.dropna(subset=["auc_cold_dm", "n_pairs_dm", "n_seen_pairs_dm"])
    if not len(scored) or not scored["n_pairs_dm"].iloc[0]:
        return []
    first = scored.iloc[0]
    share = 1.0 - first["n_seen_pairs_dm"] / first["n_pairs_dm"]
    best = scored.sort_values("auc_cold_dm", kind="stable").iloc[-1]
    line = (
        f"- Cold pairs (a product without training edges) are {share:.1%} of the "
        f"degree-matched pairs; best AUC on them: `{best['model']}` "
        f"({best['auc_cold_dm']:.4f}); a model without vectors for them scores 0.5."
    )
    return [line]


def _index_line(rows: pd.DataFrame) -> list[str]:
    """How each model's neighbour lists were searched, with the recall of approximate ones."""
    if "index_kind" not in rows or rows["index_kind"].isna().all():
        return []
    parts = []
    for _, r in rows.dropna(subset=["index_kind"]).iterrows():
        exact = r["index_kind"] == "flat"
        how = "exact" if exact else f"{r['index_kind']}, recall@k {r['index_recall']:.3f}"
        if not exact and bool(r.get("index_capped", False)):
            how += ", below target: scan cap"
        parts.append(f"`{r['model']}` ({how})")
    return [f"- Neighbour lists (FAISS index, recall against exact search): {', '.join(parts)}."]


def _fact(value) -> str:
    """A run fact on one line: collections (a mapping: its keys) joined by commas."""
    if isinstance(value, list | tuple | dict):
        return ", ".join(str(item) for item in value)
    return str(value)


def _ranking_line(name: str, ranked: pd.DataFrame, column: str, ties) -> str:
    """Models best first, ``>`` between significantly different neighbours, ``=`` for a tie,
    ``,`` where no paired test was possible."""
    scored = [
        (r, tie) for (_, r), tie in zip(ranked.iterrows(), [(None, None), *ties], strict=True)
    ]
    scored = [(r, tie) for r, tie in scored if not pd.isna(r[column])]
    if not scored:
        return f"- Ranked by {name}: {MISSING} (not measured)."
    parts = []
    for i, (r, (tied, p)) in enumerate(scored):
        if i:
            parts.append(", " if tied is None else (f" = (p {p:.2f}) " if tied else " > "))
        parts.append(f"`{r['model']}` ({_with_interval(r, column)})")
    return f"- Ranked by {name}: {''.join(parts)}."


def _with_indexes(table: pd.DataFrame, indexes: dict[tuple[str, str], dict]) -> pd.DataFrame:
    """``index_kind``, ``index_recall`` (recall@k of the neighbour lists against exact
    search) and ``index_capped`` (the scan cap stopped it below target) per row; empty
    where a model's index facts were not given."""
    keys = list(zip(table["dataset"], table["model"], strict=True))
    table["index_kind"] = [indexes.get(key, {}).get("kind") for key in keys]
    recall = [indexes.get(key, {}).get("recall_at_k") for key in keys]
    table["index_recall"] = pd.to_numeric(pd.Series(recall, dtype=object), errors="coerce")
    table["index_capped"] = [bool(indexes.get(key, {}).get("capped", False)) for key in keys]
    return table


def build_report(
    metrics: list[dict],
    out_md,
    out_csv,
    plot_dir,
    meta: dict,
    *,
    k: int = 10,
    details: dict[tuple[str, str], list[RunDetails]] | None = None,
    curves: dict[tuple[str, str], pd.DataFrame] | None = None,
    indexes: dict[tuple[str, str], dict] | None = None,
) -> None:
    """Write ``report.csv``, ``report.md`` and the comparison plots it embeds, atomically.

    ``metrics``: one dict per dataset x model with ``dataset``, ``model``, the
    ``evaluate_model`` keys, ``train_seconds``, ``peak_rss_mb`` and ``device``; missing keys are
    shown as '–'. ``meta``: optional ``title``, ``datasets`` ({dataset: {"source": ...,
    "study": study dataset or None}}), and any other run facts, listed in the intro.
    ``details``: per (dataset, model) each replicate's ``RunDetails``, for the paired tests
    (without them rankings are plain orders); ``curves``: per (dataset, model) a learning
    curve, overlaid per dataset; ``indexes``: per (dataset, model) the neighbour index's facts
    (``neighbours.json``), shown with their recall against exact search.
    """
    details, curves, indexes = details or {}, curves or {}, indexes or {}
    out_md, out_csv, plot_dir = Path(out_md), Path(out_csv), Path(plot_dir)
    plot_dir.mkdir(parents=True, exist_ok=True)  # a declared output even when nothing is drawn
    table = _with_indexes(report_table(metrics, meta, k=k), indexes)
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False, lineterminator="\n")

    lines = [
        f"# {meta.get('title', 'Product embeddings: model comparison')}",
        "",
        (
            "Every model below is scored from its saved vectors by the same evaluation code, on "
            "the same validation pairs, with one cold-start policy; the full numbers are in "
            f"`{out_csv.name}`."
        ),
        "",
    ]
    facts = {key: value for key, value in meta.items() if key != "title"}
    lines += [f"- {key}: {_fact(facts[key])}" for key in sorted(facts)]
    lines += ["", "## How to read the numbers", "", PROTOCOL_TEXT, DEFINITIONS.format(k=k), ""]
    for ds, rows in table.groupby("dataset", sort=False):
        ds_details = {model: runs for (d, model), runs in details.items() if d == ds}
        lines += _dataset_section(ds, rows, _dataset_info(meta).get(ds, {}), k, ds_details)
    if len(table):
        figures = {
            "AUC per model and dataset (bars: 95% interval)": plots.plot_auc_bars(
                table, plot_dir / "auc_by_model.png"
            ),
            "Training time vs seen-only AUC": plots.plot_time_vs_auc(
                table, plot_dir / "time_vs_auc.png"
            ),
        }
        for ds in dict.fromkeys(table["dataset"]):
            ds_curves = {
                model: curves[(ds, model)]
                for model in table.loc[table["dataset"] == ds, "model"]
                if (ds, model) in curves
            }
            if ds_curves:
                path = plot_dir / f"curves_{ds}.png"
                title = f"{ds}: learning curves (replicate 0)"
                figures[f"Learning curves, {ds}"] = plots.plot_curves_overlay(
                    ds_curves, path, title
                )
        lines += ["## Comparison plots", ""]
        for caption, path in figures.items():
            rel = Path(os.path.relpath(path, out_md.parent)).as_posix()
            lines += [f"![{caption}]({rel})", ""]
    else:
        lines += ["No results to compare.", ""]
    with atomic_path(out_md) as tmp:
        tmp.write_text("\n".join(lines).rstrip("\n") + "\n")
