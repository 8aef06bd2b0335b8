#!/usr/bin/env python3
"""The AKS guide's three questions answered by DuckDB from raw audit NDJSON.

Usage: duckdb_guide.py DIR_OR_GLOB

What a user without apiserver-doctor would run: read_json over the log-backend files, then
(1) top 10 user agents by request count, (2) average latency per user agent in 5-minute bins,
(3) P99 latency by verb and resource for the top user agent. Requests are counted once
(ResponseComplete). Prints the wall time of each step and the total as JSON on stdout.
"""
import json
import sys
import time

import duckdb

source = sys.argv[1]
if not any(c in source for c in "*?["):
    source = source.rstrip("/") + "/**/*.log*"

con = duckdb.connect()
columns = {
    "stage": "VARCHAR",
    "verb": "VARCHAR",
    "userAgent": "VARCHAR",
    "objectRef": "STRUCT(resource VARCHAR)",
    "requestReceivedTimestamp": "TIMESTAMP",
    "stageTimestamp": "TIMESTAMP",
}
read = (
    f"read_json('{source}', format='newline_delimited', columns={columns!r}, "
    "ignore_errors=true, maximum_object_size=16777216)"
)
timings = {}
start = time.perf_counter()
con.execute(
    f"""CREATE TABLE events AS
        SELECT userAgent AS ua, verb, objectRef.resource AS resource,
               requestReceivedTimestamp AS t0, stageTimestamp AS t1
        FROM {read} WHERE stage = 'ResponseComplete'"""
)
timings["load"] = time.perf_counter() - start

t = time.perf_counter()
top = con.execute(
    "SELECT ua, count(*) AS n FROM events GROUP BY ua ORDER BY n DESC LIMIT 10"
).fetchall()
timings["q1_top_clients"] = time.perf_counter() - t

t = time.perf_counter()
con.execute(
    """SELECT ua, time_bucket(INTERVAL 5 MINUTE, t0) AS bin,
              avg(date_diff('millisecond', t0, t1)) AS avg_latency
       FROM events GROUP BY ua, bin ORDER BY ua, bin"""
).fetchall()
timings["q2_latency_bins"] = time.perf_counter() - t

t = time.perf_counter()
con.execute(
    """SELECT verb, resource, quantile_cont(date_diff('millisecond', t0, t1), 0.99) AS p99
       FROM events WHERE ua = ? AND resource <> '' GROUP BY verb, resource""",
    [top[0][0] if top else ""],
).fetchall()
timings["q3_p99_for_top_client"] = time.perf_counter() - t
timings["total"] = time.perf_counter() - start
events = con.execute("SELECT count(*) FROM events").fetchone()[0]
print(json.dumps({"events": events, "seconds": timings}, indent=2))
