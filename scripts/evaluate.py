"""Rule evaluate: one scoring policy for every model -> metrics.json, ROC and PR plots."""

from pathlib import Path

from prodembed.artifacts import ModelArtifacts
from prodembed.evaluate import evaluate_model
from prodembed.plots import plot_pr_threshold, plot_roc
from prodembed.runtime import read_parquet, setup_logging, write_json

log = setup_logging(snakemake.log[0])
options = snakemake.params.evaluate
model = ModelArtifacts.load(Path(snakemake.input.model).parent)
val = read_parquet(snakemake.input.val)
val_dm = read_parquet(snakemake.input.val_dm)
metrics = evaluate_model(
    model,
    val,
    val_pairs_dm=val_dm,
    train_edges=read_parquet(snakemake.input.train),
    k=options["k"],
    ranking_sample=options["ranking_sample"],
    seed=snakemake.params.seed,
)
metrics.update(
    dataset=snakemake.wildcards.dataset,
    model=snakemake.wildcards.model,
    **{key: model.info.get(key) for key in ("train_seconds", "peak_rss_mb", "device")},
)
plot_roc(model, val, val_dm, snakemake.output.roc, title=f"{metrics['dataset']} / {metrics['model']}")
plot_pr_threshold(model, val, snakemake.output.pr, title=f"{metrics['dataset']} / {metrics['model']}")
write_json(snakemake.output.metrics, metrics)
log.info("metrics: %s", metrics)
