"""Rule report: the dataset x model matrix, the study's numbers beside ours, comparison plots."""

import json
from pathlib import Path

from prodembed.report import build_report
from prodembed.runtime import setup_logging

log = setup_logging(snakemake.log[0])
metrics = [json.loads(Path(path).read_text()) for path in snakemake.input]
build_report(
    metrics,
    out_md=snakemake.output.md,
    out_csv=snakemake.output.csv,
    plot_dir=snakemake.output.plots,
    meta={"datasets": snakemake.params.datasets, "models": snakemake.params.models},
    k=snakemake.params.k,
)
log.info("report over %d dataset x model cells", len(metrics))
