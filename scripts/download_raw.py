"""Rule download_raw: fetch a dump from an http(s) URL, atomically, verifying its sha256."""

import sys

from prodembed.download import DownloadError, fetch
from prodembed.runtime import setup_logging

log = setup_logging(snakemake.log[0])
try:
    fetch(
        snakemake.params.url,
        snakemake.output[0],
        sha256=snakemake.params.sha256,
        dataset=snakemake.wildcards.dataset,
    )
except DownloadError as exc:
    log.error("%s", exc)
    sys.exit(1)
