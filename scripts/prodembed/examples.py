"""What the models recommend: seeded example products and every model's top neighbours.

The report's numbers say how well each model ranks; this page shows what it ranks. Queries
come from three degree buckets of the training graph, so the page shows popular products
beside rarely bought ones, where the models differ most. A neighbour is marked when the pair
is a held-out edge (the evaluation's positive) and when it has no training edges (a cold
product only the side-information model can place). The page depends only on its inputs
and the seed, so reruns diff cleanly.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from .report import MISSING, MODEL_ORDER

BUCKETS = ("popular", "middle", "tail")
BUCKET_SHARES = (0.1, 0.5)  # popular: top 10% of products by degree; middle: up to 50%
PER_BUCKET = 4
TOP = 5
TITLE_CHARS = 60
NO_RECORD = "(no record in products.parquet)"
NO_VECTOR = "(no vector for the query)"
HELD_OUT = "held-out edge"
COLD = "cold: no training edges"
STYLE = "table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left}"
COLUMNS = ["model", "rank", "product", "asin", "brand", "category", "price", "score", "mark"]


@dataclass
class Section:
    """One query: its heading, a line of facts, and the neighbours of every model."""

    heading: str
    facts: str
    rows: pd.DataFrame


def training_degree(train_edges: pd.DataFrame) -> pd.Series:
    """Training edges per product (one row per pair, so this is its number of neighbours)."""
    ends = pd.concat([train_edges["a"], train_edges["b"]], ignore_index=True)
    return ends.value_counts().rename_axis("asin").rename("degree")


def degree_buckets(degree: pd.Series) -> pd.DataFrame:
    """Every product with a training edge, its degree and bucket, most edges first.

    Products are ordered by (degree descending, asin), so each bucket is a contiguous degree
    range: popular the top 10%, middle the next 40%, tail the rest.
    """
    frame = pd.DataFrame({"asin": degree.index, "degree": degree.to_numpy()})
    frame = frame.sort_values(["degree", "asin"], ascending=[False, True], ignore_index=True)
    cuts = np.ceil(np.asarray(BUCKET_SHARES) * len(frame))
    codes = np.searchsorted(cuts, np.arange(len(frame)), side="right")
    frame["bucket"] = pd.Categorical.from_codes(codes, categories=BUCKETS)
    return frame


def pick_queries(degree: pd.Series, among, seed: int, per_bucket: int = PER_BUCKET) -> pd.DataFrame:
    """``per_bucket`` products drawn from each degree bucket, seeded; columns asin, degree, bucket.

    Buckets are cut over every product with a training edge; the draw is only ``among`` the
    given asins (the products with a record: a query nobody can name shows little). Ordered by
    bucket, then degree descending and asin, so the page reads from popular to tail.
    """
    rng = np.random.default_rng(seed)
    frame = degree_buckets(degree)
    frame = frame[frame["asin"].isin(among)]
    picks = [
        group.iloc[np.sort(rng.choice(len(group), min(per_bucket, len(group)), replace=False))]
        for _, group in frame.groupby("bucket", observed=True, sort=True)
    ]
    return pd.concat(picks, ignore_index=True) if picks else frame.iloc[:0]


def read_lists(path, queries, top: int = TOP) -> pd.DataFrame:
    """The first ``top`` neighbours of the queries from a neighbours.parquet, reading no more."""
    filters = [("asin", "in", list(queries)), ("rank", "<=", top)]
    return pq.read_table(path, filters=filters).to_pandas()


def model_order(models) -> list[str]:
    """The report's model order (MODEL_ORDER), unknown models after it by name."""
    rank = {model: i for i, model in enumerate(MODEL_ORDER)}
    return sorted(models, key=lambda m: (rank.get(m, len(rank)), m))


def held_out(a: pd.Series, b: pd.Series, val_pairs: pd.DataFrame) -> np.ndarray:
    """Whether each pair (a, b) is a held-out positive, in either orientation."""
    pos = val_pairs[val_pairs["label"] == 1]
    known = _unordered(pos["a"], pos["b"])
    return _unordered(a, b).isin(known)


def _unordered(a: pd.Series, b: pd.Series) -> pd.MultiIndex:
    a, b = pd.Series(a, dtype=object).to_numpy(), pd.Series(b, dtype=object).to_numpy()
    first = a < b
    return pd.MultiIndex.from_arrays([np.where(first, a, b), np.where(first, b, a)])


def example_table(
    queries: pd.DataFrame,
    lists: dict[str, pd.DataFrame],
    val_pairs: pd.DataFrame,
    degree: pd.Series,
    top: int = TOP,
) -> pd.DataFrame:
    """Each model's top neighbours of each query, with the held-out and cold marks.

    Columns query, model, rank, neighbour, score, held_out, cold; ordered by query (as in
    ``queries``), model (report order), rank.
    """
    models = model_order(lists)
    frames = [lists[m].assign(model=m) for m in models]
    table = pd.concat(frames, ignore_index=True).rename(columns={"asin": "query"})
    table = table[table["query"].isin(queries["asin"]) & (table["rank"] <= top)]
    table["held_out"] = held_out(table["query"], table["neighbour"], val_pairs)
    table["cold"] = ~table["neighbour"].isin(degree.index)
    table["query"] = pd.Categorical(table["query"], categories=queries["asin"])
    table["model"] = pd.Categorical(table["model"], categories=models)
    table = table.sort_values(["query", "model", "rank"], ignore_index=True)
    table["query"] = table["query"].astype(object)
    table["model"] = table["model"].astype(object)
    return table[["query", "model", "rank", "neighbour", "score", "held_out", "cold"]]


def product_info(products: pd.DataFrame) -> pd.DataFrame:
    """Printable title, brand, leaf category and price per asin (index), one line each.

    Meant for the few products shown on the page (it formats prices one by one).
    """
    title = products["title"].astype(object).map(html.unescape, na_action="ignore")
    title = title.str.replace(r"\s+", " ", regex=True).str.strip()
    cut = title.str.len() > TITLE_CHARS
    title = title.where(~cut, title.str.slice(0, TITLE_CHARS - 1).str.rstrip() + "…")
    price = products["price"].map(lambda p: f"${p:,.2f}", na_action="ignore")
    info = pd.DataFrame(
        {
            "product": title,
            "brand": products["brand"].astype(object).map(html.unescape, na_action="ignore"),
            "category": products["categories"].str.get(-1),
            "price": price,
        }
    )
    info.index = pd.Index(products["asin"], name="asin")
    return info.replace("", np.nan).astype(object).fillna(MISSING)


def _describe(asins: pd.Series, info: pd.DataFrame) -> pd.DataFrame:
    """Product fields for these asins; a product without a record says so."""
    found = info.reindex(asins.to_numpy())
    found["product"] = found["product"].fillna(NO_RECORD)
    return found.fillna(MISSING).reset_index(drop=True)


def sections(
    queries: pd.DataFrame,
    table: pd.DataFrame,
    info: pd.DataFrame,
    val_pairs: pd.DataFrame,
    models: list[str],
) -> list[Section]:
    """One section per query: its facts, then every model's neighbours (or a no-vector row)."""
    rows = pd.concat([table, _describe(table["neighbour"], info)], axis=1)
    rows["mark"] = _marks(rows["held_out"].to_numpy(), rows["cold"].to_numpy())
    rows["score"] = rows["score"].map("{:.3f}".format)
    rows["asin"], rows["rank"] = rows["neighbour"], rows["rank"].astype(str)
    described = _describe(queries["asin"], info)
    positives = _positive_counts(val_pairs)
    out = []
    for i, query in enumerate(queries.itertuples(index=False)):
        facts = described.iloc[i]
        held = int(positives.get(query.asin, 0))
        out.append(
            Section(
                heading=f"{i + 1}. {facts['product']} ({query.asin})",
                facts=(
                    f"{query.bucket} · training edges: {query.degree} · "
                    f"held-out edges: {held} · brand {facts['brand']} · "
                    f"category {facts['category']} · {facts['price']}"
                ),
                rows=_model_rows(rows[rows["query"] == query.asin], models),
            )
        )
    return out


def _marks(held: np.ndarray, cold: np.ndarray) -> np.ndarray:
    text = np.where(held, HELD_OUT, "").astype(object)
    return text + np.where(held & cold, "; ", "") + np.where(cold, COLD, "")


def _positive_counts(val_pairs: pd.DataFrame) -> pd.Series:
    pos = val_pairs[val_pairs["label"] == 1]
    return pd.concat([pos["a"], pos["b"]]).value_counts()


def _model_rows(rows: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """The query's rows in model order; a model without the query gets one no-vector row."""
    present = set(rows["model"])
    missing = [m for m in models if m not in present]
    blank = pd.DataFrame({col: [""] * len(missing) for col in COLUMNS})
    blank["model"], blank["product"] = missing, NO_VECTOR
    out = pd.concat([rows[COLUMNS], blank], ignore_index=True)
    out["model"] = pd.Categorical(out["model"], categories=models)
    out = out.sort_values("model", kind="stable", ignore_index=True)
    first = ~out["model"].duplicated()
    out["model"] = out["model"].astype(object).where(first, "")
    return out


def intro(dataset: str, seed: int, models: list[str], top: int = TOP) -> list[str]:
    """The paragraphs above the queries: what was drawn and what the marks mean."""
    lo, hi = (int(100 * s) for s in BUCKET_SHARES)
    drawn = (
        f"Dataset {dataset}: {PER_BUCKET} products from each of three buckets of training "
        f"degree (popular: the top {lo}% of products with training edges; middle: the next "
        f"{hi - lo}%; tail: the rest), drawn with seed {seed} among products with a record. "
        f"For each, the top {top} neighbours of every model ({', '.join(models)}) with the "
        f"model's pair score."
    )
    marks = (
        f"Marks: '{HELD_OUT}' = the pair is a held-out positive of the validation split, "
        f"which no model saw in training; '{COLD}' = a product only a model that embeds "
        f"products from their metadata (torch_w2v_side_info) can rank. "
        f"'{NO_RECORD}': the product occurs in the graph but the dump has no record of it; "
        f"'{NO_VECTOR}': the model has no vector for the query product."
    )
    return [drawn, marks]


def render_markdown(title: str, paragraphs: list[str], parts: list[Section]) -> str:
    """The page as markdown: the paragraphs, then a heading, a facts line and a table per query."""
    lines = [f"# {title}", ""]
    for paragraph in paragraphs:
        lines += [_md_text(paragraph), ""]
    for part in parts:
        lines += [f"## {_md_text(part.heading)}", "", _md_text(part.facts), ""]
        lines += _md_table(part.rows) + [""]
    return "\n".join(lines)


def _md_text(text: str) -> str:
    """Text with markdown's active characters escaped, so titles print as they are."""
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return text


def _md_table(rows: pd.DataFrame) -> list[str]:
    header = [f"| {' | '.join(rows.columns)} |", "|" + "---|" * len(rows.columns)]
    body = rows.astype(str).map(_md_text).agg(" | ".join, axis=1)
    return header + ("| " + body + " |").tolist()


def render_html(title: str, paragraphs: list[str], parts: list[Section]) -> str:
    """The same page as standalone HTML, which Snakemake's report shows inline."""
    body = [f"<h1>{html.escape(title)}</h1>"]
    body += [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    for part in parts:
        body += [f"<h2>{html.escape(part.heading)}</h2>", f"<p>{html.escape(part.facts)}</p>"]
        body.append(part.rows.to_html(index=False, border=0, classes="examples"))
    head = f'<meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style>'
    return "\n".join(
        ["<!DOCTYPE html>", f"<html><head>{head}</head><body>", *body, "</body></html>", ""]
    )


def build_pages(
    dataset: str,
    queries: pd.DataFrame,
    lists: dict[str, pd.DataFrame],
    products: pd.DataFrame,
    val_pairs: pd.DataFrame,
    degree: pd.Series,
    seed: int,
) -> tuple[str, str]:
    """The page as (markdown, HTML): ``queries`` from ``pick_queries``, lists per model."""
    models = model_order(lists)
    table = example_table(queries, lists, val_pairs, degree)
    shown = pd.concat([queries["asin"], table["neighbour"]])
    info = product_info(products[products["asin"].isin(shown)])
    parts = sections(queries, table, info, val_pairs, models)
    title = f"What the models recommend: {dataset}"
    paragraphs = intro(dataset, seed, models)
    return render_markdown(title, paragraphs, parts), render_html(title, paragraphs, parts)
