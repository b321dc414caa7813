"""Rule neighbours: the top-k most similar products for every product of a model."""

from pathlib import Path

from prodembed.artifacts import ModelArtifacts
from prodembed.device import job_device
from prodembed.neighbours import top_k_neighbours, write_neighbours
from prodembed.runtime import setup_logging

log = setup_logging(snakemake.log[0])
device = job_device(snakemake)
model = ModelArtifacts.load(Path(snakemake.input.model).parent)
table = top_k_neighbours(model, k=snakemake.params.k, device=device)
write_neighbours(table, snakemake.output[0])
log.info("top-%d neighbours for %d products", snakemake.params.k, len(model.asins))
