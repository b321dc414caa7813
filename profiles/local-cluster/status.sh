#!/usr/bin/env bash
# Report a submitted job's state the way Snakemake's cluster-generic executor expects.
spool=".snakemake/local-cluster"
id="$1"
if [ -f "$spool/$id.exit" ]; then
  if [ "$(cat "$spool/$id.exit")" = "0" ]; then echo success; else echo failed; fi
elif [ -f "$spool/$id.pid" ] && kill -0 "$(cat "$spool/$id.pid")" 2>/dev/null; then
  echo running
else
  echo failed
fi
