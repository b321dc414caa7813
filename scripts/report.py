"""Rule report: the dataset x model matrix, the study's numbers beside ours, comparison plots."""

import json
from pathlib import Path

from prodembed.comparison import RunDetails
from prodembed.neighbours import read_neighbour_info
from prodembed.report import build_report
from prodembed.runtime import read_parquet, setup_logging

log = setup_logging(snakemake.log[0])
inputs = snakemake.input
metrics = [json.loads(Path(path).read_text()) for path in inputs.metrics]
# metrics, pairs and queries are expanded in the same dataset x model x replicate order.
details = {}
for m, pairs, queries in zip(metrics, inputs.pairs, inputs.queries, strict=True):
    run = RunDetails(read_parquet(pairs), read_parquet(queries))
    details.setdefault((m["dataset"], m["model"]), []).append(run)
curves, indexes = {}, {}
for path in map(Path, inputs.curves):  # results/<dataset>/models/<model>/rep0/curves.parquet
    curves[(path.parts[-5], path.parts[-3])] = read_parquet(path)
for path in map(Path, inputs.indexes):  # results/<dataset>/models/<model>/rep0/neighbours.json
    indexes[(path.parts[-5], path.parts[-3])] = read_neighbour_info(path)
build_report(
    metrics,
    out_md=snakemake.output.md,
    out_csv=snakemake.output.csv,
    plot_dir=snakemake.output.plots,
    meta={"datasets": snakemake.params.datasets, "models": snakemake.params.models},
    k=snakemake.params.k,
    details=details,
    curves=curves,
    indexes=indexes,
)
log.info("report over %d dataset x model x replicate cells", len(metrics))
