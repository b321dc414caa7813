"""Rule evaluate: one scoring policy for every model -> metrics.json, ROC and PR plots."""

from pathlib import Path

from prodembed.artifacts import ModelArtifacts
from prodembed.device import job_device
from prodembed.evaluate import evaluate_model, score_protocols
from prodembed.plots import plot_pr_threshold, plot_roc
from prodembed.runtime import read_parquet, setup_logging, write_json

log = setup_logging(snakemake.log[0])
device = job_device(snakemake)
options = snakemake.params.evaluate
model = ModelArtifacts.load(Path(snakemake.input.model).parent)
val = read_parquet(snakemake.input.val)
val_dm = read_parquet(snakemake.input.val_dm)
train = read_parquet(snakemake.input.train)
metrics = evaluate_model(
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
metrics.update(
    dataset=dataset,
    model=name,
    **{key: model.info.get(key) for key in ("train_seconds", "peak_rss_mb", "device")},
)
scored = score_protocols(model, val, val_dm, train)
plot_roc(scored, snakemake.output.roc, f"{dataset} / {name}")
plot_pr_threshold(scored, snakemake.output.pr, f"{dataset} / {name}")
write_json(snakemake.output.metrics, metrics)
log.info("metrics: %s", metrics)
