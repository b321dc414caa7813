"""Rule build_edges: products' related lists -> undirected weighted edges."""

import sys

import pyarrow.parquet as pq
from prodembed.edges import RELATIONS, build_edges
from prodembed.runtime import setup_logging, write_json, write_parquet

log = setup_logging(snakemake.log[0])
options = snakemake.params.edges
edges, stats = build_edges(
    pq.read_table(snakemake.input[0], columns=["asin", *RELATIONS]),  # not titles etc.
    weights=options["weights"],
    min_also_bought=options["min_also_bought"],
)
if edges.empty:
    log.error("no edges: no record has %d or more also_bought entries", options["min_also_bought"])
    sys.exit(1)
write_parquet(edges, snakemake.output.edges)
write_json(snakemake.output.report, stats)
