#!/usr/bin/env python3
"""Writes >= SIZE bytes of log-backend NDJSON by repeating real published audit events
(the crate's fixtures) with fresh auditIDs and timestamps spread over a few hours.

usage: gen.py OUT [SIZE_MB]   (default 1100 MB)
"""
import glob, json, os, random, sys, uuid
from datetime import datetime, timedelta, timezone

here = os.path.dirname(os.path.abspath(__file__))
fx = os.path.join(here, "..", "..", "crates", "audit", "tests", "fixtures")
templates = []
for path in [os.path.join(fx, "audit", "audit2rbac_demo.log")] + sorted(glob.glob(os.path.join(fx, "audit", "falco_k8s_audit_trace_files", "*.json"))):
    for line in open(path, encoding="utf-8-sig"):
        line = line.strip()
        if not line:
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if isinstance(ev, dict) and ev.get("kind") == "Event":
            templates.append(ev)
rec = json.load(open(os.path.join(fx, "azure", "sysdig-aks-audit-log_eventhub_records_event.json"), encoding="utf-8-sig"))
for r in rec["records"]:
    templates.append(json.loads(r["properties"]["log"]))
# Most events of a busy cluster carry no bodies: weight Metadata-level templates up.
weighted = [t for t in templates if t.get("level") == "Metadata"] * 9 + templates

out, size = sys.argv[1], int(sys.argv[2] if len(sys.argv) > 2 else 1100) * 1_000_000
rnd = random.Random(42)
start = datetime(2024, 3, 1, 10, 0, 0, tzinfo=timezone.utc)
written = n = 0
with open(out, "w") as f:
    while written < size:
        ev = dict(rnd.choice(weighted))
        t = start + timedelta(microseconds=n * 7)  # ~143k events/s of cluster time
        ev["auditID"] = str(uuid.UUID(int=rnd.getrandbits(128)))
        ev["requestReceivedTimestamp"] = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        ev["stageTimestamp"] = (t + timedelta(microseconds=rnd.randint(200, 900000))).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        line = json.dumps(ev, separators=(",", ":")) + "\n"
        f.write(line)
        written += len(line)
        n += 1
print(f"{out}: {n} events, {written} bytes")
