#!/usr/bin/env bash
# Simulator benchmark: events per second written, then the same question (requests per verb)
# answered over the written files by apiserver-doctor (`query --input`), DuckDB and jq, in one run.
#
#   bench/simulate/run.sh [NODES=5000] [DURATION=1h] [OUT=/dev/shm/apiserver-doctor-bench-simulate]
#
# Needs the release binary (cargo build --release; APISERVER_DOCTOR=path overrides), ~1.7 GB of
# space per 1,000 node-hours (k8s format; tmpfs keeps the disk out of the figure), DuckDB in the
# shared venv (/work/venv-duckdb, created if missing) and jq on PATH. JQ=0 skips jq (it takes
# minutes on GB of input).
set -euo pipefail
NODES=${1:-5000}
DURATION=${2:-1h}
OUT=${3:-/dev/shm/apiserver-doctor-bench-simulate}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${APISERVER_DOCTOR:-${CARGO_TARGET_DIR:-$ROOT/target}/release/apiserver-doctor}
cleanup() { rm -rf "$OUT"; }
trap cleanup EXIT INT TERM
rm -rf "$OUT"
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== simulate: $NODES nodes, $DURATION, k8s format, healthy"
/usr/bin/time -f "wall %e s, user %U s, sys %S s, max RSS %M KB" "$BIN" simulate --out "$OUT" --nodes "$NODES" \
  --duration "$DURATION" --scenario healthy --quiet >/dev/null
events=$(cat "$OUT"/audit/*.log | wc -l)
echo "$events events, $(du -sb "$OUT/audit" | cut -f1) bytes"

echo "== requests per verb: apiserver-doctor query --input"
/usr/bin/time -f "wall %e s, max RSS %M KB" "$BIN" query --input "$OUT/audit" -o csv \
  'KubeAudit | where stage == "ResponseComplete" | summarize n = count() by verb | order by n desc'

if [ ! -x /work/venv-duckdb/bin/python ]; then
  python3 -m venv /work/venv-duckdb && /work/venv-duckdb/bin/pip install -q duckdb
fi
echo "== requests per verb: DuckDB read_json (newline-delimited, 2 threads)"
/usr/bin/time -f "wall %e s, max RSS %M KB" /work/venv-duckdb/bin/python - "$OUT/audit" <<'PY'
import sys, duckdb
con = duckdb.connect()
con.execute("SET threads TO 2")
q = f"""SELECT verb, count(*) AS n FROM read_json('{sys.argv[1]}/*.log', format='newline_delimited',
        columns={{'verb':'VARCHAR','stage':'VARCHAR'}}) WHERE stage = 'ResponseComplete'
        GROUP BY verb ORDER BY n DESC"""
for verb, n in con.execute(q).fetchall():
    print(f"{verb},{n}")
PY

if [ "${JQ:-1}" != 0 ]; then
  echo "== requests per verb: jq"
  /usr/bin/time -f "wall %e s, max RSS %M KB" sh -c "cat '$OUT'/audit/*.log | jq -r 'select(.stage == \"ResponseComplete\") | .verb' | sort | uniq -c | sort -rn"
fi
