"""Rule examples: seeded example products and what every model recommends for them."""

from prodembed.examples import build_pages, pick_queries, read_lists, training_degree
from prodembed.runtime import atomic_path, read_parquet, setup_logging

log = setup_logging(snakemake.log[0])
products = read_parquet(snakemake.input.products)
degree = training_degree(read_parquet(snakemake.input.train))
queries = pick_queries(degree, products["asin"], seed=snakemake.params.seed)
lists = {
    model: read_lists(path, queries["asin"])
    for model, path in zip(snakemake.params.models, snakemake.input.neighbours, strict=True)
}
pages = build_pages(
    snakemake.wildcards.dataset,
    queries,
    lists,
    products,
    read_parquet(snakemake.input.val),
    degree,
    seed=snakemake.params.seed,
)
for path, text in zip((snakemake.output.md, snakemake.output.html), pages, strict=True):
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
log.info("%d example queries x %d models", len(queries), len(lists))
