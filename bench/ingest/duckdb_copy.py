#!/usr/bin/env python3
"""DuckDB writing the canonical columns of a log-backend NDJSON file to zstd Parquet: what a
user would otherwise run. usage: duckdb_copy.py INPUT OUT.parquet  (prints seconds)"""
import sys, time, duckdb

src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET threads TO 2")
t = time.time()
con.execute(f"""
COPY (
  SELECT
    CAST(requestReceivedTimestamp AS TIMESTAMPTZ) AS request_received_timestamp,
    CAST(stageTimestamp AS TIMESTAMPTZ) AS stage_timestamp,
    auditID AS audit_id, stage, level, verb, requestURI AS request_uri,
    "user".username AS user_username, "user".uid AS user_uid, "user".groups AS user_groups,
    impersonatedUser.username AS impersonated_username,
    sourceIPs AS source_ips, userAgent AS user_agent,
    objectRef.resource AS object_resource, objectRef.namespace AS object_namespace,
    objectRef.name AS object_name, objectRef.uid AS object_uid,
    objectRef.apiGroup AS object_api_group, objectRef.apiVersion AS object_api_version,
    objectRef.resourceVersion AS object_resource_version, objectRef.subresource AS object_subresource,
    responseStatus.code AS response_code, responseStatus.status AS response_status,
    responseStatus.reason AS response_reason, responseStatus.message AS response_message,
    annotations, apiVersion AS event_api_version
  FROM read_json('{src}', format = 'newline_delimited', columns = {{
    requestReceivedTimestamp: 'VARCHAR', stageTimestamp: 'VARCHAR', auditID: 'VARCHAR',
    stage: 'VARCHAR', level: 'VARCHAR', verb: 'VARCHAR', requestURI: 'VARCHAR',
    "user": 'STRUCT(username VARCHAR, uid VARCHAR, groups VARCHAR[])',
    impersonatedUser: 'STRUCT(username VARCHAR)',
    sourceIPs: 'VARCHAR[]', userAgent: 'VARCHAR',
    objectRef: 'STRUCT(resource VARCHAR, namespace VARCHAR, name VARCHAR, uid VARCHAR, apiGroup VARCHAR, apiVersion VARCHAR, resourceVersion VARCHAR, subresource VARCHAR)',
    responseStatus: 'STRUCT(code INTEGER, status VARCHAR, reason VARCHAR, message VARCHAR)',
    annotations: 'MAP(VARCHAR, VARCHAR)', apiVersion: 'VARCHAR'
  }}, maximum_object_size = 67108864)
) TO '{out}' (FORMAT parquet, COMPRESSION zstd)
""")
print(f"duckdb: {time.time() - t:.2f} s")
