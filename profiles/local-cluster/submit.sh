#!/usr/bin/env bash
# Submit a Snakemake job script as a detached background process; print its job id.
set -euo pipefail
jobscript="${@: -1}"
spool=".snakemake/local-cluster"
mkdir -p "$spool"
id="job$(date +%s%N)$RANDOM"
nohup bash -c 'bash "$1" > "$2.out" 2>&1; echo $? > "$2.exit.tmp" && mv "$2.exit.tmp" "$2.exit"' \
  _ "$jobscript" "$spool/$id" > /dev/null 2>&1 &
echo $! > "$spool/$id.pid"
echo "$id"
