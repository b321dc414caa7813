"""Rule evaluate: one scoring policy for every model -> metrics.json, ROC and PR plots."""

from pathlib import Path

from prodembed.artifacts import ModelArtifacts
from prodembed.device import job_device
from prodembed.evaluate import evaluate_details, pair_table
from prodembed.plots import plot_curve, plot_pr_threshold, plot_roc
from prodembed.runtime import read_parquet, setup_logging, write_json, write_parquet

log = setup_logging(snakemake.log[0])
device = job_device(snakemake)
options = snakemake.params.evaluate
model = ModelArtifacts.load(Path(snakemake.input.model).parent)
val = read_parquet(snakemake.input.val)
val_dm = read_parquet(snakemake.input.val_dm)
train = read_parquet(snakemake.input.train)
metrics, scored, queries = evaluate_details(
    model,
    val,
    val_pairs_dm=val_dm,
    train_edges=train,
    k=options["k"],
    ranking_sample=options["ranking_sample"],
    seed=snakemake.params.seed,
    device=device,
)
dataset, name = snakemake.wildcards.dataset, snakemake.wildcards.model
replicate = int(snakemake.wildcards.replicate)
facts = ("train_seconds", "curve_seconds", "peak_rss_mb", "device", "threads", "seed")
metrics.update(
    dataset=dataset,
    model=name,
    replicate=replicate,
    **{key: model.info.get(key) for key in facts},
)
title = f"{dataset} / {name}" + (f" / replicate {replicate}" if replicate else "")
plot_roc(scored, snakemake.output.roc, title)
plot_pr_threshold(scored, snakemake.output.pr, title)
plot_curve(read_parquet(snakemake.input.curves), snakemake.output.curve, title)
write_parquet(pair_table(scored), snakemake.output.pairs)
write_parquet(queries, snakemake.output.queries)
write_json(snakemake.output.metrics, metrics)
log.info("metrics: %s", metrics)
