/*
 * soak.c — burnrate-soak: a bounded load and soak run of the real
 * `burnrate serve` on loopback, with its checks as hard failures.
 *
 * What it does. Starts the given burnrate binary (a temp data dir, the
 * example SLO files, evaluation every 10 s, a snapshot every minute) and
 * backfills --backfill seconds of history as fast as it is taken (so every
 * query window below is full from the start: the run measures a steady
 * state, not windows filling up). Then for --seconds, at the same time:
 *   - --senders remote-write (1.0) senders, each with one keep-alive
 *     connection. Sender i owns the groups g with g % senders == i of the
 *     model below and sends one sample of each of its series every
 *     1/--rate seconds, timestamps on a fixed grid (as scrapes are), so
 *     the offered load is steady. 429 and 503 (back-pressure) are retried
 *     with backoff; every other non-2xx, and any network error, is an
 *     error. Each POST's latency is recorded.
 *   - --queriers query threads, round-robin over: an instant and a range
 *     (last 5 minutes) query of the 5xx error ratio per service (an SLI as
 *     SLOs compute it), a histogram_quantile, a recorded Sloth series, the
 *     budget API (/api/v1/slos, /api/v1/services), alerts, the UI (/,
 *     /app.js, /style.css) and /metrics. Anything but 200 is an error.
 *   - the main thread, sampling the server's VmRSS (/proc/<pid>/status)
 *     and burnrate_heap_bytes (/metrics) every --rss-every seconds.
 * Model: services svc-0..svc-2 (the ones the example SLOs select) x
 * --endpoints handlers = groups; per group 7 counters
 * http_requests_total{code,handler,method,service}, 12 buckets
 * http_request_duration_seconds_bucket{handler,le,service}, and _sum and
 * _count; sender 0 also sends up{instance,job="burnrate"} = 1.
 *
 * Checks (exit 1 if any fails, after printing the summary):
 *   - no error statuses and no network errors, on writes and reads;
 *   - zero lost acknowledged samples: count_over_time of each metric over
 *     the whole run (backfill included) equals, for every series, the
 *     number of steps its sender got a 2xx for, and the totals equal the
 *     senders' count;
 *   - RSS at the end is less than 5% above RSS after warm-up (the first
 *     sample at or after 20% of the run), once the growth the stored
 *     samples account for is taken off (DATA_BYTES_PER_SAMPLE each: the
 *     head grows with its data by design; a leak is what is left). The raw
 *     growth is printed next to it;
 *   - burnrate exits 0 on SIGTERM.
 * It prints one "SUMMARY key=value ..." line (parsed by scripts/soak.sh)
 * after a readable report. Exit status: 0 all checks passed, 1 a check
 * failed, 2 usage or set-up error.
 *
 * Threads: main (set-up, RSS sampling, checks), senders and queriers; they
 * share the stop flag and per-thread counters read only after the join.
 */
#include "api/remote_write_encode.h"
#include "engine/core/alloc.h"
#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "engine/core/clock.h"
#include "engine/core/err.h"
#include "tests/helpers/peer.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
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
#include <sys/wait.h>
#include <time.h>

#define N_SERVICES      3
#define N_CODES         7
#define N_LE            12
#define SERIES_PER_GRP  (N_CODES + N_LE + 2)
#define MAX_SENDERS     64
#define MAX_QUERIERS    16
#define MAX_RSS_SAMPLES 100000
#define MAX_RESPONSE    (64u * 1024 * 1024)
#define RSS_GROWTH_MAX  0.05
/* What storing one more sample may cost: BENCHMARKS.md measures the head
 * (chunks and series tables) at 1.4-1.6 bytes per sample; 2 gives margin. */
#define DATA_BYTES_PER_SAMPLE 2.0
#define WARMUP_SHARE          0.20
#define MIN_BACKOFF_MS        20
#define MAX_BACKOFF_MS        2000
#define BACKFILL_BATCH        10 /* steps per backfill request */

static const char *const code_names[N_CODES] = {"200", "201", "400", "404", "429", "500", "503"};
/* Shares of requests per code; 5xx 0.1%. */
static const double code_share[N_CODES] = {0.94, 0.03, 0.015, 0.01, 0.004, 0.0007, 0.0003};
static const char *const le_names[N_LE] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                           "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
/* Cumulative share of requests at or under each bound. */
static const double le_cdf[N_LE] = {0.02,  0.08,  0.25,  0.5,    0.75, 0.93,
                                    0.985, 0.996, 0.999, 0.9997, 1.0,  1.0};

typedef struct opts {
    const char *bin;
    const char *source;
    int64_t duration_ms;
    int senders;
    int endpoints;
    double rate; /* requests per second per sender */
    int queriers;
    int64_t query_pause_ms;
    int64_t rss_every_ms;
    int64_t backfill_ms;
    int query_kind; /* -1: all kinds in turn; else only this one (diagnosis) */
    bool keep;
} opts;

/* Shared by all threads; set up before they start, read-only after. */
typedef struct soak {
    opts o;
    char base_url[64];
    char write_url[96];
    int port;
    int64_t first_ms;        /* timestamp of the first backfilled step */
    int64_t backfill_end_ms; /* backfilled steps are before this */
    int64_t t0_ms;           /* timestamp of the first live step */
    int64_t period_ms;       /* grid step */
    int64_t end_mono;        /* br_mono_ns() at which load stops */
    int64_t start_mono;      /* br_mono_ns() when load started */
    atomic_int stop;
    atomic_long live_samples; /* samples acknowledged in the timed run so far */
} soak;

typedef struct sender {
    soak *s;
    int id;
    pthread_t thread;
    CURL *curl;
    br_arena arena; /* label strings and arrays, for the whole run */
    br_rw_series *series;
    size_t n_series;
    double *value;     /* per series: current counter value */
    br_sample *sample; /* per series: BACKFILL_BATCH samples of the current request */
    int *groups;
    size_t n_groups;
    uint64_t rng;
    br_buf body;
    double retry_after_s;
    /* Results, read by main after the join. */
    double *lat_ms;
    size_t n_lat;
    size_t cap_lat;
    long requests;    /* live requests (one grid step each) sent */
    long acked;       /* live requests answered 2xx */
    long acked_steps; /* steps (one sample per series) answered 2xx, backfill included */
    int64_t last_t;   /* timestamp of the newest step sent */
    bool live;        /* record latencies (the backfill's are not comparable) */
    long status_2xx;
    long backpressure; /* 429 or 503 answers (retried) */
    long errors;       /* other statuses */
    long net_errors;
    long dropped; /* requests given up on */
    long late;    /* steps sent more than one period after their time */
    char first_error[256];
} sender;

typedef struct querier {
    soak *s;
    int id;
    pthread_t thread;
    CURL *curl;
    br_buf resp;
    long requests;
    long ok;
    long errors;
    double *lat_ms;
    size_t n_lat;
    size_t cap_lat;
    char first_error[256];
} querier;

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_u01(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static void push_latency(double **v, size_t *n, size_t *cap, double ms)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        *v = br_realloc(*v, *cap * sizeof(double));
    }
    (*v)[(*n)++] = ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Nearest-rank percentile of sorted v[0..n); 0 when empty. */
static double percentile(const double *v, size_t n, double p)
{
    if (n == 0) {
        return 0;
    }
    size_t rank = (size_t)ceil(p * (double)n);
    if (rank < 1) {
        rank = 1;
    }
    return v[rank - 1];
}

static void sleep_ms(int64_t ms)
{
    if (ms <= 0) {
        return;
    }
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double since_s(const soak *s)
{
    return (double)(br_mono_ns() - s->start_mono) / 1e9;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    br_buf *b = ud;
    size_t add = size * n;
    if (br_buf_append(b, p, add) != 0) {
        return 0; /* over the cap: curl reports a write error */
    }
    return add;
}

/* GET url on a keep-alive handle; body into resp. Returns the status, or 0
 * on a network error. */
static long http_get(CURL *c, const char *url, br_buf *resp)
{
    br_buf_reset(resp);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) != CURLE_OK) {
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* ------------------------------------------------------------------------ */
/* Senders                                                                  */
/* ------------------------------------------------------------------------ */

static void sender_init(sender *w, soak *s, int id)
{
    memset(w, 0, sizeof(*w));
    w->s = s;
    w->id = id;
    w->rng = 0x5eedULL + (uint64_t)id * 7919;
    br_arena_init(&w->arena, 0, 0);
    br_buf_init(&w->body, 0);
    int n_groups_all = N_SERVICES * s->o.endpoints;
    w->groups = br_calloc((size_t)n_groups_all, sizeof(int));
    for (int g = id; g < n_groups_all; g += s->o.senders) {
        w->groups[w->n_groups++] = g;
    }
    w->n_series = w->n_groups * SERIES_PER_GRP + (id == 0 ? 1 : 0);
    w->series = br_calloc(w->n_series, sizeof(br_rw_series));
    w->value = br_calloc(w->n_series, sizeof(double));
    w->sample = br_calloc(w->n_series * BACKFILL_BATCH, sizeof(br_sample));
    size_t k = 0;
    br_arena *a = &w->arena;
    for (size_t i = 0; i < w->n_groups; i++) {
        int g = w->groups[i];
        const char *service = br_arena_printf(a, "svc-%d", g / s->o.endpoints);
        const char *handler = br_arena_printf(a, "/api/v1/endpoint%d", g % s->o.endpoints);
        const char *method = g % 3 == 0 ? "POST" : "GET";
        for (int c = 0; c < N_CODES; c++, k++) {
            br_label *l = br_arena_calloc(a, 5, sizeof(br_label));
            l[0] = (br_label){"__name__", "http_requests_total"};
            l[1] = (br_label){"code", code_names[c]};
            l[2] = (br_label){"handler", handler};
            l[3] = (br_label){"method", method};
            l[4] = (br_label){"service", service};
            w->series[k].labels = l;
            w->series[k].n_labels = 5;
        }
        for (int b = 0; b < N_LE; b++, k++) {
            br_label *l = br_arena_calloc(a, 4, sizeof(br_label));
            l[0] = (br_label){"__name__", "http_request_duration_seconds_bucket"};
            l[1] = (br_label){"handler", handler};
            l[2] = (br_label){"le", le_names[b]};
            l[3] = (br_label){"service", service};
            w->series[k].labels = l;
            w->series[k].n_labels = 4;
        }
        static const char *const tail[2] = {"http_request_duration_seconds_sum",
                                            "http_request_duration_seconds_count"};
        for (int t = 0; t < 2; t++, k++) {
            br_label *l = br_arena_calloc(a, 3, sizeof(br_label));
            l[0] = (br_label){"__name__", tail[t]};
            l[1] = (br_label){"handler", handler};
            l[2] = (br_label){"service", service};
            w->series[k].labels = l;
            w->series[k].n_labels = 3;
        }
    }
    if (id == 0) {
        br_label *l = br_arena_calloc(a, 3, sizeof(br_label));
        l[0] = (br_label){"__name__", "up"};
        l[1] = (br_label){"instance", br_arena_printf(a, "127.0.0.1:%d", s->port)};
        l[2] = (br_label){"job", "burnrate"};
        w->series[k].labels = l;
        w->series[k].n_labels = 3;
        w->value[k] = 1;
        k++;
    }
    for (size_t i = 0; i < w->n_series; i++) {
        w->series[i].samples = &w->sample[i * BACKFILL_BATCH];
        w->series[i].n_samples = 1;
    }
}

static void sender_free(sender *w)
{
    br_arena_free(&w->arena);
    br_buf_free(&w->body);
    br_free(w->groups);
    br_free(w->series);
    br_free(w->value);
    br_free(w->sample);
    br_free(w->lat_ms);
}

/* Advances every counter of the sender by one step of traffic and writes
 * each series' value at time t into its sample column `col`. */
static void sender_step(sender *w, int64_t t, size_t col)
{
    size_t k = 0;
    for (size_t i = 0; i < w->n_groups; i++) {
        double n = floor(20 + 30 * rng_u01(&w->rng));
        double *v = &w->value[k];
        double total = 0;
        for (int c = 0; c < N_CODES; c++) {
            double inc = floor(n * code_share[c] + rng_u01(&w->rng));
            v[c] += inc;
            total += inc;
        }
        double prev = 0;
        for (int b = 0; b < N_LE; b++) {
            double inc = b == N_LE - 1 ? total : floor(total * le_cdf[b] + rng_u01(&w->rng));
            if (inc < prev) {
                inc = prev;
            }
            if (inc > total) {
                inc = total;
            }
            v[N_CODES + b] += inc;
            prev = inc;
        }
        v[N_CODES + N_LE] += total * 0.08;
        v[N_CODES + N_LE + 1] += total;
        k += SERIES_PER_GRP;
    }
    for (size_t i = 0; i < w->n_series; i++) {
        w->sample[i * BACKFILL_BATCH + col] = (br_sample){t, w->value[i]};
    }
}

static void sender_error(sender *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sender_error(sender *w, const char *fmt, ...)
{
    if (w->first_error[0] != '\0') {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->first_error, sizeof(w->first_error), fmt, ap);
    va_end(ap);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    sender *w = ud;
    size_t n = size * nitems;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) - 1 && strncasecmp(buf, name, sizeof(name) - 1) == 0) {
        double v = strtod(buf + sizeof(name) - 1, NULL);
        if (v >= 0 && v < 60) {
            w->retry_after_s = v;
        }
    }
    return n;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* POSTs w->body until a final answer; true when acknowledged with 2xx. */
static bool sender_post(sender *w, struct curl_slist *headers)
{
    int64_t backoff = MIN_BACKOFF_MS;
    for (int attempt = 1; attempt <= 20; attempt++) {
        CURL *c = w->curl;
        curl_easy_setopt(c, CURLOPT_URL, w->s->write_url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, w->body.data);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)w->body.len);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, w);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        w->retry_after_s = -1;
        int64_t t0 = br_mono_ns();
        CURLcode rc = curl_easy_perform(c);
        double ms = (double)(br_mono_ns() - t0) / 1e6;
        if (w->live) {
            push_latency(&w->lat_ms, &w->n_lat, &w->cap_lat, ms);
        }
        long status = 0;
        if (rc == CURLE_OK) {
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        }
        if (status >= 200 && status < 300) {
            w->status_2xx++;
            return true;
        }
        if (status == 429 || status == 503) {
            w->backpressure++;
        } else if (status == 0) {
            w->net_errors++;
            sender_error(w, "sender %d: network error: %s", w->id, curl_easy_strerror(rc));
        } else {
            w->errors++;
            sender_error(w, "sender %d: HTTP %ld", w->id, status);
            return false; /* bad request: retrying cannot help */
        }
        if (atomic_load(&w->s->stop) && attempt > 3) {
            return false;
        }
        int64_t wait = w->retry_after_s >= 0 ? (int64_t)(w->retry_after_s * 1000) : backoff;
        sleep_ms(wait);
        backoff = backoff * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : backoff * 2;
    }
    return false;
}

static struct curl_slist *write_headers(void)
{
    char ctype[96];
    snprintf(ctype, sizeof(ctype), "Content-Type: %s", br_rw_content_type(1));
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Encoding: snappy");
    h = curl_slist_append(h, ctype);
    h = curl_slist_append(h, "X-Prometheus-Remote-Write-Version: 0.1.0");
    h = curl_slist_append(h, "User-Agent: burnrate-soak");
    h = curl_slist_append(h, "Expect:");
    return h;
}

/* Encodes the first ns sample columns and sends them; counts the result. */
static bool sender_send(sender *w, struct curl_slist *h, size_t ns)
{
    for (size_t i = 0; i < w->n_series; i++) {
        w->series[i].n_samples = ns;
    }
    br_err err;
    br_err_clear(&err);
    if (br_rw_encode(1, w->series, w->n_series, &w->body, &err) != 0) {
        sender_error(w, "sender %d: encoding: %s", w->id, err.msg);
        w->dropped++;
        return false;
    }
    if (!sender_post(w, h)) {
        w->dropped++;
        return false;
    }
    w->acked_steps += (long)ns;
    return true;
}

/* Backfill: the history from first_ms up to backfill_end_ms, as fast
 * as the server takes it, BACKFILL_BATCH steps per request, so that query
 * windows hold full data from the first second of the timed run. */
static void *backfill_main(void *arg)
{
    sender *w = arg;
    soak *s = w->s;
    struct curl_slist *h = write_headers();
    int64_t t = s->first_ms;
    while (t < s->backfill_end_ms && w->dropped == 0) {
        size_t ns = 0;
        for (; ns < BACKFILL_BATCH && t < s->backfill_end_ms; ns++, t += s->period_ms) {
            sender_step(w, t, ns);
            w->last_t = t;
        }
        sender_send(w, h, ns);
    }
    curl_slist_free_all(h);
    return NULL;
}

/* Live: one step per request when the wall clock reaches its time. */
static void *sender_main(void *arg)
{
    sender *w = arg;
    soak *s = w->s;
    struct curl_slist *h = write_headers();
    w->live = true;
    for (int64_t k = 0; !atomic_load(&s->stop); k++) {
        int64_t t = s->t0_ms + k * s->period_ms;
        int64_t now = br_now_ms();
        if (t > now) {
            sleep_ms(t - now);
        } else if (now - t > s->period_ms) {
            w->late++;
        }
        if (atomic_load(&s->stop) || br_mono_ns() >= s->end_mono) {
            break;
        }
        sender_step(w, t, 0);
        w->last_t = t;
        w->requests++;
        if (sender_send(w, h, 1)) {
            w->acked++;
            atomic_fetch_add(&s->live_samples, (long)w->n_series);
        }
    }
    curl_slist_free_all(h);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Queriers                                                                 */
/* ------------------------------------------------------------------------ */

#define N_QUERY_KINDS 11

/* Builds the URL of query kind i at wall time now_s into out. */
static void query_url(const soak *s, CURL *c, int kind, double now_s, char *out, size_t size)
{
    static const char *const ratio =
        "sum by (service) (rate(http_requests_total{code=~\"5..\"}[1m])) / "
        "sum by (service) (rate(http_requests_total[1m]))";
    static const char *const quantile = "histogram_quantile(0.99, sum by (le, service) "
                                        "(rate(http_request_duration_seconds_bucket[1m])))";
    static const char *const recorded = "slo:sli_error:ratio_rate5m";
    const char *q = NULL;
    char *esc = NULL;
    switch (kind) {
    case 0:
    case 1:
        q = ratio;
        break;
    case 2:
        q = quantile;
        break;
    case 3:
        q = recorded;
        break;
    default:
        break;
    }
    if (q != NULL) {
        esc = curl_easy_escape(c, q, 0);
    }
    switch (kind) {
    case 0:
    case 2:
    case 3:
        snprintf(out, size, "%s/api/v1/query?query=%s&time=%.3f", s->base_url, esc, now_s);
        break;
    case 1:
        snprintf(out, size, "%s/api/v1/query_range?query=%s&start=%.3f&end=%.3f&step=10",
                 s->base_url, esc, now_s - 300, now_s);
        break;
    case 4:
        snprintf(out, size, "%s/api/v1/slos", s->base_url);
        break;
    case 5:
        snprintf(out, size, "%s/api/v1/services", s->base_url);
        break;
    case 6:
        snprintf(out, size, "%s/", s->base_url);
        break;
    case 7:
        snprintf(out, size, "%s/app.js", s->base_url);
        break;
    case 8:
        snprintf(out, size, "%s/style.css", s->base_url);
        break;
    case 9:
        snprintf(out, size, "%s/metrics", s->base_url);
        break;
    default:
        snprintf(out, size, "%s/api/v1/alerts", s->base_url);
        break;
    }
    curl_free(esc);
}

static void *querier_main(void *arg)
{
    querier *q = arg;
    soak *s = q->s;
    char url[2048];
    for (long i = q->id; !atomic_load(&s->stop) && br_mono_ns() < s->end_mono; i++) {
        int kind = s->o.query_kind >= 0 ? s->o.query_kind : (int)(i % N_QUERY_KINDS);
        query_url(s, q->curl, kind, (double)br_now_ms() / 1000.0, url, sizeof(url));
        int64_t t0 = br_mono_ns();
        long status = http_get(q->curl, url, &q->resp);
        push_latency(&q->lat_ms, &q->n_lat, &q->cap_lat, (double)(br_mono_ns() - t0) / 1e6);
        q->requests++;
        if (status == 200) {
            q->ok++;
        } else {
            q->errors++;
            if (q->first_error[0] == '\0') {
                snprintf(q->first_error, sizeof(q->first_error),
                         "querier %d: HTTP %ld for %.120s: %.100s", q->id, status, url,
                         q->resp.data != NULL ? q->resp.data : "");
            }
        }
        sleep_ms(s->o.query_pause_ms);
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Sampling and verification                                                */
/* ------------------------------------------------------------------------ */

/* VmRSS of pid in KiB, or -1. */
static long read_rss_kib(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

/* burnrate_heap_bytes from /metrics, or -1. */
static double read_heap_bytes(soak *s, CURL *c, br_buf *resp)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/metrics", s->base_url);
    if (http_get(c, url, resp) != 200 || resp->data == NULL) {
        return -1;
    }
    const char *p = strstr(resp->data, "\nburnrate_heap_bytes ");
    if (p == NULL) {
        return -1;
    }
    return strtod(p + strlen("\nburnrate_heap_bytes "), NULL);
}

/* The sender that owns the series with these labels, or -1. */
static int owner_of(const soak *s, const cJSON *metric, const char *name)
{
    if (strcmp(name, "up") == 0) {
        return 0;
    }
    const cJSON *svc = cJSON_GetObjectItemCaseSensitive(metric, "service");
    const cJSON *hdl = cJSON_GetObjectItemCaseSensitive(metric, "handler");
    if (!cJSON_IsString(svc) || !cJSON_IsString(hdl)) {
        return -1;
    }
    int si = -1;
    int ei = -1;
    if (sscanf(svc->valuestring, "svc-%d", &si) != 1 ||
        sscanf(hdl->valuestring, "/api/v1/endpoint%d", &ei) != 1 || si < 0 || si >= N_SERVICES ||
        ei < 0 || ei >= s->o.endpoints) {
        return -1;
    }
    return (si * s->o.endpoints + ei) % s->o.senders;
}

typedef struct verify {
    long series_found;
    long series_expected;
    long samples_found;
    long samples_expected;
    long mismatched; /* series whose count differs from its sender's acks */
    char first_problem[512];
} verify;

/* Counts, for metric `name` (expected_per_group series per group, or one
 * series for up), every series' samples over the run and compares them
 * with the acknowledgements of its sender. */
static int verify_metric(soak *s, CURL *c, br_buf *resp, const sender *ws, const char *name,
                         int expected_per_group, int64_t t_last, verify *v)
{
    int64_t span_s = (t_last - s->first_ms) / 1000 + 120;
    char q[256];
    snprintf(q, sizeof(q), "count_over_time(%s[%" PRId64 "s])", name, span_s);
    char *esc = curl_easy_escape(c, q, 0);
    char url[1024];
    snprintf(url, sizeof(url), "%s/api/v1/query?query=%s&time=%.3f", s->base_url, esc,
             (double)(t_last + 1) / 1000.0);
    curl_free(esc);
    long status = http_get(c, url, resp);
    if (status != 200 || resp->data == NULL) {
        snprintf(v->first_problem, sizeof(v->first_problem), "%s: HTTP %ld: %.200s", q, status,
                 resp->data != NULL ? resp->data : "");
        return -1;
    }
    cJSON *root = cJSON_ParseWithLength(resp->data, resp->len);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(data, "result");
    if (!cJSON_IsArray(result)) {
        snprintf(v->first_problem, sizeof(v->first_problem), "%s: no result array", q);
        cJSON_Delete(root);
        return -1;
    }
    long expected_series = 0;
    for (int i = 0; i < s->o.senders; i++) {
        if (strcmp(name, "up") == 0) {
            expected_series = 1;
            v->samples_expected += ws[0].acked_steps;
            break;
        }
        expected_series += (long)ws[i].n_groups * expected_per_group;
        v->samples_expected += (long)ws[i].n_groups * expected_per_group * ws[i].acked_steps;
    }
    v->series_expected += expected_series;
    const cJSON *it;
    cJSON_ArrayForEach(it, result)
    {
        const cJSON *metric = cJSON_GetObjectItemCaseSensitive(it, "metric");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(it, "value");
        const cJSON *sv = cJSON_IsArray(value) ? cJSON_GetArrayItem(value, 1) : NULL;
        long n = cJSON_IsString(sv) ? strtol(sv->valuestring, NULL, 10) : -1;
        int owner = owner_of(s, metric, name);
        v->series_found++;
        v->samples_found += n > 0 ? n : 0;
        if (owner < 0 || n != ws[owner].acked_steps) {
            v->mismatched++;
            if (v->first_problem[0] == '\0') {
                char *m = cJSON_PrintUnformatted(metric);
                snprintf(v->first_problem, sizeof(v->first_problem),
                         "%s%s: %ld samples stored, sender %d acknowledged %ld", name,
                         m != NULL ? m : "?", n, owner, owner >= 0 ? ws[owner].acked_steps : -1L);
                cJSON_free(m);
            }
        }
    }
    cJSON_Delete(root);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Main                                                                     */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f, "usage: burnrate-soak [options]\n"
               "  --bin PATH         burnrate binary (default $BURNRATE_BIN)\n"
               "  --source DIR       source tree, for examples/slos (default $BR_SOURCE_DIR)\n"
               "  --seconds N        load duration (default 600)\n"
               "  --senders N        remote-write senders (default 4)\n"
               "  --endpoints N      handlers per service (default 16; 3 services, 21 series "
               "each)\n"
               "  --rate R           requests per second per sender (default 5)\n"
               "  --queriers N       query threads (default 2)\n"
               "  --query-pause MS   pause between one querier's requests (default 100)\n"
               "  --rss-every S      RSS sampling interval in seconds (default 5)\n"
               "  --backfill S       history sent before the timed run (default 360; keep it\n"
               "                     over 300, the range query's window, or RSS grows)\n"
               "  --query-kind K     only query kind K (0-10, see query_url; for diagnosis)\n"
               "  --keep             keep the temp dir (data, config, server log)\n");
}

static int parse_args(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof(*o));
    o->bin = getenv("BURNRATE_BIN");
    o->source = getenv("BR_SOURCE_DIR");
    o->duration_ms = 600000;
    o->senders = 4;
    o->endpoints = 16;
    o->rate = 5;
    o->queriers = 2;
    o->query_pause_ms = 100;
    o->rss_every_ms = 5000;
    o->query_kind = -1;
    o->backfill_ms = 360000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--keep") == 0) {
            o->keep = true;
            continue;
        }
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (v == NULL) {
            fprintf(stderr, "burnrate-soak: %s needs a value\n", a);
            return -1;
        }
        i++;
        char *end = NULL;
        double d = strtod(v, &end);
        bool num = end != v && *end == '\0' && d > 0 && d < 1e7;
        if (strcmp(a, "--bin") == 0) {
            o->bin = v;
        } else if (strcmp(a, "--source") == 0) {
            o->source = v;
        } else if (num && strcmp(a, "--seconds") == 0) {
            o->duration_ms = (int64_t)(d * 1000);
        } else if (num && strcmp(a, "--senders") == 0 && d <= MAX_SENDERS) {
            o->senders = (int)d;
        } else if (num && strcmp(a, "--endpoints") == 0 && d <= 1000) {
            o->endpoints = (int)d;
        } else if (num && strcmp(a, "--rate") == 0 && d <= 1000) {
            o->rate = d;
        } else if (strcmp(a, "--queriers") == 0 && end != v && *end == '\0' && d >= 0 &&
                   d <= MAX_QUERIERS) {
            o->queriers = (int)d;
        } else if (strcmp(a, "--query-pause") == 0 && end != v && *end == '\0' && d >= 0 &&
                   d < 1e6) {
            o->query_pause_ms = (int64_t)d;
        } else if (strcmp(a, "--query-kind") == 0 && end != v && *end == '\0' && d >= 0 &&
                   d < N_QUERY_KINDS) {
            o->query_kind = (int)d;
        } else if (strcmp(a, "--backfill") == 0 && end != v && *end == '\0' && d >= 0 &&
                   d <= 86400) {
            o->backfill_ms = (int64_t)(d * 1000);
        } else if (num && strcmp(a, "--rss-every") == 0) {
            o->rss_every_ms = (int64_t)(d * 1000);
        } else {
            fprintf(stderr, "burnrate-soak: bad option or value: %s %s\n", a, v);
            return -1;
        }
    }
    if (o->bin == NULL || o->source == NULL) {
        fprintf(stderr, "burnrate-soak: give --bin and --source (or BURNRATE_BIN, "
                        "BR_SOURCE_DIR)\n");
        return -1;
    }
    if (o->senders > N_SERVICES * o->endpoints) {
        fprintf(stderr, "burnrate-soak: more senders than groups (%d)\n",
                N_SERVICES * o->endpoints);
        return -1;
    }
    return 0;
}

static void check(int *failures, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints PASS or FAIL with the description; counts failures. */
static void check(int *failures, bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "PASS" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (!ok) {
        (*failures)++;
    }
}

typedef struct rss_point {
    double at_s;
    long kib;
    double heap;
    long samples; /* live samples acknowledged by then */
} rss_point;

int main(int argc, char **argv)
{
    static soak S;
    if (parse_args(argc, argv, &S.o) != 0) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char *dir = tu_mkdtemp("soak");
    if (dir == NULL) {
        fprintf(stderr, "burnrate-soak: mkdtemp: %s\n", strerror(errno));
        return 2;
    }
    S.port = peer_free_port();
    snprintf(S.base_url, sizeof(S.base_url), "http://127.0.0.1:%d", S.port);
    snprintf(S.write_url, sizeof(S.write_url), "%s/api/v1/write", S.base_url);
    char cfg_text[4096];
    snprintf(cfg_text, sizeof(cfg_text),
             "listen: \"127.0.0.1:%d\"\n"
             "log_level: info\n"
             "storage:\n  data_dir: %s/data\n  snapshot_interval: 1m\n"
             "evaluation:\n  interval: 10s\n"
             "slos:\n  - \"%s/examples/slos/*.yml\"\n  - \"%s/examples/slos/*/*.yml\"\n",
             S.port, dir, S.o.source, S.o.source);
    char *cfg = tu_write_file(dir, "burnrate.yml", cfg_text);
    char log_path[1024];
    snprintf(log_path, sizeof(log_path), "%s/burnrate.log", dir);
    char *sargv[] = {(char *)S.o.bin, "serve", "--config", cfg, NULL};
    peer br;
    char ready[128];
    snprintf(ready, sizeof(ready), "%s/-/ready", S.base_url);
    if (cfg == NULL || peer_start(&br, log_path, sargv) != 0 || !peer_wait_http(&br, ready, 30)) {
        fprintf(stderr, "burnrate-soak: burnrate did not become ready\n");
        if (br.pid > 0) {
            peer_stop(&br, SIGKILL, 5);
        }
        peer_dump_log(&br);
        free(cfg);
        tu_rmtree(dir);
        free(dir);
        return 2;
    }

    int n_series_total = N_SERVICES * S.o.endpoints * SERIES_PER_GRP + 1;
    S.period_ms = (int64_t)(1000.0 / S.o.rate);
    if (S.period_ms < 1) {
        S.period_ms = 1;
    }
    printf("burnrate-soak: %s, %d senders x %.1f req/s, %d series, %d queriers, %.0f s "
           "after %.0f s of backfill, dir %s\n",
           S.base_url, S.o.senders, S.o.rate, n_series_total, S.o.queriers,
           (double)S.o.duration_ms / 1000, (double)S.o.backfill_ms / 1000, dir);
    fflush(stdout);
    long rss_boot = read_rss_kib(br.pid);

    /* Backfill, then the timed run from the next grid step on. */
    sender *ws = br_calloc((size_t)S.o.senders, sizeof(sender));
    querier *qs = br_calloc((size_t)(S.o.queriers > 0 ? S.o.queriers : 1), sizeof(querier));
    int64_t now = br_now_ms();
    S.backfill_end_ms = (now / S.period_ms) * S.period_ms;
    S.first_ms = S.backfill_end_ms - (S.o.backfill_ms / S.period_ms) * S.period_ms;
    int64_t bf0 = br_mono_ns();
    for (int i = 0; i < S.o.senders; i++) {
        sender_init(&ws[i], &S, i);
        ws[i].curl = curl_easy_init();
        pthread_create(&ws[i].thread, NULL, backfill_main, &ws[i]);
    }
    for (int i = 0; i < S.o.senders; i++) {
        pthread_join(ws[i].thread, NULL);
    }
    double backfill_s = (double)(br_mono_ns() - bf0) / 1e9;
    long backfill_samples = 0;
    for (int i = 0; i < S.o.senders; i++) {
        backfill_samples += ws[i].acked_steps * (long)ws[i].n_series;
    }
    printf("backfill: %ld samples in %.1f s\n", backfill_samples, backfill_s);
    fflush(stdout);
    now = br_now_ms();
    S.t0_ms = (now / S.period_ms + 1) * S.period_ms;
    if (S.t0_ms <= S.backfill_end_ms) {
        S.t0_ms = S.backfill_end_ms + S.period_ms;
    }
    S.start_mono = br_mono_ns();
    S.end_mono = S.start_mono + S.o.duration_ms * 1000000LL;
    for (int i = 0; i < S.o.senders; i++) {
        pthread_create(&ws[i].thread, NULL, sender_main, &ws[i]);
    }
    for (int i = 0; i < S.o.queriers; i++) {
        qs[i].s = &S;
        qs[i].id = i;
        qs[i].curl = curl_easy_init();
        br_buf_init(&qs[i].resp, MAX_RESPONSE);
        pthread_create(&qs[i].thread, NULL, querier_main, &qs[i]);
    }

    /* Sample RSS until the load ends. */
    CURL *mc = curl_easy_init();
    br_buf mresp;
    br_buf_init(&mresp, MAX_RESPONSE);
    rss_point *rss = br_calloc(MAX_RSS_SAMPLES, sizeof(rss_point));
    size_t n_rss = 0;
    bool server_died = false;
    for (;;) {
        int status = 0;
        if (waitpid(br.pid, &status, WNOHANG) == br.pid) {
            br.pid = 0;
            server_died = true;
            atomic_store(&S.stop, 1);
            break;
        }
        if (n_rss < MAX_RSS_SAMPLES) {
            rss[n_rss].at_s = since_s(&S);
            rss[n_rss].kib = read_rss_kib(br.pid);
            rss[n_rss].heap = read_heap_bytes(&S, mc, &mresp);
            rss[n_rss].samples = atomic_load(&S.live_samples);
            n_rss++;
        }
        int64_t left = (S.end_mono - br_mono_ns()) / 1000000;
        if (left <= 0) {
            break;
        }
        sleep_ms(left < S.o.rss_every_ms ? left : S.o.rss_every_ms);
    }
    /* A last sample at the end of the load, before the senders drain. */
    if (!server_died && n_rss < MAX_RSS_SAMPLES) {
        rss[n_rss].at_s = since_s(&S);
        rss[n_rss].kib = read_rss_kib(br.pid);
        rss[n_rss].heap = read_heap_bytes(&S, mc, &mresp);
        rss[n_rss].samples = atomic_load(&S.live_samples);
        n_rss++;
    }
    for (int i = 0; i < S.o.senders; i++) {
        pthread_join(ws[i].thread, NULL);
    }
    for (int i = 0; i < S.o.queriers; i++) {
        pthread_join(qs[i].thread, NULL);
    }
    atomic_store(&S.stop, 1);
    double load_s = since_s(&S);

    /* Writes. */
    long requests = 0;
    long acked = 0;
    long acked_samples = 0; /* backfill included */
    long live_samples = 0;
    long st2xx = 0;
    long bp = 0;
    long errs = 0;
    long net = 0;
    long dropped = 0;
    long late = 0;
    size_t n_lat = 0;
    int64_t t_last = S.t0_ms;
    for (int i = 0; i < S.o.senders; i++) {
        sender *w = &ws[i];
        requests += w->requests;
        acked += w->acked;
        acked_samples += w->acked_steps * (long)w->n_series;
        live_samples += w->acked * (long)w->n_series;
        st2xx += w->status_2xx;
        bp += w->backpressure;
        errs += w->errors;
        net += w->net_errors;
        dropped += w->dropped;
        late += w->late;
        n_lat += w->n_lat;
        if (w->last_t > t_last) {
            t_last = w->last_t;
        }
        if (w->first_error[0] != '\0') {
            printf("  %s\n", w->first_error);
        }
    }
    double *lat = br_calloc(n_lat > 0 ? n_lat : 1, sizeof(double));
    size_t at = 0;
    for (int i = 0; i < S.o.senders; i++) {
        memcpy(lat + at, ws[i].lat_ms, ws[i].n_lat * sizeof(double));
        at += ws[i].n_lat;
    }
    qsort(lat, n_lat, sizeof(double), cmp_double);
    double p50 = percentile(lat, n_lat, 0.50);
    double p99 = percentile(lat, n_lat, 0.99);
    double pmax = n_lat > 0 ? lat[n_lat - 1] : 0;
    double offered = S.o.rate * S.o.senders;

    /* Reads. */
    long q_req = 0;
    long q_err = 0;
    size_t n_qlat = 0;
    for (int i = 0; i < S.o.queriers; i++) {
        q_req += qs[i].requests;
        q_err += qs[i].errors;
        n_qlat += qs[i].n_lat;
        if (qs[i].first_error[0] != '\0') {
            printf("  %s\n", qs[i].first_error);
        }
    }
    double *qlat = br_calloc(n_qlat > 0 ? n_qlat : 1, sizeof(double));
    at = 0;
    for (int i = 0; i < S.o.queriers; i++) {
        memcpy(qlat + at, qs[i].lat_ms, qs[i].n_lat * sizeof(double));
        at += qs[i].n_lat;
    }
    qsort(qlat, n_qlat, sizeof(double), cmp_double);

    /* RSS: warm-up is the first sample at or after WARMUP_SHARE of the run. */
    long rss_start = n_rss > 0 ? rss[0].kib : -1;
    long rss_warm = -1;
    long rss_end = n_rss > 0 ? rss[n_rss - 1].kib : -1;
    long rss_max_after = -1;
    long samples_warm = 0;
    double heap_warm = -1;
    double heap_end = n_rss > 0 ? rss[n_rss - 1].heap : -1;
    double warm_at = (double)S.o.duration_ms / 1000.0 * WARMUP_SHARE;
    for (size_t i = 0; i < n_rss; i++) {
        if (rss[i].at_s >= warm_at && rss_warm < 0) {
            rss_warm = rss[i].kib;
            heap_warm = rss[i].heap;
            samples_warm = rss[i].samples;
        }
        if (rss_warm >= 0 && rss[i].kib > rss_max_after) {
            rss_max_after = rss[i].kib;
        }
    }
    double growth = rss_warm > 0 ? (double)(rss_end - rss_warm) / (double)rss_warm : 1e9;
    /* The store grows with every sample by design; the leak check is on
     * what remains after that allowance. */
    long samples_end = n_rss > 0 ? rss[n_rss - 1].samples : 0;
    double data_kib = (double)(samples_end - samples_warm) * DATA_BYTES_PER_SAMPLE / 1024;
    double growth_net =
        rss_warm > 0 ? ((double)(rss_end - rss_warm) - data_kib) / (double)rss_warm : 1e9;

    /* Zero lost acknowledged samples. */
    verify v;
    memset(&v, 0, sizeof(v));
    int vrc = 0;
    if (!server_died) {
        static const struct {
            const char *name;
            int per_group;
        } metrics[] = {{"http_requests_total", N_CODES},
                       {"http_request_duration_seconds_bucket", N_LE},
                       {"http_request_duration_seconds_sum", 1},
                       {"http_request_duration_seconds_count", 1},
                       {"up", 1}};
        for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]) && vrc == 0; i++) {
            vrc = verify_metric(&S, mc, &mresp, ws, metrics[i].name, metrics[i].per_group, t_last,
                                &v);
        }
    }

    /* Clean shutdown. */
    int exit_status = server_died ? -1 : peer_stop(&br, SIGTERM, 60);
    bool clean_exit = !server_died && WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0;

    printf("\n== writes ==\n");
    printf("  backfill: %ld samples in %.1f s (%.0f samples/s); RSS before %ld KiB\n",
           backfill_samples, backfill_s, (double)backfill_samples / backfill_s, rss_boot);
    printf("  timed run: requests %ld (offered %.1f/s, achieved %.1f/s), acked %ld, samples "
           "acked %ld (%.0f samples/s), late steps %ld\n",
           requests, offered, (double)acked / load_s, acked, live_samples,
           (double)live_samples / load_s, late);
    printf("  statuses: 2xx %ld, 429/503 %ld, other %ld, network errors %ld, dropped %ld\n", st2xx,
           bp, errs, net, dropped);
    printf("  latency per POST: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu POSTs)\n", p50, p99,
           pmax, n_lat);
    printf("== reads ==\n");
    printf("  requests %ld, errors %ld, latency p50 %.2f ms, p99 %.2f ms\n", q_req, q_err,
           percentile(qlat, n_qlat, 0.5), percentile(qlat, n_qlat, 0.99));
    printf("== memory (VmRSS; heap = burnrate_heap_bytes) ==\n");
    for (size_t i = 0; i < n_rss; i++) {
        if (i == 0 || i + 1 == n_rss || n_rss <= 40 || i % (n_rss / 20 + 1) == 0) {
            printf("  t=%6.1fs rss=%ld KiB heap=%.0f KiB\n", rss[i].at_s, rss[i].kib,
                   rss[i].heap / 1024);
        }
    }
    printf("  start %ld KiB, after warm-up (%.0f s) %ld KiB, end %ld KiB, max after warm-up %ld "
           "KiB; growth %.2f%%; heap after warm-up %.0f KiB, end %.0f KiB\n",
           rss_start, warm_at, rss_warm, rss_end, rss_max_after, growth * 100, heap_warm / 1024,
           heap_end / 1024);
    printf("  %ld samples stored after warm-up, allowance %.0f KiB at %.1f B/sample; growth net "
           "of it %.2f%%\n",
           samples_end - samples_warm, data_kib, DATA_BYTES_PER_SAMPLE, growth_net * 100);
    printf("== verification ==\n");
    printf("  series %ld of %ld, samples %ld stored of %ld acknowledged, mismatched series %ld\n",
           v.series_found, v.series_expected, v.samples_found, v.samples_expected, v.mismatched);
    if (v.first_problem[0] != '\0') {
        printf("  %s\n", v.first_problem);
    }
    printf("\n");
    int failures = 0;
    check(&failures, !server_died, "burnrate kept running during the load");
    check(&failures, acked > 0, "some writes were acknowledged (%ld)", acked);
    check(&failures, errs == 0 && net == 0 && dropped == 0,
          "no write errors (other statuses %ld, network %ld, dropped %ld)", errs, net, dropped);
    check(&failures, q_req > 0 && q_err == 0, "no read errors (%ld of %ld)", q_err, q_req);
    check(&failures,
          vrc == 0 && v.mismatched == 0 && v.series_found == v.series_expected &&
              v.samples_found == acked_samples && v.samples_expected == acked_samples,
          "zero lost acknowledged samples (stored %ld, acknowledged %ld)", v.samples_found,
          acked_samples);
    check(&failures, rss_warm > 0 && growth_net < RSS_GROWTH_MAX,
          "RSS growth after warm-up, net of %.1f B per stored sample, %.2f%% < %.0f%% (raw %.2f%%)",
          DATA_BYTES_PER_SAMPLE, growth_net * 100, RSS_GROWTH_MAX * 100, growth * 100);
    check(&failures, clean_exit, "burnrate exited 0 on SIGTERM (status 0x%x)",
          (unsigned)exit_status);
    printf("SUMMARY seconds=%.1f senders=%d series=%d offered_rps=%.1f achieved_rps=%.1f "
           "samples_per_second=%.0f post_p50_ms=%.2f post_p99_ms=%.2f post_max_ms=%.2f "
           "status_2xx=%ld backpressure=%ld errors=%ld network_errors=%ld late_steps=%ld "
           "reads=%ld read_errors=%ld read_p50_ms=%.2f read_p99_ms=%.2f rss_start_kib=%ld "
           "rss_warm_kib=%ld rss_end_kib=%ld rss_max_kib=%ld rss_growth_pct=%.2f "
           "rss_growth_net_pct=%.2f heap_warm_kib=%.0f heap_end_kib=%.0f backfill_samples=%ld "
           "acked_samples=%ld stored_samples=%ld lost=%ld "
           "failures=%d\n",
           load_s, S.o.senders, n_series_total, offered, (double)acked / load_s,
           (double)live_samples / load_s, p50, p99, pmax, st2xx, bp, errs, net, late, q_req, q_err,
           percentile(qlat, n_qlat, 0.5), percentile(qlat, n_qlat, 0.99), rss_start, rss_warm,
           rss_end, rss_max_after, growth * 100, growth_net * 100, heap_warm / 1024,
           heap_end / 1024, backfill_samples, acked_samples, v.samples_found,
           acked_samples > v.samples_found ? acked_samples - v.samples_found : 0L, failures);
    if (failures > 0 || !clean_exit) {
        peer_dump_log(&br);
    }

    for (int i = 0; i < S.o.senders; i++) {
        curl_easy_cleanup(ws[i].curl);
        sender_free(&ws[i]);
    }
    for (int i = 0; i < S.o.queriers; i++) {
        curl_easy_cleanup(qs[i].curl);
        br_buf_free(&qs[i].resp);
        br_free(qs[i].lat_ms);
    }
    curl_easy_cleanup(mc);
    br_buf_free(&mresp);
    br_free(ws);
    br_free(qs);
    br_free(rss);
    br_free(lat);
    br_free(qlat);
    free(cfg);
    if (S.o.keep) {
        printf("kept %s\n", dir);
    } else {
        tu_rmtree(dir);
    }
    free(dir);
    curl_global_cleanup();
    return failures > 0 ? 1 : 0;
}
