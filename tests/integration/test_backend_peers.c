/*
 * test_backend_peers.c — the SLO evaluator on a remote backend gives the
 * embedded store's numbers: a real Prometheus (2.x, remote-write receiver
 * on) and a real VictoriaMetrics are started on loopback in a temp dir,
 * the same synthetic SLI counters (errors, a counter reset, four hours of
 * 15 s samples ending ten minutes ago) are remote-written to both and
 * committed to an embedded br_head, and one grouped availability SLO is
 * evaluated on each backend at the same times. Budget remaining, the SLI
 * of every window and the burn rates must agree within 1e-9.
 *
 * Then the outage: Prometheus is stopped; the tick fails with BR_EIO, the
 * status says "backend unavailable" and shows no data and no alert; once
 * Prometheus is back (same data dir) the numbers return.
 *
 * Skips when prometheus or victoria-metrics is not on PATH (setup.sh
 * installs both, so CI runs it). Peers are stopped by PID.
 */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "api/remote_write_encode.h"
#include "engine/core/alloc.h"
#include "engine/core/clock.h"
#include "engine/core/log.h"
#include "engine/promql/backend_remote.h"
#include "rules/alert.h"
#include "rules/evaluator.h"
#include "rules/slo.h"
#include "storage/head.h"
#include "tests/helpers/peer.h"

#include <math.h>

#define STEP_MS  15000
#define HOURS    4
#define N_SERIES 4

typedef struct env {
    const char *skip;
    char *dir;
    char prom_bin[512];
    char vm_bin[512];
    peer prom;
    peer vm;
    int prom_port;
    int vm_port;
    char prom_url[64];
    char vm_url[64];
    int64_t data_start;
    int64_t data_end;
    br_head *head;
    br_slo_set *slos;
} env;

static env E;

static bool find_on_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    while (path != NULL && *path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(out, size, "%.*s/%s", (int)len, path, name);
        if (len > 0 && access(out, X_OK) == 0) {
            return true;
        }
        path = colon ? colon + 1 : NULL;
    }
    return false;
}

static int start_prometheus(void)
{
    char cfg[700];
    char tsdb[700];
    char listen[128];
    char log[700];
    snprintf(cfg, sizeof(cfg), "--config.file=%s/prometheus.yml", E.dir);
    snprintf(tsdb, sizeof(tsdb), "--storage.tsdb.path=%s/prom-data", E.dir);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", E.prom_port);
    snprintf(log, sizeof(log), "%s/prometheus.log", E.dir);
    char *const argv[] = {E.prom_bin,
                          cfg,
                          tsdb,
                          listen,
                          "--web.enable-remote-write-receiver",
                          "--storage.tsdb.retention.time=30d",
                          NULL};
    if (peer_start(&E.prom, log, argv) != 0) {
        return -1;
    }
    char url[128];
    snprintf(url, sizeof(url), "%s/-/ready", E.prom_url);
    if (!peer_wait_http(&E.prom, url, 60)) {
        peer_dump_log(&E.prom);
        return -1;
    }
    return 0;
}

static int start_vm(void)
{
    char data[700];
    char listen[128];
    char log[700];
    snprintf(data, sizeof(data), "-storageDataPath=%s/vm-data", E.dir);
    snprintf(listen, sizeof(listen), "-httpListenAddr=127.0.0.1:%d", E.vm_port);
    snprintf(log, sizeof(log), "%s/vm.log", E.dir);
    char *const argv[] = {E.vm_bin, data, listen, "-retentionPeriod=10y", "-loggerLevel=WARN",
                          NULL};
    if (peer_start(&E.vm, log, argv) != 0) {
        return -1;
    }
    char url[128];
    snprintf(url, sizeof(url), "%s/health", E.vm_url);
    if (!peer_wait_http(&E.vm, url, 60)) {
        peer_dump_log(&E.vm);
        return -1;
    }
    return 0;
}

/* Series k: service a|b, code 200|500; counter value at step i. a/500
 * resets to 0 at the middle; b/500 has a burst of errors in the last hour. */
static double value_at(int k, int64_t i, int64_t n)
{
    switch (k) {
    case 0: /* a 200 */
        return (double)(i * 50 + (i % 7));
    case 1: /* a 500 */
        return i < n / 2 ? (double)(i / 3) : (double)((i - n / 2) / 4);
    case 2: /* b 200 */
        return (double)(i * 30);
    default: /* b 500 */
        return i < n - 240 ? (double)(i / 10) : (double)((n - 240) / 10 + (i - (n - 240)) * 9);
    }
}

static const char *const SERVICES[N_SERIES] = {"a", "a", "b", "b"};
static const char *const CODES[N_SERIES] = {"200", "500", "200", "500"};

/* Writes [from, to) of every series as one remote-write request to url
 * (NULL = skip) and commits it to the embedded head. */
static int write_batch(const char *const urls[2], int64_t from_i, int64_t to_i, int64_t n)
{
    br_rw_series rs[N_SERIES];
    br_label labels[N_SERIES][4];
    br_sample *samples[N_SERIES];
    br_series_input in[N_SERIES];
    for (int k = 0; k < N_SERIES; k++) {
        labels[k][0] = (br_label){"__name__", "http_requests_total"};
        labels[k][1] = (br_label){"code", CODES[k]};
        labels[k][2] = (br_label){"job", "api"};
        labels[k][3] = (br_label){"service", SERVICES[k]};
        samples[k] = br_malloc(sizeof(br_sample) * (size_t)(to_i - from_i));
        for (int64_t i = from_i; i < to_i; i++) {
            samples[k][i - from_i].t = E.data_start + i * STEP_MS;
            samples[k][i - from_i].v = value_at(k, i, n);
        }
        memset(&rs[k], 0, sizeof(rs[k]));
        rs[k].labels = labels[k];
        rs[k].n_labels = 4;
        rs[k].samples = samples[k];
        rs[k].n_samples = (size_t)(to_i - from_i);
        in[k] = (br_series_input){.labels = labels[k],
                                  .n_labels = 4,
                                  .samples = samples[k],
                                  .n_samples = (size_t)(to_i - from_i)};
    }
    br_buf body;
    br_buf_init(&body, 0);
    br_err err;
    br_err_clear(&err);
    int rc = br_rw_encode(1, rs, N_SERIES, &body, &err);
    const char *headers[] = {"Content-Encoding: snappy", "Content-Type: application/x-protobuf",
                             "X-Prometheus-Remote-Write-Version: 0.1.0", NULL};
    for (int u = 0; u < 2 && rc == 0; u++) {
        tu_http_result r;
        if (tu_http("POST", urls[u], body.data, body.len, headers, &r) != 0 ||
            r.status / 100 != 2) {
            fprintf(stderr, "remote write to %s failed: %ld %s\n", urls[u], (long)r.status, r.body);
            rc = -1;
        }
        tu_http_free(&r);
    }
    br_commit_result res;
    if (rc == 0 && br_head_commit(E.head, in, N_SERIES, &res, &err) != 0) {
        rc = -1;
    }
    br_buf_free(&body);
    for (int k = 0; k < N_SERIES; k++) {
        br_free(samples[k]);
    }
    return rc;
}

static const char *SLO_YAML = "slos:\n"
                              "  - service: api\n"
                              "    name: availability\n"
                              "    objective: 99%\n"
                              "    period: 7d\n"
                              "    grouping: [service]\n"
                              "    sli:\n"
                              "      events:\n"
                              "        bad: 'http_requests_total{job=\"api\", code=~\"5..\"}'\n"
                              "        total: 'http_requests_total{job=\"api\"}'\n";

static int setup(void **state)
{
    (void)state;
    memset(&E, 0, sizeof(E));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    br_log_set_level(BR_LOG_WARN);
    if (!find_on_path("prometheus", E.prom_bin, sizeof(E.prom_bin))) {
        E.skip = "prometheus is not on PATH";
        return 0;
    }
    if (!find_on_path("victoria-metrics", E.vm_bin, sizeof(E.vm_bin))) {
        E.skip = "victoria-metrics is not on PATH";
        return 0;
    }
    E.dir = tu_mkdtemp("backend-peers");
    if (E.dir == NULL) {
        return -1;
    }
    free(tu_write_file(E.dir, "prometheus.yml", "global:\n  scrape_interval: 1h\n"));
    E.prom_port = peer_free_port();
    E.vm_port = peer_free_port();
    snprintf(E.prom_url, sizeof(E.prom_url), "http://127.0.0.1:%d", E.prom_port);
    snprintf(E.vm_url, sizeof(E.vm_url), "http://127.0.0.1:%d", E.vm_port);
    if (start_prometheus() != 0 || start_vm() != 0) {
        return -1;
    }
    br_head_options ho;
    memset(&ho, 0, sizeof(ho));
    br_err err;
    br_err_clear(&err);
    if (br_head_open(&ho, &E.head, &err) != 0) {
        return -1;
    }
    E.data_end = (br_now_ms() / 60000) * 60000 - 10 * 60000;
    int64_t n = HOURS * 3600 * 1000 / STEP_MS + 1;
    E.data_start = E.data_end - (n - 1) * STEP_MS;
    char pw[128];
    char vw[128];
    snprintf(pw, sizeof(pw), "%s/api/v1/write", E.prom_url);
    snprintf(vw, sizeof(vw), "%s/api/v1/write", E.vm_url);
    const char *const urls[2] = {pw, vw};
    for (int64_t i = 0; i < n; i += 120) { /* 30 minutes per request, oldest first */
        if (write_batch(urls, i, i + 120 < n ? i + 120 : n, n) != 0) {
            return -1;
        }
    }
    /* VictoriaMetrics buffers fresh rows for about a second. */
    char url[128];
    snprintf(url, sizeof(url), "%s/internal/force_flush", E.vm_url);
    tu_http_result r;
    tu_http("GET", url, NULL, 0, NULL, &r);
    tu_http_free(&r);
    char *path = tu_write_file(E.dir, "slos.yml", SLO_YAML);
    E.slos = br_slo_set_new();
    int rc = br_slo_load_file(E.slos, path, &err);
    free(path);
    if (rc != 0) {
        fprintf(stderr, "slo: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (E.prom.pid > 0) {
        peer_stop(&E.prom, SIGTERM, 30);
    }
    if (E.vm.pid > 0) {
        peer_stop(&E.vm, SIGTERM, 30);
    }
    br_head_close(E.head);
    br_slo_set_unref(E.slos);
    if (E.dir != NULL && getenv("BR_KEEP_TEST_DIR") == NULL) {
        tu_rmtree(E.dir);
    }
    free(E.dir);
    curl_global_cleanup();
    return 0;
}

#define SKIP_IF_NEEDED()                                                                           \
    do {                                                                                           \
        if (E.skip != NULL) {                                                                      \
            fprintf(stderr, "skipped: %s\n", E.skip);                                              \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static br_remote *remote_for(const char *url, br_remote_flavor flavor)
{
    br_remote_options o;
    memset(&o, 0, sizeof(o));
    o.url = url;
    o.flavor = flavor;
    o.retries = 1;
    o.retry_backoff_ms = 20;
    o.timeout_ms = 10000;
    br_err err;
    br_err_clear(&err);
    br_remote *r = br_remote_new(&o, &err);
    assert_non_null(r);
    return r;
}

static br_evaluator *evaluator_on(const br_queryable *q)
{
    br_evaluator_options eo;
    memset(&eo, 0, sizeof(eo));
    eo.backend = *q;
    br_err err;
    br_err_clear(&err);
    br_evaluator *e = br_evaluator_new(&eo, &err);
    assert_non_null(e);
    br_evaluator_set_slos(e, E.slos);
    return e;
}

static bool same(double a, double b)
{
    if (isnan(a) || isnan(b)) {
        return isnan(a) && isnan(b);
    }
    return fabs(a - b) <= 1e-9;
}

/* Compares every instance of two snapshots; returns the number compared. */
static size_t compare_snapshots(const char *what, const br_slo_snapshot *want,
                                const br_slo_snapshot *got)
{
    assert_int_equal(got->n_slos, want->n_slos);
    for (size_t i = 0; i < want->n_slos; i++) {
        const br_slo_status *w = &want->slos[i];
        const br_slo_status *g = &got->slos[i];
        assert_string_equal(g->instance_id, w->instance_id);
        assert_null(g->error);
        if (!same(g->budget_remaining, w->budget_remaining)) {
            fail_msg("%s %s: budget remaining %.12f, embedded %.12f", what, w->instance_id,
                     g->budget_remaining, w->budget_remaining);
        }
        assert_true(same(g->sli, w->sli));
        assert_int_equal(g->n_windows, w->n_windows);
        for (size_t k = 0; k < w->n_windows; k++) {
            if (!same(g->windows[k].error_ratio, w->windows[k].error_ratio) ||
                !same(g->windows[k].burn_rate, w->windows[k].burn_rate) ||
                !same(g->windows[k].total, w->windows[k].total)) {
                fail_msg("%s %s window %lld ms: ratio %.12g burn %.12g total %.12g, embedded "
                         "%.12g %.12g %.12g",
                         what, w->instance_id, (long long)w->windows[k].window_ms,
                         g->windows[k].error_ratio, g->windows[k].burn_rate, g->windows[k].total,
                         w->windows[k].error_ratio, w->windows[k].burn_rate, w->windows[k].total);
            }
        }
        assert_int_equal(g->last_sample_ms, w->last_sample_ms);
    }
    return want->n_slos;
}

static void test_remote_backends_agree_with_embedded(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    br_queryable lq;
    br_queryable_local(E.head, &lq);
    br_remote *prom = remote_for(E.prom_url, BR_REMOTE_PROMETHEUS);
    br_remote *vm = remote_for(E.vm_url, BR_REMOTE_VICTORIAMETRICS);
    br_queryable pq;
    br_queryable vq;
    br_queryable_remote(prom, &pq);
    br_queryable_remote(vm, &vq);
    br_evaluator *el = evaluator_on(&lq);
    br_evaluator *ep = evaluator_on(&pq);
    br_evaluator *ev = evaluator_on(&vq);
    br_err err;
    /* Three ticks: a full recount, then incremental ones (with the data
     * end inside the settle time of the last). */
    int64_t ticks[3] = {E.data_end - 30 * 60000, E.data_end - 30 * 60000 + 30000,
                        E.data_end + 30000};
    size_t compared = 0;
    for (int t = 0; t < 3; t++) {
        br_err_clear(&err);
        assert_int_equal(br_evaluator_tick(el, ticks[t], &err), 0);
        br_err_clear(&err);
        int rc = br_evaluator_tick(ep, ticks[t], &err);
        if (rc != 0) {
            fail_msg("prometheus tick: %s", err.msg);
        }
        br_err_clear(&err);
        rc = br_evaluator_tick(ev, ticks[t], &err);
        if (rc != 0) {
            fail_msg("victoriametrics tick: %s", err.msg);
        }
        br_slo_snapshot *sl = br_evaluator_snapshot(el);
        br_slo_snapshot *sp = br_evaluator_snapshot(ep);
        br_slo_snapshot *sv = br_evaluator_snapshot(ev);
        assert_int_equal(sl->n_slos, 2);
        assert_false(sl->slos[0].no_data);
        assert_true(sl->slos[1].budget_remaining < sl->slos[0].budget_remaining);
        compared += compare_snapshots("prometheus", sl, sp);
        compared += compare_snapshots("victoriametrics", sl, sv);
        if (t == 2) {
            fprintf(stderr, "budget remaining: %s %.9f, %s %.9f (all three backends)\n",
                    sl->slos[0].instance_id, sl->slos[0].budget_remaining, sl->slos[1].instance_id,
                    sl->slos[1].budget_remaining);
        }
        br_slo_snapshot_unref(sl);
        br_slo_snapshot_unref(sp);
        br_slo_snapshot_unref(sv);
    }
    assert_int_equal(compared, 12);
    br_remote_stats st;
    br_remote_stats_get(prom, &st);
    fprintf(stderr,
            "prometheus backend: %llu requests, %llu full and %llu incremental fetches, "
            "%llu samples\n",
            (unsigned long long)st.requests, (unsigned long long)st.full_fetches,
            (unsigned long long)st.incremental_fetches, (unsigned long long)st.samples_fetched);
    assert_int_equal(st.full_fetches, 2); /* one per selector */
    assert_true(st.incremental_fetches >= 2);
    br_evaluator_free(el);
    br_evaluator_free(ep);
    br_evaluator_free(ev);
    br_remote_free(prom);
    br_remote_free(vm);
}

static void test_backend_down_shows_unavailable_then_recovers(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    br_queryable lq;
    br_queryable_local(E.head, &lq);
    br_remote *prom = remote_for(E.prom_url, BR_REMOTE_PROMETHEUS);
    br_queryable pq;
    br_queryable_remote(prom, &pq);
    br_evaluator *el = evaluator_on(&lq);
    br_evaluator *ep = evaluator_on(&pq);
    br_err err;
    int64_t t = E.data_end + 30000;
    br_err_clear(&err);
    assert_int_equal(br_evaluator_tick(ep, t, &err), 0);
    /* Before the outage service b burns its budget: some alert condition holds. */
    br_slo_snapshot *before = br_evaluator_snapshot(ep);
    size_t conditions = 0;
    for (size_t a = 0; a < before->slos[1].n_alerts; a++) {
        conditions += before->slos[1].alerts[a].condition;
    }
    assert_true(conditions > 0);
    br_slo_snapshot_unref(before);
    assert_int_equal(peer_stop(&E.prom, SIGTERM, 30) >= 0, 1);
    br_err_clear(&err);
    assert_int_equal(br_evaluator_tick(ep, t + 30000, &err), BR_EIO);
    assert_non_null(strstr(err.msg, "backend unavailable"));
    br_slo_snapshot *s = br_evaluator_snapshot(ep);
    assert_true(s->n_slos >= 1);
    for (size_t i = 0; i < s->n_slos; i++) {
        const br_slo_status *st = &s->slos[i];
        assert_non_null(st->error);
        assert_non_null(strstr(st->error, "backend unavailable"));
        assert_true(st->no_data);
        for (size_t a = 0; a < st->n_alerts; a++) {
            assert_int_equal(st->alerts[a].state, BR_ALERT_INACTIVE);
            assert_false(st->alerts[a].condition);
        }
    }
    br_slo_snapshot_unref(s);
    assert_int_equal(start_prometheus(), 0);
    br_err_clear(&err);
    int rc = br_evaluator_tick(ep, t + 60000, &err);
    if (rc != 0) {
        fail_msg("after restart: %s", err.msg);
    }
    br_err_clear(&err);
    assert_int_equal(br_evaluator_tick(el, t + 60000, &err), 0);
    br_slo_snapshot *sl = br_evaluator_snapshot(el);
    br_slo_snapshot *sp = br_evaluator_snapshot(ep);
    assert_int_equal(compare_snapshots("prometheus after restart", sl, sp), 2);
    br_slo_snapshot_unref(sl);
    br_slo_snapshot_unref(sp);
    br_evaluator_free(el);
    br_evaluator_free(ep);
    br_remote_free(prom);
}

/* Counts the firing alerts of one snapshot row. */
static size_t firing(const br_slo_status *st)
{
    size_t n = 0;
    for (size_t a = 0; a < st->n_alerts; a++) {
        n += st->alerts[a].state == BR_ALERT_FIRING;
    }
    return n;
}

/* With alerting on, a page that fires before the outage keeps firing
 * through it (no false resolve notification while nothing can be read)
 * and is decided again once the backend answers. */
static void test_backend_down_holds_firing_alerts(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    br_remote *prom = remote_for(E.prom_url, BR_REMOTE_PROMETHEUS);
    br_queryable pq;
    br_queryable_remote(prom, &pq);
    char dir[1100];
    snprintf(dir, sizeof(dir), "%s/alerting-hold", E.dir);
    br_alerting_options ao;
    memset(&ao, 0, sizeof(ao));
    ao.data_dir = dir;
    br_err err;
    br_err_clear(&err);
    br_alerting *al = br_alerting_open(&ao, &err);
    assert_non_null(al);
    br_evaluator_options eo;
    memset(&eo, 0, sizeof(eo));
    eo.backend = pq;
    eo.alerting = al;
    br_evaluator *ep = br_evaluator_new(&eo, &err);
    assert_non_null(ep);
    br_evaluator_set_slos(ep, E.slos);
    /* Tick until service b's page fires (its `for` passes). */
    int64_t t = E.data_end + 30000;
    size_t fired = 0;
    for (int i = 0; i < 40 && fired == 0; i++, t += 30000) {
        br_err_clear(&err);
        assert_int_equal(br_evaluator_tick(ep, t, &err), 0);
        br_slo_snapshot *s = br_evaluator_snapshot(ep);
        fired = firing(&s->slos[1]);
        br_slo_snapshot_unref(s);
    }
    assert_true(fired > 0);
    assert_int_equal(peer_stop(&E.prom, SIGTERM, 30) >= 0, 1);
    for (int i = 0; i < 3; i++, t += 30000) {
        br_err_clear(&err);
        assert_int_equal(br_evaluator_tick(ep, t, &err), BR_EIO);
        br_slo_snapshot *s = br_evaluator_snapshot(ep);
        assert_true(s->slos[1].no_data);
        assert_int_equal(firing(&s->slos[1]), fired);
        br_slo_snapshot_unref(s);
    }
    assert_int_equal(start_prometheus(), 0);
    br_err_clear(&err);
    assert_int_equal(br_evaluator_tick(ep, t, &err), 0);
    br_slo_snapshot *s = br_evaluator_snapshot(ep);
    assert_false(s->slos[1].no_data);
    br_slo_snapshot_unref(s);
    br_evaluator_free(ep);
    assert_int_equal(br_alerting_close(al, NULL), 0);
    br_remote_free(prom);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remote_backends_agree_with_embedded),
        cmocka_unit_test(test_backend_down_shows_unavailable_then_recovers),
        cmocka_unit_test(test_backend_down_holds_firing_alerts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
