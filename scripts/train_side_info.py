"""Rule train_side_info: EGES skip-gram; cold products are embedded from their metadata."""

from prodembed.device import job_device
from prodembed.eges import train_eges
from prodembed.runtime import read_parquet, setup_logging
from prodembed.side_info import encode_side_info
from prodembed.training import TrainingRun, load_walks, node_asins

log = setup_logging(snakemake.log[0])
run = TrainingRun(snakemake, device=job_device(snakemake))
asins = node_asins(snakemake.input.nodes)
options = dict(run.params["side_info"])
side_info = encode_side_info(
    asins, read_parquet(snakemake.input.products), price_buckets=options.pop("price_buckets", 10)
)
log.info("side information present: %s", side_info.coverage())
if side_info.dropped_fields:
    log.info("left out as uninformative (one value or nearly): %s", side_info.dropped_fields)
walks = load_walks(snakemake.input.walks, len(asins))
emb, has_vector, info = train_eges(walks, side_info, **run.shared(), **options, threads=run.threads)
run.save(emb, side_info.asins, "cosine", has_vector=has_vector, **info)
