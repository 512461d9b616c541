/*
 * test_promql_vs_prometheus.c — differential test of the PromQL engine and
 * the query API: the same SLI data (burnrate-loadgen, deterministic) is
 * remote-written into a real Prometheus 2.42 and into burnrate running
 * with `promql.compat: v2`; a few hundred generated queries (instant and
 * range: rates, increases, sums by label, ratios, histogram_quantile,
 * offsets, vector matching, *_over_time, topk) are sent to both through
 * the HTTP API, and the answers must have the same result type, the same
 * label sets and values equal within 1e-9 relative.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/core/clock.h"
#include "tests/helpers/peer.h"

#include <cjson/cJSON.h>
#include <math.h>

static char *dir;
static peer burnrate;
static peer prom;
static int br_port;
static int prom_port;
static int64_t data_end_ms;

static int run_loadgen(int port)
{
    const char *lg = getenv("BURNRATE_LOADGEN");
    char url[128];
    char now[32];
    char log[600];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/write", port);
    snprintf(now, sizeof(now), "%lld", (long long)data_end_ms);
    snprintf(log, sizeof(log), "%s/loadgen-%d.log", dir, port);
    char *const argv[] = {(char *)lg, "--url", url, "--backfill", "3h", "--now", now,
                          "--seed", "7", "--incident", "60m:30m:0.08", "--concurrency", "2",
                          "--quiet", NULL};
    peer p;
    if (peer_start(&p, log, argv) != 0) {
        return -1;
    }
    int status = 0;
    waitpid(p.pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    dir = tu_mkdtemp("it-promql");
    const char *bin = getenv("BURNRATE_BIN");
    if (dir == NULL || bin == NULL || getenv("BURNRATE_LOADGEN") == NULL ||
        access("/usr/bin/prometheus", X_OK) != 0) {
        fprintf(stderr, "needs BURNRATE_BIN, BURNRATE_LOADGEN and /usr/bin/prometheus\n");
        return -1;
    }
    /* Whole minutes, a little in the past, so both stores accept it all. */
    data_end_ms = (br_now_ms() / 60000) * 60000 - 60000;
    br_port = peer_free_port();
    prom_port = peer_free_port();
    char listen[64];
    char data[600];
    char log[600];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", br_port);
    snprintf(data, sizeof(data), "%s/burnrate-data", dir);
    snprintf(log, sizeof(log), "%s/burnrate.log", dir);
    char *cfg = tu_write_file(dir, "burnrate.yml", "promql:\n  compat: v2\nlog_level: warn\n");
    char *const br_argv[] = {(char *)bin, "serve", "--config", cfg, "--listen", listen,
                             "--data-dir", data, NULL};
    if (peer_start(&burnrate, log, br_argv) != 0) {
        return -1;
    }
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/ready", br_port);
    if (!peer_wait_http(&burnrate, url, 30)) {
        peer_dump_log(&burnrate);
        return -1;
    }
    free(cfg);
    free(tu_write_file(dir, "prometheus.yml", "global:\n  scrape_interval: 1h\n"));
    char cfg_flag[700];
    char tsdb_flag[700];
    char listen_flag[128];
    snprintf(cfg_flag, sizeof(cfg_flag), "--config.file=%s/prometheus.yml", dir);
    snprintf(tsdb_flag, sizeof(tsdb_flag), "--storage.tsdb.path=%s/prom-data", dir);
    snprintf(listen_flag, sizeof(listen_flag), "--web.listen-address=127.0.0.1:%d", prom_port);
    snprintf(log, sizeof(log), "%s/prometheus.log", dir);
    char *const prom_argv[] = {"/usr/bin/prometheus", cfg_flag, tsdb_flag, listen_flag,
                               "--web.enable-remote-write-receiver", NULL};
    if (peer_start(&prom, log, prom_argv) != 0) {
        return -1;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/ready", prom_port);
    if (!peer_wait_http(&prom, url, 60)) {
        peer_dump_log(&prom);
        return -1;
    }
    if (run_loadgen(br_port) != 0 || run_loadgen(prom_port) != 0) {
        fprintf(stderr, "loading data failed\n");
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    peer_stop(&prom, SIGTERM, 30);
    peer_stop(&burnrate, SIGTERM, 30);
    if (getenv("BR_KEEP_TEST_DIR") == NULL) {
        tu_rmtree(dir);
    }
    free(dir);
    curl_global_cleanup();
    return 0;
}

static cJSON *api_get(int port, const char *path, const char *query, const char *extra)
{
    char *esc = curl_easy_escape(NULL, query, 0);
    size_t len = strlen(esc) + strlen(extra) + 256;
    char *url = malloc(len);
    snprintf(url, len, "http://127.0.0.1:%d%s?query=%s&%s", port, path, esc, extra);
    curl_free(esc);
    tu_http_result r;
    cJSON *j = NULL;
    if (tu_http("GET", url, NULL, 0, NULL, &r) == 0) {
        j = cJSON_Parse(r.body);
    }
    tu_http_free(&r);
    free(url);
    return j;
}

static void labels_key(cJSON *metric, char *out, size_t size)
{
    const char *names[64];
    int n = 0;
    for (cJSON *l = metric ? metric->child : NULL; l != NULL && n < 64; l = l->next) {
        names[n++] = l->string;
    }
    for (int i = 1; i < n; i++) {
        const char *x = names[i];
        int j = i;
        while (j > 0 && strcmp(names[j - 1], x) > 0) {
            names[j] = names[j - 1];
            j--;
        }
        names[j] = x;
    }
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < n && o < size; i++) {
        o += (size_t)snprintf(out + o, size - o, "%s=%s,", names[i],
                              cJSON_GetObjectItem(metric, names[i])->valuestring);
    }
}

static bool values_equal(const char *a, const char *b)
{
    if (strcmp(a, b) == 0) {
        return true;
    }
    double x = strtod(a, NULL);
    double y = strtod(b, NULL);
    if (isnan(x) || isnan(y)) {
        return isnan(x) && isnan(y);
    }
    if (x == y) {
        return true;
    }
    return fabs(x - y) <= 1e-9 * fmax(fabs(x), fabs(y));
}

/* Compares a point [ts, "v"] of both answers. */
static bool points_equal(cJSON *p, cJSON *q)
{
    return fabs(cJSON_GetArrayItem(p, 0)->valuedouble - cJSON_GetArrayItem(q, 0)->valuedouble) <
               1e-6 &&
           values_equal(cJSON_GetArrayItem(p, 1)->valuestring,
                        cJSON_GetArrayItem(q, 1)->valuestring);
}

static int nonempty;

/* Returns NULL when equal, else a description of the first difference. */
static const char *compare(cJSON *want, cJSON *got, char *why, size_t size)
{
    if (want == NULL || got == NULL) {
        return "unparsable answer";
    }
    const char *ws = cJSON_GetObjectItem(want, "status")->valuestring;
    const char *gs = cJSON_GetObjectItem(got, "status")->valuestring;
    if (strcmp(ws, gs) != 0) {
        cJSON *e = cJSON_GetObjectItem(strcmp(gs, "error") == 0 ? got : want, "error");
        snprintf(why, size, "status %s vs %s (%s)", ws, gs, e ? e->valuestring : "");
        return why;
    }
    if (strcmp(ws, "success") != 0) {
        return NULL;
    }
    cJSON *wd = cJSON_GetObjectItem(want, "data");
    cJSON *gd = cJSON_GetObjectItem(got, "data");
    const char *wt = cJSON_GetObjectItem(wd, "resultType")->valuestring;
    const char *gt = cJSON_GetObjectItem(gd, "resultType")->valuestring;
    if (strcmp(wt, gt) != 0) {
        snprintf(why, size, "result type %s vs %s", wt, gt);
        return why;
    }
    cJSON *wr = cJSON_GetObjectItem(wd, "result");
    cJSON *gr = cJSON_GetObjectItem(gd, "result");
    if (strcmp(wt, "scalar") == 0) {
        return points_equal(wr, gr) ? NULL : "scalar differs";
    }
    if (cJSON_GetArraySize(wr) > 0) {
        nonempty++;
    }
    if (cJSON_GetArraySize(wr) != cJSON_GetArraySize(gr)) {
        snprintf(why, size, "%d series vs %d", cJSON_GetArraySize(wr), cJSON_GetArraySize(gr));
        return why;
    }
    for (cJSON *w = wr->child; w != NULL; w = w->next) {
        char key[2048];
        labels_key(cJSON_GetObjectItem(w, "metric"), key, sizeof(key));
        cJSON *match = NULL;
        for (cJSON *g = gr->child; g != NULL; g = g->next) {
            char gk[2048];
            labels_key(cJSON_GetObjectItem(g, "metric"), gk, sizeof(gk));
            if (strcmp(key, gk) == 0) {
                match = g;
                break;
            }
        }
        if (match == NULL) {
            snprintf(why, size, "series {%s} missing", key);
            return why;
        }
        if (strcmp(wt, "vector") == 0) {
            if (!points_equal(cJSON_GetObjectItem(w, "value"), cJSON_GetObjectItem(match, "value"))) {
                snprintf(why, size, "{%s}: %s vs %s", key,
                         cJSON_GetArrayItem(cJSON_GetObjectItem(w, "value"), 1)->valuestring,
                         cJSON_GetArrayItem(cJSON_GetObjectItem(match, "value"), 1)->valuestring);
                return why;
            }
            continue;
        }
        cJSON *wv = cJSON_GetObjectItem(w, "values");
        cJSON *gv = cJSON_GetObjectItem(match, "values");
        if (cJSON_GetArraySize(wv) != cJSON_GetArraySize(gv)) {
            snprintf(why, size, "{%s}: %d points vs %d", key, cJSON_GetArraySize(wv),
                     cJSON_GetArraySize(gv));
            return why;
        }
        cJSON *g = gv->child;
        for (cJSON *p = wv->child; p != NULL; p = p->next, g = g->next) {
            if (!points_equal(p, g)) {
                snprintf(why, size, "{%s} at %.3f: %s vs %s", key,
                         cJSON_GetArrayItem(p, 0)->valuedouble,
                         cJSON_GetArrayItem(p, 1)->valuestring,
                         cJSON_GetArrayItem(g, 1)->valuestring);
                return why;
            }
        }
    }
    return NULL;
}

static const char *const templates[] = {
    "rate(http_requests_total[%s])",
    "increase(http_requests_total{code=\"500\"}[%s])",
    "sum by (service) (rate(http_requests_total[%s]))",
    "sum by (service, code) (increase(http_requests_total[%s]))",
    "sum(rate(http_requests_total{code=~\"5..\"}[%s])) / sum(rate(http_requests_total[%s]))",
    "1 - sum by (service) (rate(http_requests_total{code!~\"5..\"}[%s])) / sum by (service) (rate(http_requests_total[%s]))",
    "histogram_quantile(0.99, sum by (le, service) (rate(http_request_duration_seconds_bucket[%s])))",
    "histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[%s])))",
    "sum by (service) (rate(http_request_duration_seconds_bucket{le=\"0.5\"}[%s])) / sum by (service) (rate(http_request_duration_seconds_count[%s]))",
    "rate(http_requests_total[%s] offset 10m)",
    "avg_over_time(http_requests_total{code=\"200\"}[%s])",
    "max_over_time(http_request_duration_seconds_sum[%s])",
    "count by (service) (rate(http_requests_total[%s]) > 0)",
    "topk(3, sum by (service, handler) (rate(http_requests_total[%s])))",
    "irate(http_requests_total{code=\"200\"}[%s])",
    "deriv(http_request_duration_seconds_count[%s])",
    "delta(http_request_duration_seconds_sum[%s])",
    "sum by (service) (rate(http_requests_total[%s])) * on (service) group_left sum by (service) (rate(http_request_duration_seconds_count[%s]))",
    "resets(http_requests_total[%s])",
    "changes(http_request_duration_seconds_count[%s])",
    "sum without (code, method) (rate(http_requests_total[%s]))",
    "quantile_over_time(0.9, http_request_duration_seconds_sum[%s])",
    "stddev by (service) (rate(http_requests_total[%s]))",
    "(sum by (service) (rate(http_requests_total{code=~\"5..\"}[%s])) / sum by (service) (rate(http_requests_total[%s]))) > bool 0.01",
};

static const char *const windows[] = {"5m", "30m", "1h"};

static void test_promql_answers_equal_prometheus(void **state)
{
    (void)state;
    int checked = 0;
    int failed = 0;
    const int64_t offsets_s[] = {0, 600, 2400, 5000};
    for (size_t t = 0; t < sizeof(templates) / sizeof(templates[0]); t++) {
        for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
            char q[1024];
            snprintf(q, sizeof(q), templates[t], windows[w], windows[w]);
            for (size_t o = 0; o < sizeof(offsets_s) / sizeof(offsets_s[0]); o++) {
                char extra[128];
                double at = (double)data_end_ms / 1000.0 - (double)offsets_s[o];
                snprintf(extra, sizeof(extra), "time=%.3f", at);
                cJSON *want = api_get(prom_port, "/api/v1/query", q, extra);
                cJSON *got = api_get(br_port, "/api/v1/query", q, extra);
                char why[4096];
                const char *diff = compare(want, got, why, sizeof(why));
                checked++;
                if (diff != NULL) {
                    failed++;
                    fprintf(stderr, "DIFF instant %s at %.3f: %s\n", q, at, diff);
                }
                cJSON_Delete(want);
                cJSON_Delete(got);
            }
            char extra[160];
            snprintf(extra, sizeof(extra), "start=%.3f&end=%.3f&step=60",
                     (double)data_end_ms / 1000.0 - 7200, (double)data_end_ms / 1000.0);
            cJSON *want = api_get(prom_port, "/api/v1/query_range", q, extra);
            cJSON *got = api_get(br_port, "/api/v1/query_range", q, extra);
            char why[4096];
            const char *diff = compare(want, got, why, sizeof(why));
            checked++;
            if (diff != NULL) {
                failed++;
                fprintf(stderr, "DIFF range %s: %s\n", q, diff);
            }
            cJSON_Delete(want);
            cJSON_Delete(got);
        }
    }
    fprintf(stderr, "compared %d queries with Prometheus 2.42 (%d with non-empty results): %d differ\n",
            checked, nonempty, failed);
    assert_int_equal(failed, 0);
    /* A comparison of empty answers would prove nothing. */
    assert_true(nonempty > checked * 9 / 10);
}

/* Runs promtool with args against port; returns its stdout with lines
 * sorted (vector order is unspecified in the API), malloc'd. */
static char *promtool(int port, char *const *args)
{
    char out_path[700];
    snprintf(out_path, sizeof(out_path), "%s/promtool-%d.out", dir, port);
    unlink(out_path);
    char *argv[16];
    size_t n = 0;
    argv[n++] = "/usr/bin/promtool";
    argv[n++] = "query";
    for (size_t i = 0; args[i] != NULL && n < 14; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    /* The server URL goes after the subcommand (argv[2]). */
    for (size_t i = n; i > 3; i--) {
        argv[i] = argv[i - 1];
    }
    argv[3] = url;
    argv[++n] = NULL;
    peer p;
    if (peer_start(&p, out_path, argv) != 0) {
        return NULL;
    }
    int status = 0;
    waitpid(p.pid, &status, 0);
    FILE *f = fopen(out_path, "r");
    if (f == NULL) {
        return NULL;
    }
    char *lines[4096];
    size_t nl = 0;
    char buf[8192];
    while (nl < 4096 && fgets(buf, sizeof(buf), f) != NULL) {
        lines[nl++] = strdup(buf);
    }
    fclose(f);
    for (size_t i = 1; i < nl; i++) {
        char *x = lines[i];
        size_t j = i;
        while (j > 0 && strcmp(lines[j - 1], x) > 0) {
            lines[j] = lines[j - 1];
            j--;
        }
        lines[j] = x;
    }
    size_t total = 1;
    for (size_t i = 0; i < nl; i++) {
        total += strlen(lines[i]);
    }
    char *out = calloc(1, total);
    for (size_t i = 0; i < nl; i++) {
        strcat(out, lines[i]);
        free(lines[i]);
    }
    return out;
}

static void test_promtool_output_equal_prometheus(void **state)
{
    (void)state;
    if (access("/usr/bin/promtool", X_OK) != 0) {
        skip();
    }
    char at[32];
    char start[32];
    char end[32];
    snprintf(at, sizeof(at), "--time=%.3f", (double)data_end_ms / 1000.0 - 300);
    snprintf(start, sizeof(start), "--start=%.3f", (double)data_end_ms / 1000.0 - 1800);
    snprintf(end, sizeof(end), "--end=%.3f", (double)data_end_ms / 1000.0);
    char *const instant1[] = {"instant", at, "sum by (service) (rate(http_requests_total[5m]))", NULL};
    char *const instant2[] = {"instant", at,
                              "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[30m])))",
                              NULL};
    char *const range1[] = {"range", start, end, "--step=5m",
                            "sum by (service) (increase(http_requests_total{code=~\"5..\"}[30m]))",
                            NULL};
    char *const series1[] = {"series", "--match=http_requests_total{service=\"svc-1\",code=\"500\"}", NULL};
    char *const labels1[] = {"labels", "code", NULL};
    char *const *cases[] = {instant1, instant2, range1, series1, labels1};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *want = promtool(prom_port, cases[i]);
        char *got = promtool(br_port, cases[i]);
        assert_non_null(want);
        assert_non_null(got);
        if (strcmp(want, got) != 0) {
            fprintf(stderr, "promtool query %s differs:\n--- Prometheus\n%s--- burnrate\n%s", cases[i][0],
                    want, got);
        }
        assert_true(strlen(want) > 10);
        assert_string_equal(want, got);
        free(want);
        free(got);
    }
    fprintf(stderr, "promtool query instant/range/series/labels: identical output\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_promql_answers_equal_prometheus),
        cmocka_unit_test(test_promtool_output_equal_prometheus),
    };
    return cmocka_run_group_tests_name("promql_vs_prometheus", tests, setup, teardown);
}
