"""Rule build_graph: training edges -> symmetric CSR graph with node index."""

from pathlib import Path

from prodembed.graph import graph_from_edges, save_graph
from prodembed.runtime import read_parquet, setup_logging

log = setup_logging(snakemake.log[0])
train = read_parquet(snakemake.input[0])
graph = graph_from_edges(train["a"], train["b"], train["weight"].to_numpy())
save_graph(graph, Path(snakemake.output.csr).parent)
log.info("graph: %d nodes, %d directed entries", graph.n_nodes, len(graph.indices))
