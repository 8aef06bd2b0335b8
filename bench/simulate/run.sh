#!/usr/bin/env bash
# Simulator benchmark: events per second written, then count-per-verb over the same files with
# the simulator's reader (audit::read), DuckDB and jq.
#
#   bench/simulate/run.sh [NODES=5000] [DURATION=1h] [THREADS=2] [OUT=/tmp/apiserver-doctor-bench-simulate]
#
# Needs ~1.7 GB of disk per 1,000 node-hours (k8s format). Runs everything under `nice`.
# DuckDB comes from the shared venv (/work/venv-duckdb, created if missing); jq from PATH.
set -euo pipefail
NODES=${1:-5000}
DURATION=${2:-1h}
THREADS=${3:-2}
OUT=${4:-/tmp/apiserver-doctor-bench-simulate}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/targets/simulate}
cleanup() { rm -rf "$OUT"; }
trap cleanup EXIT INT TERM

(cd "$ROOT" && nice cargo build -q --release -p simulate --example simulate --example mix)
BIN=$CARGO_TARGET_DIR/release/examples
rm -rf "$OUT"

echo "== simulate: $NODES nodes, $DURATION, $THREADS threads, k8s format"
/usr/bin/time -f "wall %e s, max RSS %M KB" nice "$BIN/simulate" "$OUT" "$NODES" "$DURATION" k8s "$THREADS" healthy
du -sh "$OUT/audit"

echo "== count per verb: simulate's reader (audit::read, all formats)"
/usr/bin/time -f "wall %e s, max RSS %M KB" nice "$BIN/mix" "$OUT/audit" --top 8 | sed -n 1,14p

if [ ! -x /work/venv-duckdb/bin/python ]; then
  python3 -m venv /work/venv-duckdb && /work/venv-duckdb/bin/pip install -q duckdb
fi
echo "== count per verb: DuckDB read_json (newline-delimited)"
/usr/bin/time -f "wall %e s, max RSS %M KB" nice /work/venv-duckdb/bin/python - "$OUT/audit" <<'PY'
import sys, duckdb
con = duckdb.connect()
con.execute("SET threads TO 2")
q = f"""SELECT verb, count(*) AS n FROM read_json('{sys.argv[1]}/*.log', format='newline_delimited',
        columns={{'verb':'VARCHAR','stage':'VARCHAR'}}) WHERE stage = 'ResponseComplete'
        GROUP BY verb ORDER BY n DESC"""
for verb, n in con.execute(q).fetchall():
    print(f"{verb}\t{n}")
PY

echo "== count per verb: jq"
/usr/bin/time -f "wall %e s, max RSS %M KB" sh -c "cat '$OUT'/audit/*.log | nice jq -r 'select(.stage == \"ResponseComplete\") | .verb' | sort | uniq -c | sort -rn"
