#!/usr/bin/env bash
# Usage: bench/ingest/compare_stores.sh INPUT BIN_A BIN_B
#
# Ingests INPUT with two builds of apiserver-doctor and compares the two stores' rows as
# multisets with DuckDB (EXCEPT ALL both ways): a change to the reader or the store that
# should not change the rows must print "only in A 0; only in B 0".
# Needs DuckDB's Python package (python3 -m venv /work/venv-duckdb &&
# /work/venv-duckdb/bin/pip install duckdb), or DUCKDB_PYTHON naming a Python that has it.
set -euo pipefail
input=$1; a=$2; b=$3
python=${DUCKDB_PYTHON:-/work/venv-duckdb/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$a" ingest --quiet --store "$work/a" "$input" >/dev/null
"$b" ingest --quiet --store "$work/b" "$input" >/dev/null
"$python" - "$work/a" "$work/b" <<'PY'
import sys
import duckdb
c = duckdb.connect()
a = f"read_parquet('{sys.argv[1]}/data/**/*.parquet', union_by_name=true)"
b = f"read_parquet('{sys.argv[2]}/data/**/*.parquet', union_by_name=true)"
na = c.execute(f"select count(*) from {a}").fetchone()[0]
nb = c.execute(f"select count(*) from {b}").fetchone()[0]
d1 = c.execute(f"select count(*) from (select * from {a} except all select * from {b})").fetchone()[0]
d2 = c.execute(f"select count(*) from (select * from {b} except all select * from {a})").fetchone()[0]
print(f"rows {na} {nb}; only in A {d1}; only in B {d2}")
PY
