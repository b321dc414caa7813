"""Rule train_skipgram: PyTorch SGNS on deepwalk (torch_w2v) or node2vec walks."""

from prodembed.device import job_device
from prodembed.runtime import setup_logging
from prodembed.skipgram import train_skipgram
from prodembed.training import TrainingRun, load_walks, node_asins

log = setup_logging(snakemake.log[0])
run = TrainingRun(snakemake, device=job_device(snakemake))
asins = node_asins(snakemake.input.nodes)
p, hp = run.params, run.params["skipgram"]
emb, info = train_skipgram(
    load_walks(snakemake.input.walks, len(asins)),
    len(asins),
    dim=p["dim"],
    window=p["window"],
    negatives=p["negatives"],
    epochs=p["epochs"],
    lr=hp["lr"],
    batch_size=hp["batch_size"],
    seed=run.seed,
    device=run.device,
)
run.save(emb, asins, "cosine", **info)
