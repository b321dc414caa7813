"""Rule curve_pairs: the seeded sample of seen validation pairs the learning curves score."""

from prodembed.curves import sample_curve_pairs
from prodembed.runtime import read_parquet, setup_logging, write_parquet

log = setup_logging(snakemake.log[0])
sample = sample_curve_pairs(
    read_parquet(snakemake.input.val),
    read_parquet(snakemake.input.val_dm),
    read_parquet(snakemake.input.train),
    snakemake.params.n,
    snakemake.params.seed,
)
write_parquet(sample, snakemake.output[0])
log.info("curve pairs per protocol: %s", sample["protocol"].value_counts().to_dict())
