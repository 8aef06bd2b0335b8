#!/usr/bin/env python3
"""Loads N Kubernetes-shaped keys into an etcd through its v3 JSON gateway (benchmark setup).

Keys: pods (60%), events (15%), jobs (10%), configmaps (5%), a CRD's objects (5%) over 50
namespaces, and cluster-scoped nodes (5%); values of 400 B to 6 KiB, deterministic.
Usage: load.py ENDPOINT N
"""
import base64
import json
import sys
import urllib.request

endpoint, n = sys.argv[1], int(sys.argv[2])


def size(i, lo, hi):
    return lo + (i * 7919) % (hi - lo)


def key_value(i):
    ns = f"ns-{i % 50}"
    r = i % 20
    if r < 12:
        return f"/registry/pods/{ns}/pod-{i}", size(i, 2048, 6144)
    if r < 15:
        return f"/registry/events/{ns}/pod-{i}.17a{i:08x}", size(i, 400, 1200)
    if r < 17:
        return f"/registry/jobs/{ns}/job-{i}", size(i, 1500, 3000)
    if r < 18:
        return f"/registry/configmaps/{ns}/cm-{i}", size(i, 500, 4000)
    if r < 19:
        return f"/registry/example.com/widgets/{ns}/w-{i}", size(i, 1000, 3000)
    return f"/registry/minions/node-{i}", size(i, 4000, 6144)


def txn(ops):
    body = json.dumps({"success": ops}).encode()
    req = urllib.request.Request(f"{endpoint}/v3/kv/txn", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        r.read()


ops = []
total = 0
for i in range(n):
    k, s = key_value(i)
    v = (f'{{"kind":"Object","metadata":{{"name":"{k}"}},"data":"' + "x" * s)[:s]
    total += s
    ops.append({"request_put": {"key": base64.b64encode(k.encode()).decode(), "value": base64.b64encode(v.encode()).decode()}})
    if len(ops) == 128:
        txn(ops)
        ops = []
if ops:
    txn(ops)
print(f"loaded {n} keys, {total} value bytes")
