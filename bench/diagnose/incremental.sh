#!/usr/bin/env bash
# `diagnose DIR` again after DIR changed the way audit logs change: the files an earlier run
# read are taken from its cached store, and only what changed is read. Times that run against
# reading all the files into an empty cache, and checks that both give the same report.
#
#   bench/diagnose/incremental.sh [DIR] [added|grown]
#
# DIR holds the audit files under DIR/audit (bench/diagnose/run.sh makes them; default
# /tmp/bench-diagnose). `added` (the default): the last file by name arrives after the first
# run. `grown`: the last file is a log still being written: the first run sees its first half
# (as `audit.log`), then the rest is appended to it. The other files are hard-linked into
# DIR/incremental (no copy); the caches are temporary directories.
# Needs a release build (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=${1:-/tmp/bench-diagnose}
mode=${2:-added}
bin=${CARGO_TARGET_DIR:-target}/release/apiserver-doctor
mapfile -t files < <(find "$dir/audit" -maxdepth 1 -type f | sort)
if [ "${#files[@]}" -lt 2 ]; then
  echo "need at least two files under $dir/audit" >&2
  exit 2
fi
last=${files[-1]}
logs=$dir/incremental
work=$(mktemp -d)
trap 'rm -rf "$work" "$logs"' EXIT
rm -rf "$logs" && mkdir -p "$logs"
for f in "${files[@]:0:${#files[@]}-1}"; do ln "$f" "$logs/"; done
lines=$(wc -l <"$last")
case $mode in
  added) ;;
  grown) head -n $((lines / 2)) "$last" >"$logs/audit.log" ;;
  *) echo "mode: added or grown, not $mode" >&2; exit 2 ;;
esac
bytes=$(du -sb "$logs" | cut -f1)
new=$(stat -c %s "$last")
echo "input: ${#files[@]} files of $dir/audit, $bytes bytes before the last ($(basename "$last"), $new bytes, $mode)"
sync

measure() { # label, cache, report file
  /usr/bin/time -f "$1 wall_s=%e peak_rss_kb=%M" env XDG_CACHE_HOME="$2" "$bin" diagnose "$logs" -o json \
    --fail-on never >"$3" 2>"$work/time.$1"
  tail -1 "$work/time.$1"
}

measure first_run "$work/cache" "$work/first.json"
case $mode in
  added) ln "$last" "$logs/" ;;
  grown) tail -n +$((lines / 2 + 1)) "$last" >>"$logs/audit.log" ;;
esac
measure after_the_change "$work/cache" "$work/incremental.json"
measure all_into_an_empty_cache "$work/fresh" "$work/fresh.json"
measure cache_hit "$work/cache" "$work/hit.json"
if cmp -s "$work/incremental.json" "$work/fresh.json" && cmp -s "$work/incremental.json" "$work/hit.json"; then
  echo "reports: the same from all three runs of every file"
else
  kept=$(mktemp -d)
  cp "$work"/*.json "$kept/"
  echo "reports: DIFFER (kept in $kept)" >&2
  exit 1
fi
