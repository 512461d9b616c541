/*
 * loadgen.c — burnrate-loadgen: a remote-write sender with realistic SLI
 * data, for demos, benchmarks and integration tests.
 *
 * Data model (deterministic for a given --seed and start time):
 *   N services x M endpoints = "groups". Each group owns, in this order,
 *     7 counters  http_requests_total{code,handler,method,service}
 *                 codes 200 201 400 404 429 500 503
 *    12 buckets   http_request_duration_seconds_bucket{handler,le,service}
 *                 le = .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 +Inf
 *     2 series    http_request_duration_seconds_sum / _count{handler,service}
 *     1 gauge     up{instance="<service>-<endpoint>:9100",job=<service>}, the
 *                 scrape health a Prometheus records: 1, or 0 for a failed
 *                 scrape (0.05% of steps; 5% of the incident service's
 *                 steps during --incident) (only with --up-gauge)
 *     1 native    http_request_duration_seconds{handler,service}, schema 0
 *                 (only with --native-histograms)
 *   Series are numbered group-major from 0; --ack-log and --dump index lines
 *   name half-open ranges [series_from, series_to) of these numbers.
 *   Each step (one scrape interval) a group draws its request count from a
 *   per-endpoint rate with a daily cycle and noise, splits it across codes
 *   and log-normal latency buckets, and adds it to its counters. The random
 *   stream of a step is seeded by (seed, group, step), so values depend only
 *   on the flags, never on concurrency or timing. Steps are at start + k x
 *   interval, with start aligned down to the interval.
 *   --incident START:LEN:RATIO makes RATIO of one service's requests fail
 *   (70% 500, 30% 503) and quadruples its latency, from START after the
 *   first step for LEN.
 *   --extra-label NAME=VALUE adds one constant label to every series of one
 *   service (--extra-label-service, default 0), in label-name order; the
 *   values sent are unchanged. Tests use it to put arbitrary text (markup,
 *   quotes, non-ASCII) into label values that SLOs group by. NAME must be a
 *   plain label name other than the model's own (__name__, code, handler,
 *   method, service, le); VALUE may be any text up to 1024 bytes.
 *
 * Sending: --concurrency workers each own whole groups (requests are cut at
 * group boundaries), so a series is only ever sent by one worker, in time
 * order, as Prometheus's shards do. 5xx, 429 and network errors are retried
 * with exponential backoff from 30 ms to 5 s (or Retry-After), at most
 * --max-retries times; other 4xx drop the request. --backfill sends history
 * as fast as possible, several steps per request; --live then waits for the
 * wall clock before each step.
 *
 * --ack-log line, one per request answered 2xx (order between workers is
 * not defined):
 *   req=<n> series_from=<a> series_to=<b> t_from=<ms> t_to=<ms> step_ms=<s>
 *   run_start=<ms> samples=<k> histograms=<h> status=<http> attempts=<r>
 * The request held every series in [a, b) at every step from t_from to t_to.
 * To recompute the values, rerun with the same model flags (--seed,
 * --services, --endpoints, --interval, --native-histograms, --up-gauge, --incident,
 * --extra-label),
 * --now <t_to> --backfill <t_to - run_start> --dump DIR: step 0 is then
 * run_start again, so the bodies hold the same values.
 * --dump DIR writes req-<n>.bin (snappy-compressed bodies) and index.txt
 * with the same fields plus version= and file=, and sends nothing.
 *
 * Threads: main parses flags and joins; workers share only atomics, the
 * ack-log mutex and read-only tables. The stop flag is the one mutable
 * global, set from the signal handler. --max-requests is checked before
 * each request, so concurrent workers may overshoot it by a few.
 */
#include "api/remote_write_encode.h"
#include "engine/core/alloc.h"
#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "engine/core/clock.h"
#include "engine/core/err.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define N_CODES        7
#define N_LE           12  /* including +Inf */
#define NATIVE_FIRST   -12 /* schema 0 bucket indices -12..4: 0.24 ms .. 16 s */
#define NATIVE_N       17
#define MIN_BACKOFF_MS 30
#define MAX_BACKOFF_MS 5000
#define MAX_LABELS     6 /* the model's 5 at most, plus --extra-label */
#define MAX_EXTRA_VAL  1024

static const char *const code_names[N_CODES] = {"200", "201", "400", "404", "429", "500", "503"};
/* Baseline shares of requests per code; 5xx total 0.08%. */
static const double code_share[N_CODES] = {0.9362, 0.03, 0.015, 0.012, 0.006, 0.0005, 0.0003};
static const double le_bounds[N_LE - 1] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const char *const le_names[N_LE] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                           "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
static const char *const handler_names[] = {"/api/v1/orders", "/api/v1/users",   "/api/v1/cart",
                                            "/api/v1/search", "/api/v1/login",   "/api/v1/items",
                                            "/healthz",       "/api/v1/payments"};

/* Set by SIGINT/SIGTERM; read by workers (lock-free atomic, so it is safe
 * both in the handler and across threads). */
static atomic_int stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct opts {
    const char *url;
    int version;
    int services;
    int endpoints;
    int64_t interval_ms;
    bool live;
    int64_t duration_ms; /* live phase; 0 = until stopped */
    int64_t backfill_ms;
    bool incident;
    int64_t inc_start_ms;
    int64_t inc_len_ms;
    double inc_ratio;
    int inc_service;
    const char *extra_name;  /* --extra-label; NULL = none; points into extra_name_buf */
    const char *extra_value; /* points into argv */
    char extra_name_buf[128];
    int extra_service;
    bool native;
    bool up_gauge;
    int concurrency;
    int series_per_request;
    int steps_per_request; /* 0 = automatic */
    const char *dump_dir;
    const char *ack_log;
    uint64_t seed;
    int64_t now_ms; /* 0 = wall clock */
    long max_requests;
    int max_retries;
    int64_t timeout_ms;
    bool quiet;
} opts;

static void usage(FILE *f)
{
    fprintf(f, "usage: burnrate-loadgen [options]\n"
               "  --url URL                 remote-write endpoint (default "
               "http://127.0.0.1:9099/api/v1/write)\n"
               "  --version 1|2             remote-write protocol (default 1)\n"
               "  --services N              services (default 3)\n"
               "  --endpoints M             endpoints per service (default 4)\n"
               "  --interval DUR            scrape interval (default 15s)\n"
               "  --live                    send the current step every interval\n"
               "  --duration DUR            stop the live phase after DUR (default: never)\n"
               "  --backfill DUR            first send history from now-DUR to now\n"
               "  --incident START:LEN:R    e.g. 10m:15m:0.08, on --incident-service\n"
               "  --incident-service I      service index (default 0)\n"
               "  --extra-label NAME=VALUE  add a constant label to one service's series\n"
               "  --extra-label-service I   service index for --extra-label (default 0)\n"
               "  --native-histograms       also send a native histogram per endpoint\n"
               "  --up-gauge                also send an up{job,instance} gauge per endpoint\n"
               "  --concurrency N           sender threads (default 4)\n"
               "  --series-per-request N    cut requests at whole groups near N series "
               "(default 500)\n"
               "  --steps-per-request K     steps per request in backfill (default: ~2000 "
               "samples)\n"
               "  --dump DIR                write bodies to DIR instead of sending\n"
               "  --ack-log FILE            append one line per request answered 2xx\n"
               "  --seed N                  random seed (default 1)\n"
               "  --now MS                  pretend the wall clock is MS (backfill only)\n"
               "  --max-requests N          stop after N requests\n"
               "  --max-retries N           retries per request (default 10)\n"
               "  --timeout DUR             per-attempt HTTP timeout (default 30s)\n"
               "  --quiet                   no error lines, only the summary\n");
}

static int parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || end == s || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_dur(const char *s, int64_t *out)
{
    return br_parse_duration(s, out) == 0 ? 0 : -1;
}

static int parse_incident(const char *s, opts *o)
{
    char buf[128];
    if (strlen(s) >= sizeof(buf)) {
        return -1;
    }
    strcpy(buf, s);
    char *a = buf;
    char *b = strchr(a, ':');
    if (b == NULL) {
        return -1;
    }
    *b++ = '\0';
    char *c = strchr(b, ':');
    if (c == NULL) {
        return -1;
    }
    *c++ = '\0';
    char *end;
    o->inc_ratio = strtod(c, &end);
    if (*end != '\0' || !(o->inc_ratio >= 0 && o->inc_ratio <= 1)) {
        return -1;
    }
    if (parse_dur(a, &o->inc_start_ms) != 0 || parse_dur(b, &o->inc_len_ms) != 0) {
        return -1;
    }
    o->incident = true;
    return 0;
}

/* NAME=VALUE for --extra-label: NAME a plain label name that the model
 * does not use itself (its series would get the label twice), VALUE any
 * text up to MAX_EXTRA_VAL bytes. The value points into s (an argv
 * string, which outlives the run); the name is copied into o. */
static int parse_extra_label(const char *s, opts *o)
{
    static const char *const taken[] = {"code", "handler", "method", "service", "le"};
    const char *eq = strchr(s, '=');
    size_t len = eq != NULL ? (size_t)(eq - s) : 0;
    if (len == 0 || len >= sizeof(o->extra_name_buf) || strlen(eq + 1) > MAX_EXTRA_VAL) {
        return -1;
    }
    memcpy(o->extra_name_buf, s, len);
    o->extra_name_buf[len] = '\0';
    const char *name = o->extra_name_buf;
    bool ok = (name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z') ||
               (name[0] >= 'A' && name[0] <= 'Z')) &&
              strncmp(name, "__", 2) != 0;
    for (const char *c = name + 1; ok && *c != '\0'; c++) {
        ok = *c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
             (*c >= '0' && *c <= '9');
    }
    for (size_t i = 0; ok && i < sizeof(taken) / sizeof(taken[0]); i++) {
        ok = strcmp(name, taken[i]) != 0;
    }
    if (!ok) {
        return -1;
    }
    o->extra_name = name;
    o->extra_value = eq + 1;
    return 0;
}

static int parse_args(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof(*o));
    o->url = "http://127.0.0.1:9099/api/v1/write";
    o->version = 1;
    o->services = 3;
    o->endpoints = 4;
    o->interval_ms = 15000;
    o->concurrency = 4;
    o->series_per_request = 500;
    o->seed = 1;
    o->max_retries = 10;
    o->timeout_ms = 30000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        int bad = 0;
#define NEED_VALUE()                                                                               \
    do {                                                                                           \
        if (v == NULL) {                                                                           \
            fprintf(stderr, "burnrate-loadgen: %s needs a value\n", a);                            \
            return -1;                                                                             \
        }                                                                                          \
        i++;                                                                                       \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--live") == 0) {
            o->live = true;
        } else if (strcmp(a, "--native-histograms") == 0) {
            o->native = true;
        } else if (strcmp(a, "--up-gauge") == 0) {
            o->up_gauge = true;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = true;
        } else if (strcmp(a, "--url") == 0) {
            NEED_VALUE();
            o->url = v;
        } else if (strcmp(a, "--version") == 0) {
            NEED_VALUE();
            bad = parse_int(v, 1, 2, &n);
            o->version = (int)n;
        } else if (strcmp(a, "--services") == 0) {
            NEED_VALUE();
            bad = parse_int(v, 1, 100000, &n);
            o->services = (int)n;
        } else if (strcmp(a, "--endpoints") == 0) {
            NEED_VALUE();
            bad = parse_int(v, 1, 10000, &n);
            o->endpoints = (int)n;
        } else if (strcmp(a, "--interval") == 0) {
            NEED_VALUE();
            bad = parse_dur(v, &o->interval_ms) || o->interval_ms <= 0;
        } else if (strcmp(a, "--duration") == 0) {
            NEED_VALUE();
            bad = parse_dur(v, &o->duration_ms);
        } else if (strcmp(a, "--backfill") == 0) {
            NEED_VALUE();
            bad = parse_dur(v, &o->backfill_ms) || o->backfill_ms <= 0;
        } else if (strcmp(a, "--incident") == 0) {
            NEED_VALUE();
            bad = parse_incident(v, o);
        } else if (strcmp(a, "--incident-service") == 0) {
            NEED_VALUE();
            bad = parse_int(v, 0, 100000, &n);
            o->inc_service = (int)n;
        } else if (strcmp(a, "--extra-label") == 0) {
            NEED_VALUE();
            bad = parse_extra_label(v, o);
        } else if (strcmp(a, "--extra-label-service") == 0) {
            NEED_VALUE();
            bad = parse_int(v, 0, 100000, &n);
            o->extra_service = (int)n;
        } else if (strcmp(a, "--concurrency") == 0) {
            NEED_VALUE();
            bad = parse_int(v, 1, 256, &n);
            o->concurrency = (int)n;
        } else if (strcmp(a, "--series-per-request") == 0) {
            NEED_VALUE();
            bad = parse_int(v, 1, 1000000, &n);
            o->series_per_request = (int)n;
        } else if (strcmp(a, "--steps-per-request") == 0) {
            NEED_VALUE();
            bad = parse_int(v, 1, 100000, &n);
            o->steps_per_request = (int)n;
        } else if (strcmp(a, "--dump") == 0) {
            NEED_VALUE();
            o->dump_dir = v;
        } else if (strcmp(a, "--ack-log") == 0) {
            NEED_VALUE();
            o->ack_log = v;
        } else if (strcmp(a, "--seed") == 0) {
            NEED_VALUE();
            bad = parse_int(v, 0, LONG_MAX, &n);
            o->seed = (uint64_t)n;
        } else if (strcmp(a, "--now") == 0) {
            NEED_VALUE();
            bad = parse_int(v, 1, LONG_MAX, &n);
            o->now_ms = n;
        } else if (strcmp(a, "--max-requests") == 0) {
            NEED_VALUE();
            bad = parse_int(v, 1, LONG_MAX, &n);
            o->max_requests = n;
        } else if (strcmp(a, "--max-retries") == 0) {
            NEED_VALUE();
            bad = parse_int(v, 0, 1000000, &n);
            o->max_retries = (int)n;
        } else if (strcmp(a, "--timeout") == 0) {
            NEED_VALUE();
            bad = parse_dur(v, &o->timeout_ms) || o->timeout_ms <= 0;
        } else {
            fprintf(stderr, "burnrate-loadgen: unknown option %s\n", a);
            return -1;
        }
#undef NEED_VALUE
        if (bad) {
            fprintf(stderr, "burnrate-loadgen: bad value for %s: %s\n", a, v);
            return -1;
        }
    }
    if (!o->live && o->backfill_ms == 0) {
        o->live = true;
    }
    if (o->now_ms != 0 && o->live) {
        fprintf(stderr, "burnrate-loadgen: --now only makes sense without --live\n");
        return -1;
    }
    if (o->incident && o->inc_service >= o->services) {
        fprintf(stderr, "burnrate-loadgen: --incident-service %d but only %d services\n",
                o->inc_service, o->services);
        return -1;
    }
    if (o->extra_name != NULL && o->extra_service >= o->services) {
        fprintf(stderr, "burnrate-loadgen: --extra-label-service %d but only %d services\n",
                o->extra_service, o->services);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Deterministic model                                                      */
/* ------------------------------------------------------------------------ */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_u01(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double rng_normal(rng *r)
{
    double u1 = rng_u01(r);
    double u2 = rng_u01(r);
    if (u1 < 1e-300) {
        u1 = 1e-300;
    }
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static rng rng_for(uint64_t seed, uint64_t a, uint64_t b)
{
    rng r = {seed ^ (a * 0xd1342543de82ef95ULL) ^ (b * 0x2545f4914f6cdd1dULL)};
    rng_next(&r);
    return r;
}

/* Rounds x up with probability frac(x), so sums stay unbiased. */
static double stoch_round(rng *r, double x)
{
    if (x <= 0) {
        return 0;
    }
    double f = floor(x);
    return f + (rng_u01(r) < x - f ? 1 : 0);
}

static double lognormal_cdf(double x, double median, double sigma)
{
    if (x <= 0) {
        return 0;
    }
    return 0.5 * erfc(-(log(x) - log(median)) / (sigma * M_SQRT2));
}

/* Inserts x into the name-sorted labels l[0..*n), which has room for it. */
static void insert_label(br_label *l, size_t *n, br_label x)
{
    size_t at = *n;
    while (at > 0 && strcmp(l[at - 1].name, x.name) > 0) {
        l[at] = l[at - 1];
        at--;
    }
    l[at] = x;
    (*n)++;
}

/* One service x endpoint: fixed traits, label sets, cumulative counters. */
typedef struct group {
    int service;
    int endpoint;
    double base_rps;
    double median_s;
    double sigma;
    br_label (*labels)[MAX_LABELS]; /* per series, sorted by name; views into the run arena */
    size_t *n_labels;
    /* Cumulative state. */
    double codes[N_CODES];
    double le[N_LE];
    double sum;
    double count;
    double native[NATIVE_N];
    double up; /* the up gauge's current value: 0 or 1 */
} group;

typedef struct model {
    const opts *o;
    int series_per_group;
    int n_groups;
    group *groups;
    int64_t start_ms; /* timestamp of step 0 */
    br_arena arena;   /* label strings and arrays; read-only after init */
} model;

static void model_init(model *m, const opts *o, int64_t start_ms)
{
    m->o = o;
    m->series_per_group = N_CODES + N_LE + 2 + (o->up_gauge ? 1 : 0) + (o->native ? 1 : 0);
    m->n_groups = o->services * o->endpoints;
    m->groups = br_calloc((size_t)m->n_groups, sizeof(group));
    m->start_ms = start_ms;
    br_arena_init(&m->arena, 0, 0);
    size_t nh = sizeof(handler_names) / sizeof(handler_names[0]);
    for (int gi = 0; gi < m->n_groups; gi++) {
        group *g = &m->groups[gi];
        g->service = gi / o->endpoints;
        g->endpoint = gi % o->endpoints;
        rng r = rng_for(o->seed, (uint64_t)gi, UINT64_MAX);
        g->base_rps = 2 + 198 * rng_u01(&r) * rng_u01(&r);
        g->median_s = 0.02 + 0.18 * rng_u01(&r);
        g->sigma = 0.5 + 0.4 * rng_u01(&r);
        const char *service = br_arena_printf(&m->arena, "svc-%d", g->service);
        const char *handler = g->endpoint < (int)nh
                                  ? handler_names[g->endpoint]
                                  : br_arena_printf(&m->arena, "/api/v1/endpoint%d", g->endpoint);
        const char *method = (rng_next(&r) % 4 == 0) ? "POST" : "GET";
        g->labels =
            br_arena_alloc(&m->arena, (size_t)m->series_per_group * sizeof(br_label[MAX_LABELS]));
        g->n_labels = br_arena_alloc(&m->arena, (size_t)m->series_per_group * sizeof(size_t));
        int k = 0;
        for (int c = 0; c < N_CODES; c++, k++) {
            br_label *l = g->labels[k];
            l[0] = (br_label){"__name__", "http_requests_total"};
            l[1] = (br_label){"code", code_names[c]};
            l[2] = (br_label){"handler", handler};
            l[3] = (br_label){"method", method};
            l[4] = (br_label){"service", service};
            g->n_labels[k] = 5;
        }
        for (int b = 0; b < N_LE; b++, k++) {
            br_label *l = g->labels[k];
            l[0] = (br_label){"__name__", "http_request_duration_seconds_bucket"};
            l[1] = (br_label){"handler", handler};
            l[2] = (br_label){"le", le_names[b]};
            l[3] = (br_label){"service", service};
            g->n_labels[k] = 4;
        }
        const char *tail[3] = {"http_request_duration_seconds_sum",
                               "http_request_duration_seconds_count",
                               "http_request_duration_seconds"};
        for (int t = 0; t < 2; t++, k++) {
            br_label *l = g->labels[k];
            l[0] = (br_label){"__name__", tail[t]};
            l[1] = (br_label){"handler", handler};
            l[2] = (br_label){"service", service};
            g->n_labels[k] = 3;
        }
        if (o->up_gauge) {
            br_label *l = g->labels[k++];
            l[0] = (br_label){"__name__", "up"};
            l[1] = (br_label){"instance",
                              br_arena_printf(&m->arena, "%s-%d:9100", service, g->endpoint)};
            l[2] = (br_label){"job", service};
            g->n_labels[k - 1] = 3;
        }
        if (o->native) { /* the native histogram is always the group's last series */
            br_label *l = g->labels[k++];
            l[0] = (br_label){"__name__", tail[2]};
            l[1] = (br_label){"handler", handler};
            l[2] = (br_label){"service", service};
            g->n_labels[k - 1] = 3;
        }
        if (o->extra_name != NULL && g->service == o->extra_service) {
            br_label extra = {o->extra_name, o->extra_value};
            for (k = 0; k < m->series_per_group; k++) {
                insert_label(g->labels[k], &g->n_labels[k], extra);
            }
        }
    }
}

static void model_free(model *m)
{
    br_free(m->groups);
    br_arena_free(&m->arena);
}

/* Advances group g by step k (timestamp t). */
static void group_step(const model *m, group *g, int gi, int64_t k, int64_t t)
{
    const opts *o = m->o;
    rng r = rng_for(o->seed, (uint64_t)gi, (uint64_t)k);
    double day = 86400000.0;
    double diurnal = 1 + 0.3 * sin(2 * M_PI * fmod((double)t, day) / day);
    double noise = 1 + 0.1 * rng_normal(&r);
    if (noise < 0.2) {
        noise = 0.2;
    }
    double expected = g->base_rps * ((double)o->interval_ms / 1000.0) * diurnal * noise;
    double n = stoch_round(&r, expected);

    double share[N_CODES];
    memcpy(share, code_share, sizeof(share));
    double median = g->median_s;
    int64_t since = t - m->start_ms;
    bool in_incident = o->incident && g->service == o->inc_service && since >= o->inc_start_ms &&
                       since < o->inc_start_ms + o->inc_len_ms;
    if (in_incident) {
        double ok_scale = (1 - o->inc_ratio) / (1 - code_share[5] - code_share[6]);
        for (int c = 0; c < 5; c++) {
            share[c] *= ok_scale;
        }
        share[5] = 0.7 * o->inc_ratio;
        share[6] = 0.3 * o->inc_ratio;
        median *= 4;
    }
    double total = 0;
    for (int c = 0; c < N_CODES; c++) {
        double inc = stoch_round(&r, n * share[c]);
        g->codes[c] += inc;
        total += inc;
    }
    double prev = 0;
    for (int b = 0; b < N_LE - 1; b++) {
        double inc = stoch_round(&r, total * lognormal_cdf(le_bounds[b], median, g->sigma));
        if (inc < prev) {
            inc = prev;
        }
        if (inc > total) {
            inc = total;
        }
        g->le[b] += inc;
        prev = inc;
    }
    g->le[N_LE - 1] += total;
    g->count += total;
    double mean = median * exp(g->sigma * g->sigma / 2);
    double sum_noise = 1 + 0.05 * rng_normal(&r);
    g->sum += total * mean * (sum_noise > 0 ? sum_noise : 0);
    if (o->native) {
        double lo_cdf = 0;
        for (int i = 0; i < NATIVE_N; i++) {
            double upper = ldexp(1.0, NATIVE_FIRST + i); /* schema 0: (2^(i-1), 2^i] */
            double cdf = (i == NATIVE_N - 1) ? 1.0 : lognormal_cdf(upper, median, g->sigma);
            g->native[i] += stoch_round(&r, total * (cdf - lo_cdf));
            lo_cdf = cdf;
        }
    }
    if (o->up_gauge) { /* drawn last: the other series do not change with the flag */
        g->up = rng_u01(&r) < (in_incident ? 0.05 : 0.0005) ? 0 : 1;
    }
}

/* Writes the group's current values at time t into column `col` of the
 * per-series sample arrays starting at out[0]. */
static void group_emit(const model *m, const group *g, int64_t t, size_t col, br_rw_series *out,
                       br_arena *a)
{
    int k = 0;
    for (int c = 0; c < N_CODES; c++, k++) {
        out[k].samples[col] = (br_sample){t, g->codes[c]};
    }
    for (int b = 0; b < N_LE; b++, k++) {
        out[k].samples[col] = (br_sample){t, g->le[b]};
    }
    out[k++].samples[col] = (br_sample){t, g->sum};
    out[k++].samples[col] = (br_sample){t, g->count};
    if (m->o->up_gauge) {
        out[k++].samples[col] = (br_sample){t, g->up};
    }
    if (m->o->native) {
        static const br_span span = {NATIVE_FIRST, NATIVE_N};
        br_histogram_sample *hs = &out[k].histograms[col];
        memset(hs, 0, sizeof(*hs));
        hs->t = t;
        double *b = br_arena_alloc(a, NATIVE_N * sizeof(double));
        double cnt = 0;
        for (int i = 0; i < NATIVE_N; i++) {
            b[i] = g->native[i];
            cnt += b[i];
        }
        hs->h.schema = 0;
        hs->h.count = cnt;
        hs->h.sum = g->sum;
        hs->h.zero_threshold = 0x1p-128;
        hs->h.n_pos_spans = 1;
        hs->h.pos_spans = &span;
        hs->h.n_pos = NATIVE_N;
        hs->h.pos_buckets = b;
        hs->h.reset_hint = BR_HIST_RESET_NO;
    }
}

/* ------------------------------------------------------------------------ */
/* Run state and sending                                                    */
/* ------------------------------------------------------------------------ */

typedef struct run {
    const opts *o;
    model m;
    int groups_per_request;
    int n_chunks;
    int64_t backfill_last_step; /* last step index sent fast; -1 = none */
    int64_t live_end_ms;        /* wall-clock end of the live phase; 0 = none */
    FILE *ack;
    FILE *index;
    pthread_mutex_t ack_mu;
    atomic_long next_req;
    atomic_long requests;
    atomic_long acked;
    atomic_long samples_acked;
    atomic_long status_2xx;
    atomic_long status_4xx;
    atomic_long status_5xx;
    atomic_long net_errors;
    atomic_long retries;
    atomic_long dropped;
    atomic_int errors_printed;
} run;

typedef struct worker {
    run *r;
    int id;
    pthread_t thread;
    CURL *curl;
    br_arena arena;
    br_buf body;
    char errbody[512];
    size_t errlen;
    double retry_after_s;
} worker;

static bool should_stop(run *r)
{
    if (stop_requested) {
        return true;
    }
    if (r->o->max_requests > 0 && atomic_load(&r->requests) >= r->o->max_requests) {
        return true;
    }
    return false;
}

/* Sleeps ms in slices so a stop request is noticed quickly. */
static void sleep_ms(run *r, int64_t ms)
{
    while (ms > 0 && !stop_requested) {
        int64_t slice = ms > 100 ? 100 : ms;
        struct timespec ts = {slice / 1000, (long)(slice % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    (void)r;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    worker *w = userdata;
    size_t n = size * nmemb;
    size_t room = sizeof(w->errbody) - 1 - w->errlen;
    size_t take = n < room ? n : room;
    memcpy(w->errbody + w->errlen, ptr, take);
    w->errlen += take;
    w->errbody[w->errlen] = '\0';
    return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
    worker *w = userdata;
    size_t n = size * nitems;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) - 1 && strncasecmp(buf, name, sizeof(name) - 1) == 0) {
        char tmp[64];
        size_t len = n - (sizeof(name) - 1);
        if (len >= sizeof(tmp)) {
            len = sizeof(tmp) - 1;
        }
        memcpy(tmp, buf + sizeof(name) - 1, len);
        tmp[len] = '\0';
        char *end;
        double v = strtod(tmp, &end);
        if (end != tmp && v >= 0 && v < 3600) {
            w->retry_after_s = v; /* HTTP dates are not honoured: plain backoff then */
        }
    }
    return n;
}

static void print_error(worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void print_error(worker *w, const char *fmt, ...)
{
    if (w->r->o->quiet || atomic_fetch_add(&w->r->errors_printed, 1) >= 20) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "burnrate-loadgen: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/* One POST. Returns the HTTP status, or 0 on a network error. */
static long post_once(worker *w, int attempt)
{
    const opts *o = w->r->o;
    struct curl_slist *h = NULL;
    char line[96];
    h = curl_slist_append(h, "Content-Encoding: snappy");
    snprintf(line, sizeof(line), "Content-Type: %s", br_rw_content_type(o->version));
    h = curl_slist_append(h, line);
    h = curl_slist_append(h, "User-Agent: burnrate-loadgen/" BR_VERSION);
    h = curl_slist_append(h, o->version == 2 ? "X-Prometheus-Remote-Write-Version: 2.0.0"
                                             : "X-Prometheus-Remote-Write-Version: 0.1.0");
    if (attempt > 1) {
        snprintf(line, sizeof(line), "Retry-Attempt: %d", attempt - 1);
        h = curl_slist_append(h, line);
    }
    h = curl_slist_append(h, "Expect:");
    CURL *c = w->curl;
    curl_easy_setopt(c, CURLOPT_URL, o->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, w->body.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)w->body.len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, w);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    w->errlen = 0;
    w->errbody[0] = '\0';
    w->retry_after_s = -1;
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    } else {
        print_error(w, "POST %s: %s", o->url, curl_easy_strerror(rc));
    }
    curl_slist_free_all(h);
    return status;
}

/* A built request: what it holds, for the ack log and the index. */
typedef struct reqinfo {
    long n;
    int series_from;
    int series_to;
    int64_t t_from;
    int64_t t_to;
    size_t samples;
    size_t histograms;
} reqinfo;

static void log_line(run *r, FILE *f, const reqinfo *q, long status, int attempts, const char *file)
{
    pthread_mutex_lock(&r->ack_mu);
    fprintf(f,
            "req=%ld series_from=%d series_to=%d t_from=%lld t_to=%lld step_ms=%lld "
            "run_start=%lld samples=%zu histograms=%zu",
            q->n, q->series_from, q->series_to, (long long)q->t_from, (long long)q->t_to,
            (long long)r->o->interval_ms, (long long)r->m.start_ms, q->samples, q->histograms);
    if (file != NULL) {
        fprintf(f, " version=%d file=%s\n", r->o->version, file);
    } else {
        fprintf(f, " status=%ld attempts=%d\n", status, attempts);
    }
    fflush(f);
    pthread_mutex_unlock(&r->ack_mu);
}

/* Sends w->body with retries; returns true when answered 2xx. */
static bool send_request(worker *w, const reqinfo *q)
{
    run *r = w->r;
    const opts *o = r->o;
    int64_t backoff = MIN_BACKOFF_MS;
    for (int attempt = 1;; attempt++) {
        long status = post_once(w, attempt);
        if (status >= 200 && status < 300) {
            atomic_fetch_add(&r->status_2xx, 1);
            atomic_fetch_add(&r->acked, 1);
            atomic_fetch_add(&r->samples_acked, (long)(q->samples + q->histograms));
            if (r->ack != NULL) {
                log_line(r, r->ack, q, status, attempt, NULL);
            }
            return true;
        }
        bool retry;
        if (status == 0) {
            atomic_fetch_add(&r->net_errors, 1);
            retry = true;
        } else if (status >= 500 || status == 429) {
            atomic_fetch_add(status == 429 ? &r->status_4xx : &r->status_5xx, 1);
            print_error(w, "req=%ld: HTTP %ld: %.200s", q->n, status, w->errbody);
            retry = true;
        } else {
            atomic_fetch_add(status >= 400 ? &r->status_4xx : &r->status_5xx, 1);
            print_error(w, "req=%ld: HTTP %ld, dropped: %.300s", q->n, status, w->errbody);
            retry = false;
        }
        if (!retry || attempt > o->max_retries || stop_requested) {
            atomic_fetch_add(&r->dropped, 1);
            return false;
        }
        atomic_fetch_add(&r->retries, 1);
        int64_t wait = w->retry_after_s >= 0 ? (int64_t)(w->retry_after_s * 1000) : backoff;
        sleep_ms(r, wait);
        backoff = backoff * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : backoff * 2;
    }
}

/* Builds and sends (or dumps) one request: chunk c, steps [k0, k0+ns). */
static void do_request(worker *w, int c, int64_t k0, int ns)
{
    run *r = w->r;
    model *m = &r->m;
    int g0 = c * r->groups_per_request;
    int g1 = g0 + r->groups_per_request;
    if (g1 > m->n_groups) {
        g1 = m->n_groups;
    }
    int spg = m->series_per_group;
    size_t n_series = (size_t)(g1 - g0) * (size_t)spg;
    br_arena_reset(&w->arena);
    br_rw_series *s = br_arena_calloc(&w->arena, n_series, sizeof(br_rw_series));
    for (int gi = g0; gi < g1; gi++) {
        group *g = &m->groups[gi];
        br_rw_series *gs = &s[(size_t)(gi - g0) * (size_t)spg];
        for (int k = 0; k < spg; k++) {
            gs[k].labels = g->labels[k];
            gs[k].n_labels = g->n_labels[k];
            bool native = m->o->native && k == spg - 1;
            if (native) {
                gs[k].histograms =
                    br_arena_alloc(&w->arena, (size_t)ns * sizeof(br_histogram_sample));
                gs[k].n_histograms = (size_t)ns;
            } else {
                gs[k].samples = br_arena_alloc(&w->arena, (size_t)ns * sizeof(br_sample));
                gs[k].n_samples = (size_t)ns;
            }
        }
        for (int j = 0; j < ns; j++) {
            int64_t k = k0 + j;
            int64_t t = m->start_ms + k * r->o->interval_ms;
            group_step(m, g, gi, k, t);
            group_emit(m, g, t, (size_t)j, gs, &w->arena);
        }
    }
    reqinfo q = {
        .n = atomic_fetch_add(&r->next_req, 1) + 1,
        .series_from = g0 * spg,
        .series_to = g1 * spg,
        .t_from = m->start_ms + k0 * r->o->interval_ms,
        .t_to = m->start_ms + (k0 + ns - 1) * r->o->interval_ms,
    };
    for (size_t i = 0; i < n_series; i++) {
        q.samples += s[i].n_samples;
        q.histograms += s[i].n_histograms;
    }
    br_err err;
    br_err_clear(&err);
    if (br_rw_encode(r->o->version, s, n_series, &w->body, &err) != 0) {
        print_error(w, "encoding req=%ld: %s", q.n, err.msg);
        atomic_fetch_add(&r->dropped, 1);
        return;
    }
    atomic_fetch_add(&r->requests, 1);
    if (r->o->dump_dir != NULL) {
        char name[64];
        char path[4096];
        snprintf(name, sizeof(name), "req-%06ld.bin", q.n);
        snprintf(path, sizeof(path), "%s/%s", r->o->dump_dir, name);
        FILE *f = fopen(path, "wb");
        if (f == NULL || fwrite(w->body.data, 1, w->body.len, f) != w->body.len) {
            print_error(w, "writing %s: %s", path, strerror(errno));
            atomic_fetch_add(&r->dropped, 1);
        } else {
            atomic_fetch_add(&r->acked, 1);
            atomic_fetch_add(&r->samples_acked, (long)(q.samples + q.histograms));
            log_line(r, r->index, &q, 0, 0, name);
        }
        if (f != NULL) {
            fclose(f);
        }
        return;
    }
    send_request(w, &q);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    run *r = w->r;
    const opts *o = r->o;
    int conc = o->concurrency;
    /* Backfill: as fast as possible, several steps per request. */
    int64_t k = 0;
    if (r->backfill_last_step >= 0) {
        int spr = o->steps_per_request;
        if (spr == 0) {
            int groups =
                r->groups_per_request < r->m.n_groups ? r->groups_per_request : r->m.n_groups;
            int series = groups * r->m.series_per_group;
            spr = 2000 / series > 0 ? 2000 / series : 1;
        }
        for (; k <= r->backfill_last_step && !should_stop(r); k += spr) {
            int ns = (int)((r->backfill_last_step - k + 1) < spr ? (r->backfill_last_step - k + 1)
                                                                 : spr);
            for (int c = w->id; c < r->n_chunks && !should_stop(r); c += conc) {
                do_request(w, c, k, ns);
            }
        }
        k = r->backfill_last_step + 1;
    }
    if (!o->live) {
        return NULL;
    }
    /* Live: one step per request, when the wall clock reaches it. */
    for (; !should_stop(r); k++) {
        int64_t t = r->m.start_ms + k * o->interval_ms;
        if (r->live_end_ms != 0 && t > r->live_end_ms) {
            break;
        }
        int64_t now = br_now_ms();
        if (t > now) {
            sleep_ms(r, t - now);
            if (should_stop(r)) {
                break;
            }
        }
        for (int c = w->id; c < r->n_chunks && !should_stop(r); c += conc) {
            do_request(w, c, k, 1);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse_args(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    run r;
    memset(&r, 0, sizeof(r));
    r.o = &o;
    int64_t wall = br_now_ms();
    int64_t now = o.now_ms ? o.now_ms : wall;
    int64_t first = now - o.backfill_ms;
    int64_t start = first - ((first % o.interval_ms) + o.interval_ms) % o.interval_ms;
    if (o.backfill_ms == 0 && start < now) {
        start += o.interval_ms; /* live only: the first step is the next tick */
    }
    model_init(&r.m, &o, start);
    r.backfill_last_step = o.backfill_ms > 0 ? (now - start) / o.interval_ms : -1;
    r.live_end_ms = o.live && o.duration_ms > 0 ? wall + o.duration_ms : 0;
    int spg = r.m.series_per_group;
    r.groups_per_request = o.series_per_request / spg > 0 ? o.series_per_request / spg : 1;
    r.n_chunks = (r.m.n_groups + r.groups_per_request - 1) / r.groups_per_request;
    if (o.concurrency > r.n_chunks) {
        o.concurrency = r.n_chunks;
    }
    pthread_mutex_init(&r.ack_mu, NULL);
    int rc = 0;
    if (o.ack_log != NULL) {
        r.ack = fopen(o.ack_log, "a");
        if (r.ack == NULL) {
            fprintf(stderr, "burnrate-loadgen: cannot open %s: %s\n", o.ack_log, strerror(errno));
            rc = 2;
        }
    }
    if (rc == 0 && o.dump_dir != NULL) {
        char path[4096];
        mkdir(o.dump_dir, 0755);
        snprintf(path, sizeof(path), "%s/index.txt", o.dump_dir);
        r.index = fopen(path, "w");
        if (r.index == NULL) {
            fprintf(stderr, "burnrate-loadgen: cannot write %s: %s\n", path, strerror(errno));
            rc = 2;
        }
    }
    if (rc == 0) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        worker *ws = br_calloc((size_t)o.concurrency, sizeof(worker));
        int64_t t0 = br_mono_ns();
        for (int i = 0; i < o.concurrency; i++) {
            ws[i].r = &r;
            ws[i].id = i;
            ws[i].curl = curl_easy_init();
            br_arena_init(&ws[i].arena, 0, 0);
            br_buf_init(&ws[i].body, 0);
            pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
        }
        for (int i = 0; i < o.concurrency; i++) {
            pthread_join(ws[i].thread, NULL);
            curl_easy_cleanup(ws[i].curl);
            br_arena_free(&ws[i].arena);
            br_buf_free(&ws[i].body);
        }
        double sec = (double)(br_mono_ns() - t0) / 1e9;
        br_free(ws);
        curl_global_cleanup();
        long samples = atomic_load(&r.samples_acked);
        printf("requests=%ld acked=%ld samples=%ld 2xx=%ld 4xx=%ld 5xx=%ld network_errors=%ld "
               "retries=%ld dropped=%ld seconds=%.3f samples_per_second=%.0f series=%d\n",
               atomic_load(&r.requests), atomic_load(&r.acked), samples, atomic_load(&r.status_2xx),
               atomic_load(&r.status_4xx), atomic_load(&r.status_5xx), atomic_load(&r.net_errors),
               atomic_load(&r.retries), atomic_load(&r.dropped), sec,
               sec > 0 ? (double)samples / sec : 0.0, r.m.n_groups * spg);
        rc = atomic_load(&r.dropped) > 0 ? 1 : 0;
    }
    if (r.ack != NULL) {
        fclose(r.ack);
    }
    if (r.index != NULL) {
        fclose(r.index);
    }
    pthread_mutex_destroy(&r.ack_mu);
    model_free(&r.m);
    return rc;
}
