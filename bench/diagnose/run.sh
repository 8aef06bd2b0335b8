#!/usr/bin/env bash
# Diagnose end to end on simulated raw NDJSON, against DuckDB answering the AKS guide's three
# questions from the same files, in one run. Records wall time and peak RSS of each.
#
#   bench/diagnose/run.sh [NODES] [DURATION] [DIR]
#
# Defaults: 2500 nodes, 1h (about 6 GB of log-backend NDJSON), data under /tmp/bench-diagnose.
# Needs a release build (cargo build --release) and the shared DuckDB venv
# (python3 -m venv /work/venv-duckdb && /work/venv-duckdb/bin/pip install duckdb).
set -euo pipefail
cd "$(dirname "$0")/../.."

nodes=${1:-2500}
duration=${2:-1h}
dir=${3:-/tmp/bench-diagnose}
bin=${CARGO_TARGET_DIR:-target}/release/apiserver-doctor
python=${DUCKDB_PYTHON:-/work/venv-duckdb/bin/python}

if [ ! -d "$dir/audit" ]; then
  nice "$bin" simulate --out "$dir" --nodes "$nodes" --duration "$duration" \
    --scenario list-storm,object-leak,webhook-outage --format k8s >/dev/null
fi
bytes=$(du -sb "$dir/audit" | cut -f1)
echo "input: $dir/audit, $bytes bytes"
sync

cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT

measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "$label wall_s=%e peak_rss_kb=%M" "$@" >/dev/null 2>"$cache/time.$label" || true
  tail -1 "$cache/time.$label"
}

# Cold: ingest into an empty cache, then the checks. Warm: the cache is reused.
XDG_CACHE_HOME=$cache measure diagnose_cold "$bin" diagnose "$dir/audit" -o json --fail-on critical
# A single run of either varies by 10-20% on a shared 2-core machine: ROUNDS (default 3)
# alternating rounds of warm diagnose and DuckDB, each printed, then the medians.
rounds=${ROUNDS:-3}
for i in $(seq "$rounds"); do
  XDG_CACHE_HOME=$cache measure diagnose_warm "$bin" diagnose "$dir/audit" -o json --fail-on critical
  measure duckdb_guide "$python" bench/diagnose/duckdb_guide.py "$dir/audit"
done | tee "$cache/rounds"
median() { grep "^$1 " "$cache/rounds" | sed -E 's/.*wall_s=([0-9.]+).*/\1/' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
warm=$(median diagnose_warm); duck=$(median duckdb_guide)
echo "median of $rounds: diagnose_warm ${warm} s, duckdb_guide ${duck} s: warm is $(echo "$duck $warm" | awk '{printf "%.2f", $1 / $2}')x faster"
