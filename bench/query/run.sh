#!/usr/bin/env bash
# Query benchmarks (issue 3): the AKS guide's three AKSAudit queries, verbatim, over a store of
# about 10 million simulated events; then `query --input` on raw NDJSON against DuckDB's
# read_json answering the same question, side by side in one run. Figures go to
# docs/performance.md ("Queries (issue 3)").
#
#   bench/query/run.sh [STORE_NODES=5750] [RAW_NODES=1000] [DIR=/dev/shm/apiserver-doctor-bench-query]
#
# 5,750 nodes for an hour make ~10.0 M events (9.4 GB of NDJSON, ingested then deleted);
# 1,000 nodes ~1.75 M events (1.6 GB). Needs the release binary (cargo build --release;
# APISERVER_DOCTOR=path overrides), hyperfine, and DuckDB in /work/venv-duckdb (created if
# missing).
set -euo pipefail
STORE_NODES=${1:-5750}
RAW_NODES=${2:-1000}
DIR=${3:-/dev/shm/apiserver-doctor-bench-query}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${APISERVER_DOCTOR:-${CARGO_TARGET_DIR:-$ROOT/target}/release/apiserver-doctor}
mkdir -p "$DIR"
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

STORE=$DIR/store-$STORE_NODES
if [ ! -f "$STORE/manifest.json" ]; then
  "$BIN" simulate --out "$DIR/sim-store" --nodes "$STORE_NODES" --duration 1h --scenario list-storm --quiet >/dev/null
  "$BIN" ingest --quiet --store "$STORE" "$DIR/sim-store/audit"
  rm -rf "$DIR/sim-store"
fi
RAW=$DIR/raw-$RAW_NODES
if [ ! -d "$RAW/audit" ]; then
  "$BIN" simulate --out "$RAW" --nodes "$RAW_NODES" --duration 1h --scenario list-storm --quiet >/dev/null
fi
"$BIN" stats --store "$STORE" | head -3

# The list-storm offender's user agent as the simulator wrote it (its build commit follows the
# seed since 2026-12-05; a fixed string would make the third query match nothing).
UA=$("$BIN" query --store "$STORE" -o csv 'AKSAudit | where UserAgent startswith "inventory-exporter/" | distinct UserAgent | take 1' | tail -n 1)
[ -n "$UA" ] || { echo "no inventory-exporter user agent in $STORE" >&2; exit 1; }
q() { sed 1d "$ROOT/crates/kql/tests/queries/supportdocs__troubleshoot-apiserver-etcd-$1.kql"; }
Q1=$(q top-useragents-aksaudit)
Q2=$(q latency-by-useragent-timechart-aksaudit)
Q3=$(q p99-latency-by-resource-aksaudit | sed "s|DUMMYUSERAGENT|$UA|")
printf '%s\n' "$Q1" > "$DIR/q1.kql"; printf '%s\n' "$Q2" > "$DIR/q2.kql"; printf '%s\n' "$Q3" > "$DIR/q3.kql"

echo "== store: $(du -sh "$STORE" | cut -f1) of Parquet"
hyperfine --warmup 1 --runs 5 --export-markdown "$DIR/store.md" \
  -n "top user agents" "$BIN query --store $STORE --now latest -o csv -f $DIR/q1.kql" \
  -n "avg latency by user agent, 5m bins" "$BIN query --store $STORE --now latest -o csv -f $DIR/q2.kql" \
  -n "p99 latency by verb and resource" "$BIN query --store $STORE --now latest -o csv -f $DIR/q3.kql"
for i in 1 2 3; do
  /usr/bin/time -f "q$i peak RSS %M KB" "$BIN" query --store "$STORE" --now latest -o csv -f "$DIR/q$i.kql" >/dev/null
done

if [ ! -x /work/venv-duckdb/bin/python ]; then
  python3 -m venv /work/venv-duckdb && /work/venv-duckdb/bin/pip install -q duckdb
fi
cat > "$DIR/duck_top.py" <<PY
import duckdb
con = duckdb.connect()
con.execute("SET threads TO 2")
src = "read_json('$RAW/audit/*.log', format='newline_delimited', columns={'userAgent': 'VARCHAR', 'stageTimestamp': 'TIMESTAMP'})"
rows = con.execute(f"""
  with t as (select * from {src}), last as (select max(stageTimestamp) as m from t)
  select userAgent, count(*) as count_ from t, last
  where stageTimestamp between m - interval 1 hour and m
  group by userAgent order by count_ desc limit 10""").fetchall()
for r in rows: print(r)
PY
echo "== raw NDJSON: $(du -sh "$RAW/audit" | cut -f1), top user agents in the last hour of the data"
hyperfine --warmup 1 --runs 3 --export-markdown "$DIR/raw.md" \
  -n "apiserver-doctor query --input (guide query, --now latest)" "$BIN query --input $RAW/audit --now latest -o csv -f $DIR/q1.kql" \
  -n "duckdb read_json (same question)" "/work/venv-duckdb/bin/python $DIR/duck_top.py"
/usr/bin/time -f "query --input peak RSS %M KB" "$BIN" query --input "$RAW/audit" --now latest -o csv -f "$DIR/q1.kql" >/dev/null
/usr/bin/time -f "duckdb peak RSS %M KB" /work/venv-duckdb/bin/python "$DIR/duck_top.py" >/dev/null
cat "$DIR/store.md" "$DIR/raw.md"
