#!/usr/bin/env bash
# Ingest benchmark: >= 1 GB of log-backend NDJSON into the store, against DuckDB writing the
# same columns to Parquet, in the same run. Figures go to docs/performance.md.
#
# usage: bench/ingest/run.sh INPUT [WORKDIR]   (WORKDIR default /tmp/bench-ingest; needs ~1 GB free)
#   INPUT: log-backend NDJSON (the figures in docs/performance.md use a 1.1 GB file of
#   1,305,659 events built from the real audit2rbac demo events with new IDs and times).
#   INGEST_BIN=path/to/apiserver-doctor  time the release binary (`ingest --quiet`), what a user
#                                        runs; without it the `ingest_bench` example runs instead:
#                                        the same `audit::ingest` call, built without the query
#                                        engine so its release build is quick.
#   Each run also times reading alone, parsed into Arrow batches and dropped (no store): the
#   part of an ingest that a faster writer cannot remove.
set -euo pipefail
cd "$(dirname "$0")/../.."
input="${1:?usage: bench/ingest/run.sh INPUT [WORKDIR]}"
work="${2:-/tmp/bench-ingest}"
mkdir -p "$work"
# The example also times reading alone (`--read-only`: parsed into Arrow batches, dropped).
nice cargo build --release -p audit --example ingest_bench
bench="${CARGO_TARGET_DIR:-target}/release/examples/ingest_bench"
size=$(stat -c %s "$input")
events=$(wc -l < "$input")
echo "input: $input, $size bytes, $events events; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"

timed() {  # label, command...: wall, CPU and peak RSS of one run
  local label=$1; shift
  cat "$input" > /dev/null   # the same warm page cache for every contender
  local log="$work/time.log"
  /usr/bin/time -v "$@" > "$work/out.log" 2> "$log" || { cat "$work/out.log" "$log"; return 1; }
  local wall user sys rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  user=$(awk -F': ' '/User time/ {print $2}' "$log")
  sys=$(awk -F': ' '/System time/ {print $2}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  awk -v l="$label" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v b="$size" -v e="$events" 'BEGIN {
    printf "%-28s wall %6.2f s  CPU %6.2f s  %6.0f MB/s  %8.0f events/s  peak RSS %5.0f MB  (MB/s at full use of 2 cores: %.0f)\n",
      l, w, u + s, b / 1e6 / w, e / w, r / 1024, b / 1e6 / ((u + s) / 2) }'
  tail -n 3 "$work/out.log" | cut -c1-300; rm -f "$work/out.log"
}

timed "read only (no store)" "$bench" --read-only "$input"
rm -rf "$work/store"
if [ -n "${INGEST_BIN:-}" ]; then
  timed "apiserver-doctor ingest" "$INGEST_BIN" ingest --quiet --store "$work/store" "$input"
else
  timed "ingest_bench (library)" "$bench" "$work/store" "$input"
fi
du -sh "$work/store"
if [ ! -x /work/venv-duckdb/bin/python ]; then
  python3 -m venv /work/venv-duckdb && /work/venv-duckdb/bin/pip install -q duckdb
fi
rm -f "$work/duckdb.parquet"
echo "DuckDB $(/work/venv-duckdb/bin/python -c 'import duckdb; print(duckdb.__version__)')"
timed "DuckDB COPY … TO parquet" /work/venv-duckdb/bin/python bench/ingest/duckdb_copy.py "$input" "$work/duckdb.parquet"
du -sh "$work/duckdb.parquet"

# jq, single-threaded, extracting the same columns as TSV (no Parquet): the shell user's way.
echo "$(jq --version)"
timed "jq -r … @tsv" jq -r '[.requestReceivedTimestamp, .stageTimestamp, .auditID, .stage, .level, .verb, .requestURI, .user.username, (.user.groups // [] | join(",")), .impersonatedUser.username, (.sourceIPs // [] | join(",")), .userAgent, .objectRef.resource, .objectRef.namespace, .objectRef.name, .objectRef.apiGroup, .objectRef.apiVersion, .objectRef.subresource, .responseStatus.code, .responseStatus.reason, (.annotations // {} | tojson), .apiVersion] | @tsv' "$input"
