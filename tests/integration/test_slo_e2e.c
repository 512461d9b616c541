/*
 * test_slo_e2e.c — the SLO evaluator end to end on the real binaries: the
 * load generator remote-writes live traffic with an injected error burst
 * into burnrate, which evaluates an availability SLO every second.
 *
 * Checks:
 *  - the fast-burn page (14.4x over 2m and 30s, for 0s) is seen firing in
 *    /api/v1/slos within two evaluation intervals (plus polling slack) of
 *    the moment the raw data crosses 14.4x on both windows — that moment
 *    is computed here from the raw samples read back through
 *    /api/v1/export, independently of the evaluator;
 *  - ALERTS{alertstate="firing"} is queryable while it fires, and the
 *    Sloth series slo:sli_error:ratio_rate5m exists;
 *  - the page resolves after the burst has left the short window;
 *  - after traffic stops, budget remaining equals the value computed here
 *    by hand from the raw samples (reset-corrected increments over the
 *    1h period ending at the evaluation time) within 1e-6.
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#include "tests/helpers/peer.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>

#define INTERVAL_MS 1000
#define FACTOR      14.4
#define OBJECTIVE   0.999

typedef struct env {
    const char *bin;
    const char *loadgen;
    char *dir;
    int port;
    peer br;
    peer lg;
    char base[64];
} env;

static env E;

static const char *SLO_FILE =
    "slos:\n"
    "  - service: svc-0\n"
    "    name: availability\n"
    "    objective: 99.9%\n"
    "    period: 1h\n"
    "    sli:\n"
    "      events:\n"
    "        bad: 'http_requests_total{service=\"svc-0\",code=~\"5..\"}'\n"
    "        total: 'http_requests_total{service=\"svc-0\"}'\n"
    "    alerting:\n"
    "      name: Svc0Availability\n"
    "      tiers:\n"
    "        - {name: page-fast, severity: page, long: 2m, short: 30s, factor: 14.4, for: 0s}\n"
    "      budget_drop: false\n"
    "      exhaustion_within: false\n";

/* Wall-clock seconds: comparable with sample timestamps. */
static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static cJSON *get_json(const char *path)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", E.base, path);
    tu_http_result r;
    if (tu_http("GET", url, NULL, 0, NULL, &r) != 0 || r.status != 200) {
        tu_http_free(&r);
        return NULL;
    }
    cJSON *j = cJSON_Parse(r.body);
    tu_http_free(&r);
    return j;
}

/* The SLO's entry in /api/v1/slos, and the snapshot's eval time. */
static cJSON *find_slo(cJSON *root, double *eval_ms)
{
    cJSON *data = cJSON_GetObjectItem(root, "data");
    if (eval_ms != NULL) {
        *eval_ms = cJSON_GetNumberValue(cJSON_GetObjectItem(data, "eval_time_ms"));
    }
    cJSON *slo;
    cJSON_ArrayForEach(slo, cJSON_GetObjectItem(data, "slos"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(slo, "id")),
                   "svc-0-availability") == 0) {
            return slo;
        }
    }
    return NULL;
}

static const char *page_state(cJSON *slo)
{
    cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(slo, "alerts"))
    {
        const char *tier = cJSON_GetStringValue(cJSON_GetObjectItem(a, "tier"));
        if (tier != NULL && strcmp(tier, "page-fast") == 0) {
            return cJSON_GetStringValue(cJSON_GetObjectItem(a, "state"));
        }
    }
    return NULL;
}

/* Raw series read back: per series, timestamps and values. */
typedef struct raw_series {
    bool bad;
    size_t n;
    int64_t *t;
    double *v;
} raw_series;

static size_t read_raw(raw_series *out, size_t max)
{
    char url[512];
    snprintf(url, sizeof(url),
             "%s/api/v1/export?match[]=http_requests_total%%7Bservice%%3D%%22svc-0%%22%%7D",
             E.base);
    tu_http_result r;
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    size_t n = 0;
    char *line = r.body;
    while (line != NULL && *line != '\0' && n < max) {
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        cJSON *j = cJSON_Parse(line);
        if (j != NULL) {
            const char *code =
                cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metric"), "code"));
            cJSON *vals = cJSON_GetObjectItem(j, "values");
            cJSON *ts = cJSON_GetObjectItem(j, "timestamps");
            size_t k = (size_t)cJSON_GetArraySize(vals);
            raw_series *s = &out[n++];
            s->bad = code != NULL && code[0] == '5';
            s->n = k;
            s->t = calloc(k + 1, sizeof(int64_t));
            s->v = calloc(k + 1, sizeof(double));
            for (size_t i = 0; i < k; i++) {
                s->t[i] = (int64_t)cJSON_GetNumberValue(cJSON_GetArrayItem(ts, (int)i));
                /* Values come as JSON strings, as Prometheus writes them. */
                cJSON *v = cJSON_GetArrayItem(vals, (int)i);
                s->v[i] = cJSON_IsString(v) ? strtod(cJSON_GetStringValue(v), NULL)
                                            : cJSON_GetNumberValue(v);
            }
            cJSON_Delete(j);
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    tu_http_free(&r);
    return n;
}

/* Increments whose later sample lies in (from, to], resets counted. */
static void count(const raw_series *s, size_t n, int64_t from, int64_t to, double *bad,
                  double *total)
{
    *bad = 0;
    *total = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 1; k < s[i].n; k++) {
            if (s[i].t[k] <= from || s[i].t[k] > to) {
                continue;
            }
            double d = s[i].v[k] >= s[i].v[k - 1] ? s[i].v[k] - s[i].v[k - 1] : s[i].v[k];
            *total += d;
            if (s[i].bad) {
                *bad += d;
            }
        }
    }
}

static void free_raw(raw_series *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].t);
        free(s[i].v);
    }
}

static int setup(void **state)
{
    (void)state;
    E.bin = getenv("BURNRATE_BIN");
    E.loadgen = getenv("BURNRATE_LOADGEN");
    if (E.bin == NULL || E.loadgen == NULL) {
        fprintf(stderr, "needs BURNRATE_BIN and BURNRATE_LOADGEN\n");
        return -1;
    }
    E.dir = tu_mkdtemp("slo-e2e");
    E.port = peer_free_port();
    snprintf(E.base, sizeof(E.base), "http://127.0.0.1:%d", E.port);
    char *slos = tu_write_file(E.dir, "slos.yml", SLO_FILE);
    char cfg_text[2048];
    snprintf(cfg_text, sizeof(cfg_text),
             "evaluation:\n  interval: 1s\nstorage:\n  data_dir: %s/data\nslos:\n  - %s\n",
             E.dir, slos);
    char *cfg = tu_write_file(E.dir, "burnrate.yml", cfg_text);
    char listen[64];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", E.port);
    char log[1024];
    snprintf(log, sizeof(log), "%s/burnrate.log", E.dir);
    char *argv[] = {(char *)E.bin, "serve", "--config", cfg, "--listen", listen, NULL};
    if (peer_start(&E.br, log, argv) != 0) {
        return -1;
    }
    char ready[128];
    snprintf(ready, sizeof(ready), "%s/-/ready", E.base);
    if (!peer_wait_http(&E.br, ready, 30)) {
        peer_dump_log(&E.br);
        return -1;
    }
    free(slos);
    free(cfg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (E.lg.pid > 0) {
        peer_stop(&E.lg, SIGTERM, 10);
    }
    peer_stop(&E.br, SIGTERM, 20);
    if (getenv("BR_KEEP_TEST_DIR") == NULL) {
        tu_rmtree(E.dir);
    } else {
        fprintf(stderr, "kept %s\n", E.dir);
    }
    free(E.dir);
    return 0;
}

static void test_slo_fast_burn_pages_resolves_and_budget_is_exact(void **state)
{
    (void)state;
    /* 10 min of history, then live: the burst starts 40 s into the live
     * phase, lasts 40 s, and fails 60% of svc-0's requests. */
    char url[128];
    snprintf(url, sizeof(url), "%s/api/v1/write", E.base);
    char lglog[1024];
    snprintf(lglog, sizeof(lglog), "%s/loadgen.log", E.dir);
    char *argv[] = {(char *)E.loadgen, "--url", url, "--services", "2", "--endpoints", "2",
                    "--interval", "1s", "--backfill", "10m", "--live", "--incident",
                    "10m40s:40s:0.6", "--incident-service", "0", "--seed", "5", "--quiet", NULL};
    assert_int_equal(peer_start(&E.lg, lglog, argv), 0);
    double started = peer_now();
    double first_firing = 0;
    double resolved = 0;
    bool alerts_seen = false;
    while (peer_now() - started < 240) {
        cJSON *root = get_json("/api/v1/slos");
        cJSON *slo = root ? find_slo(root, NULL) : NULL;
        const char *st = slo ? page_state(slo) : NULL;
        if (st != NULL && strcmp(st, "firing") == 0 && first_firing == 0) {
            first_firing = wall_s();
        }
        if (first_firing > 0 && !alerts_seen) {
            cJSON *q = get_json("/api/v1/query?query=ALERTS%7Balertstate%3D%22firing%22%2C"
                                "alertname%3D%22Svc0Availability%22%7D");
            if (q != NULL) {
                cJSON *res = cJSON_GetObjectItem(cJSON_GetObjectItem(q, "data"), "result");
                alerts_seen = cJSON_GetArraySize(res) > 0;
                cJSON_Delete(q);
            }
        }
        if (first_firing > 0 && st != NULL && strcmp(st, "inactive") == 0) {
            resolved = wall_s();
        }
        cJSON_Delete(root);
        if (resolved > 0) {
            break;
        }
        usleep(200 * 1000);
    }
    assert_true(first_firing > 0);
    assert_true(alerts_seen);
    assert_true(resolved > first_firing);

    /* Stop the traffic; let two ticks pass so the snapshot covers it all. */
    peer_stop(&E.lg, SIGTERM, 10);
    E.lg.pid = 0;
    usleep(3 * INTERVAL_MS * 1000);

    raw_series raw[64];
    size_t n = read_raw(raw, 64);
    assert_true(n >= 7);
    /* The crossing: the first sample time at which both windows' error
     * ratios exceed 14.4 x (1 - objective). */
    int64_t crossing = 0;
    for (size_t k = 1; k < raw[0].n && crossing == 0; k++) {
        int64_t t = raw[0].t[k];
        double b2;
        double t2;
        double bs;
        double tsh;
        count(raw, n, t - 120000, t, &b2, &t2);
        count(raw, n, t - 30000, t, &bs, &tsh);
        if (t2 > 0 && tsh > 0 && b2 / t2 > FACTOR * (1 - OBJECTIVE) &&
            bs / tsh > FACTOR * (1 - OBJECTIVE)) {
            crossing = t;
        }
    }
    assert_true(crossing > 0);
    double lag_s = first_firing - (double)crossing / 1000.0;
    fprintf(stderr, "fast-burn page seen firing %.2f s after the data crossed 14.4x\n", lag_s);
    /* Two evaluation intervals, plus the 200 ms polling step and send lag. */
    assert_true(lag_s <= 2.0 * INTERVAL_MS / 1000.0 + 1.0);

    cJSON *root = get_json("/api/v1/slos");
    assert_non_null(root);
    double eval_ms = 0;
    cJSON *slo = find_slo(root, &eval_ms);
    assert_non_null(slo);
    double remaining =
        cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(slo, "budget"), "remaining"));
    double bad;
    double total;
    count(raw, n, (int64_t)eval_ms - 3600000, (int64_t)eval_ms, &bad, &total);
    double want = 1.0 - (bad / total) / (1.0 - OBJECTIVE);
    fprintf(stderr, "budget remaining: burnrate %.9f, by hand %.9f (bad %.0f of %.0f)\n",
            remaining, want, bad, total);
    assert_true(fabs(remaining - want) < 1e-6);
    cJSON_Delete(root);

    cJSON *q = get_json("/api/v1/query?query=slo%3Asli_error%3Aratio_rate5m");
    assert_non_null(q);
    assert_true(cJSON_GetArraySize(
                    cJSON_GetObjectItem(cJSON_GetObjectItem(q, "data"), "result")) >= 1);
    cJSON_Delete(q);
    free_raw(raw, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slo_fast_burn_pages_resolves_and_budget_is_exact),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
