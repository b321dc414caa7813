"""Rule split_edges: seeded train/validation split with uniform and degree-matched negatives."""

import sys

from prodembed.runtime import read_parquet, setup_logging, write_json, write_parquet
from prodembed.split import SplitError, split_edges

log = setup_logging(snakemake.log[0])
try:
    train, val_sets, report = split_edges(
        read_parquet(snakemake.input[0]),
        val_fraction=snakemake.params.split["val_fraction"],
        seed=snakemake.params.seed,
    )
except SplitError as exc:
    log.error("%s", exc)
    sys.exit(1)
write_parquet(train, snakemake.output.train)
write_parquet(val_sets["uniform"], snakemake.output.val)
write_parquet(val_sets["degree_matched"], snakemake.output.val_dm)
write_json(snakemake.output.report, report)
