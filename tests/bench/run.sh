#!/usr/bin/env bash
# run.sh — ingest, storage and restart benchmark: burnrate against
# Prometheus 2.42 and VictoriaMetrics 1.79, all on loopback, fed the same
# pre-built remote-write bodies by the same sender. Run it through the build:
#   cmake --build <dir> --target bench
# which passes the binaries below; results go to stdout and to
# $BENCH_RESULTS (default ./bench-results.txt in the build's bench folder).
#
# Steps:
#   1. burnrate-loadgen --dump writes the data set once (deterministic:
#      fixed seed, --now = the current hour).
#   2. bench_ingest: burnrate's decode + commit on one thread, no HTTP.
#   3. BENCH_RUNS times, for each server (order rotated every run): start it
#      on a fresh temp dir and a free loopback port, send the dump with
#      send_dump, read the server's utime+stime from /proc/PID/stat before,
#      right after the last 2xx, and once it is idle again (background
#      flushes, merges and compactions included), scrape its /metrics, sum
#      its data files, then SIGKILL it and restart it on the same data, then
#      SIGTERM it and restart it again, timing each start until it is ready
#      (/-/ready; /health for VictoriaMetrics).
#      Wall-clock is the sender's own time from its first connection to
#      the last acknowledgement (the bodies are already in its memory).
#   4. Medians per server and the ratios burnrate/Prometheus and
#      burnrate/VictoriaMetrics.
# Every process is started by this script and stopped by its PID; the temp
# dir (dump and data) is removed on exit, also on Ctrl-C.
#
# Settings (environment):
#   BENCH_HOURS=24 BENCH_SERVICES=48 BENCH_ENDPOINTS=10 (21 series each: 10080)
#   BENCH_INTERVAL=15s BENCH_SEED=1 BENCH_RUNS=3 BENCH_CONNECTIONS=4
#   BENCH_SERVERS="burnrate prometheus victoriametrics"
#   BENCH_SETTLE_MAX=60 (seconds to wait for a server to go idle)
#   BENCH_SKIP_INGEST_BENCH=1 skips step 2; TMPDIR picks the temp location.
#   PROMETHEUS_BIN, VICTORIA_METRICS_BIN (default: the Debian packages').
set -euo pipefail

: "${BURNRATE_BIN:?set BURNRATE_BIN (the bench target does)}"
: "${LOADGEN_BIN:?set LOADGEN_BIN}"
: "${SEND_DUMP_BIN:?set SEND_DUMP_BIN}"
: "${BENCH_INGEST_BIN:?set BENCH_INGEST_BIN}"
PROMETHEUS_BIN=${PROMETHEUS_BIN:-/usr/bin/prometheus}
VICTORIA_METRICS_BIN=${VICTORIA_METRICS_BIN:-/usr/bin/victoria-metrics}
BENCH_HOURS=${BENCH_HOURS:-24}
BENCH_SERVICES=${BENCH_SERVICES:-48}
BENCH_ENDPOINTS=${BENCH_ENDPOINTS:-10}
BENCH_INTERVAL=${BENCH_INTERVAL:-15s}
BENCH_SEED=${BENCH_SEED:-1}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-4}
BENCH_SERVERS=${BENCH_SERVERS:-burnrate prometheus victoriametrics}
BENCH_SETTLE_MAX=${BENCH_SETTLE_MAX:-60}
BENCH_RESULTS=${BENCH_RESULTS:-$PWD/bench-results.txt}
HZ=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/burnrate-bench.XXXXXX")
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

# utime + stime of PID in clock ticks (fields 14 and 15 of /proc/PID/stat,
# counted after the ")" that ends the command name).
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    awk '{ print $12 + $13 }' <<<"$stat"
}

# VmRSS or VmHWM of PID in bytes.
mem_bytes() {
    awk -v k="$2:" '$1 == k { print $2 * 1024 }' "/proc/$1/status"
}

# Sum of a metric over all its label sets in an exposition file, or NA.
# $3, if given, is a regex the label part must match.
metric() {
    awk -v n="$2" -v re="${3:-}" '
        /^#/ { next }
        {
            name = $0; sub(/[ {].*/, "", name)
            if (name != n) next
            labels = ""
            if (match($0, /\{[^}]*\}/)) labels = substr($0, RSTART, RLENGTH)
            if (re != "" && labels !~ re) next
            rest = $0; sub(/^[^ {]+(\{[^}]*\})? */, "", rest)
            split(rest, a, " "); s += a[1]; found = 1
        }
        END { if (found) printf "%.10g\n", s; else print "NA" }' "$1"
}

# Bytes in the files under $1 whose path matches the find -path pattern $2.
files_bytes() {
    find "$1" -type f -path "$2" -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

url_base() { echo "http://127.0.0.1:$1"; }

ready_path() {
    case "$1" in
    victoriametrics) echo /health ;;
    *) echo /-/ready ;;
    esac
}

# start_server KIND PORT DIR LOG: starts one server in the background and
# sets SERVER_PID.
start_server() {
    local kind=$1 port=$2 dir=$3 logf=$4
    mkdir -p "$dir"
    case "$kind" in
    burnrate)
        "$BURNRATE_BIN" serve --listen "127.0.0.1:$port" --data-dir "$dir/data" \
            --log.level warn >>"$logf" 2>&1 &
        ;;
    prometheus)
        printf 'global:\n  scrape_interval: 15s\n' >"$dir/prometheus.yml"
        "$PROMETHEUS_BIN" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
            --web.listen-address="127.0.0.1:$port" --web.enable-remote-write-receiver \
            --log.level=warn >>"$logf" 2>&1 &
        ;;
    victoriametrics)
        "$VICTORIA_METRICS_BIN" -storageDataPath="$dir/data" -httpListenAddr="127.0.0.1:$port" \
            -loggerLevel=WARN >>"$logf" 2>&1 &
        ;;
    *)
        log "unknown server $kind"
        return 1
        ;;
    esac
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
}

# wait_ready KIND PORT PID TIMEOUT: 0 once the readiness URL answers 200.
wait_ready() {
    local url deadline
    url="$(url_base "$2")$(ready_path "$1")"
    deadline=$(awk -v t="$(now)" -v d="$4" 'BEGIN { printf "%.0f", t + d }')
    while :; do
        if curl -sf -o /dev/null --max-time 2 "$url"; then
            return 0
        fi
        if ! kill -0 "$3" 2>/dev/null; then
            log "$1 (pid $3) exited before it was ready"
            return 1
        fi
        if (($(date +%s) > deadline)); then
            log "$1 not ready after $4 s"
            return 1
        fi
        sleep 0.02
    done
}

# stop_server PID: SIGTERM, wait up to 120 s, then SIGKILL.
stop_server() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 6000; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null || true
            return 0
        fi
        sleep 0.02
    done
    log "pid $pid ignored SIGTERM for 120 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Waits until PID has used under 0.03 CPU-seconds in each of two
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
            if ((quiet >= 2)); then
                break
            fi
        else
            quiet=0
        fi
        prev=$cur
    done
    fsub "$(now)" "$start"
}

# restart_timed KIND PORT DIR LOG: starts KIND on its old data; sets
# SERVER_PID, READY_S (start to ready, NA if it never got ready) and AFTER
# (what it holds: burnrate samples, VictoriaMetrics rows, Prometheus head
# series; NA if unknown).
restart_timed() {
    local kind=$1 port=$2 dir=$3 logf=$4 t0 m="$3/metrics.after"
    t0=$(now)
    start_server "$kind" "$port" "$dir" "$logf"
    READY_S=NA
    AFTER=NA
    if wait_ready "$kind" "$port" "$SERVER_PID" 600; then
        READY_S=$(fsub "$(now)" "$t0")
        if curl -sf "$(url_base "$port")/metrics" >"$m"; then
            case "$kind" in
            burnrate) AFTER=$(metric "$m" burnrate_head_samples) ;;
            victoriametrics) AFTER=$(metric "$m" vm_rows 'type="storage/') ;;
            prometheus) AFTER=$(metric "$m" prometheus_tsdb_head_series) ;;
            esac
        fi
    fi
}

# bench_server KIND RUN: one full ingest/storage/restart measurement;
# appends one "key=value ..." record to $BENCH_RESULTS.
bench_server() {
    local kind=$1 run=$2 port dir logf pid base c0 c1 c2 t0 t1 out rc=0
    port=$(free_port)
    dir="$WORK/$kind-$run"
    logf="$WORK/$kind-$run.log"
    base=$(url_base "$port")
    start_server "$kind" "$port" "$dir" "$logf"
    pid=$SERVER_PID
    wait_ready "$kind" "$port" "$pid" 60
    log "run $run: $kind (pid $pid, port $port) ingesting"

    c0=$(cpu_ticks "$pid")
    t0=$(now)
    out=$("$SEND_DUMP_BIN" --url "$base/api/v1/write" --dir "$WORK/dump" \
        --connections "$BENCH_CONNECTIONS") || rc=$?
    t1=$(now)
    c1=$(cpu_ticks "$pid")
    local load1
    load1=$(cut -d" " -f1 /proc/loadavg)
    if ((rc != 0)); then
        log "run $run: $kind: the sender reported failures: $out"
        tail -5 "$logf" >&2 || true
    fi
    if [[ "$kind" == victoriametrics ]]; then
        curl -sf -o /dev/null "$base/internal/force_flush" || true
    fi
    local settle_s
    settle_s=$(settle "$pid")
    c2=$(cpu_ticks "$pid")

    local m="$dir/metrics.txt" rss hwm samples chunk_bytes index_bytes series_bytes wal_bytes
    curl -sf "$base/metrics" >"$m"
    rss=$(mem_bytes "$pid" VmRSS)
    hwm=$(mem_bytes "$pid" VmHWM)
    local extra=""
    case "$kind" in
    burnrate)
        samples=$(metric "$m" burnrate_head_samples)
        chunk_bytes=$(metric "$m" burnrate_head_chunk_bytes)
        series_bytes=$(metric "$m" burnrate_head_series_bytes)
        index_bytes=NA
        wal_bytes=$(files_bytes "$dir/data" '*/wal/*')
        ;;
    prometheus)
        # Samples: all accepted appends. Chunks: the compressed chunk files of
        # the persisted blocks plus the head's memory-mapped chunk files (the
        # open head chunks, at most one per series, are in memory only).
        # 2.42 has no prometheus_tsdb_head_chunks_storage_size_bytes, hence
        # the file sizes.
        samples=$(metric "$m" prometheus_tsdb_head_samples_appended_total)
        chunk_bytes=$(($(files_bytes "$dir/data" '*/chunks/*') + $(files_bytes "$dir/data" '*/chunks_head/*')))
        index_bytes=$(files_bytes "$dir/data" '*/index')
        series_bytes=NA
        wal_bytes=$(files_bytes "$dir/data" '*/wal/*')
        extra="blocks=$(find "$dir/data" -maxdepth 2 -name meta.json | wc -l)"
        extra+=" block_chunk_bytes=$(files_bytes "$dir/data" "*/chunks/*")"
        extra+=" head_chunk_file_bytes=$(files_bytes "$dir/data" "*/chunks_head/*")"
        extra+=" out_of_bound=$(metric "$m" prometheus_tsdb_out_of_bound_samples_total)"
        extra+=" compactions=$(metric "$m" prometheus_tsdb_compactions_total)"
        ;;
    victoriametrics)
        samples=$(metric "$m" vm_rows 'type="storage/')
        chunk_bytes=$(metric "$m" vm_data_size_bytes 'type="storage/')
        index_bytes=$(metric "$m" vm_data_size_bytes 'type="indexdb')
        series_bytes=NA
        wal_bytes=0
        extra="pending_rows=$(metric "$m" vm_pending_rows 'type="storage"')"
        ;;
    esac
    local disk_bytes
    disk_bytes=$(files_bytes "$dir/data" '*')

    # Crash restart: SIGKILL, start on the same data, time until ready
    # (burnrate and Prometheus replay their WAL here). Then a clean restart:
    # SIGTERM (timed: burnrate writes a snapshot on the way out), start
    # again, time until ready.
    local stop_s crash_s after_crash clean_s after_clean disk_after_stop
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    restart_timed "$kind" "$port" "$dir" "$logf"
    pid=$SERVER_PID
    crash_s=$READY_S
    after_crash=$AFTER
    local s0
    s0=$(now)
    stop_server "$pid"
    stop_s=$(fsub "$(now)" "$s0")
    disk_after_stop=$(files_bytes "$dir/data" '*')
    restart_timed "$kind" "$port" "$dir" "$logf"
    pid=$SERVER_PID
    clean_s=$READY_S
    after_clean=$AFTER
    stop_server "$pid"

    local sent wall cpu_ingest cpu_total
    sent=$(sed -n 's/.*samples=\([0-9]*\).*/\1/p' <<<"$out")
    # Wall-clock: the sender's own figure, from its first connection to the
    # last acknowledgement. The outer time also counts the sender reading
    # the dump into memory (about 2.5 s for 24 h), which is not the
    # server's work; it is kept as wall_outer_s.
    wall=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$out")
    [[ -n "$wall" ]] || wall=$(fsub "$t1" "$t0")
    cpu_ingest=$(awk -v a="$c1" -v b="$c0" -v hz="$HZ" 'BEGIN { printf "%.2f", (a - b) / hz }')
    cpu_total=$(awk -v a="$c2" -v b="$c0" -v hz="$HZ" 'BEGIN { printf "%.2f", (a - b) / hz }')
    local rec
    rec="run=$run server=$kind sent=$sent sender_rc=$rc wall_s=$wall wall_outer_s=$(fsub "$t1" "$t0") load1_after_ingest=$load1"
    rec+=" cpu_ingest_s=$cpu_ingest cpu_total_s=$cpu_total settle_s=$settle_s"
    rec+=" samples_per_s=$(awk -v n="$sent" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')"
    rec+=" samples_per_cpu_s=$(awk -v n="$sent" -v c="$cpu_ingest" 'BEGIN { printf "%.0f", (c > 0 ? n / c : 0) }')"
    rec+=" samples_per_cpu_s_total=$(awk -v n="$sent" -v c="$cpu_total" 'BEGIN { printf "%.0f", (c > 0 ? n / c : 0) }')"
    rec+=" stored_samples=$samples chunk_bytes=$chunk_bytes index_bytes=$index_bytes"
    rec+=" series_bytes=$series_bytes wal_bytes=$wal_bytes disk_bytes=$disk_bytes"
    rec+=" rss_bytes=$rss peak_rss_bytes=$hwm stop_s=$stop_s disk_after_stop_bytes=$disk_after_stop"
    rec+=" crash_ready_s=$crash_s after_crash=$after_crash restart_ready_s=$clean_s after_restart=$after_clean $extra"
    echo "$rec" >>"$BENCH_RESULTS"
    log "$rec"
    rm -rf "$dir"
}

# ---------------------------------------------------------------- main
NOW_MS=$(($(date +%s) / 3600 * 3600 * 1000))
{
    echo "# burnrate bench $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# machine: nproc=$(nproc) cpu=\"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)\" mem_kb=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)"
    echo "# versions: $("$BURNRATE_BIN" --version) / $("$PROMETHEUS_BIN" --version 2>&1 | head -1) / victoria-metrics $(dpkg-query -W -f "\${Version}" victoria-metrics 2>/dev/null || echo unknown)"
    echo "# data: hours=$BENCH_HOURS services=$BENCH_SERVICES endpoints=$BENCH_ENDPOINTS interval=$BENCH_INTERVAL seed=$BENCH_SEED now_ms=$NOW_MS connections=$BENCH_CONNECTIONS runs=$BENCH_RUNS"
} | tee "$BENCH_RESULTS" >&2

log "dumping ${BENCH_HOURS}h of data"
"$LOADGEN_BIN" --services "$BENCH_SERVICES" --endpoints "$BENCH_ENDPOINTS" \
    --interval "$BENCH_INTERVAL" --backfill "${BENCH_HOURS}h" --now "$NOW_MS" \
    --seed "$BENCH_SEED" --concurrency 2 --quiet --dump "$WORK/dump" | tee -a "$BENCH_RESULTS" >&2
echo "# dump: $(du -sb "$WORK/dump" | cut -f1) bytes in $(wc -l <"$WORK/dump/index.txt") bodies" |
    tee -a "$BENCH_RESULTS" >&2

if [[ "${BENCH_SKIP_INGEST_BENCH:-0}" != 1 ]]; then
    log "bench_ingest (one thread, no HTTP)"
    "$BENCH_INGEST_BIN" --dir "$WORK/dump" --tmp "$WORK" | sed 's/^/ingest /' | tee -a "$BENCH_RESULTS" >&2
fi

read -r -a servers <<<"$BENCH_SERVERS"
for ((run = 1; run <= BENCH_RUNS; run++)); do
    n=${#servers[@]}
    for ((k = 0; k < n; k++)); do
        bench_server "${servers[$(((k + run - 1) % n))]}" "$run"
    done
done

# ---------------------------------------------------------------- summary
bash "$(dirname "$0")/summary.sh" "$BENCH_RESULTS"
