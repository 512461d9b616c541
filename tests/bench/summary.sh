#!/usr/bin/env bash
# summary.sh — turns a results file written by run.sh into Markdown tables:
# medians over the runs per server, ratios burnrate/Prometheus and
# burnrate/VictoriaMetrics, storage per sample and per series with a 30-day
# projection (bytes per sample x series x samples per series in 30 days),
# restart times, and the one-thread bench_ingest lines.
#   bash tests/bench/summary.sh bench-results.txt
# Reads only its argument; prints to stdout.
set -euo pipefail
f=${1:?usage: summary.sh RESULTS_FILE}

awk '
function maxv(s, k,    i, m) { m = ""; for (i = 1; i <= cnt[s, k]; i++) if (m == "" || vals[s, k, i] > m) m = vals[s, k, i]; return m }
# median of the values stored in vals[server, key, i], i = 1..cnt[server, key]
function median(s, k,    n, i, j, t, a) {
    n = cnt[s, k]
    if (n == 0) return ""
    for (i = 1; i <= n; i++) a[i] = vals[s, k, i]
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmt(x, d) { return x == "" ? "n/a" : sprintf("%." d "f", x) }
function mill(x) { return x == "" ? "n/a" : sprintf("%.2f M", x / 1e6) }
function mib(x) { return x == "" ? "n/a" : sprintf("%.1f MiB", x / 1048576) }
function ratio(a, b) { return a == "" || b == "" || b == 0 ? "n/a" : sprintf("%.2f", a / b) }
/^# data:/ {
    for (i = 3; i <= NF; i++) { split($i, kv, "="); data[kv[1]] = kv[2] }
    print "Data set: " data["hours"] " h at " data["interval"] ", " data["services"] " services x " data["endpoints"] " endpoints, " data["connections"] " sender connections, " data["runs"] " runs."
    next
}
/^# machine:/ { sub(/^# machine: /, ""); print "Machine: " $0; next }
/^# versions:/ { sub(/^# versions: /, ""); print "Versions: " $0; next }
/^requests=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "series") series = kv[2] } next }
/^ingest / { ingest[++n_ingest] = substr($0, 8); next }
/^run=/ {
    s = ""
    for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "server") s = kv[2] }
    if (!(s in seen)) { seen[s] = 1; order[++n_servers] = s }
    for (i = 1; i <= NF; i++) {
        eq = index($i, "="); k = substr($i, 1, eq - 1); v = substr($i, eq + 1)
        if (v == "NA" || v == "" || v !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) continue
        vals[s, k, ++cnt[s, k]] = v + 0
    }
}
END {
    iv = data["interval"]; ivs = iv + 0
    if (iv ~ /m$/) ivs *= 60
    if (ivs <= 0) ivs = 15
    per_series_30d = 30 * 86400 / ivs
    print ""
    print "### Ingest over HTTP (medians)"
    print ""
    print "| server | wall s | samples/s (wall) | server CPU-s | samples per CPU-s | CPU-s incl. deferred work | samples per CPU-s incl. deferred | bodies not acknowledged (any run) | 1-min load average after ingest |"
    print "|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= n_servers; i++) {
        s = order[i]
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s, fmt(median(s, "wall_s"), 1), mill(median(s, "samples_per_s")),
            fmt(median(s, "cpu_ingest_s"), 1), mill(median(s, "samples_per_cpu_s")), fmt(median(s, "cpu_total_s"), 1),
            mill(median(s, "samples_per_cpu_s_total")), (maxv(s, "sender_rc") == 0 ? "none" : "some: see results"), fmt(median(s, "load1_after_ingest"), 1)
    }
    print ""
    print "| ratio | samples/s (wall) | samples per CPU-s | samples per CPU-s incl. deferred |"
    print "|---|---|---|---|"
    split("prometheus victoriametrics", peers, " ")
    for (p = 1; p <= 2; p++) {
        q = peers[p]
        if (!(q in seen) || !("burnrate" in seen)) continue
        printf "| burnrate / %s | %s | %s | %s |\n", q, ratio(median("burnrate", "samples_per_s"), median(q, "samples_per_s")),
            ratio(median("burnrate", "samples_per_cpu_s"), median(q, "samples_per_cpu_s")),
            ratio(median("burnrate", "samples_per_cpu_s_total"), median(q, "samples_per_cpu_s_total"))
    }
    print ""
    print "### Storage after ingest (medians; " series " series)"
    print ""
    print "Retained = compressed samples + index: burnrate chunk bytes + series tables (in memory);"
    print "Prometheus block and head chunk files + block indexes (on disk); VictoriaMetrics"
    print "storage parts + indexdb (on disk). The WAL is not retained data (it is truncated)."
    print ""
    print "| server | samples stored | chunk B/sample | index B/sample | retained B/sample | WAL B/sample | all files B/sample |"
    print "|---|---|---|---|---|---|---|"
    for (i = 1; i <= n_servers; i++) {
        s = order[i]
        st = median(s, "stored_samples"); cb = median(s, "chunk_bytes"); ib = median(s, "index_bytes")
        if (ib == "") ib = median(s, "series_bytes")
        db = median(s, "disk_bytes"); wb = median(s, "wal_bytes")
        rb = cb != "" ? cb + (ib != "" ? ib : 0) : ""
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", s, mill(st),
            (st > 0 && cb != "" ? fmt(cb / st, 3) : "n/a"), (st > 0 && ib != "" ? fmt(ib / st, 3) : "n/a"),
            (st > 0 && rb != "" ? fmt(rb / st, 3) : "n/a"), (st > 0 && wb != "" ? fmt(wb / st, 3) : "n/a"),
            (st > 0 && db != "" ? fmt(db / st, 3) : "n/a")
        retained[s] = st > 0 && rb != "" ? rb / st : ""
    }
    print ""
    print "| server | retained B/series | RSS | RSS/series | retained for 30 d at this rate, projected | per series |"
    print "|---|---|---|---|---|---|"
    for (i = 1; i <= n_servers; i++) {
        s = order[i]
        rss = median(s, "rss_bytes"); st = median(s, "stored_samples")
        r = retained[s]
        printf "| %s | %s | %s | %s | %s | %s |\n", s,
            (r != "" && series > 0 ? sprintf("%.0f B", r * st / series) : "n/a"), mib(rss),
            (series > 0 && rss != "" ? sprintf("%.0f B", rss / series) : "n/a"),
            (r != "" ? mib(r * series * per_series_30d) : "n/a"),
            (r != "" ? sprintf("%.0f KiB", r * per_series_30d / 1024) : "n/a")
    }
    print ""
    print "### Restart on the same data (medians)"
    print ""
    print "| server | after SIGKILL: start to ready, s | SIGTERM to exit, s | after SIGTERM: start to ready, s | data dir after SIGTERM | held after both restarts | peak RSS during ingest |"
    print "|---|---|---|---|---|---|---|"
    for (i = 1; i <= n_servers; i++) {
        s = order[i]
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", s, fmt(median(s, "crash_ready_s"), 2), fmt(median(s, "stop_s"), 2),
            fmt(median(s, "restart_ready_s"), 2), mib(median(s, "disk_after_stop_bytes")),
            (s == "prometheus" ? sprintf("%.0f head series", median(s, "after_restart")) : mill(median(s, "after_restart")) " samples"), mib(median(s, "peak_rss_bytes"))
    }
    if (n_ingest > 0) {
        print ""
        print "### burnrate decode + commit on one thread, no HTTP (bench_ingest)"
        print ""
        print "```"
        for (i = 1; i <= n_ingest; i++) print ingest[i]
        print "```"
    }
}' "$f"
