"""Rule train_mf_sequences: MF with biases on skip-gram (center, context) pairs from walks."""

from prodembed.device import job_device
from prodembed.runtime import setup_logging
from prodembed.skipgram import train_mf_sequences
from prodembed.training import TrainingRun, load_walks, node_asins

log = setup_logging(snakemake.log[0])
run = TrainingRun(snakemake, device=job_device(snakemake))
asins = node_asins(snakemake.input.nodes)
walks = load_walks(snakemake.input.walks, len(asins))
emb, bias, global_bias, info = train_mf_sequences(
    walks, len(asins), **run.shared(), **run.params["mf_sequences"], threads=run.threads
)
run.save(emb, asins, "dot", bias=bias, global_bias=global_bias, **info)
