"""Rule synthesize_raw: write the embedded default dump (seeded, real 2014 format)."""

from prodembed.runtime import setup_logging
from prodembed.synthetic import generate_dump

log = setup_logging(snakemake.log[0])
options = dict(snakemake.params.synthetic)
summary = generate_dump(
    snakemake.output[0],
    preset=options.pop("preset", "electronics"),
    seed=snakemake.params.seed,
    **options,
)
log.info("synthetic dump: %s", summary)
