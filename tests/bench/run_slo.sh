#!/usr/bin/env bash
# run_slo.sh — SLO evaluation benchmark: one burnrate evaluator tick against
# Prometheus 2.42 evaluating the equivalent Sloth-style recording rules, on
# the same data (1,000 SLOs over 10,000 counter series, 30-day windows).
# Run it through the build:
#   cmake --build <dir> --target bench-slo
# which passes BENCH_SLO_BIN; results go to stdout and to $BENCH_SLO_RESULTS
# (default ./bench-slo-results.txt in the build's bench folder).
#
# Steps:
#   1. bench_slo (in-process, one thread): builds a memory-only head with
#      31 days of data ending now, measures the first tick (full recount),
#      incremental ticks and the evaluator's memory, checks a few SLOs
#      against a brute-force count, and writes the same samples as
#      OpenMetrics text, one file per 54 h of time.
#   2. promtool tsdb create-blocks-from openmetrics --max-block-duration=54h
#      turns each file into one block (two at a time), deleting the file.
#      54 h is the largest block Prometheus itself makes with the 40-day
#      retention used here, so it finds nothing to compact.
#   3. Prometheus starts on those blocks (loopback, free port, temp dir, no
#      scrape jobs); once idle, its RSS is read. Then the rules file (one
#      group per SLO, as Sloth writes it: slo:sli_error:ratio_rate5m ...
#      ratio_rate30d, each sum(rate(bad[w])) / sum(rate(total[w]))) is loaded
#      with /-/reload. After BENCH_SLO_WARMUP evaluations of every group, it
#      takes BENCH_SLO_PROM_SAMPLES readings one evaluation interval apart:
#      the process CPU used per full round of evaluations (every group once,
#      counted from prometheus_rule_group_iterations_total): the one-core
#      cost of a full tick, since each query runs on one goroutine; and the
#      sum over all groups of prometheus_rule_group_last_duration_seconds
#      (wall time per group; groups run concurrently, so on a busy machine
#      their durations overlap and this sum overstates the work). Then RSS
#      again, a cross-check of one SLO's 30-day ratio against burnrate's,
#      and stop by PID.
#   4. A summary with medians and ratios.
# Every process is started by this script and stopped by its PID; the temp
# dir is removed on exit, also on Ctrl-C. `run_slo.sh --summary FILE` prints
# the summary of an earlier results file again.
#
# Settings (environment):
#   BENCH_SLO_SLOS=1000 (10 series each)  BENCH_SLO_SCRAPE=5m (both sides)
#   BENCH_SLO_RUNS=5 BENCH_SLO_TICKS=20 BENCH_SLO_STEP=30s (burnrate)
#   BENCH_SLO_EVAL_INTERVAL=120s BENCH_SLO_WARMUP=1 BENCH_SLO_PROM_SAMPLES=3
#   BENCH_SLO_SKIP_PROMETHEUS=1 runs step 1 only; TMPDIR picks the temp location.
#   PROMETHEUS_BIN, PROMTOOL_BIN (default: the Debian package's).
set -euo pipefail

# summary RESULTS_FILE: Markdown tables with medians and ratios.
summary() {
awk '
function median(k,    n, i, j, t, a) {
    n = cnt[k]
    if (n == 0) return ""
    for (i = 1; i <= n; i++) a[i] = vals[k, i]
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function put(tag, k, v) { if (v ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) vals[tag "." k, ++cnt[tag "." k]] = v + 0 }
function f(x, d) { return x == "" ? "n/a" : sprintf("%." d "f", x) }
function mib(x) { return x == "" ? "n/a" : sprintf("%.0f MiB", x / 1048576) }
function ratio(a, b) { return a == "" || b == "" || a == 0 ? "n/a" : sprintf("%.1f", b / a) }
{
    tag = ""
    if ($1 == "burnrate" && $2 ~ /^run=/) tag = "run"
    else if ($1 == "burnrate" && $2 == "memory") tag = "mem"
    else if ($1 == "burnrate" && $2 == "data") tag = "data"
    else if ($1 == "burnrate" && $2 == "summary") tag = "sum"
    else if ($1 == "prometheus") tag = "prom"
    else if ($1 == "prometheus_idle") tag = "idle"
    else if ($1 == "crosscheck") tag = "x"
    else if ($1 == "promtool") tag = "promtool"
    if (tag == "") next
    for (i = 2; i <= NF; i++) { eq = index($i, "="); if (eq) { k = substr($i, 1, eq - 1); put(tag, k, substr($i, eq + 1)); raw[tag "." k] = substr($i, eq + 1) } }
    if (tag == "run" && $2 == "run=1") for (i = 2; i <= NF; i++) if ($i ~ /^incr_ticks=/) { n_incr = $i; sub(/.*=/, "", n_incr) }
}
END {
    bw = median("run.first_tick_wall_s"); bc = median("run.first_tick_cpu_s")
    iw = median("run.incr_tick_median_wall_s"); ic = median("run.incr_tick_median_cpu_s")
    pw = median("prom.full_tick_sum_group_s"); pc = median("prom.cpu_s_per_full_tick")
    print ""
    printf "Data: %s SLOs, %s series, %s samples (%s per series, scrape %s s), 30d windows.\n",
        raw["data.slos"], raw["data.series"], raw["data.samples"], raw["data.samples_per_series"], raw["data.scrape_s"]
    print ""
    print "| one full evaluation of every SLO (medians) | CPU-s (one core) | wall s |"
    print "|---|---|---|"
    printf "| burnrate first tick (full recount), %d runs | %s | %s |\n", cnt["run.first_tick_wall_s"], f(bc, 3), f(bw, 3)
    printf "| burnrate incremental tick, %d ticks | %s | %s |\n", n_incr, f(ic, 3), f(iw, 3)
    if (pc != "")
        printf "| Prometheus 2.42, %d rules in %d groups, %d readings | %s | %s (sum of group durations) |\n",
            raw["prom.rules"], raw["prom.groups"], cnt["prom.cpu_s_per_full_tick"], f(pc, 3), f(pw, 3)
    if (pc != "") {
        print ""
        print "| ratio (CPU-s) | Prometheus / burnrate |"
        print "|---|---|"
        printf "| first tick | %s |\n", ratio(bc, pc)
        printf "| incremental tick | %s |\n", ratio(ic, pc)
    }
    print ""
    print "| memory | value |"
    print "|---|---|"
    printf "| burnrate evaluator state + snapshot (heap) | %s (%s B per SLO) |\n", mib(median("mem.evaluator_heap_bytes")), f(median("mem.evaluator_heap_per_slo"), 0)
    printf "| burnrate head: chunks + series tables | %s (%s B/sample) |\n", mib(median("data.chunk_bytes") + median("data.series_bytes")), f(median("data.bytes_per_sample"), 3)
    printf "| burnrate process RSS after the runs (data in RAM) | %s (peak %s) |\n", mib(median("run.rss_bytes")), mib(median("run.hwm_bytes"))
    if (pc != "") {
        printf "| Prometheus RSS idle on the blocks (anon + file) | %s (%s + %s) |\n", mib(median("idle.rss_bytes")), mib(median("idle.rss_anon_bytes")), mib(median("idle.rss_file_bytes"))
        printf "| Prometheus RSS evaluating (anon + file), peak | %s (%s + %s), %s |\n", mib(median("prom.rss_bytes")), mib(median("prom.rss_anon_bytes")), mib(median("prom.rss_file_bytes")), mib(median("prom.hwm_bytes"))
        printf "| Prometheus blocks on disk | %s |\n", mib(raw["promtool.block_bytes"])
        printf "\nCross-check, 30-day error ratio of svc0000: Prometheus %s, burnrate %s (relative difference %s); SLOs with a 30d ratio in Prometheus: %s.\n",
            raw["x.prometheus_svc0000_30d"], raw["x.burnrate_svc0000_30d"], raw["x.rel_diff"], raw["x.slos_with_30d_ratio"]
        printf "Prometheus missed iterations: %s%s; rule evaluation failures: %s.\n", raw["prom.missed"],
            (raw["prom.missed"] + 0 > 0 ? " (it could not keep up: raise BENCH_SLO_EVAL_INTERVAL)" : ""), raw["prom.eval_failures"]
    }
    printf "burnrate correctness checks failed: %s.\n", raw["sum.checks_failed"]
}' "$1"
}

if [[ "${1:-}" == --summary ]]; then
    summary "${2:?usage: run_slo.sh --summary RESULTS_FILE}"
    exit 0
fi

: "${BENCH_SLO_BIN:?set BENCH_SLO_BIN (the bench-slo target does)}"
PROMETHEUS_BIN=${PROMETHEUS_BIN:-/usr/bin/prometheus}
PROMTOOL_BIN=${PROMTOOL_BIN:-/usr/bin/promtool}
BENCH_SLO_SLOS=${BENCH_SLO_SLOS:-1000}
BENCH_SLO_SCRAPE=${BENCH_SLO_SCRAPE:-5m}
BENCH_SLO_RUNS=${BENCH_SLO_RUNS:-5}
BENCH_SLO_TICKS=${BENCH_SLO_TICKS:-20}
BENCH_SLO_STEP=${BENCH_SLO_STEP:-30s}
BENCH_SLO_EVAL_INTERVAL=${BENCH_SLO_EVAL_INTERVAL:-120s}
BENCH_SLO_WARMUP=${BENCH_SLO_WARMUP:-1}
BENCH_SLO_PROM_SAMPLES=${BENCH_SLO_PROM_SAMPLES:-3}
BENCH_SLO_RESULTS=${BENCH_SLO_RESULTS:-$PWD/bench-slo-results.txt}
HZ=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/burnrate-bench-slo.XXXXXX")
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
result() { echo "$*" >>"$BENCH_SLO_RESULTS"; log "$*"; }

# Seconds in a Prometheus duration of one unit ("30s", "2m", "1h").
dur_s() {
    awk -v d="$1" 'BEGIN {
        n = d + 0; u = substr(d, length(n "") + 1)
        m = (u == "ms") ? 0.001 : (u == "s") ? 1 : (u == "m") ? 60 : (u == "h") ? 3600 : (u == "d") ? 86400 : -1
        if (m < 0) exit 1
        print n * m }'
}

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

# A field of /proc/PID/status (VmRSS, VmHWM, RssAnon, RssFile) in bytes.
mem_bytes() {
    awk -v k="$2:" '$1 == k { print $2 * 1024 }' "/proc/$1/status"
}

# Sum of a metric over all its label sets in an exposition file, or NA.
metric() {
    awk -v n="$2" '
        /^#/ { next }
        {
            name = $0; sub(/[ {].*/, "", name)
            if (name != n) next
            rest = $0; sub(/^[^ {]+(\{[^}]*\})? */, "", rest)
            split(rest, a, " "); s += a[1]; found = 1
        }
        END { if (found) printf "%.10g\n", s; else print "NA" }' "$1"
}

# Number of label sets of a metric in an exposition file.
metric_count() {
    awk -v n="$2" '/^#/ { next } { name = $0; sub(/[ {].*/, "", name); if (name == n) c++ } END { print c + 0 }' "$1"
}

# stop_pid PID: SIGTERM, wait up to 30 s, then SIGKILL. (Prometheus 2.42
# stops its rule groups one by one, each after its running evaluation, which
# can take minutes on a loaded machine; its data is thrown away anyway.)
stop_pid() {
    local pid=$1 deadline=$(($(date +%s) + 30))
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null; do
        if (($(date +%s) > deadline)); then
            log "pid $pid still running 30 s after SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    wait "$pid" 2>/dev/null || true
}

# Waits until PID uses under 0.03 CPU-s in each of two consecutive seconds
# (at most 120 s).
settle() {
    local pid=$1 prev cur quiet=0 i
    prev=$(cpu_ticks "$pid")
    for ((i = 0; i < 120; i++)); do
        sleep 1
        cur=$(cpu_ticks "$pid")
        if ((cur - prev < 3)); then
            quiet=$((quiet + 1))
            if ((quiet >= 2)); then
                return 0
            fi
        else
            quiet=0
        fi
        prev=$cur
    done
}

# instant BASE QUERY: the value of the first sample of an instant query, or NA.
instant() {
    local v
    v=$(curl -sf "$1/api/v1/query" --data-urlencode "query=$2" |
        sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p') || true
    echo "${v:-NA}"
}

# The rules file: one group per SLO with Sloth's SLI recording rules.
write_rules() {
    local out=$1 n=$2
    awk -v n="$n" 'BEGIN {
        split("5m 30m 1h 2h 6h 1d 3d 30d", w, " ")
        print "groups:"
        for (k = 0; k < n; k++) {
            svc = sprintf("svc%04d", k); id = svc "-availability"
            print "  - name: sloth-slo-sli-recordings-" id
            print "    rules:"
            for (i = 1; i <= 8; i++) {
                print "      - record: slo:sli_error:ratio_rate" w[i]
                print "        expr: |"
                print "          (sum(rate(http_requests_total{service=\"" svc "\",code=~\"5..\"}[" w[i] "])))"
                print "          /"
                print "          (sum(rate(http_requests_total{service=\"" svc "\"}[" w[i] "])))"
                print "        labels:"
                print "          sloth_id: " id
                print "          sloth_service: " svc
                print "          sloth_slo: availability"
                print "          sloth_window: " w[i]
            }
        }
    }' >"$out"
}

# ---------------------------------------------------------------- main
END_MS=$(($(date +%s) / 60 * 60 * 1000))
: >"$BENCH_SLO_RESULTS"
{
    echo "# burnrate bench-slo $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# machine: nproc=$(nproc) cpu=\"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)\" mem_kb=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo) load1=$(cut -d' ' -f1 /proc/loadavg)"
    echo "# versions: $("$PROMETHEUS_BIN" --version 2>&1 | head -1)"
    echo "# settings: slos=$BENCH_SLO_SLOS scrape=$BENCH_SLO_SCRAPE runs=$BENCH_SLO_RUNS ticks=$BENCH_SLO_TICKS step=$BENCH_SLO_STEP eval_interval=$BENCH_SLO_EVAL_INTERVAL warmup=$BENCH_SLO_WARMUP prom_samples=$BENCH_SLO_PROM_SAMPLES end_ms=$END_MS"
} | tee -a "$BENCH_SLO_RESULTS" >&2

om_args=()
if [[ "${BENCH_SLO_SKIP_PROMETHEUS:-0}" != 1 ]]; then
    om_args=(--openmetrics "$WORK/om" --om-slab 54h)
fi
log "bench_slo: $BENCH_SLO_SLOS SLOs, scrape $BENCH_SLO_SCRAPE (building the data takes a few minutes)"
t0=$(now)
"$BENCH_SLO_BIN" --slos "$BENCH_SLO_SLOS" --scrape "$BENCH_SLO_SCRAPE" --end "$END_MS" \
    --runs "$BENCH_SLO_RUNS" --ticks "$BENCH_SLO_TICKS" --step "$BENCH_SLO_STEP" "${om_args[@]}" |
    sed 's/^/burnrate /' | tee -a "$BENCH_SLO_RESULTS" >&2
result "burnrate_process wall_s=$(fsub "$(now)" "$t0")"

if [[ "${BENCH_SLO_SKIP_PROMETHEUS:-0}" != 1 ]]; then
    # ------------------------------------------------------------ blocks
    mkdir -p "$WORK/prom/data"
    log "promtool: $(find "$WORK/om" -name '*.om' | wc -l) OpenMetrics files -> 54 h blocks"
    t0=$(now)
    find "$WORK/om" -name '*.om' | sort | xargs -P 2 -I{} sh -c \
        '"$0" tsdb create-blocks-from openmetrics --max-block-duration=54h -q "$1" "$2" >/dev/null && rm -f "$1"' \
        "$PROMTOOL_BIN" {} "$WORK/prom/data"
    result "promtool wall_s=$(fsub "$(now)" "$t0") blocks=$(find "$WORK/prom/data" -maxdepth 2 -name meta.json | wc -l) block_bytes=$(du -sb "$WORK/prom/data" | cut -f1)"

    # ------------------------------------------------------------ Prometheus
    port=$(free_port)
    base="http://127.0.0.1:$port"
    cfg="$WORK/prom/prometheus.yml"
    rules="$WORK/prom/rules.yml"
    write_rules "$rules" "$BENCH_SLO_SLOS"
    "$PROMTOOL_BIN" check rules "$rules" >/dev/null
    printf 'global:\n  evaluation_interval: %s\n' "$BENCH_SLO_EVAL_INTERVAL" >"$cfg"
    "$PROMETHEUS_BIN" --config.file="$cfg" --storage.tsdb.path="$WORK/prom/data" \
        --storage.tsdb.retention.time=40d --web.listen-address="127.0.0.1:$port" \
        --web.enable-lifecycle --log.level=warn >>"$WORK/prom/prometheus.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for ((i = 0; i < 3000; i++)); do
        if curl -sf -o /dev/null --max-time 2 "$base/-/ready"; then
            break
        fi
        kill -0 "$pid" 2>/dev/null || { tail -20 "$WORK/prom/prometheus.log" >&2; exit 1; }
        sleep 0.1
    done
    settle "$pid"
    m="$WORK/prom/metrics.txt"
    curl -sf "$base/metrics" >"$m"
    result "prometheus_idle pid=$pid rss_bytes=$(mem_bytes "$pid" VmRSS) rss_anon_bytes=$(mem_bytes "$pid" RssAnon) rss_file_bytes=$(mem_bytes "$pid" RssFile) go_heap_inuse_bytes=$(metric "$m" go_memstats_heap_inuse_bytes) blocks_loaded=$(metric "$m" prometheus_tsdb_blocks_loaded) compactions=$(metric "$m" prometheus_tsdb_compactions_total)"

    printf 'global:\n  evaluation_interval: %s\nrule_files:\n  - %s\n' "$BENCH_SLO_EVAL_INTERVAL" "$rules" >"$cfg"
    curl -sf -X POST -o /dev/null "$base/-/reload"
    interval_s=$(dur_s "$BENCH_SLO_EVAL_INTERVAL")
    log "prometheus (pid $pid, port $port): rules loaded; waiting for $BENCH_SLO_WARMUP evaluations of every group"
    while :; do
        curl -sf "$base/metrics" >"$m"
        groups=$(metric_count "$m" prometheus_rule_group_iterations_total)
        iters=$(metric "$m" prometheus_rule_group_iterations_total)
        if [[ "$groups" -ge "$BENCH_SLO_SLOS" && "$iters" != NA ]] &&
            awk -v i="$iters" -v g="$groups" -v w="$BENCH_SLO_WARMUP" 'BEGIN { exit !(i >= g * w) }'; then
            break
        fi
        kill -0 "$pid" 2>/dev/null || { tail -20 "$WORK/prom/prometheus.log" >&2; exit 1; }
        sleep 2
    done
    c0=$(cpu_ticks "$pid")
    i0=$iters
    t0=$(now)
    for ((s = 1; s <= BENCH_SLO_PROM_SAMPLES; s++)); do
        sleep "$interval_s"
        curl -sf "$base/metrics" >"$m"
        c1=$(cpu_ticks "$pid")
        i1=$(metric "$m" prometheus_rule_group_iterations_total)
        rounds=$(awk -v a="$i1" -v b="$i0" -v g="$groups" 'BEGIN { printf "%.3f", (a - b) / g }')
        cpu_per_round=$(awk -v a="$c1" -v b="$c0" -v hz="$HZ" -v r="$rounds" 'BEGIN { printf "%.3f", (r > 0 ? (a - b) / hz / r : 0) }')
        result "prometheus sample=$s groups=$groups rules=$((groups * 8)) full_tick_sum_group_s=$(metric "$m" prometheus_rule_group_last_duration_seconds) cpu_s_per_full_tick=$cpu_per_round rounds=$rounds wall_s=$(fsub "$(now)" "$t0") load1=$(cut -d' ' -f1 /proc/loadavg) missed=$(metric "$m" prometheus_rule_group_iterations_missed_total) eval_failures=$(metric "$m" prometheus_rule_evaluation_failures_total) rss_bytes=$(mem_bytes "$pid" VmRSS) rss_anon_bytes=$(mem_bytes "$pid" RssAnon) rss_file_bytes=$(mem_bytes "$pid" RssFile) hwm_bytes=$(mem_bytes "$pid" VmHWM) go_heap_inuse_bytes=$(metric "$m" go_memstats_heap_inuse_bytes)"
        c0=$c1
        i0=$i1
        t0=$(now)
    done

    # Same data? One SLO's 30-day ratio against burnrate's (Prometheus
    # extrapolates and evaluates a little later, so close, not equal).
    count=$(instant "$base" 'count(slo:sli_error:ratio_rate30d)')
    prom30=$(instant "$base" 'slo:sli_error:ratio_rate30d{sloth_id="svc0000-availability"}')
    br30=$(awk '/^burnrate check run=0 slo=svc0000-availability/ { for (i = 1; i <= NF; i++) if ($i ~ /^error_ratio_30d=/) { sub(/.*=/, "", $i); print $i } }' "$BENCH_SLO_RESULTS")
    result "crosscheck slos_with_30d_ratio=$count prometheus_svc0000_30d=$prom30 burnrate_svc0000_30d=${br30:-NA} rel_diff=$(awk -v a="$prom30" -v b="${br30:-0}" 'BEGIN { if (b + 0 == 0 || a == "NA") print "NA"; else printf "%.2e", (a - b) / b }')"
    stop_pid "$pid"
fi

# ---------------------------------------------------------------- summary
summary "$BENCH_SLO_RESULTS"
