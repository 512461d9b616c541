#!/usr/bin/env bash
# demo.sh — the main job: installs what is missing, builds, then runs
# burnrate with examples/burnrate.yml (and the SLOs in examples/slos/), a
# real Alertmanager on 127.0.0.1:9093 receiving its pages, and the load
# generator sending live SLI traffic with a scheduled incident that burns
# error budget.
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

# Alertmanager where examples/burnrate.yml sends pages (skipped when the
# port is taken, e.g. by an Alertmanager of your own).
am_pid=""
if ! curl -fsS http://127.0.0.1:9093/-/ready >/dev/null 2>&1; then
  mkdir -p "$data_dir/alertmanager"
  cat >"$data_dir/alertmanager/alertmanager.yml" <<'AM'
route:
  receiver: demo
  group_by: [alertname, sloth_id]
  group_wait: 10s
receivers:
  - name: demo
AM
  prometheus-alertmanager --config.file="$data_dir/alertmanager/alertmanager.yml" \
    --storage.path="$data_dir/alertmanager" --web.listen-address=127.0.0.1:9093 \
    --cluster.listen-address= >"$data_dir/alertmanager/alertmanager.log" 2>&1 &
  am_pid=$!
fi

build/release/engine/burnrate serve --config examples/burnrate.yml \
  --listen "$listen" --data-dir "$data_dir" &
server_pid=$!
loadgen_pid=""
cleanup() {
  [ -n "$loadgen_pid" ] && kill "$loadgen_pid" 2>/dev/null || true
  kill "$server_pid" 2>/dev/null || true
  [ -n "$am_pid" ] && kill "$am_pid" 2>/dev/null || true
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
# then live traffic every 15 s; svc-0 fails 8% of its requests from 5
# minutes after start for 20 minutes (the incident's start counts from the
# first, backfilled step), which pages within a few minutes.
build/release/tests/tools/burnrate-loadgen --url "http://127.0.0.1:${port}/api/v1/write" \
  --backfill 6h --live --incident 6h5m:20m:0.08 --up-gauge &
loadgen_pid=$!

cat <<MSG

burnrate is running with live demo traffic.
  UI:        http://127.0.0.1:${port}/          (budgets, burn rates, alerts)
  budgets:   http://127.0.0.1:${port}/api/v1/slos
  gate:      http://127.0.0.1:${port}/api/v1/gate?service=svc-0
  pages:     http://127.0.0.1:9093/                (Alertmanager, from 5 minutes in)
  metrics:   http://127.0.0.1:${port}/metrics   (burnrate_head_* shows the store filling)
  series:    http://127.0.0.1:${port}/api/v1/series?match[]=http_requests_total
Press Ctrl-C to stop.
MSG
wait "$server_pid"
