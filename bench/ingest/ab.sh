#!/usr/bin/env bash
# Usage: bench/ingest/ab.sh ROUNDS read|ingest FILE BIN...
#
# Runs builds of the `ingest_bench` example (cargo build --release -p audit --example
# ingest_bench, copied aside before and after a change) alternately on FILE, ROUNDS times,
# reading alone (`--read-only`) or ingesting into a fresh store, and prints each build's wall
# and CPU seconds (user + system) per round. Alternating keeps a machine whose speed drifts
# from favouring either build.
set -euo pipefail
rounds=$1; mode=$2; file=$3; shift 3
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT
for _ in $(seq "$rounds"); do
  for bin in "$@"; do
    rm -rf "$store/s"
    if [ "$mode" = read ]; then
      /usr/bin/time -f "$(basename "$bin") %e %U %S" "$bin" --read-only "$file" 2>&1 >/dev/null | tail -1
    else
      /usr/bin/time -f "$(basename "$bin") %e %U %S" "$bin" "$store/s" "$file" 2>&1 >/dev/null | tail -1
    fi
  done
done | awk '{w[$1]=w[$1]" "$2; c[$1]=c[$1]" "($3+$4)} END {for (k in w) print k, "wall:" w[k], " cpu:" c[k]}'
