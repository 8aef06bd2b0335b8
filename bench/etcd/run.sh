#!/usr/bin/env bash
# Scan benchmark: a real etcd on loopback holding N Kubernetes-shaped keys (default 200,000),
# scanned by apiserver-doctor's key statistics (the `scan` example of the etcd crate, the same
# code as `apiserver-doctor etcd`), against what a user would otherwise run:
# `etcdctl get --prefix /registry --keys-only | grep -c .` (counts only) and
# `etcdctl get --prefix /registry -w json | jq` (counts and bytes per resource).
# Each run prints wall time, the scanner's CPU and peak RSS, etcd's CPU seconds spent serving
# it (from /proc, the figure that does not depend on how loaded the machine is), and the load
# average before it.
# Usage: bench/etcd/run.sh [N]
#   APISERVER_DOCTOR=path/to/apiserver-doctor  also time the release binary's
#                                              `etcd --endpoints … -o json` (status, alarms,
#                                              metrics and the key scan), what a user runs
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-200000}"
dir="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
peer=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ep="http://127.0.0.1:$port"
etcd --name bench --data-dir "$dir/data" --listen-client-urls "$ep" --advertise-client-urls "$ep" \
  --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
  --initial-cluster "bench=http://127.0.0.1:$peer" --quota-backend-bytes 4294967296 --log-level error &
etcd_pid=$!
cleanup() { kill $etcd_pid 2>/dev/null; wait $etcd_pid 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 143' INT TERM
for _ in $(seq 100); do curl -sf "$ep/health" >/dev/null && break; sleep 0.1; done
python3 bench/etcd/load.py "$ep" "$n"
cargo build --release -p etcd --example scan 2>/dev/null
bin="${CARGO_TARGET_DIR:-target}/release/examples/scan"
etcd_cpu() { awk '{print $14 + $15}' "/proc/$etcd_pid/stat"; }
measure() {
  local title="$1"; shift
  echo "== $title"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  local before; before=$(etcd_cpu)
  /usr/bin/time -f "wall %e s, user %U s, sys %S s, peak RSS %M KiB" "$@"
  echo "etcd CPU: $(( $(etcd_cpu) - before )) ticks of 1/$(getconf CLK_TCK) s"
}
for parallel in 1 2 4; do
  measure "apiserver-doctor key scan, keys and value bytes (page size 1000, $parallel in parallel)" \
    sh -c "'$bin' '$ep' /registry 1000 $parallel values | head -1"
done
measure "apiserver-doctor key scan, keys only (--no-values, 4 in parallel)" \
  sh -c "'$bin' '$ep' /registry 1000 4 keys | head -1"
if [ -n "${APISERVER_DOCTOR:-}" ]; then
  for parallel in 2 4; do
    measure "apiserver-doctor etcd --endpoints (whole command, --parallel $parallel)" \
      sh -c "'$APISERVER_DOCTOR' etcd --endpoints '$ep' --parallel $parallel -o json > /dev/null"
  done
fi
export ETCDCTL_API=3
measure "etcdctl get --prefix --keys-only | grep -c . (gRPC, one request)" \
  sh -c "etcdctl --command-timeout=600s --endpoints=$ep get --prefix /registry --keys-only | grep -c ."
measure "etcdctl get --prefix -w protobuf | wc -c (gRPC, one request, all values)" \
  sh -c "etcdctl --command-timeout=600s --endpoints=$ep get --prefix /registry -w protobuf | wc -c"
if command -v jq >/dev/null; then
  measure "etcdctl get --prefix -w json | jq (keys and bytes per resource)" \
    sh -c "etcdctl --command-timeout=600s --endpoints=$ep get --prefix /registry -w json | jq -r '[.kvs[] | {r: (.key | @base64d | split(\"/\")[2]), b: (.value | @base64d | length)}] | group_by(.r) | map(\"\(.[0].r) \(length) \(map(.b) | add)\") | .[]' | head -3"
fi
