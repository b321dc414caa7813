"""Rule walks: deepwalk (first-order weighted) or node2vec walks over the training graph."""

from pathlib import Path

from prodembed.device import job_device
from prodembed.graph import load_graph
from prodembed.runtime import save_npy, setup_logging
from prodembed.walks import generate_walks

log = setup_logging(snakemake.log[0])
options = snakemake.params.walks
walker = snakemake.wildcards.walker
device = str(job_device(snakemake))
n2v = options["node2vec"] if walker == "node2vec" else {"p": 1.0, "q": 1.0}
walks = generate_walks(
    load_graph(Path(snakemake.input.csr).parent),
    walker,
    walks_per_node=options["walks_per_node"],
    length=options["length"],
    p=n2v["p"],
    q=n2v["q"],
    seed=snakemake.params.seed,
    threads=snakemake.threads,
    device=device,
)
save_npy(snakemake.output[0], walks)
log.info("%s: %d walks of length %d on %s", walker, *walks.shape, device)
