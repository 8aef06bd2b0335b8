#!/usr/bin/env bash
# Query benchmarks (issue 3): the guide's three AKSAudit queries over a store of N events,
# and `query --input` on raw NDJSON against DuckDB's read_json answering the same question,
# side by side in one run. Figures go to docs/performance.md ("Queries (issue 3)").
#
#   bench/query/run.sh [N_STORE=10000000] [N_RAW=1000000]
#
# Needs: a release build (this script builds it), hyperfine, python3; DuckDB is installed into
# the shared venv /work/venv-duckdb when missing. Runs niced; the data goes to $BENCH_DIR
# (default /tmp/apiserver-doctor-bench), about 1 GB per million raw events.
set -euo pipefail
N_STORE=${1:-10000000}
N_RAW=${2:-1000000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${BENCH_DIR:-/tmp/apiserver-doctor-bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release/apiserver-doctor
mkdir -p "$DIR"

nice cargo build --release -p apiserver-doctor -p engine --example bench_data --manifest-path "$ROOT/Cargo.toml"
GEN=$CARGO_TARGET_DIR/release/examples/bench_data

if [ ! -f "$DIR/store-$N_STORE/manifest.json" ]; then
  nice "$GEN" "$DIR/store-$N_STORE" "$N_STORE"
fi
if [ ! -f "$DIR/raw-$N_RAW.ndjson" ]; then
  nice "$GEN" "$DIR/store-raw-$N_RAW" "$N_RAW" "$DIR/raw-$N_RAW.ndjson"
fi

UA='client-00/v1.29.0 (linux/amd64) kubernetes/55019c8'
Q1=$(sed 1d "$ROOT/crates/kql/tests/queries/supportdocs__troubleshoot-apiserver-etcd-top-useragents-aksaudit.kql")
Q2=$(sed 1d "$ROOT/crates/kql/tests/queries/supportdocs__troubleshoot-apiserver-etcd-latency-by-useragent-timechart-aksaudit.kql")
Q3=$(sed 1d "$ROOT/crates/kql/tests/queries/supportdocs__troubleshoot-apiserver-etcd-p99-latency-by-resource-aksaudit.kql" | sed "s|DUMMYUSERAGENT|$UA|")

echo "== store: $N_STORE events ($(du -sh "$DIR/store-$N_STORE" | cut -f1) Parquet)"
nice hyperfine --warmup 1 --runs 5 --export-markdown "$DIR/store.md" \
  -n "top user agents" "$BIN query --store $DIR/store-$N_STORE --now latest -o csv '$Q1'" \
  -n "avg latency by user agent, 5m bins" "$BIN query --store $DIR/store-$N_STORE --now latest -o csv '$Q2'" \
  -n "p99 latency by verb and resource" "$BIN query --store $DIR/store-$N_STORE --now latest -o csv '$Q3'"

if [ ! -x /work/venv-duckdb/bin/python ]; then
  python3 -m venv /work/venv-duckdb && /work/venv-duckdb/bin/pip install -q duckdb
fi
RAW=$DIR/raw-$N_RAW.ndjson
cat > "$DIR/duck_top.py" <<PY
import duckdb, sys
con = duckdb.connect()
rows = con.execute("""
  select userAgent, count(*) as count_
  from read_json('$RAW', format='newline_delimited', columns={'userAgent': 'VARCHAR', 'stageTimestamp': 'TIMESTAMP'})
  where stageTimestamp between (select max(stageTimestamp) from read_json('$RAW', format='newline_delimited', columns={'stageTimestamp': 'TIMESTAMP'})) - interval 1 hour
                           and (select max(stageTimestamp) from read_json('$RAW', format='newline_delimited', columns={'stageTimestamp': 'TIMESTAMP'}))
  group by userAgent order by count_ desc limit 10""").fetchall()
for r in rows: print(r)
PY
cat > "$DIR/duck_top_all.py" <<PY
import duckdb
con = duckdb.connect()
rows = con.execute("""
  select userAgent, count(*) as count_
  from read_json('$RAW', format='newline_delimited', columns={'userAgent': 'VARCHAR'})
  group by userAgent order by count_ desc limit 10""").fetchall()
for r in rows: print(r)
PY
echo "== raw NDJSON: $N_RAW events ($(du -h "$RAW" | cut -f1)), top user agents"
nice hyperfine --warmup 1 --runs 3 --export-markdown "$DIR/raw.md" \
  -n "apiserver-doctor query --input (guide query, --now latest)" "$BIN query --input $RAW --now latest -o csv '$Q1'" \
  -n "apiserver-doctor query --input (all events)" "$BIN query --input $RAW -o csv 'KubeAudit | summarize count() by userAgent | top 10 by count_'" \
  -n "duckdb read_json (same window)" "/work/venv-duckdb/bin/python $DIR/duck_top.py" \
  -n "duckdb read_json (all events)" "/work/venv-duckdb/bin/python $DIR/duck_top_all.py"
cat "$DIR/store.md" "$DIR/raw.md"
