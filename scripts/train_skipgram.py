"""Rule train_skipgram: PyTorch SGNS on deepwalk (torch_w2v) or node2vec walks."""

from prodembed.device import job_device
from prodembed.runtime import setup_logging
from prodembed.skipgram import train_skipgram
from prodembed.training import TrainingRun, load_walks, node_asins

log = setup_logging(snakemake.log[0])
run = TrainingRun(snakemake, device=job_device(snakemake))
asins = node_asins(snakemake.input.nodes)
walks = load_walks(snakemake.input.walks, len(asins))
emb, info = train_skipgram(
    walks, len(asins), **run.shared(), **run.params["skipgram"], threads=run.threads
)
run.save(emb, asins, "cosine", **info)
