#!/usr/bin/env bash
# bench_longrange.sh — 30-day increase queries: burnrate against Prometheus
# 2.42 on the same data, over HTTP, plus burnrate in process with its
# chunk-summary path on and off. Run it through the build:
#   cmake --build <dir> --target bench-longrange
# which passes the binaries below; results go to stdout and to
# $BENCH_RESULTS (default ./bench-longrange-results.txt in the build's bench
# folder).
#
# Steps:
#   1. burnrate-loadgen --dump writes BENCH_DAYS days of SLI data once
#      (deterministic: fixed seed, --now = the current hour). The query time
#      T is the newest sample's timestamp.
#   2. bench_longrange (in process, no HTTP): loads the dump into a
#      memory-only head, then times every query with chunk summaries on
#      (burnrate's default) and off (every sample read), BENCH_RUNS times
#      each, and fails unless both give bit-identical results.
#   3. burnrate (promql.compat v2, so that its windows are Prometheus
#      2.42's) and Prometheus (retention 60d) each get the dump through
#      send_dump; the script then waits until both are idle (Prometheus
#      compacts its head into blocks meanwhile).
#   4. Each query as an instant query at T and as a range query over
#      [T - 24h, T] with a 1h step, POSTed with curl: one warm-up call per
#      server, then BENCH_RUNS timed calls per server, alternating servers
#      so that both see the same machine load. Every answer must be
#      "success"; the instant answers of the two servers are compared
#      (largest relative difference printed).
#   5. The same for vector(1), which reads nothing: the fixed cost of a call.
#   6. Medians, and the ratios Prometheus / burnrate and samples / summaries.
# Every process is started by this script and stopped by its PID; the temp
# dir (dump and data) is removed on exit, also on Ctrl-C.
#
# Settings (environment):
#   BENCH_DAYS=30 BENCH_INTERVAL=60s BENCH_SERVICES=8 BENCH_ENDPOINTS=6
#   (21 series per endpoint: 1008 series, 43.5 M samples at these values)
#   BENCH_SEED=1 BENCH_RUNS=9 BENCH_CONNECTIONS=2
#   BENCH_SETTLE_MAX=900 (seconds to wait for a server to go idle)
#   PROMETHEUS_BIN (default: the Debian package's); TMPDIR picks the temp dir.
set -euo pipefail

: "${BURNRATE_BIN:?set BURNRATE_BIN (the bench-longrange target does)}"
: "${LOADGEN_BIN:?set LOADGEN_BIN}"
: "${SEND_DUMP_BIN:?set SEND_DUMP_BIN}"
: "${BENCH_LONGRANGE_BIN:?set BENCH_LONGRANGE_BIN}"
PROMETHEUS_BIN=${PROMETHEUS_BIN:-/usr/bin/prometheus}
BENCH_DAYS=${BENCH_DAYS:-30}
BENCH_INTERVAL=${BENCH_INTERVAL:-60s}
BENCH_SERVICES=${BENCH_SERVICES:-8}
BENCH_ENDPOINTS=${BENCH_ENDPOINTS:-6}
BENCH_SEED=${BENCH_SEED:-1}
BENCH_RUNS=${BENCH_RUNS:-9}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-2}
BENCH_SETTLE_MAX=${BENCH_SETTLE_MAX:-900}
BENCH_RESULTS=${BENCH_RESULTS:-$PWD/bench-longrange-results.txt}

D=${BENCH_DAYS}d
QUERIES=(
    "sum(increase(http_requests_total[$D]))"
    "sum by (service) (increase(http_requests_total{code=~\"5..\"}[$D])) / sum by (service) (increase(http_requests_total[$D]))"
    "sum(increase(http_request_duration_seconds_bucket{le=\"0.25\"}[$D])) / sum(increase(http_request_duration_seconds_count[$D]))"
)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/burnrate-longrange.XXXXXX")
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do
        if [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            sleep 1
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
now() { date +%s.%N; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
record() { echo "$*" >>"$BENCH_RESULTS"; }

# A loopback port nobody listens on right now.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        if [[ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ]]; then
            echo "$p"
            return
        fi
    done
}

# utime + stime of PID in clock ticks.
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    awk '{ print $12 + $13 }' <<<"$stat"
}

# Waits until PID has used under 0.03 CPU-seconds in each of three
# consecutive seconds (or BENCH_SETTLE_MAX passes); prints the seconds waited.
settle() {
    local pid=$1 start prev cur quiet=0 i
    start=$(now)
    prev=$(cpu_ticks "$pid")
    for ((i = 0; i < BENCH_SETTLE_MAX; i++)); do
        sleep 1
        cur=$(cpu_ticks "$pid")
        if ((cur - prev < 3)); then
            quiet=$((quiet + 1))
            if ((quiet >= 3)); then
                break
            fi
        else
            quiet=0
        fi
        prev=$cur
    done
    fsub "$(now)" "$start"
}

wait_ready() {
    local url=$1 pid=$2 i
    for ((i = 0; i < 3000; i++)); do
        if curl -sf -o /dev/null --max-time 2 "$url"; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            log "pid $pid exited before it was ready"
            return 1
        fi
        sleep 0.02
    done
    log "pid $pid not ready after 60 s"
    return 1
}

# query_once BASE KIND QUERY OUT: one POST; prints the seconds curl took.
# Fails unless the answer is 200 with "status":"success".
query_once() {
    local base=$1 kind=$2 q=$3 out=$4 res code secs
    if [[ "$kind" == instant ]]; then
        res=$(curl -s -o "$out" -w '%{http_code} %{time_total}' --max-time 600 \
            --data-urlencode "query=$q" --data-urlencode "time=$T_S" "$base/api/v1/query")
    else
        res=$(curl -s -o "$out" -w '%{http_code} %{time_total}' --max-time 600 \
            --data-urlencode "query=$q" --data-urlencode "start=$((T_S - 86400))" \
            --data-urlencode "end=$T_S" --data-urlencode "step=3600" "$base/api/v1/query_range")
    fi
    code=${res% *}
    secs=${res#* }
    if [[ "$code" != 200 ]] || ! grep -q '"status":"success"' "$out"; then
        log "query failed ($code) at $base: $q: $(head -c 300 "$out")"
        return 1
    fi
    echo "$secs"
}

# The sample values of an instant answer, sorted, one per line.
values_of() {
    grep -o '"value":\[[^]]*\]' "$1" | sed 's/.*,"\(.*\)"\]/\1/' | sort -g
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "NA"; else print v[int((NR + 1) / 2)] }'; }

# ---------------------------------------------------------------- data
NOW_MS=$(($(date +%s) / 3600 * 3600 * 1000))
{
    echo "# burnrate long-range bench $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# machine: nproc=$(nproc) cpu=\"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)\" mem_kb=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo) load=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
    echo "# versions: $("$BURNRATE_BIN" --version) / $("$PROMETHEUS_BIN" --version 2>&1 | head -1)"
    echo "# data: days=$BENCH_DAYS services=$BENCH_SERVICES endpoints=$BENCH_ENDPOINTS interval=$BENCH_INTERVAL seed=$BENCH_SEED now_ms=$NOW_MS runs=$BENCH_RUNS"
} | tee "$BENCH_RESULTS" >&2
for i in "${!QUERIES[@]}"; do
    record "# query $i: ${QUERIES[$i]}"
done

log "dumping ${BENCH_DAYS} days of data"
"$LOADGEN_BIN" --services "$BENCH_SERVICES" --endpoints "$BENCH_ENDPOINTS" \
    --interval "$BENCH_INTERVAL" --backfill "$((BENCH_DAYS * 24))h" --now "$NOW_MS" \
    --seed "$BENCH_SEED" --concurrency 2 --quiet --dump "$WORK/dump" | tee -a "$BENCH_RESULTS" >&2
T_MS=$(sed -n 's/.* t_to=\([0-9]*\) .*/\1/p' "$WORK/dump/index.txt" | sort -n | tail -1)
T_S=$((T_MS / 1000))
record "# dump: $(du -sb "$WORK/dump" | cut -f1) bytes in $(wc -l <"$WORK/dump/index.txt") bodies; T=$T_MS"

# ---------------------------------------------------------------- in process
log "bench_longrange: burnrate in process, summaries on and off"
"$BENCH_LONGRANGE_BIN" --dir "$WORK/dump" --time "$T_MS" --runs "$BENCH_RUNS" --compat v2 \
    "${QUERIES[@]}" | sed 's/^/inproc /' | tee -a "$BENCH_RESULTS" >&2

# ---------------------------------------------------------------- servers
BR_PORT=$(free_port)
mkdir -p "$WORK/burnrate" "$WORK/prometheus"
printf 'promql:\n  compat: v2\nstorage:\n  retention: %dd\n' $((BENCH_DAYS + 10)) >"$WORK/burnrate/burnrate.yml"
"$BURNRATE_BIN" serve --config "$WORK/burnrate/burnrate.yml" --listen "127.0.0.1:$BR_PORT" \
    --data-dir "$WORK/burnrate/data" --log.level warn >>"$WORK/burnrate.log" 2>&1 &
BR_PID=$!
PIDS+=("$BR_PID")
wait_ready "http://127.0.0.1:$BR_PORT/-/ready" "$BR_PID"

PROM_PORT=$(free_port)
while [[ "$PROM_PORT" == "$BR_PORT" ]]; do PROM_PORT=$(free_port); done
printf 'global:\n  scrape_interval: 15s\n' >"$WORK/prometheus/prometheus.yml"
"$PROMETHEUS_BIN" --config.file="$WORK/prometheus/prometheus.yml" \
    --storage.tsdb.path="$WORK/prometheus/data" --storage.tsdb.retention.time=$((BENCH_DAYS * 2))d \
    --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-remote-write-receiver \
    --log.level=warn >>"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
PIDS+=("$PROM_PID")
wait_ready "http://127.0.0.1:$PROM_PORT/-/ready" "$PROM_PID"

for s in burnrate prometheus; do
    if [[ $s == burnrate ]]; then port=$BR_PORT; else port=$PROM_PORT; fi
    log "sending the dump to $s"
    t0=$(now)
    out=$("$SEND_DUMP_BIN" --url "http://127.0.0.1:$port/api/v1/write" --dir "$WORK/dump" \
        --connections "$BENCH_CONNECTIONS")
    record "ingest server=$s wall_s=$(fsub "$(now)" "$t0") $out"
done
log "waiting for both servers to go idle"
record "settle server=prometheus seconds=$(settle "$PROM_PID")"
record "settle server=burnrate seconds=$(settle "$BR_PID")"
record "prometheus blocks=$(find "$WORK/prometheus/data" -maxdepth 2 -name meta.json | wc -l) rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$PROM_PID/status")"
record "burnrate rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$BR_PID/status")"

# ---------------------------------------------------------------- queries
BASES=("http://127.0.0.1:$BR_PORT" "http://127.0.0.1:$PROM_PORT")
NAMES=(burnrate prometheus)
for i in "${!QUERIES[@]}"; do
    q=${QUERIES[$i]}
    for kind in instant range; do
        for k in 0 1; do
            query_once "${BASES[$k]}" "$kind" "$q" "$WORK/warm-$k.json" >/dev/null
        done
        if [[ "$kind" == instant ]]; then
            diff=$(paste <(values_of "$WORK/warm-0.json") <(values_of "$WORK/warm-1.json") | awk '
                { d = $1 - $2; if (d < 0) d = -d; m = ($2 < 0 ? -$2 : $2); r = (m > 0 ? d / m : d)
                  if (r > max) max = r; n++ }
                END { printf "%d %.3g", n, max }')
            record "compare query=$i series=${diff% *} max_rel_diff=${diff#* }"
        fi
        for ((r = 1; r <= BENCH_RUNS; r++)); do
            for j in 0 1; do
                k=$(((j + r) % 2))
                secs=$(query_once "${BASES[$k]}" "$kind" "$q" "$WORK/q.json")
                record "http query=$i kind=$kind server=${NAMES[$k]} run=$r seconds=$secs"
            done
        done
    done
done
# The floor: a query that reads nothing, to show the fixed cost of a call.
for ((r = 1; r <= BENCH_RUNS; r++)); do
    for j in 0 1; do
        k=$(((j + r) % 2))
        secs=$(query_once "${BASES[$k]}" instant "vector(1)" "$WORK/q.json")
        record "http query=floor kind=instant server=${NAMES[$k]} run=$r seconds=$secs"
    done
done
kill -TERM "$BR_PID" "$PROM_PID" 2>/dev/null || true
wait "$BR_PID" "$PROM_PID" 2>/dev/null || true

# ---------------------------------------------------------------- summary
{
    echo
    echo "| query | kind | burnrate HTTP ms | Prometheus HTTP ms | Prometheus / burnrate | in-process summaries ms | in-process samples ms | samples / summaries |"
    echo "|---|---|---|---|---|---|---|---|"
    for i in "${!QUERIES[@]}"; do
        for kind in instant range; do
            b=$(awk -v q="$i" -v k="$kind" '$1 == "http" && $2 == "query=" q && $3 == "kind=" k && $4 == "server=burnrate" { sub("seconds=", "", $6); print $6 * 1000 }' "$BENCH_RESULTS" | median)
            p=$(awk -v q="$i" -v k="$kind" '$1 == "http" && $2 == "query=" q && $3 == "kind=" k && $4 == "server=prometheus" { sub("seconds=", "", $6); print $6 * 1000 }' "$BENCH_RESULTS" | median)
            on=$(awk -v q="$i" -v k="$kind" '$1 == "inproc" && $2 == "query=" q && $3 == "kind=" k && $4 == "mode=summaries" { sub("median_ms=", "", $6); print $6 }' "$BENCH_RESULTS")
            off=$(awk -v q="$i" -v k="$kind" '$1 == "inproc" && $2 == "query=" q && $3 == "kind=" k && $4 == "mode=samples" { sub("median_ms=", "", $6); print $6 }' "$BENCH_RESULTS")
            awk -v i="$i" -v k="$kind" -v b="$b" -v p="$p" -v on="$on" -v off="$off" 'BEGIN {
                printf "| %d | %s | %.1f | %.1f | %.1f× | %.2f | %.1f | %.0f× |\n", i, k, b, p, p / b, on, off, off / on }'
        done
    done
    b=$(awk '$1 == "http" && $2 == "query=floor" && $4 == "server=burnrate" { sub("seconds=", "", $6); print $6 * 1000 }' "$BENCH_RESULTS" | median)
    p=$(awk '$1 == "http" && $2 == "query=floor" && $4 == "server=prometheus" { sub("seconds=", "", $6); print $6 * 1000 }' "$BENCH_RESULTS" | median)
    echo
    echo "Floor (vector(1) over HTTP): burnrate $b ms, Prometheus $p ms."
} | tee -a "$BENCH_RESULTS"
