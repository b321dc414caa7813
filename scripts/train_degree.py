"""Rule train_degree: the popularity baseline, stored as a model like any other."""

from prodembed.degree import degree_model
from prodembed.runtime import read_parquet, setup_logging
from prodembed.training import TrainingRun

log = setup_logging(snakemake.log[0])
run = TrainingRun(snakemake)
model = degree_model(read_parquet(snakemake.input.train))
run.save(model.embeddings, model.asins, "dot", bias=model.bias, method="degree")
