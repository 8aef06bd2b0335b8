#!/usr/bin/env bash
# Ingest benchmark: >= 1 GB of log-backend NDJSON into the store, against DuckDB writing the
# same columns to Parquet, in the same run. Figures go to docs/performance.md.
# usage: bench/ingest/run.sh [WORKDIR]   (default /tmp/bench-ingest; needs ~3 GB free)
set -euo pipefail
cd "$(dirname "$0")/../.."
work="${1:-/tmp/bench-ingest}"
mkdir -p "$work"
input="$work/audit-1g.log"
[ -f "$input" ] || python3 bench/ingest/gen.py "$input" 1100
cargo build --release -p audit --example ingest_bench
bin="${CARGO_TARGET_DIR:-target}/release/examples/ingest_bench"
cat "$input" > /dev/null   # warm the page cache for both
rm -rf "$work/store"
echo "== apiserver-doctor ingest path (audit::read + store writer), $(stat -c %s "$input") bytes"
/usr/bin/time -f "wall %e s, peak RSS %M KiB" "$bin" "$work/store" "$input"
du -sh "$work/store"
if [ ! -x /work/venv-duckdb/bin/python ]; then
  python3 -m venv /work/venv-duckdb && /work/venv-duckdb/bin/pip install -q duckdb
fi
rm -f "$work/duckdb.parquet"
echo "== DuckDB $(/work/venv-duckdb/bin/python -c 'import duckdb; print(duckdb.__version__)') COPY … TO parquet (2 threads)"
/usr/bin/time -f "wall %e s, peak RSS %M KiB" /work/venv-duckdb/bin/python bench/ingest/duckdb_copy.py "$input" "$work/duckdb.parquet"
du -sh "$work/duckdb.parquet"
