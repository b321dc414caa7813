"""Rule train_mf: MF on the training edges (mf: sigma(e_a . e_b); mf_bias: with biases)."""

from prodembed.device import job_device
from prodembed.mf import train_mf
from prodembed.runtime import read_parquet, setup_logging
from prodembed.training import TrainingRun, node_asins, node_ids

log = setup_logging(snakemake.log[0])
run = TrainingRun(snakemake, device=job_device(snakemake))
asins = node_asins(snakemake.input.nodes)
train = read_parquet(snakemake.input.train)
emb, bias, global_bias, info = train_mf(
    node_ids(asins, train["a"]),
    node_ids(asins, train["b"]),
    len(asins),
    bias=snakemake.wildcards.model == "mf_bias",
    **run.shared(walks=False),
    **run.params["mf"],
)
run.save(emb, asins, "dot", bias=bias, global_bias=global_bias, **info)
