"""Rule neighbours: a FAISS index of a model's vectors and every product's top-k neighbours."""

from pathlib import Path

import faiss
from prodembed.artifacts import ModelArtifacts
from prodembed.device import job_device
from prodembed.neighbours import IndexSettings, top_k_neighbours, write_index, write_neighbours
from prodembed.runtime import setup_logging, write_json

log = setup_logging(snakemake.log[0])
device = job_device(snakemake)
faiss.omp_set_num_threads(snakemake.threads)
model = ModelArtifacts.load(Path(snakemake.input.model).parent)
settings = IndexSettings(**snakemake.params.index, seed=snakemake.params.seed)
found = top_k_neighbours(model, k=snakemake.params.k, settings=settings, device=device)
write_neighbours(found.table, snakemake.output.neighbours)
write_index(found.index, snakemake.output.index)
write_json(snakemake.output.info, found.info)
log.info(
    "top-%d neighbours for %d products from a %s index (recall@k %.4f)",
    found.info["k"],
    found.info["n"],
    found.info["kind"],
    found.info["recall_at_k"],
)
