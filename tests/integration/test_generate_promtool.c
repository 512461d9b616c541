/*
 * test_generate_promtool.c — what `burnrate generate` prints is a rules
 * file Prometheus itself accepts and evaluates.
 *
 * SLOs covering every SLI shape (counters with bad or good events, an le
 * bound, grouping, Sloth-style query templates, a raw ratio, a bool gauge,
 * a p99 threshold, time-slice budgeting, a 7d period) are built in code
 * over burnrate-loadgen's metrics and generated into a temp file; then
 *   1. `promtool check rules` must exit 0 and say SUCCESS;
 *   2. a real Prometheus (loopback port, temp dir, stopped by PID) loads
 *      the file with a 1s evaluation interval and receives 3h of loadgen
 *      history by remote write, the last 30 minutes with 8% of svc-0's
 *      requests failing; the recorded series must exist with plausible
 *      values (error ratios in [0, 1], the incident visible in svc-0's 5m
 *      window, one series per handler for the grouped SLO) and the
 *      budget-drop page must fire.
 * The comparison with burnrate's own numbers comes with the evaluator.
 * Skips (with a message) when promtool, prometheus or the load generator
 * is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/core/alloc.h"
#include "engine/core/clock.h"
#include "rules/generate.h"
#include "tests/helpers/peer.h"

#include <cjson/cJSON.h>
#include <math.h>

#define MIN_MS (60LL * 1000)
#define DAY_MS (24 * 60 * MIN_MS)

static char *dir;
static char *rules_path;
static const char *skip_reason;
static peer prom;
static int prom_port;
static bool prom_ready;

static char promtool[512];
static char prometheus[512];

/* Finds name on PATH; false when absent. */
static bool find_on_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (path == NULL) {
        path = "/usr/local/bin:/usr/bin:/bin";
    }
    while (*path != '\0') {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        snprintf(out, size, "%.*s/%s", (int)len, path, name);
        if (len > 0 && access(out, X_OK) == 0) {
            return true;
        }
        path += len;
        if (*path == ':') {
            path++;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* The SLOs                                                                 */
/* ------------------------------------------------------------------------ */

static br_slo_def *events(br_slo_set *s, const char *service, const char *name)
{
    br_slo_def *d = br_slo_def_new(s);
    d->service = service;
    d->name = name;
    d->objective = 0.999;
    d->sli.kind = BR_SLI_EVENTS;
    return d;
}

static void add(br_slo_set *s, br_slo_def *d)
{
    br_err err;
    br_err_clear(&err);
    if (br_slo_set_add(s, d, false, &err) != 0) {
        fprintf(stderr, "br_slo_set_add: %s\n", err.msg);
        abort();
    }
}

static br_slo_set *make_slos(void)
{
    br_slo_set *s = br_slo_set_new();
    br_arena *a = br_slo_set_arena(s);

    br_slo_def *d = events(s, "svc0", "availability");
    d->sli.bad.kind = BR_SOURCE_COUNTER;
    d->sli.bad.expr = "http_requests_total{service=\"svc-0\",code=~\"5..\"}";
    d->sli.total.kind = BR_SOURCE_COUNTER;
    d->sli.total.expr = "http_requests_total{service=\"svc-0\"}";
    d->alerting.name = "Svc0Availability";
    d->labels = br_arena_calloc(a, 1, sizeof(br_kv));
    d->labels[0] = (br_kv){"team", "checkout"};
    d->n_labels = 1;
    add(s, d);

    d = events(s, "svc0", "latency");
    d->objective = 0.99;
    d->sli.good.kind = BR_SOURCE_COUNTER;
    d->sli.good.expr = "http_request_duration_seconds_bucket{service=\"svc-0\"}";
    d->sli.good.le = 0.5;
    d->sli.total.kind = BR_SOURCE_COUNTER;
    d->sli.total.expr = "http_request_duration_seconds_count{service=\"svc-0\"}";
    add(s, d);

    d = events(s, "svc1", "availability-by-handler");
    d->sli.bad.kind = BR_SOURCE_COUNTER;
    d->sli.bad.expr = "http_requests_total{service=\"svc-1\",code=~\"5..\"}";
    d->sli.total.kind = BR_SOURCE_COUNTER;
    d->sli.total.expr = "http_requests_total{service=\"svc-1\"}";
    static const char *by_handler[] = {"handler"};
    d->grouping = by_handler;
    d->n_grouping = 1;
    add(s, d);

    d = events(s, "svc1", "sloth-style");
    d->format = BR_SLO_FORMAT_SLOTH;
    d->period.duration_ms = 7 * DAY_MS;
    d->sli.bad.kind = BR_SOURCE_QUERY;
    d->sli.bad.expr =
        "sum(rate(http_requests_total{service=\"svc-1\",code=~\"(5..|429)\"}[{{.window}}]))";
    d->sli.total.kind = BR_SOURCE_QUERY;
    d->sli.total.expr = "sum(rate(http_requests_total{service=\"svc-1\"}[{{ .window }}]))";
    d->alerting.page_disabled = true;
    add(s, d);

    d = events(s, "svc2", "raw");
    d->objective = 0.95;
    d->sli.kind = BR_SLI_RAW;
    d->sli.query = "sum(rate(http_requests_total{service=\"svc-2\",code=~\"5..\"}[{{.window}}]))\n"
                   "/\nsum(rate(http_requests_total{service=\"svc-2\"}[{{.window}}]))\n";
    d->alerting.page_disabled = true;
    d->alerting.ticket_disabled = true;
    add(s, d);

    d = events(s, "batch", "freshness");
    d->sli.good.kind = BR_SOURCE_BOOL_GAUGE;
    d->sli.good.expr = "job_fresh{job=\"etl\"}";
    d->sli.total.kind = BR_SOURCE_BOOL_GAUGE;
    d->sli.total.expr = "job_fresh{job=\"etl\"}";
    add(s, d);

    d = events(s, "svc0", "p99");
    d->objective = 0.95;
    d->sli.kind = BR_SLI_THRESHOLD;
    d->sli.query = "histogram_quantile(0.99, sum by (le) "
                   "(rate(http_request_duration_seconds_bucket{service=\"svc-0\"}[{{.window}}])))";
    d->sli.op = BR_OP_LT;
    d->sli.threshold = 2.5;
    add(s, d);

    d = events(s, "svc2", "slices");
    d->budgeting = BR_BUDGET_TIMESLICES;
    /* Longer than the gap between the end of the backfill and the first
     * evaluations, so the last slice holds samples. */
    d->slice_ms = 5 * MIN_MS;
    d->slice_target = 0.99;
    d->sli.bad.kind = BR_SOURCE_COUNTER;
    d->sli.bad.expr = "http_requests_total{service=\"svc-2\",code=~\"5..\"}";
    d->sli.total.kind = BR_SOURCE_COUNTER;
    d->sli.total.expr = "http_requests_total{service=\"svc-2\"}";
    add(s, d);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Running things                                                           */
/* ------------------------------------------------------------------------ */

/* Runs argv to completion with output in log; returns the exit status or -1. */
static int run(char *const argv[], const char *log)
{
    peer p;
    if (peer_start(&p, log, argv) != 0) {
        return -1;
    }
    int status = 0;
    waitpid(p.pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return strdup("");
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = malloc((size_t)n + 1);
    size_t got = fread(t, 1, (size_t)n, f);
    t[got] = '\0';
    fclose(f);
    return t;
}

static int run_loadgen(int64_t data_end_ms)
{
    const char *lg = getenv("BURNRATE_LOADGEN");
    char url[128];
    char now[32];
    char log[700];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/write", prom_port);
    snprintf(now, sizeof(now), "%lld", (long long)data_end_ms);
    snprintf(log, sizeof(log), "%s/loadgen.log", dir);
    /* The incident starts 150m after the first of 3h of steps: the last
     * 30 minutes. */
    char *const argv[] = {(char *)lg,  "--url",        url, "--backfill", "3h",  "--now", now,
                          "--seed",    "3",            "--incident", "150m:30m:0.08",
                          "--concurrency", "2",        "--quiet", NULL};
    return run(argv, log) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    dir = tu_mkdtemp("it-generate");
    if (dir == NULL) {
        return -1;
    }
    br_slo_set *set = make_slos();
    br_buf out;
    br_buf_init(&out, 0);
    br_err err;
    br_err_clear(&err);
    int rc = br_generate_rules(set, &out, &err);
    br_slo_set_unref(set);
    if (rc != 0) {
        fprintf(stderr, "br_generate_rules: %s\n", err.msg);
        br_buf_free(&out);
        return -1;
    }
    rules_path = tu_write_file(dir, "slo-rules.yml", br_buf_str(&out));
    br_buf_free(&out);
    if (rules_path == NULL) {
        return -1;
    }
    if (!find_on_path("promtool", promtool, sizeof(promtool))) {
        skip_reason = "promtool is not on PATH";
        return 0;
    }
    if (!find_on_path("prometheus", prometheus, sizeof(prometheus)) ||
        getenv("BURNRATE_LOADGEN") == NULL || access(getenv("BURNRATE_LOADGEN"), X_OK) != 0) {
        /* promtool alone still runs. */
        return 0;
    }
    prom_port = peer_free_port();
    /* First without the rules: recording rules writing at "now" would move
     * the head past the backfill and make Prometheus refuse it as out of
     * bounds. The rules come in with a reload after the data. */
    free(tu_write_file(dir, "prometheus.yml",
                       "global:\n  scrape_interval: 1h\n  evaluation_interval: 1s\n"));
    char cfg_flag[700];
    char tsdb_flag[700];
    char listen_flag[128];
    char log[700];
    snprintf(cfg_flag, sizeof(cfg_flag), "--config.file=%s/prometheus.yml", dir);
    snprintf(tsdb_flag, sizeof(tsdb_flag), "--storage.tsdb.path=%s/prom-data", dir);
    snprintf(listen_flag, sizeof(listen_flag), "--web.listen-address=127.0.0.1:%d", prom_port);
    snprintf(log, sizeof(log), "%s/prometheus.log", dir);
    char *const argv[] = {prometheus, cfg_flag, tsdb_flag, listen_flag,
                          "--web.enable-remote-write-receiver", NULL};
    if (peer_start(&prom, log, argv) != 0) {
        return -1;
    }
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/ready", prom_port);
    if (!peer_wait_http(&prom, url, 60)) {
        peer_dump_log(&prom);
        return -1;
    }
    /* Whole minutes, a little in the past. */
    int64_t data_end = (br_now_ms() / MIN_MS) * MIN_MS - MIN_MS;
    if (run_loadgen(data_end) != 0) {
        fprintf(stderr, "loading data into Prometheus failed\n");
        return -1;
    }
    char cfg[1024];
    snprintf(cfg, sizeof(cfg),
             "global:\n  scrape_interval: 1h\n  evaluation_interval: 1s\n"
             "rule_files:\n  - %s\n",
             rules_path);
    free(tu_write_file(dir, "prometheus.yml", cfg));
    kill(prom.pid, SIGHUP);
    prom_ready = true;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (prom.pid > 0) {
        peer_stop(&prom, SIGTERM, 30);
    }
    if (getenv("BR_KEEP_TEST_DIR") == NULL) {
        tu_rmtree(dir);
    }
    free(dir);
    free(rules_path);
    curl_global_cleanup();
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Querying Prometheus                                                      */
/* ------------------------------------------------------------------------ */

/* Instant query; returns the result array's parent (cJSON_Delete it) or NULL. */
static cJSON *query(const char *q)
{
    char *esc = curl_easy_escape(NULL, q, 0);
    char url[4096];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/query?query=%s", prom_port, esc);
    curl_free(esc);
    tu_http_result r;
    cJSON *j = NULL;
    if (tu_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200) {
        j = cJSON_Parse(r.body);
    }
    tu_http_free(&r);
    return j;
}

static cJSON *result_of(cJSON *j)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "result");
}

static double sample_value(cJSON *series)
{
    return strtod(cJSON_GetArrayItem(cJSON_GetObjectItem(series, "value"), 1)->valuestring, NULL);
}

static const char *series_label(cJSON *series, const char *name)
{
    cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(series, "metric"), name);
    return v != NULL ? v->valuestring : NULL;
}

/* Waits up to timeout_s for q to return at least min_series series;
 * returns the answer (cJSON_Delete it) or NULL. */
static cJSON *wait_for(const char *q, int min_series, double timeout_s)
{
    double deadline = peer_now() + timeout_s;
    do {
        cJSON *j = query(q);
        if (j != NULL && cJSON_GetArraySize(result_of(j)) >= min_series) {
            return j;
        }
        cJSON_Delete(j);
        usleep(500 * 1000);
    } while (peer_now() < deadline);
    return NULL;
}

#define NEED_PROMETHEUS()                                                                          \
    do {                                                                                           \
        if (skip_reason != NULL || !prom_ready) {                                                  \
            fprintf(stderr, "skipped: %s\n",                                                       \
                    skip_reason ? skip_reason                                                      \
                                : "needs prometheus on PATH and BURNRATE_LOADGEN");                \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

static void test_promtool_check_rules_accepts_the_generated_file(void **state)
{
    (void)state;
    if (skip_reason != NULL) {
        fprintf(stderr, "skipped: %s\n", skip_reason);
        skip();
    }
    char log[700];
    snprintf(log, sizeof(log), "%s/promtool.log", dir);
    char *const argv[] = {promtool, "check", "rules", rules_path, NULL};
    int status = run(argv, log);
    char *text = slurp(log);
    if (status != 0 || strstr(text, "SUCCESS") == NULL) {
        fprintf(stderr, "promtool said:\n%s\n", text);
    }
    assert_int_equal(status, 0);
    assert_non_null(strstr(text, "SUCCESS"));
    /* 8 SLOs: 8 SLI groups, 8 meta groups and 6 alert groups, every rule
     * counted once. */
    assert_non_null(strstr(text, "rules found"));
    free(text);
}

static void test_prometheus_records_error_ratios_with_the_incident_visible(void **state)
{
    (void)state;
    NEED_PROMETHEUS();
    cJSON *j = wait_for("slo:sli_error:ratio_rate5m{sloth_id=\"svc0-availability\"}", 1, 60);
    assert_non_null(j);
    cJSON *s = cJSON_GetArrayItem(result_of(j), 0);
    double v = sample_value(s);
    /* 8% of svc-0's requests fail during the incident (plus 0.08%). */
    fprintf(stderr, "svc0 availability 5m error ratio: %g\n", v);
    assert_true(v > 0.06 && v < 0.10);
    assert_string_equal(series_label(s, "sloth_service"), "svc0");
    assert_string_equal(series_label(s, "sloth_slo"), "availability");
    assert_string_equal(series_label(s, "sloth_window"), "5m");
    assert_string_equal(series_label(s, "team"), "checkout");
    cJSON_Delete(j);
    /* The 3d window dilutes 30 minutes of incident in 3h of data. */
    j = wait_for("slo:sli_error:ratio_rate3d{sloth_id=\"svc0-availability\"}", 1, 30);
    assert_non_null(j);
    double v3d = sample_value(cJSON_GetArrayItem(result_of(j), 0));
    fprintf(stderr, "svc0 availability 3d error ratio: %g\n", v3d);
    assert_true(v3d > 0.005 && v3d < v);
    cJSON_Delete(j);
    /* Budget remaining over the period: finite and below 1 (may be negative). */
    j = wait_for("slo:period_error_budget_remaining:ratio{sloth_id=\"svc0-availability\"}", 1, 30);
    assert_non_null(j);
    double rem = sample_value(cJSON_GetArrayItem(result_of(j), 0));
    fprintf(stderr, "svc0 availability budget remaining: %g\n", rem);
    assert_true(isfinite(rem) && rem < 1);
    cJSON_Delete(j);
}

static void test_prometheus_records_every_slo_kind(void **state)
{
    (void)state;
    NEED_PROMETHEUS();
    static const char *const ids[] = {"svc0-latency", "svc1-sloth-style", "svc2-raw",
                                      "svc0-p99", "svc2-slices"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char q[256];
        snprintf(q, sizeof(q), "slo:sli_error:ratio_rate5m{sloth_id=\"%s\"}", ids[i]);
        cJSON *j = wait_for(q, 1, 60);
        if (j == NULL) {
            fprintf(stderr, "no series for %s\n", q);
        }
        assert_non_null(j);
        double v = sample_value(cJSON_GetArrayItem(result_of(j), 0));
        fprintf(stderr, "%s 5m error ratio: %g\n", ids[i], v);
        assert_true(v >= 0 && v <= 1);
        cJSON_Delete(j);
    }
    /* The threshold SLI's per-slice value is a latency in seconds. */
    cJSON *j = wait_for("slo:sli_value:slice{sloth_id=\"svc0-p99\"}", 1, 30);
    assert_non_null(j);
    double p99 = sample_value(cJSON_GetArrayItem(result_of(j), 0));
    fprintf(stderr, "svc0 p99 over the last slice: %g s\n", p99);
    assert_true(p99 > 0 && p99 <= 10);
    cJSON_Delete(j);
    /* Meta rules. */
    j = wait_for("slo:time_period:days{sloth_id=\"svc1-sloth-style\"}", 1, 30);
    assert_non_null(j);
    assert_true(sample_value(cJSON_GetArrayItem(result_of(j), 0)) == 7);
    cJSON_Delete(j);
    j = wait_for("sloth_slo_info{sloth_id=\"svc1-sloth-style\",sloth_spec=\"prometheus/v1\"}", 1,
                 30);
    assert_non_null(j);
    cJSON_Delete(j);
}

static void test_prometheus_grouped_slo_has_one_series_per_handler(void **state)
{
    (void)state;
    NEED_PROMETHEUS();
    /* loadgen: 4 endpoints per service. */
    cJSON *j = wait_for("slo:sli_error:ratio_rate30m{sloth_id=\"svc1-availability-by-handler\"}",
                        4, 60);
    assert_non_null(j);
    cJSON *res = result_of(j);
    assert_int_equal(cJSON_GetArraySize(res), 4);
    for (cJSON *s = res->child; s != NULL; s = s->next) {
        assert_non_null(series_label(s, "handler"));
        double v = sample_value(s);
        assert_true(v >= 0 && v < 0.05);
    }
    cJSON_Delete(j);
    j = wait_for("slo:current_burn_rate:ratio{sloth_id=\"svc1-availability-by-handler\"}", 4, 30);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(result_of(j)), 4);
    cJSON_Delete(j);
}

static void test_prometheus_fires_the_budget_drop_page_during_the_incident(void **state)
{
    (void)state;
    NEED_PROMETHEUS();
    /* 1h error ratio ~4% for a 99.9% SLO over 30d: ~5.5% of the budget in
     * an hour, over the 5% threshold; the rule has no `for`. */
    cJSON *j = wait_for("ALERTS{alertname=\"Svc0AvailabilityBudgetDrop\",alertstate=\"firing\"}",
                        1, 60);
    assert_non_null(j);
    cJSON *s = cJSON_GetArrayItem(result_of(j), 0);
    assert_string_equal(series_label(s, "severity"), "page");
    assert_string_equal(series_label(s, "sloth_id"), "svc0-availability");
    cJSON_Delete(j);
    /* The multi-window page condition holds too (pending for its 2m `for`,
     * or firing). */
    j = wait_for("ALERTS{alertname=\"Svc0Availability\",sloth_severity=\"page\"}", 1, 60);
    assert_non_null(j);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_promtool_check_rules_accepts_the_generated_file),
        cmocka_unit_test(test_prometheus_records_error_ratios_with_the_incident_visible),
        cmocka_unit_test(test_prometheus_records_every_slo_kind),
        cmocka_unit_test(test_prometheus_grouped_slo_has_one_series_per_handler),
        cmocka_unit_test(test_prometheus_fires_the_budget_drop_page_during_the_incident),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
