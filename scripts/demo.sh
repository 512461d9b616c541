#!/usr/bin/env bash
# demo.sh — the main job: installs what is missing, builds, then runs
# burnrate with examples/burnrate.yml and the load generator sending live
# SLI traffic (with a scheduled incident that burns error budget).
#   scripts/demo.sh                 listen on :9099, data in ./data/demo
#   BURNRATE_LISTEN=:9199 scripts/demo.sh
# Stop with Ctrl-C: both processes are stopped by their PIDs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)"

listen="${BURNRATE_LISTEN:-:9099}"
port="${listen##*:}"
data_dir="${BURNRATE_DATA_DIR:-data/demo}"
mkdir -p "$data_dir"

build/release/engine/burnrate serve --config examples/burnrate.yml \
  --listen "$listen" --data-dir "$data_dir" &
server_pid=$!
loadgen_pid=""
cleanup() {
  [ -n "$loadgen_pid" ] && kill "$loadgen_pid" 2>/dev/null || true
  kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:${port}/-/ready" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "demo: burnrate exited during start-up" >&2
    exit 1
  fi
  sleep 0.2
done

# Six hours of history first so budgets and charts have something to show,
# then live traffic every 15 s; checkout fails 8% of requests from 10 minutes
# after start for 20 minutes.
build/release/tests/tools/burnrate-loadgen --url "http://127.0.0.1:${port}/api/v1/write" \
  --backfill 6h --live --incident 10m:20m:0.08 &
loadgen_pid=$!

cat <<MSG

burnrate is running with live demo traffic.
  UI:        http://127.0.0.1:${port}/
  metrics:   http://127.0.0.1:${port}/metrics   (burnrate_head_* shows the store filling)
  series:    http://127.0.0.1:${port}/api/v1/series?match[]=http_requests_total
Press Ctrl-C to stop.
MSG
wait "$server_pid"
