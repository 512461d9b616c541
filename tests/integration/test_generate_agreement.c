/*
 * test_generate_agreement.c — Prometheus 2.42 evaluating what `burnrate
 * generate` prints agrees with burnrate on the same data, as exactly as the
 * analysis below says. One SLO file (bad/total, good/total with an le
 * bucket, grouped by handler, Sloth query templates with a 7d period, a raw
 * ratio) feeds `burnrate generate`, burnrate (1s ticks, PromQL v2 mode) and,
 * by SIGHUP after the backfill, Prometheus. burnrate-loadgen writes the same
 * 3h (fixed --now/--seed: identical samples on the grid g_0 + k*D, D = 15s;
 * svc-0 fails 2% and is 4x slower from 2h20m to 2h55m) to both. Compared at
 * burnrate's tick times T (/api/v1/slos eval_time), Prometheus at time=T.
 *
 * burnrate counts over (T-w, T] the increments whose later sample is in the
 * window, so the one from the last sample at or before T-w is in. 2.42's
 * rate() sums the increments R of the samples in [T-w, T] and scales by
 * (S + a + b) / S: S their span, b equal for all series (shared timestamps),
 * a = min(distance to T-w, S*v_first/R), or D/2 when >= 1.1 D. Equal factors
 * cancel in sum(rate(bad)) / sum(rate(total)). With g_a the first sample
 * >= T-w, d = g_a - (T-w), Q = R_bad/R_total (integer counts over (g_a, T]),
 * I the increments at g_a, s = I_total/B_total, e_a = I_bad/I_total, P
 * Prometheus, B burnrate (for good/total SLOs read the good ratio 1 - Q):
 *   T-w >= g_0:  B - Q = s (e_a - Q)        the boundary scrape interval
 *                |P - Q| <= Q d/S            a counter near 0 at g_a only
 *                |P - B| <= s |Q - e_a| + Q d/S   (a priori: s ~ D/w)
 *                P = B exactly for rate(x[w + ((T-w-g_0) mod D)]): the range
 *                starts on the sample before the window, a = 0 everywhere.
 *   T-w < g_0:   both count v_last - v_first, but a is each series' own
 *                zero point in [0, 1.1 D): |P - B| <= B 1.1 D / S.
 *   budget remaining 1 - e/(1-o): the period window's bound / (1 - o).
 * Exact where it must be: burnrate's counts equal Prometheus'
 * sum(x - (x offset w or min_over_time(x[w]))) (no resets in the data); the
 * raw ratio (burnrate's own PromQL) equals Prometheus' on every window; the
 * recorded series equal /api/v1/slos and carry the generated names. Alert
 * states (/api/v1/alerts) must agree once every `for` (10s) has run out,
 * except alerts within 10% of a threshold (listed, not compared).
 * Skips without prometheus or the load generator.
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "engine/core/alloc.h"
#include "engine/core/clock.h"
#include "tests/helpers/peer.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>

#define STEP_MS    15000LL
#define BACKFILL   "3h"
#define FOR_S      10
#define N_INSTANTS 2
#define MAX_RULES  128
#define MAX_ALERTS 128
#define ROUNDING   1e-12

/* Four tiers with one short `for`, so Prometheus (one `for` per rule, the
 * shortest of its tiers') and burnrate time alerts alike. */
#define TIERS                                                                                      \
    "      tiers:\n"                                                                               \
    "        - {name: page-fast, severity: page, long: 1h, short: 5m, factor: 14.4, for: 10s}\n"   \
    "        - {name: page-slow, severity: page, long: 6h, short: 30m, factor: 6, for: 10s}\n"     \
    "        - {name: ticket-fast, severity: ticket, long: 1d, short: 2h, factor: 3, for: 10s}\n"  \
    "        - {name: ticket-slow, severity: ticket, long: 3d, short: 6h, factor: 1, for: 10s}\n"

/* clang-format off */
static const char *const SLO_FILE =
    "slos:\n"
    "  - service: svc0\n"
    "    name: availability\n"
    "    objective: 99.9%\n"
    "    labels: {team: checkout}\n"
    "    sli:\n"
    "      events:\n"
    "        bad: 'http_requests_total{service=\"svc-0\",code=~\"5..\"}'\n"
    "        total: 'http_requests_total{service=\"svc-0\"}'\n"
    "    alerting:\n"
    "      name: Svc0Availability\n"
    TIERS
    "  - service: svc0\n"
    "    name: availability-relaxed\n"
    "    objective: 99.5%\n"
    "    sli:\n"
    "      events:\n"
    "        bad: 'http_requests_total{service=\"svc-0\",code=~\"5..\"}'\n"
    "        total: 'http_requests_total{service=\"svc-0\"}'\n"
    "    alerting:\n"
    TIERS
    "  - service: svc0\n"
    "    name: latency\n"
    "    objective: 99%\n"
    "    sli:\n"
    "      latency:\n"
    "        histogram: 'http_request_duration_seconds{service=\"svc-0\"}'\n"
    "        threshold: 500ms\n"
    "    alerting:\n"
    TIERS
    "  - service: svc1\n"
    "    name: availability-by-handler\n"
    "    objective: 99%\n"
    "    grouping: [handler]\n"
    "    sli:\n"
    "      events:\n"
    "        bad: 'http_requests_total{service=\"svc-1\",code=~\"5..\"}'\n"
    "        total: 'http_requests_total{service=\"svc-1\"}'\n"
    "    alerting:\n"
    TIERS
    "  - service: svc1\n"
    "    name: sloth-style\n"
    "    objective: 99.9%\n"
    "    period: 7d\n"
    "    sli:\n"
    "      query:\n"
    "        bad: 'sum(rate(http_requests_total{service=\"svc-1\",code=~\"(5..|429)\"}"
                 "[{{.window}}]))'\n"
    "        total: 'sum(rate(http_requests_total{service=\"svc-1\"}[{{ .window }}]))'\n"
    "    alerting:\n"
    TIERS
    "  - service: svc2\n"
    "    name: raw\n"
    "    objective: 99.5%\n"
    "    sli:\n"
    "      raw:\n"
    "        error_ratio_query: 'sum(rate(http_requests_total{service=\"svc-2\",code=~\"5..\"}"
                               "[{{.window}}])) / "
                               "sum(rate(http_requests_total{service=\"svc-2\"}[{{.window}}]))'\n"
    "    alerting:\n"
    TIERS;
/* clang-format on */

/* How the test counts each SLO's events itself (the selectors above). */
typedef struct slo_case {
    const char *id;     /* burnrate's SLO id = sloth_id */
    const char *events; /* counter counted as events; NULL: raw ratio */
    bool events_good;   /* events are good events (errors = total - good) */
    const char *total;
    const char *by; /* grouping label or NULL */
} slo_case;

static const slo_case CASES[] = {
    {"svc0-availability", "http_requests_total{service=\"svc-0\",code=~\"5..\"}", false,
     "http_requests_total{service=\"svc-0\"}", NULL},
    {"svc0-availability-relaxed", "http_requests_total{service=\"svc-0\",code=~\"5..\"}", false,
     "http_requests_total{service=\"svc-0\"}", NULL},
    {"svc0-latency", "http_request_duration_seconds_bucket{service=\"svc-0\",le=\"0.5\"}", true,
     "http_request_duration_seconds_count{service=\"svc-0\"}", NULL},
    {"svc1-availability-by-handler", "http_requests_total{service=\"svc-1\",code=~\"5..\"}", false,
     "http_requests_total{service=\"svc-1\"}", "handler"},
    {"svc1-sloth-style", "http_requests_total{service=\"svc-1\",code=~\"(5..|429)\"}", false,
     "http_requests_total{service=\"svc-1\"}", NULL},
    {"svc2-raw", NULL, false, NULL, NULL},
};
#define N_CASES (sizeof(CASES) / sizeof(CASES[0]))

/* A recording rule as Prometheus loaded it (/api/v1/rules). */
typedef struct rule {
    char *sloth_id;
    char *name;
    char *window; /* sloth_window as written ("5m", "1w") */
    int64_t window_ms;
    char *query;
} rule;

typedef struct env {
    const char *skip;
    const char *bin;
    const char *loadgen;
    char *dir;
    peer br;
    peer prom;
    char br_base[64];
    char prom_base[64];
    int64_t data_start;  /* first sample time (g_0) */
    int64_t data_end;    /* last sample time */
    int64_t data_in_ms;  /* wall time when both writers had finished */
    double rules_loaded; /* monotonic time of the rules reload */
    rule rules[MAX_RULES];
    size_t n_rules;
    int64_t last_t; /* newest tick time used so far */
    cJSON *held;    /* the current instant's answer (freed by the next) */
    int prom_major; /* Prometheus major version (2: ranges closed on the left) */
} env;

static env E;

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static int64_t wall_ms(void)
{
    return br_now_ms();
}

static const slo_case *case_for(const char *id)
{
    for (size_t i = 0; i < N_CASES; i++) {
        if (id != NULL && strcmp(CASES[i].id, id) == 0) {
            return &CASES[i];
        }
    }
    return NULL;
}

static bool close_rel(double a, double b, double rel)
{
    if (isnan(a) || isnan(b)) {
        return isnan(a) && isnan(b);
    }
    return fabs(a - b) <= rel * fmax(fabs(a), fabs(b));
}

static double num(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
}

static cJSON *get_json(const char *url)
{
    tu_http_result r;
    cJSON *j = NULL;
    if (tu_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200) {
        j = cJSON_Parse(r.body);
    }
    tu_http_free(&r);
    return j;
}

/* Instant query q at t_ms against base; returns the parsed answer
 * (cJSON_Delete it) or NULL. */
static cJSON *query_at(const char *base, const char *q, int64_t t_ms)
{
    char *esc = curl_easy_escape(NULL, q, 0);
    size_t size = strlen(esc) + 256;
    char *url = br_malloc(size);
    snprintf(url, size, "%s/api/v1/query?query=%s&time=%lld.%03lld", base, esc,
             (long long)(t_ms / 1000), (long long)(t_ms % 1000));
    curl_free(esc);
    cJSON *j = get_json(url);
    if (j == NULL) {
        fprintf(stderr, "query failed at %s: %s\n", base, q);
    }
    br_free(url);
    return j;
}

static cJSON *result_of(cJSON *j)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "result");
}

static double sample_value(cJSON *series)
{
    cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(series, "value"), 1);
    return v != NULL && v->valuestring != NULL ? strtod(v->valuestring, NULL) : NAN;
}

/* The value of the series whose label `by` is `byval` (the only series
 * when by is NULL); NaN when absent. */
static double pick(cJSON *j, const char *by, const char *byval)
{
    cJSON *s;
    cJSON_ArrayForEach(s, result_of(j))
    {
        if (by == NULL) {
            return sample_value(s);
        }
        const char *v = str(cJSON_GetObjectItem(s, "metric"), by);
        if (v != NULL && strcmp(v, byval) == 0) {
            return sample_value(s);
        }
    }
    return NAN;
}

static double prom_value(const char *q, int64_t t, const char *by, const char *byval)
{
    cJSON *j = query_at(E.prom_base, q, t);
    double v = j != NULL ? pick(j, by, byval) : NAN;
    cJSON_Delete(j);
    return v;
}

/* Counter increase over (t - w, t] as burnrate defines it, for counters
 * without resets: the value at t minus the value at or before t - w, or
 * minus the first value when the series starts inside the window. */
static double prom_count(const char *sel, const char *by, const char *byval, int64_t w, int64_t t)
{
    char q[1024];
    if (by != NULL) {
        snprintf(q, sizeof(q), "sum by (%s) (%s - (%s offset %lldms or min_over_time(%s[%lldms])))",
                 by, sel, sel, (long long)w, sel, (long long)w);
    } else {
        snprintf(q, sizeof(q), "sum(%s - (%s offset %lldms or min_over_time(%s[%lldms])))", sel,
                 sel, (long long)w, sel, (long long)w);
    }
    return prom_value(q, t, by, byval);
}

/* The error-ratio counts of one SLO instance over (t - w, t]. */
static void prom_counts(const slo_case *c, const char *byval, int64_t w, int64_t t, double *bad,
                        double *total)
{
    double ev = prom_count(c->events, c->by, byval, w, t);
    *total = prom_count(c->total, c->by, byval, w, t);
    *bad = c->events_good ? *total - ev : ev;
}

static const rule *find_rule(const char *id, int64_t window_ms)
{
    for (size_t i = 0; i < E.n_rules; i++) {
        if (strcmp(E.rules[i].sloth_id, id) == 0 && E.rules[i].window_ms == window_ms) {
            return &E.rules[i];
        }
    }
    return NULL;
}

/* The rule's query with every [<its window>] replaced by [<w_ms>ms]. */
static char *with_window(const rule *r, int64_t w_ms)
{
    char from[64];
    char to[64];
    snprintf(from, sizeof(from), "[%s]", r->window);
    snprintf(to, sizeof(to), "[%lldms]", (long long)w_ms);
    size_t cap = strlen(r->query) * 2 + 64;
    char *out = br_malloc(cap);
    size_t o = 0;
    for (const char *p = r->query; *p != '\0';) {
        if (strncmp(p, from, strlen(from)) == 0 && o + strlen(to) < cap) {
            memcpy(out + o, to, strlen(to));
            o += strlen(to);
            p += strlen(from);
        } else if (o + 1 < cap) {
            out[o++] = *p++;
        } else {
            break;
        }
    }
    out[o] = '\0';
    return out;
}

/* ------------------------------------------------------------------------ */
/* Instants: one burnrate tick, read from /api/v1/slos                      */
/* ------------------------------------------------------------------------ */

typedef struct instant {
    cJSON *root;
    int64_t t;
} instant;

/* Waits for a tick newer than both the data and the previous instant.
 * in->root stays valid until the next call (or teardown). */
static void take_instant(instant *in)
{
    cJSON_Delete(E.held);
    E.held = NULL;
    char url[128];
    snprintf(url, sizeof(url), "%s/api/v1/slos", E.br_base);
    int64_t after = E.data_in_ms > E.last_t ? E.data_in_ms : E.last_t;
    double deadline = peer_now() + 30;
    in->root = NULL;
    while (peer_now() < deadline) {
        cJSON *j = get_json(url);
        double t = j != NULL ? num(cJSON_GetObjectItem(j, "data"), "eval_time_ms") : NAN;
        if (isfinite(t) && (int64_t)t > after) {
            in->root = j;
            E.held = j;
            in->t = (int64_t)t;
            E.last_t = in->t;
            return;
        }
        cJSON_Delete(j);
        usleep(200 * 1000);
    }
    fail_msg("no burnrate tick after the data arrived");
}

static cJSON *instant_slos(const instant *in)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(in->root, "data"), "slos");
}

/* The grouping value of an instance (NULL for ungrouped SLOs). */
static const char *group_value(cJSON *slo, const slo_case *c)
{
    return c->by != NULL ? str(cJSON_GetObjectItem(slo, "group_labels"), c->by) : NULL;
}

static int64_t window_ms_of(cJSON *win)
{
    return llround(num(win, "window_seconds") * 1000.0);
}

/* Whether an earlier entry of windows has win's length (the period entry
 * repeats the last window when that is the period). */
static bool repeated_window(cJSON *windows, cJSON *win)
{
    for (cJSON *p = windows->child; p != NULL && p != win; p = p->next) {
        if (window_ms_of(p) == window_ms_of(win)) {
            return true;
        }
    }
    return false;
}

/* burnrate's recorded series named like metric_re for one SLO instance,
 * read through its query API at t: the one whose sloth_window lasts w_ms,
 * or the one without sloth_window (NaN when absent). */
static double br_recorded(const char *metric_re, const char *id, const slo_case *c,
                          const char *byval, int64_t w_ms, int64_t t)
{
    char q[512];
    if (c->by != NULL) {
        snprintf(q, sizeof(q), "{__name__=~\"%s\",sloth_id=\"%s\",%s=\"%s\"}", metric_re, id, c->by,
                 byval);
    } else {
        snprintf(q, sizeof(q), "{__name__=~\"%s\",sloth_id=\"%s\"}", metric_re, id);
    }
    cJSON *j = query_at(E.br_base, q, t);
    double v = NAN;
    cJSON *s;
    cJSON_ArrayForEach(s, result_of(j))
    {
        const char *wn = str(cJSON_GetObjectItem(s, "metric"), "sloth_window");
        int64_t ms = -1;
        if (wn == NULL || br_parse_duration(wn, &ms) != 0 || ms == w_ms) {
            v = sample_value(s);
        }
    }
    cJSON_Delete(j);
    return v;
}

/* ------------------------------------------------------------------------ */
/* Set-up                                                                   */
/* ------------------------------------------------------------------------ */

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

static int run_wait(char *const argv[], const char *log)
{
    peer p;
    if (peer_start(&p, log, argv) != 0) {
        return -1;
    }
    int status = 0;
    waitpid(p.pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Both load generators at once, same model flags: identical samples. */
static int write_history(int64_t now)
{
    char now_s[32];
    snprintf(now_s, sizeof(now_s), "%lld", (long long)now);
    const char *bases[2] = {E.br_base, E.prom_base};
    const char *logs[2] = {"loadgen-burnrate.log", "loadgen-prometheus.log"};
    peer lg[2];
    for (int i = 0; i < 2; i++) {
        char url[128];
        char log[700];
        snprintf(url, sizeof(url), "%s/api/v1/write", bases[i]);
        snprintf(log, sizeof(log), "%s/%s", E.dir, logs[i]);
        /* clang-format off */
        char *const argv[] = {(char *)E.loadgen, "--url", url, "--backfill", BACKFILL,
                              "--now", now_s, "--interval", "15s", "--seed", "3",
                              "--incident", "140m:35m:0.02", "--incident-service", "0",
                              "--concurrency", "2", "--quiet", NULL};
        /* clang-format on */
        if (peer_start(&lg[i], log, argv) != 0) {
            return -1;
        }
    }
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        int status = 0;
        waitpid(lg[i].pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            peer_dump_log(&lg[i]);
            rc = -1;
        }
    }
    return rc;
}

static int load_rules(void)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/api/v1/rules", E.prom_base);
    cJSON *j = get_json(url);
    cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "groups"))
    {
        cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(g, "rules"))
        {
            const char *type = str(r, "type");
            const char *name = str(r, "name");
            cJSON *labels = cJSON_GetObjectItem(r, "labels");
            const char *id = str(labels, "sloth_id");
            const char *win = str(labels, "sloth_window");
            if (type == NULL || strcmp(type, "recording") != 0 || name == NULL || id == NULL ||
                win == NULL || strncmp(name, "slo:sli_error:ratio_rate", 24) != 0 ||
                E.n_rules == MAX_RULES) {
                continue;
            }
            rule *x = &E.rules[E.n_rules];
            if (br_parse_duration(win, &x->window_ms) != 0) {
                continue;
            }
            x->sloth_id = br_strdup(id);
            x->name = br_strdup(name);
            x->window = br_strdup(win);
            x->query = br_strdup(str(r, "query"));
            E.n_rules++;
        }
    }
    cJSON_Delete(j);
    return E.n_rules > 0 ? 0 : -1;
}

/* Starts burnrate on slos (a path) and Prometheus without rules. */
static int start_peers(const char *prometheus, const char *slos)
{
    int br_port = peer_free_port();
    int prom_port = peer_free_port();
    snprintf(E.br_base, sizeof(E.br_base), "http://127.0.0.1:%d", br_port);
    snprintf(E.prom_base, sizeof(E.prom_base), "http://127.0.0.1:%d", prom_port);
    char cfg_text[2048];
    snprintf(cfg_text, sizeof(cfg_text),
             "evaluation:\n  interval: 1s\nstorage:\n  data_dir: %s/br-data\n"
             "promql:\n  compat: v2\nslos:\n  - %s\n",
             E.dir, slos);
    char *cfg = tu_write_file(E.dir, "burnrate.yml", cfg_text);
    free(tu_write_file(E.dir, "prometheus.yml",
                       "global:\n  scrape_interval: 1h\n  evaluation_interval: 1s\n"));
    char listen[64];
    char log[700];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", br_port);
    snprintf(log, sizeof(log), "%s/burnrate.log", E.dir);
    char *br_argv[] = {(char *)E.bin, "serve", "--config", cfg, "--listen", listen, NULL};
    int rc = peer_start(&E.br, log, br_argv);
    char cfg_flag[1100];
    char tsdb_flag[1100];
    char listen_flag[128];
    snprintf(cfg_flag, sizeof(cfg_flag), "--config.file=%s/prometheus.yml", E.dir);
    snprintf(tsdb_flag, sizeof(tsdb_flag), "--storage.tsdb.path=%s/prom-data", E.dir);
    snprintf(listen_flag, sizeof(listen_flag), "--web.listen-address=127.0.0.1:%d", prom_port);
    snprintf(log, sizeof(log), "%s/prometheus.log", E.dir);
    char *prom_argv[] = {(char *)prometheus,
                         cfg_flag,
                         tsdb_flag,
                         listen_flag,
                         "--web.enable-remote-write-receiver",
                         NULL};
    if (rc == 0) {
        rc = peer_start(&E.prom, log, prom_argv);
    }
    free(cfg);
    char url[128];
    snprintf(url, sizeof(url), "%s/-/ready", E.br_base);
    if (rc != 0 || !peer_wait_http(&E.br, url, 60)) {
        peer_dump_log(&E.br);
        return -1;
    }
    snprintf(url, sizeof(url), "%s/-/ready", E.prom_base);
    if (!peer_wait_http(&E.prom, url, 60)) {
        peer_dump_log(&E.prom);
        return -1;
    }
    snprintf(url, sizeof(url), "%s/api/v1/status/buildinfo", E.prom_base);
    cJSON *info = get_json(url);
    const char *version = str(cJSON_GetObjectItem(info, "data"), "version");
    E.prom_major = version != NULL ? atoi(version) : 0;
    cJSON_Delete(info);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    static char prometheus[512];
    E.bin = getenv("BURNRATE_BIN");
    E.loadgen = getenv("BURNRATE_LOADGEN");
    if (E.bin == NULL || access(E.bin, X_OK) != 0 || E.loadgen == NULL ||
        access(E.loadgen, X_OK) != 0) {
        E.skip = "needs BURNRATE_BIN and BURNRATE_LOADGEN";
        return 0;
    }
    if (!find_on_path("prometheus", prometheus, sizeof(prometheus))) {
        E.skip = "prometheus is not on PATH";
        return 0;
    }
    E.dir = tu_mkdtemp("it-agreement");
    if (E.dir == NULL) {
        return -1;
    }
    /* The rules file, from the command users run. */
    char slos[1100];
    char rules[1100];
    char log[700];
    snprintf(slos, sizeof(slos), "%s/slos.yml", E.dir);
    snprintf(rules, sizeof(rules), "%s/slo-rules.yml", E.dir);
    snprintf(log, sizeof(log), "%s/generate.log", E.dir);
    free(tu_write_file(E.dir, "slos.yml", SLO_FILE));
    char *const gen_argv[] = {(char *)E.bin, "generate", "--slos", slos, "--out", rules, NULL};
    if (run_wait(gen_argv, log) != 0) {
        fprintf(stderr, "burnrate generate failed (see %s)\n", log);
        return -1;
    }
    if (start_peers(prometheus, slos) != 0) {
        return -1;
    }
    /* A little in the past so no sample is in either store's future. */
    int64_t now = wall_ms() - 1000;
    int64_t backfill = 3 * 3600 * 1000LL;
    int64_t first = now - backfill;
    E.data_start = first - (first % STEP_MS + STEP_MS) % STEP_MS;
    E.data_end = E.data_start + (now - E.data_start) / STEP_MS * STEP_MS;
    if (write_history(now) != 0) {
        fprintf(stderr, "writing the history failed\n");
        return -1;
    }
    E.data_in_ms = wall_ms();
    char cfg[2048];
    snprintf(cfg, sizeof(cfg),
             "global:\n  scrape_interval: 1h\n  evaluation_interval: 1s\n"
             "rule_files:\n  - %s\n",
             rules);
    free(tu_write_file(E.dir, "prometheus.yml", cfg));
    kill(E.prom.pid, SIGHUP);
    E.rules_loaded = peer_now();
    double deadline = peer_now() + 30;
    while (load_rules() != 0 && peer_now() < deadline) {
        usleep(200 * 1000);
    }
    if (E.n_rules == 0) {
        peer_dump_log(&E.prom);
        return -1;
    }
    fprintf(stderr, "data: %lld..%lld (%lld samples per series), %zu ratio rules loaded\n",
            (long long)E.data_start, (long long)E.data_end,
            (long long)((E.data_end - E.data_start) / STEP_MS + 1), E.n_rules);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (E.prom.pid > 0) {
        peer_stop(&E.prom, SIGTERM, 30);
    }
    if (E.br.pid > 0) {
        peer_stop(&E.br, SIGTERM, 30);
    }
    cJSON_Delete(E.held);
    for (size_t i = 0; i < E.n_rules; i++) {
        br_free(E.rules[i].sloth_id);
        br_free(E.rules[i].name);
        br_free(E.rules[i].window);
        br_free(E.rules[i].query);
    }
    if (E.dir != NULL) {
        if (getenv("BR_KEEP_TEST_DIR") == NULL) {
            tu_rmtree(E.dir);
        } else {
            fprintf(stderr, "kept %s\n", E.dir);
        }
        free(E.dir);
    }
    curl_global_cleanup();
    return 0;
}

#define NEED_PEERS()                                                                               \
    do {                                                                                           \
        if (E.skip != NULL) {                                                                      \
            fprintf(stderr, "skipped: %s\n", E.skip);                                              \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

/* burnrate's bad and total counts are Prometheus' exact counts (integers,
 * compared with ==), and its recorded series and /api/v1/slos agree. */
static void test_burnrate_counts_equal_prometheus_exact_counts(void **state)
{
    (void)state;
    NEED_PEERS();
    size_t compared = 0;
    for (int k = 0; k < N_INSTANTS; k++) {
        instant in;
        take_instant(&in);
        assert_true(in.t - E.data_end < 5 * 60 * 1000); /* within the lookback */
        if (k == 0) {
            /* The grid the analysis assumes: first and last sample. */
            double last = prom_value("max(timestamp(http_requests_total))", in.t, NULL, NULL);
            double n =
                prom_value("max(count_over_time(http_requests_total[4h]))", in.t, NULL, NULL);
            assert_true(last * 1000 == (double)E.data_end);
            assert_true(n == (double)((E.data_end - E.data_start) / STEP_MS + 1));
        }
        cJSON *slo;
        cJSON_ArrayForEach(slo, instant_slos(&in))
        {
            const slo_case *c = case_for(str(slo, "slo_id"));
            if (c == NULL || c->events == NULL) {
                continue;
            }
            const char *gv = group_value(slo, c);
            cJSON *win;
            cJSON_ArrayForEach(win, cJSON_GetObjectItem(slo, "windows"))
            {
                if (repeated_window(cJSON_GetObjectItem(slo, "windows"), win)) {
                    continue;
                }
                int64_t w = window_ms_of(win);
                double bad;
                double total;
                prom_counts(c, gv, w, in.t, &bad, &total);
                double br_bad = num(win, "bad");
                double br_total = num(win, "total");
                if (br_bad != bad || br_total != total) {
                    fprintf(stderr,
                            "%s %s (instant %d): burnrate %.0f/%.0f, Prometheus %.0f/%.0f\n",
                            str(slo, "id"), str(win, "window"), k, br_bad, br_total, bad, total);
                }
                assert_true(br_total > 0);
                assert_true(br_bad == bad);
                assert_true(br_total == total);
                /* The recorded series says what the snapshot says. */
                double rec = br_recorded("slo:sli_error:ratio_rate.+", c->id, c, gv, w, in.t);
                assert_true(close_rel(rec, num(win, "error_ratio"), ROUNDING));
                compared++;
            }
            double rem =
                br_recorded("slo:period_error_budget_remaining:ratio", c->id, c, gv, 0, in.t);
            assert_true(
                close_rel(rem, num(cJSON_GetObjectItem(slo, "budget"), "remaining"), ROUNDING));
        }
    }
    fprintf(stderr, "%zu window counts equal at %d instants\n", compared, N_INSTANTS);
    assert_true(compared > 40);
}

/* Every error-ratio series the generated rules record also exists in
 * burnrate under the same name (Sloth's dashboards select by name). */
static void test_burnrate_records_the_generated_series_names(void **state)
{
    (void)state;
    NEED_PEERS();
    instant in;
    take_instant(&in);
    size_t missing = 0;
    for (size_t i = 0; i < E.n_rules; i++) {
        char q[512];
        snprintf(q, sizeof(q), "count(%s{sloth_id=\"%s\"})", E.rules[i].name, E.rules[i].sloth_id);
        cJSON *j = query_at(E.br_base, q, in.t);
        double n = j != NULL ? pick(j, NULL, NULL) : NAN;
        cJSON_Delete(j);
        if (!(n >= 1)) {
            fprintf(stderr, "burnrate records no %s{sloth_id=\"%s\"}\n", E.rules[i].name,
                    E.rules[i].sloth_id);
            missing++;
        }
    }
    assert_int_equal(missing, 0);
}

/* For windows inside the data, the generated expression with its range
 * widened to start on the sample before the window is burnrate's number. */
static void test_generated_rules_from_the_sample_before_the_window_equal_burnrate(void **state)
{
    (void)state;
    NEED_PEERS();
    if (E.prom_major != 2) {
        /* Prometheus 3 leaves the range's first instant out. */
        fprintf(stderr, "skipped: needs Prometheus 2.x, found major version %d\n", E.prom_major);
        skip();
    }
    size_t compared = 0;
    double worst = 0;
    for (int k = 0; k < N_INSTANTS; k++) {
        instant in;
        take_instant(&in);
        cJSON *slo;
        cJSON_ArrayForEach(slo, instant_slos(&in))
        {
            const slo_case *c = case_for(str(slo, "slo_id"));
            if (c == NULL || c->events == NULL) {
                continue;
            }
            const char *gv = group_value(slo, c);
            cJSON *win;
            cJSON_ArrayForEach(win, cJSON_GetObjectItem(slo, "windows"))
            {
                if (repeated_window(cJSON_GetObjectItem(slo, "windows"), win)) {
                    continue;
                }
                int64_t w = window_ms_of(win);
                if (in.t - w < E.data_start) {
                    continue;
                }
                const rule *r = find_rule(c->id, w);
                assert_non_null(r);
                int64_t phase = (in.t - w - E.data_start) % STEP_MS;
                char *q = with_window(r, w + phase);
                double p = prom_value(q, in.t, c->by, gv);
                br_free(q);
                double b = num(win, "error_ratio");
                if (!close_rel(p, b, ROUNDING)) {
                    fprintf(stderr, "%s %s: Prometheus %.17g, burnrate %.17g\n", str(slo, "id"),
                            r->window, p, b);
                }
                assert_true(close_rel(p, b, ROUNDING));
                if (b > 0) {
                    worst = fmax(worst, fabs(p - b) / b);
                }
                compared++;
            }
        }
    }
    fprintf(stderr, "%zu widened windows equal burnrate (largest relative difference %.3g)\n",
            compared, worst);
    assert_true(compared > 20);
}

/* The generated expressions as Prometheus records them: the difference to
 * burnrate stays within the bound derived in the top comment. */
static void test_generated_rules_agree_within_the_derived_bound(void **state)
{
    (void)state;
    NEED_PEERS();
    instant in;
    take_instant(&in);
    size_t compared = 0;
    double worst_inside = 0; /* largest |P - B| / B */
    double worst_before = 0;
    double worst_use = 0; /* largest |P - B| / bound */
    cJSON *slo;
    cJSON_ArrayForEach(slo, instant_slos(&in))
    {
        const slo_case *c = case_for(str(slo, "slo_id"));
        if (c == NULL || c->events == NULL) {
            continue;
        }
        const char *gv = group_value(slo, c);
        cJSON *win;
        cJSON_ArrayForEach(win, cJSON_GetObjectItem(slo, "windows"))
        {
            if (repeated_window(cJSON_GetObjectItem(slo, "windows"), win)) {
                continue;
            }
            int64_t w = window_ms_of(win);
            const rule *r = find_rule(c->id, w);
            assert_non_null(r);
            double p = prom_value(r->query, in.t, c->by, gv);
            double b = num(win, "error_ratio");
            double b_bad = num(win, "bad");
            double b_total = num(win, "total");
            int64_t last = E.data_end < in.t ? E.data_end : in.t;
            double bound;
            double predicted = 0;
            if (in.t - w >= E.data_start) {
                int64_t phase = (in.t - w - E.data_start) % STEP_MS;
                int64_t d = phase == 0 ? 0 : STEP_MS - phase;
                int64_t g_a = in.t - w + d;
                double span = (double)(last - g_a);
                double r_bad = b_bad;
                double r_total = b_total;
                if (d > 0) {
                    prom_counts(c, gv, w - d, in.t, &r_bad, &r_total);
                }
                double q = r_bad / r_total;
                double i_total = b_total - r_total;
                double i_bad = b_bad - r_bad;
                double s = i_total / b_total;
                double e_a = i_total > 0 ? i_bad / i_total : q;
                predicted = q - b;
                /* The identity behind the formula, on integer counts. */
                assert_true(fabs(predicted - s * (q - e_a)) <= 1e-12);
                /* The side the SLI counts (good events for good/total). */
                double x = c->events_good ? 1.0 - q : q;
                double start_term = x * (double)d / span;
                /* Prometheus = the exact ratio from its first sample on,
                 * up to counter starts. */
                assert_true(fabs(p - q) <= start_term + ROUNDING * fmax(p, q));
                bound = s * fabs(q - e_a) + start_term;
                worst_inside = b > 0 ? fmax(worst_inside, fabs(p - b) / b) : worst_inside;
            } else {
                double span = (double)(last - E.data_start);
                double x = c->events_good ? 1.0 - b : b;
                bound = x * 1.1 * (double)STEP_MS / span;
                worst_before = b > 0 ? fmax(worst_before, fabs(p - b) / b) : worst_before;
            }
            worst_use = bound > 0 ? fmax(worst_use, fabs(p - b) / bound) : worst_use;
            fprintf(stderr,
                    "%-46s %4s  prometheus %.9f  burnrate %.9f  diff %+.3e  "
                    "predicted %+.3e  bound %.3e\n",
                    str(slo, "id"), r->window, p, b, p - b, predicted, bound);
            assert_true(fabs(p - b) <= bound + ROUNDING * fmax(p, b));
            compared++;
        }
    }
    fprintf(stderr,
            "%zu windows: largest |P-B|/B %.3g inside the data, %.3g reaching before it; "
            "largest |P-B|/bound %.3g\n",
            compared, worst_inside, worst_before, worst_use);
    assert_true(compared > 20);
}

/* Budget remaining: exact from the counts, within the period window's
 * bound / (1 - objective) from the generated rules. */
static void test_budget_remaining_agrees(void **state)
{
    (void)state;
    NEED_PEERS();
    instant in;
    take_instant(&in);
    size_t compared = 0;
    cJSON *slo;
    cJSON_ArrayForEach(slo, instant_slos(&in))
    {
        const slo_case *c = case_for(str(slo, "slo_id"));
        if (c == NULL) {
            continue;
        }
        const char *gv = group_value(slo, c);
        double objective = num(slo, "objective");
        double budget = 1.0 - objective;
        double rem_b = num(cJSON_GetObjectItem(slo, "budget"), "remaining");
        int64_t period =
            llround(num(cJSON_GetObjectItem(slo, "period"), "duration_seconds") * 1000);
        const rule *r = find_rule(c->id, period);
        assert_non_null(r);
        double rem_p = 1.0 - prom_value(r->query, in.t, c->by, gv) / budget;
        double bound;
        if (c->events != NULL) {
            double bad;
            double total;
            prom_counts(c, gv, period, in.t, &bad, &total);
            double rem_exact = 1.0 - (bad / total) / budget;
            assert_true(close_rel(rem_b, rem_exact, ROUNDING));
            int64_t last = E.data_end < in.t ? E.data_end : in.t;
            double x = c->events_good ? 1.0 - bad / total : bad / total;
            bound = x * 1.1 * (double)STEP_MS / (double)(last - E.data_start) / budget;
        } else {
            bound = ROUNDING * fmax(1, fabs(rem_b));
        }
        fprintf(stderr, "%-46s budget remaining: prometheus %.9f burnrate %.9f (bound %.3e)\n",
                str(slo, "id"), rem_p, rem_b, bound);
        assert_true(fabs(rem_p - rem_b) <= bound + ROUNDING * fmax(1, fabs(rem_b)));
        compared++;
    }
    assert_true(compared >= 8);
}

/* The raw-ratio SLI is PromQL on both sides: equal on every window. */
static void test_raw_ratio_sli_is_equal_on_every_window(void **state)
{
    (void)state;
    NEED_PEERS();
    size_t compared = 0;
    for (int k = 0; k < N_INSTANTS; k++) {
        instant in;
        take_instant(&in);
        cJSON *slo;
        cJSON_ArrayForEach(slo, instant_slos(&in))
        {
            const slo_case *c = case_for(str(slo, "slo_id"));
            if (c == NULL || c->events != NULL) {
                continue;
            }
            cJSON *win;
            cJSON_ArrayForEach(win, cJSON_GetObjectItem(slo, "windows"))
            {
                if (repeated_window(cJSON_GetObjectItem(slo, "windows"), win)) {
                    continue;
                }
                int64_t w = window_ms_of(win);
                const rule *r = find_rule(c->id, w);
                assert_non_null(r);
                double p = prom_value(r->query, in.t, NULL, NULL);
                double b = num(win, "error_ratio");
                if (!close_rel(p, b, 1e-9)) {
                    fprintf(stderr, "%s %s: Prometheus %.17g, burnrate %.17g\n", c->id, r->window,
                            p, b);
                }
                assert_true(close_rel(p, b, 1e-9));
                compared++;
            }
        }
    }
    assert_true(compared >= 16);
}

/* ------------------------------------------------------------------------ */
/* Alerts                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct alert_row {
    char key[300];
    char state[16];
    double value;
} alert_row;

static size_t read_alerts(const char *base, alert_row *out, size_t max)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/api/v1/alerts", base);
    cJSON *j = get_json(url);
    size_t n = 0;
    cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "alerts"))
    {
        cJSON *l = cJSON_GetObjectItem(a, "labels");
        const char *h = str(l, "handler");
        if (n == max) {
            break;
        }
        snprintf(out[n].key, sizeof(out[n].key), "%s/%s %s%s%s%s", str(l, "alertname"),
                 str(l, "severity"), str(l, "sloth_id"), h ? "{handler=" : "", h ? h : "",
                 h ? "}" : "");
        snprintf(out[n].state, sizeof(out[n].state), "%s", str(a, "state"));
        const char *v = str(a, "value");
        out[n].value = v != NULL ? strtod(v, NULL) : NAN;
        n++;
    }
    cJSON_Delete(j);
    return n;
}

static const alert_row *row_in(const alert_row *rows, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].key, key) == 0) {
            return &rows[i];
        }
    }
    return NULL;
}

static const char *state_in(const alert_row *rows, size_t n, const char *key)
{
    const alert_row *r = row_in(rows, n, key);
    return r != NULL ? r->state : "inactive";
}

static double value_in(const alert_row *rows, size_t n, const char *key)
{
    const alert_row *r = row_in(rows, n, key);
    return r != NULL ? r->value : NAN;
}

/* Whether one of burnrate's alert rows behind key (alertname/severity
 * instance) has a value within NEAR of its threshold: there the bounds
 * above allow the two sides to disagree. */
#define NEAR 0.1
static bool near_threshold(cJSON *slos, const char *key)
{
    cJSON *slo;
    cJSON_ArrayForEach(slo, slos)
    {
        const char *h = str(cJSON_GetObjectItem(slo, "group_labels"), "handler");
        cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItem(slo, "alerts"))
        {
            char k[300];
            snprintf(k, sizeof(k), "%s/%s %s%s%s%s", str(a, "alertname"), str(a, "severity"),
                     str(slo, "slo_id"), h ? "{handler=" : "", h ? h : "", h ? "}" : "");
            double thr = num(a, "threshold");
            double v[2] = {num(a, "long_value"), num(a, "short_value")};
            for (int i = 0; i < 2 && strcmp(k, key) == 0; i++) {
                if (isfinite(v[i]) && fabs(v[i] - thr) <= NEAR * fabs(thr)) {
                    return true;
                }
            }
        }
    }
    return false;
}

/* After the incident, once every `for` has run out on both sides, the
 * same alerts are firing in Prometheus and in burnrate (alerts with a
 * value within 10% of a threshold are listed, not compared). */
static void test_alert_states_agree_after_the_incident(void **state)
{
    (void)state;
    NEED_PEERS();
    /* Prometheus started its `for` timers when the rules were loaded. */
    double ready = E.rules_loaded + FOR_S + 4;
    if (peer_now() < ready) {
        usleep((useconds_t)((ready - peer_now()) * 1e6));
    }
    alert_row *prom = br_calloc(MAX_ALERTS, sizeof(alert_row));
    alert_row *brr = br_calloc(MAX_ALERTS, sizeof(alert_row));
    size_t np = read_alerts(E.prom_base, prom, MAX_ALERTS);
    size_t nb = read_alerts(E.br_base, brr, MAX_ALERTS);
    instant in;
    take_instant(&in);
    size_t firing = 0;
    size_t mismatches = 0;
    for (size_t i = 0; i < np + nb; i++) {
        const char *key = i < np ? prom[i].key : brr[i - np].key;
        if (i >= np && strcmp(state_in(prom, np, key), "inactive") != 0) {
            continue; /* listed already */
        }
        const char *sp = state_in(prom, np, key);
        const char *sb = state_in(brr, nb, key);
        bool same = strcmp(sp, sb) == 0;
        bool near = near_threshold(instant_slos(&in), key);
        fprintf(stderr, "  %-72s prometheus %-8s %-11.4g burnrate %-8s %-11.4g%s\n", key, sp,
                value_in(prom, np, key), sb, value_in(brr, nb, key),
                near   ? "  (near its threshold)"
                : same ? ""
                       : "  <- differs");
        mismatches += same || near ? 0 : 1;
        firing += strcmp(sp, "firing") == 0 ? 1 : 0;
    }
    br_free(prom);
    br_free(brr);
    assert_int_equal(mismatches, 0);
    assert_true(firing >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burnrate_counts_equal_prometheus_exact_counts),
        cmocka_unit_test(test_burnrate_records_the_generated_series_names),
        cmocka_unit_test(test_generated_rules_from_the_sample_before_the_window_equal_burnrate),
        cmocka_unit_test(test_generated_rules_agree_within_the_derived_bound),
        cmocka_unit_test(test_budget_remaining_agrees),
        cmocka_unit_test(test_raw_ratio_sli_is_equal_on_every_window),
        cmocka_unit_test(test_alert_states_agree_after_the_incident),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
