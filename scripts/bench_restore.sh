#!/usr/bin/env bash
# Measures the AdminServer's snapshot and restore on a standalone release server holding a
# large tree: how long each takes end to end, the snapshot's size, and the server's resident
# memory before, at its peak and after. (Apache ZooKeeper 3.8, the one Debian packages, has
# no snapshot or restore command to compare with.)
#
#   scripts/bench_restore.sh [SECONDS_OF_CREATES]   (default 20; about 1M znodes of 50 bytes)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
cargo build --release --quiet --bin corral --bin corral-bench
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$((20000 + RANDOM % 10000))
admin=$((port + 1))
cat >"$dir/zoo.cfg" <<EOF
dataDir=$dir/data
clientPort=$port
admin.serverAddress=127.0.0.1
admin.serverPort=$admin
DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
EOF
target/release/corral --config "$dir/zoo.cfg" 2>"$dir/server.log" &
pid=$!
until curl -sf "http://127.0.0.1:$admin/commands/ruok" >/dev/null; do sleep 0.2; done
target/release/corral-bench --hosts "127.0.0.1:$port" --workload create --size 50 \
  --duration "$seconds" --warmup 0 --keep | tail -n 3
rss() { awk -v k="$1:" '$1 == k { print int($2 / 1024) }' "/proc/$pid/status"; }
auth='Authorization: digest super:test'
url="http://127.0.0.1:$admin/commands"
echo "znodes: $(curl -s "$url/monitor" | sed -n 's/.*"znode_count" : \([0-9]*\).*/\1/p')"
echo "rss before: $(rss VmRSS) MiB"
curl -s -H "$auth" -o "$dir/snap.bin" -w 'snapshot: %{time_total} s, %{size_download} bytes\n' \
  "$url/snapshot"
curl -s -H "$auth" --data-binary @"$dir/snap.bin" -w '\nrestore: %{time_total} s (HTTP %{http_code})\n' \
  "$url/restore"
echo "rss peak: $(rss VmHWM) MiB, after: $(rss VmRSS) MiB"
