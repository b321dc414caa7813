"""Rule parse_products: dump -> products.parquet + parse report (both release formats).

On failure the log ends with the cause and the config key to change; the parse report so
far (bad lines with their reasons) is logged above it, since no report file is kept.
"""

import json
import sys

from prodembed.download import DownloadError, verify_sha256
from prodembed.parse import DumpError, read_products, write_products
from prodembed.runtime import setup_logging, write_json

log = setup_logging(snakemake.log[0])
options = snakemake.params.parse
dataset = snakemake.wildcards.dataset
try:
    if snakemake.params.sha256:
        verify_sha256(snakemake.input[0], snakemake.params.sha256, dataset=dataset)
    table, report = read_products(
        snakemake.input[0],
        threads=snakemake.threads,
        max_bad_fraction=options["max_bad_fraction"],
        allow_truncated=options["allow_truncated"],
        max_line_mb=options["max_line_mb"],
        dataset=dataset,
    )
except (DumpError, DownloadError) as exc:
    if getattr(exc, "report", None) is not None:
        log.info("parse report: %s", json.dumps(exc.report.to_dict()))
    log.error("%s", exc)
    sys.exit(1)
write_products(table, snakemake.output.products)
write_json(snakemake.output.report, report.to_dict())
log.info("parse report: %s", report.to_dict())
