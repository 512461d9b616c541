/*
 * bench_slo.c — cost of one SLO evaluation tick at scale: N SLOs (default
 * 1,000) over 10 counter series each, 30-day rolling windows, evaluated
 * in-process by rules/evaluator on a memory-only head.
 *
 *   bench_slo [--slos N] [--scrape 60s] [--end MS] [--runs 5] [--ticks 20]
 *             [--step 30s] [--seed 1] [--openmetrics DIR] [--om-slab 54h]
 *
 * Data (deterministic: a pure function of seed, service and the time
 * range): service k ("svc0000"...) has one series http_requests_total
 * {code, service} per code 200 201 204 301 404 429 500 502 503 504, scraped
 * together every --scrape with a per-service offset and +-2 ms jitter, from
 * end - 31d to end + ticks * step. Increments are Poisson around a per-service
 * rate (0.5..300 req/s) with a daily cycle; 0.05% of requests fail outside
 * incidents, 0.5..30% inside a few random 3..90 minute incidents; every
 * series of a service resets to zero together about once a week. Values are
 * integers, so every count below is exact in a double.
 *
 * Each SLO: bad = http_requests_total{service="svcK",code=~"5.."} (4
 * series), total = http_requests_total{service="svcK"} (10 series),
 * objective 99.9%, rolling 30d, default tiers and policy. Recorded series
 * (Sloth's names and burnrate's) go into a second memory-only head, as the
 * server would write them back.
 *
 * Measured, on the calling thread (the evaluator's tick thread in the
 * server): run 0 without recording (evaluator heap and RSS), then --runs
 * runs each with a fresh evaluator: the first tick at `end` (full recount
 * from chunk summaries); run 1 then does --ticks incremental ticks every
 * --step, the samples of each step committed before its tick (not timed;
 * later runs already find those samples in the head). Every run
 * checks a few SLOs' window counts against a brute-force count over the
 * regenerated raw samples and fails on any difference.
 *
 * --openmetrics DIR also writes the samples up to `end` as OpenMetrics text,
 * one file per --om-slab of time aligned to the epoch (what
 * `promtool tsdb create-blocks-from openmetrics --max-block-duration` turns
 * into one block per file), for the Prometheus side of run_slo.sh.
 *
 * Output: key=value lines prefixed "data", "run", "memory", "check",
 * "summary" (parsed by run_slo.sh). Exit status 1 on a failed check.
 */
#include "engine/core/alloc.h"
#include "engine/core/arena.h"
#include "engine/core/clock.h"
#include "engine/core/err.h"
#include "engine/core/log.h"
#include "engine/promql/backend.h"
#include "engine/promql/selector.h"
#include "rules/evaluator.h"
#include "rules/slo.h"
#include "rules/slo_status.h"
#include "storage/head.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIN_MS (60LL * 1000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define N_CODES 10
#define MAX_SLABS 4096
#define MAX_TICKS 10000
#define N_CHECKED 5

static const char *const codes[N_CODES] = {"200", "201", "204", "301", "404",
                                           "429", "500", "502", "503", "504"};
/* Share of the requests each code gets outside incidents (sums to 1). */
static const double shares[N_CODES] = {0.86,   0.05,     0.03,     0.02,     0.025,
                                       0.0145, 0.000125, 0.000125, 0.000125, 0.000125};

typedef struct options {
    size_t slos;
    int64_t scrape_ms;
    int64_t end_ms;
    int runs;
    int ticks;
    int64_t step_ms;
    uint64_t seed;
    const char *om_dir;
    int64_t om_slab_ms;
} options;

/* ------------------------------------------------------------ data */

typedef struct gen_range {
    int64_t start;    /* first scrape slot */
    int64_t end;      /* last sample time allowed (inclusive) */
    int64_t interval;
    uint64_t seed;
} gen_range;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
    return ((double)(rng_next(s) >> 11) + 0.5) * 0x1p-53;
}

static double rng_normal(uint64_t *s)
{
    double u = rng_unit(s);
    double v = rng_unit(s);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Poisson(lambda): exact (Knuth) for small lambda, normal approximation
 * rounded to an integer above 30. */
static double rng_poisson(uint64_t *s, double lambda)
{
    if (lambda <= 0) {
        return 0;
    }
    if (lambda > 30) {
        double x = floor(lambda + sqrt(lambda) * rng_normal(s) + 0.5);
        return x < 0 ? 0 : x;
    }
    double limit = exp(-lambda);
    double p = rng_unit(s);
    double k = 0;
    while (p > limit) {
        p *= rng_unit(s);
        k += 1;
    }
    return k;
}

/* Samples of one service's N_CODES series; all share the timestamps. */
typedef struct service_data {
    size_t n;
    size_t cap;
    int64_t *t;
    double *v[N_CODES];
} service_data;

static void service_data_free(service_data *d)
{
    br_free(d->t);
    for (int c = 0; c < N_CODES; c++) {
        br_free(d->v[c]);
    }
    memset(d, 0, sizeof(*d));
}

typedef struct incident {
    int64_t from;
    int64_t to;
    double error_share;
} incident;

/* Generates service svc over r (a pure function of r and svc). */
static void gen_service(const gen_range *r, size_t svc, service_data *d)
{
    uint64_t rs = r->seed * 0x2545f4914f6cdd1dULL + (uint64_t)svc * 0x9e3779b97f4a7c15ULL + 1;
    double rate = exp(log(0.5) + rng_unit(&rs) * (log(300.0) - log(0.5))); /* req/s */
    double phase = rng_unit(&rs) * 6.283185307179586;
    int64_t offset = (int64_t)(rng_next(&rs) % (uint64_t)r->interval);
    incident inc[3];
    int n_inc = (int)(rng_next(&rs) % 4);
    for (int i = 0; i < n_inc; i++) {
        inc[i].from = r->start + (int64_t)(rng_unit(&rs) * (double)(r->end - r->start));
        inc[i].to = inc[i].from + (3 + (int64_t)(rng_next(&rs) % 88)) * MIN_MS;
        inc[i].error_share = 0.005 + rng_unit(&rs) * 0.295;
    }
    double reset_p = (double)r->interval / (double)(7 * DAY_MS);
    size_t n = 0;
    if (r->end >= r->start + offset + 2) {
        n = (size_t)((r->end - 2 - r->start - offset) / r->interval) + 1;
    }
    if (n > d->cap) {
        d->cap = n;
        d->t = br_realloc(d->t, n * sizeof(int64_t));
        for (int c = 0; c < N_CODES; c++) {
            d->v[c] = br_realloc(d->v[c], n * sizeof(double));
        }
    }
    d->n = n;
    double value[N_CODES] = {0};
    double secs = (double)r->interval / 1000.0;
    for (size_t i = 0; i < n; i++) {
        int64_t jitter = (int64_t)(rng_next(&rs) % 5) - 2;
        int64_t t = r->start + offset + (int64_t)i * r->interval + jitter;
        d->t[i] = t;
        double tod = (double)(t % DAY_MS) / (double)DAY_MS;
        double lambda = rate * secs * (1.0 + 0.4 * sin(6.283185307179586 * tod + phase));
        double err_share = 0;
        for (int k = 0; k < n_inc; k++) {
            if (t > inc[k].from && t <= inc[k].to) {
                err_share = inc[k].error_share;
            }
        }
        bool reset = i > 0 && rng_unit(&rs) < reset_p;
        for (int c = 0; c < N_CODES; c++) {
            double share = shares[c];
            if (err_share > 0) {
                share = codes[c][0] == '5' ? err_share / 4 : shares[c] * (1.0 - err_share);
            }
            double x = i == 0 ? floor(rng_unit(&rs) * 1e6) : rng_poisson(&rs, lambda * share);
            value[c] = reset ? x : value[c] + x;
            d->v[c][i] = value[c];
        }
    }
}

static void series_labels(size_t svc, int code, char *svc_buf, br_label out[3])
{
    snprintf(svc_buf, 24, "svc%04u", (unsigned)svc);
    out[0] = (br_label){"__name__", "http_requests_total"};
    out[1] = (br_label){"code", codes[code]};
    out[2] = (br_label){"service", svc_buf};
}

/* ------------------------------------------------------------ OpenMetrics */

typedef struct om_writer {
    const char *dir;
    int64_t slab_ms;
    int64_t first_slab;
    size_t n;
    FILE *f[MAX_SLABS];
    uint64_t bytes;
} om_writer;

static int om_open(om_writer *w, const char *dir, int64_t slab_ms, int64_t from, int64_t to,
                   br_err *err)
{
    memset(w, 0, sizeof(*w));
    w->dir = dir;
    w->slab_ms = slab_ms;
    w->first_slab = from / slab_ms;
    w->n = (size_t)(to / slab_ms - w->first_slab + 1);
    if (w->n > MAX_SLABS) {
        return br_err_set(err, BR_ELIMIT, "more than %d OpenMetrics slabs; raise --om-slab",
                          MAX_SLABS);
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        return br_err_set(err, BR_EIO, "mkdir %s: %s", dir, strerror(errno));
    }
    for (size_t i = 0; i < w->n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/slab-%04zu.om", dir, i);
        w->f[i] = fopen(path, "w");
        if (w->f[i] == NULL) {
            return br_err_set(err, BR_EIO, "open %s: %s", path, strerror(errno));
        }
        setvbuf(w->f[i], NULL, _IOFBF, 1 << 20);
    }
    return 0;
}

/* Writes the decimal digits of x (x >= 0) before end; returns the start. */
static char *put_u64(char *end, uint64_t x)
{
    do {
        *--end = (char)('0' + x % 10);
        x /= 10;
    } while (x != 0);
    return end;
}

/* One line: name{code,service} value seconds.millis */
static void om_series(om_writer *w, size_t svc, int code, const service_data *d, int64_t upto)
{
    char prefix[96];
    int pl = snprintf(prefix, sizeof(prefix), "http_requests_total{code=\"%s\",service=\"svc%04zu\"} ",
                      codes[code], svc);
    for (size_t i = 0; i < d->n && d->t[i] <= upto; i++) {
        int64_t t = d->t[i];
        size_t slab = (size_t)(t / w->slab_ms - w->first_slab);
        char line[160];
        memcpy(line, prefix, (size_t)pl);
        char num[64];
        char *end = num + sizeof(num);
        char *p = end;
        *--p = '\n';
        p = put_u64(p, (uint64_t)(t % 1000 + 1000)); /* 1xyz: keeps leading zeros */
        p[0] = '.';
        p = put_u64(p, (uint64_t)(t / 1000));
        *--p = ' ';
        p = put_u64(p, (uint64_t)d->v[code][i]);
        size_t len = (size_t)(end - p);
        memcpy(line + pl, p, len);
        fwrite(line, 1, (size_t)pl + len, w->f[slab]);
        w->bytes += (size_t)pl + len;
    }
}

static int om_close(om_writer *w, br_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (w->f[i] == NULL) {
            continue;
        }
        fputs("# EOF\n", w->f[i]);
        /* Written back now, so the disk is quiet while ticks are timed. */
        bool ok = fflush(w->f[i]) == 0 && fsync(fileno(w->f[i])) == 0;
        if ((fclose(w->f[i]) != 0 || !ok) && rc == 0) {
            rc = br_err_set(err, BR_EIO, "writing %s: %s", w->dir, strerror(errno));
        }
        w->f[i] = NULL;
    }
    return rc;
}

/* ------------------------------------------------------------ measuring */

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmRSS or VmHWM of this process in bytes, or -1. */
static int64_t proc_status_bytes(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    size_t kl = strlen(key);
    int64_t out = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            out = strtoll(line + kl + 1, NULL, 10) * 1024;
            break;
        }
    }
    fclose(f);
    return out;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    if (n == 0) {
        return NAN;
    }
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ------------------------------------------------------------ bench state */

typedef struct bench {
    options o;
    gen_range range;
    br_head *head;
    /* Samples after `end`, per series (svc * N_CODES + code), for the
     * incremental ticks; pos = how many are already committed. */
    br_sample **tail;
    size_t *n_tail;
    size_t *pos_tail;
    br_slo_set *set;
    double *first_wall;
    double *first_cpu;
    double *incr_wall;
    size_t n_incr;
    int failures;
} bench;

static int record_into(void *ctx, const br_series_input *in, size_t n, br_err *err)
{
    br_commit_result r;
    return br_head_commit(ctx, in, n, &r, err);
}

/* Builds the head (and the OpenMetrics files) from the generator. */
static int load(bench *b, br_err *err)
{
    const options *o = &b->o;
    om_writer *om = NULL;
    if (o->om_dir != NULL) {
        om = br_calloc(1, sizeof(*om));
        int rc = om_open(om, o->om_dir, o->om_slab_ms, b->range.start - 1000, o->end_ms, err);
        if (rc != 0) {
            br_err ignored;
            om_close(om, &ignored);
            br_free(om);
            return rc;
        }
    }
    size_t n_series = o->slos * N_CODES;
    b->tail = br_calloc(n_series, sizeof(*b->tail));
    b->n_tail = br_calloc(n_series, sizeof(size_t));
    b->pos_tail = br_calloc(n_series, sizeof(size_t));
    service_data d = {0};
    br_sample *buf = NULL;
    size_t buf_cap = 0;
    double gen_s = 0;
    double commit_s = 0;
    uint64_t samples = 0;
    int rc = 0;
    for (size_t svc = 0; svc < o->slos && rc == 0; svc++) {
        int64_t t0 = br_mono_ns();
        gen_service(&b->range, svc, &d);
        if (d.n * N_CODES > buf_cap) {
            buf_cap = d.n * N_CODES;
            buf = br_realloc(buf, buf_cap * sizeof(*buf));
        }
        size_t n_before = 0;
        while (n_before < d.n && d.t[n_before] <= o->end_ms) {
            n_before++;
        }
        br_series_input in[N_CODES];
        br_label ls[N_CODES][3];
        char svc_name[N_CODES][24];
        for (int c = 0; c < N_CODES; c++) {
            br_sample *s = buf + (size_t)c * d.n;
            for (size_t i = 0; i < d.n; i++) {
                s[i] = (br_sample){d.t[i], d.v[c][i]};
            }
            series_labels(svc, c, svc_name[c], ls[c]);
            in[c] = (br_series_input){.labels = ls[c], .n_labels = 3, .samples = s,
                                      .n_samples = n_before};
            size_t k = svc * N_CODES + (size_t)c;
            b->n_tail[k] = d.n - n_before;
            b->tail[k] = br_malloc((b->n_tail[k] + 1) * sizeof(br_sample));
            memcpy(b->tail[k], s + n_before, b->n_tail[k] * sizeof(br_sample));
            if (om != NULL) {
                om_series(om, svc, c, &d, o->end_ms);
            }
        }
        int64_t t1 = br_mono_ns();
        br_commit_result r;
        rc = br_head_commit(b->head, in, N_CODES, &r, err);
        if (rc == 0 && br_commit_rejected(&r) != 0) {
            rc = br_err_set(err, BR_EINTERNAL, "the head rejected samples: %s",
                            r.first_rejection);
        }
        if (rc == 0) {
            samples += r.samples_written;
        }
        /* gen_s: generating the samples, and formatting them as OpenMetrics. */
        gen_s += (double)(t1 - t0) / 1e9;
        commit_s += (double)(br_mono_ns() - t1) / 1e9;
    }
    br_free(buf);
    service_data_free(&d);
    if (om != NULL) {
        int crc = om_close(om, err);
        if (rc == 0) {
            rc = crc;
        }
        printf("openmetrics dir=%s slabs=%zu slab_ms=%lld bytes=%llu\n", o->om_dir, om->n,
               (long long)o->om_slab_ms, (unsigned long long)om->bytes);
        br_free(om);
    }
    br_head_stats st;
    br_head_stats_get(b->head, &st);
    printf("data slos=%zu series=%llu scrape_s=%.0f start_ms=%lld end_ms=%lld samples=%llu "
           "samples_per_series=%.0f chunks=%llu chunk_bytes=%llu series_bytes=%llu "
           "bytes_per_sample=%.3f gen_s=%.2f commit_s=%.2f heap_bytes=%lld rss_bytes=%lld\n",
           o->slos, (unsigned long long)st.series, (double)o->scrape_ms / 1000.0,
           (long long)b->range.start, (long long)o->end_ms, (unsigned long long)samples,
           (double)samples / (double)st.series, (unsigned long long)st.chunks,
           (unsigned long long)st.chunk_bytes, (unsigned long long)st.series_bytes,
           (double)(st.chunk_bytes + st.series_bytes) / (double)samples, gen_s, commit_s,
           (long long)br_alloc_bytes(), (long long)proc_status_bytes("VmRSS"));
    fflush(stdout);
    return rc;
}

static int build_slos(bench *b, br_err *err)
{
    b->set = br_slo_set_new();
    br_arena *a = br_slo_set_arena(b->set);
    for (size_t k = 0; k < b->o.slos; k++) {
        br_slo_def *d = br_slo_def_new(b->set);
        d->service = br_arena_printf(a, "svc%04zu", k);
        d->name = "availability";
        d->objective = 0.999;
        d->sli.kind = BR_SLI_EVENTS;
        d->sli.bad.kind = BR_SOURCE_COUNTER;
        d->sli.bad.expr =
            br_arena_printf(a, "http_requests_total{service=\"svc%04zu\",code=~\"5..\"}", k);
        d->sli.total.kind = BR_SOURCE_COUNTER;
        d->sli.total.expr = br_arena_printf(a, "http_requests_total{service=\"svc%04zu\"}", k);
        d->file = "bench_slo";
        d->line = (int)k + 1;
        int rc = br_slo_set_add(b->set, d, false, err);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Commits every tail sample with t <= upto not committed yet. */
static int append_until(bench *b, int64_t upto, br_err *err)
{
    size_t n_series = b->o.slos * N_CODES;
    br_series_input *in = br_malloc(n_series * sizeof(*in));
    br_label(*ls)[3] = br_malloc(n_series * sizeof(*ls));
    char(*names)[24] = br_malloc(n_series * sizeof(*names));
    size_t n = 0;
    for (size_t k = 0; k < n_series; k++) {
        size_t from = b->pos_tail[k];
        size_t to = from;
        while (to < b->n_tail[k] && b->tail[k][to].t <= upto) {
            to++;
        }
        if (to == from) {
            continue;
        }
        series_labels(k / N_CODES, (int)(k % N_CODES), names[n], ls[n]);
        in[n] = (br_series_input){.labels = ls[n], .n_labels = 3, .samples = b->tail[k] + from,
                                  .n_samples = to - from};
        n++;
        b->pos_tail[k] = to;
    }
    int rc = 0;
    if (n > 0) {
        br_commit_result r;
        rc = br_head_commit(b->head, in, n, &r, err);
        if (rc == 0 && br_commit_rejected(&r) != 0) {
            rc = br_err_set(err, BR_EINTERNAL, "the head rejected samples: %s",
                            r.first_rejection);
        }
    }
    br_free(in);
    br_free(ls);
    br_free(names);
    return rc;
}

/* ------------------------------------------------------------ checking */

/* Brute force over the regenerated raw samples: increments whose later
 * sample lies in (t - w, t], a reset counting the new value. */
static void brute_force(const service_data *d, int64_t t, int64_t w, double *bad, double *total)
{
    *bad = 0;
    *total = 0;
    for (size_t i = 1; i < d->n; i++) {
        if (d->t[i] <= t - w || d->t[i] > t) {
            continue;
        }
        for (int c = 0; c < N_CODES; c++) {
            double a = d->v[c][i - 1];
            double x = d->v[c][i];
            double inc = x >= a ? x - a : x;
            *total += inc;
            if (codes[c][0] == '5') {
                *bad += inc;
            }
        }
    }
}

/* Checks the snapshot's windows and period of SLO svc at t. Returns the
 * number of mismatches (printed). */
static int check_slo(bench *b, const br_slo_snapshot *snap, size_t svc, int64_t t, int run)
{
    char id[64];
    snprintf(id, sizeof(id), "svc%04zu-availability", svc);
    const br_slo_status *st = br_slo_snapshot_find(snap, id);
    if (st == NULL) {
        printf("check run=%d slo=%s ok=0 reason=missing\n", run, id);
        return 1;
    }
    service_data d = {0};
    gen_service(&b->range, svc, &d);
    int bad_windows = 0;
    for (size_t w = 0; w < st->n_windows; w++) {
        double bad;
        double total;
        brute_force(&d, t, st->windows[w].window_ms, &bad, &total);
        if (bad != st->windows[w].bad || total != st->windows[w].total) {
            printf("check run=%d slo=%s window_ms=%lld ok=0 want_bad=%.17g got_bad=%.17g "
                   "want_total=%.17g got_total=%.17g\n",
                   run, id, (long long)st->windows[w].window_ms, bad, st->windows[w].bad, total,
                   st->windows[w].total);
            bad_windows++;
        }
    }
    double pb;
    double pt;
    brute_force(&d, t, 30 * DAY_MS, &pb, &pt);
    if (pb != st->period.bad || pt != st->period.total || !(pt > 0)) {
        printf("check run=%d slo=%s period ok=0 want=%.17g/%.17g got=%.17g/%.17g\n", run, id, pb,
               pt, st->period.bad, st->period.total);
        bad_windows++;
    }
    if (bad_windows == 0) {
        printf("check run=%d slo=%s t_ms=%lld windows=%zu ok=1 bad_30d=%.0f total_30d=%.0f "
               "error_ratio_30d=%.9g budget_remaining=%.6f\n",
               run, id, (long long)t, st->n_windows, pb, pt, st->period.error_ratio,
               st->budget_remaining);
    }
    service_data_free(&d);
    return bad_windows;
}

/* The SLOs to check: spread over the range, plus the one with the highest
 * 30-day error ratio (an incident in the window). */
static void pick_checked(const br_slo_snapshot *snap, size_t n_slos, size_t out[N_CHECKED])
{
    out[0] = 0;
    out[1] = n_slos / 3;
    out[2] = 2 * n_slos / 3;
    out[3] = n_slos - 1;
    out[4] = 0;
    double worst = -1;
    for (size_t i = 0; i < snap->n_slos; i++) {
        const br_slo_status *st = &snap->slos[i];
        if (st->period.error_ratio > worst) {
            worst = st->period.error_ratio;
            out[4] = (size_t)strtoul(st->def->service + 3, NULL, 10);
        }
    }
}

static int check_snapshot(bench *b, br_evaluator *e, int64_t t, int run)
{
    br_slo_snapshot *snap = br_evaluator_snapshot(e);
    int fails = 0;
    size_t pick[N_CHECKED];
    pick_checked(snap, b->o.slos, pick);
    for (size_t i = 0; i < N_CHECKED; i++) {
        fails += check_slo(b, snap, pick[i], t, run);
    }
    size_t no_data = 0;
    size_t errors = 0;
    for (size_t i = 0; i < snap->n_slos; i++) {
        no_data += snap->slos[i].no_data;
        errors += snap->slos[i].error != NULL;
    }
    if (snap->n_slos != b->o.slos || no_data != 0 || errors != 0) {
        printf("check run=%d ok=0 slos=%zu no_data=%zu errors=%zu\n", run, snap->n_slos, no_data,
               errors);
        fails++;
    }
    br_slo_snapshot_unref(snap);
    return fails;
}

/* Policy states and firing alerts of the snapshot, for the report. */
static void print_states(br_evaluator *e, int run)
{
    br_slo_snapshot *snap = br_evaluator_snapshot(e);
    size_t n_state[BR_POLICY_MAX_STATES + 1] = {0};
    size_t firing = 0;
    size_t pending = 0;
    const br_policy *pol = NULL;
    for (size_t i = 0; i < snap->n_slos; i++) {
        const br_slo_status *st = &snap->slos[i];
        pol = &st->def->policy;
        size_t k = BR_POLICY_MAX_STATES;
        for (size_t s = 0; s < pol->n_states; s++) {
            if (st->policy_state == &pol->states[s]) {
                k = s;
            }
        }
        n_state[k]++;
        for (size_t a = 0; a < st->n_alerts; a++) {
            firing += st->alerts[a].state == BR_ALERT_FIRING;
            pending += st->alerts[a].state == BR_ALERT_PENDING;
        }
    }
    printf("states run=%d", run);
    for (size_t s = 0; pol != NULL && s < pol->n_states; s++) {
        printf(" %s=%zu", pol->states[s].name, n_state[s]);
    }
    printf(" no_data=%zu alerts_firing=%zu alerts_pending=%zu\n", n_state[BR_POLICY_MAX_STATES],
           firing, pending);
    br_slo_snapshot_unref(snap);
}

/* ------------------------------------------------------------ runs */

static br_evaluator *new_evaluator(bench *b, br_head *rec, br_err *err)
{
    br_evaluator_options eo;
    memset(&eo, 0, sizeof(eo));
    br_queryable_local(b->head, &eo.backend);
    eo.interval_ms = b->o.step_ms;
    if (rec != NULL) {
        eo.append = record_into;
        eo.append_ctx = rec;
    }
    br_evaluator *e = br_evaluator_new(&eo, err);
    if (e != NULL) {
        br_evaluator_set_slos(e, b->set);
    }
    return e;
}

/* Heap taken by parsing one SLO's two selectors (part of the evaluator's
 * per-SLO state: compiled matchers, regexes included). */
static int64_t selector_heap_bytes(const bench *b)
{
    const br_slo_def *d = br_slo_set_get(b->set, 0);
    int64_t h0 = br_alloc_bytes();
    br_selector sel[2];
    br_err err;
    br_err_clear(&err);
    bool ok0 = br_selector_parse(d->sli.bad.expr, &sel[0], &err) == 0;
    bool ok1 = br_selector_parse(d->sli.total.expr, &sel[1], &err) == 0;
    int64_t h1 = br_alloc_bytes();
    if (ok0) {
        br_selector_free(&sel[0]);
    }
    if (ok1) {
        br_selector_free(&sel[1]);
    }
    return h1 - h0;
}

/* Run 0: the evaluator's own memory (no recording, so the heap delta is
 * the evaluator state plus the published snapshot). */
static int memory_run(bench *b, br_err *err)
{
    int64_t heap0 = br_alloc_bytes();
    int64_t rss0 = proc_status_bytes("VmRSS");
    int64_t hwm0 = proc_status_bytes("VmHWM");
    br_evaluator *e = new_evaluator(b, NULL, err);
    if (e == NULL) {
        return err->code;
    }
    int64_t w0 = br_mono_ns();
    double c0 = thread_cpu_s();
    int rc = br_evaluator_tick(e, b->o.end_ms, err);
    double cpu = thread_cpu_s() - c0;
    double wall = (double)(br_mono_ns() - w0) / 1e9;
    int64_t heap1 = br_alloc_bytes();
    int64_t rss1 = proc_status_bytes("VmRSS");
    int64_t hwm1 = proc_status_bytes("VmHWM");
    if (rc == 0) {
        b->failures += check_snapshot(b, e, b->o.end_ms, 0);
        print_states(e, 0);
    }
    br_evaluator_free(e);
    int64_t heap2 = br_alloc_bytes();
    printf("memory first_tick_norecord_wall_s=%.4f first_tick_norecord_cpu_s=%.4f "
           "evaluator_heap_bytes=%lld evaluator_heap_per_slo=%.0f rss_before=%lld "
           "rss_after=%lld hwm_before=%lld hwm_after=%lld heap_after_free_delta=%lld "
           "selector_heap_per_slo=%lld\n",
           wall, cpu, (long long)(heap1 - heap0), (double)(heap1 - heap0) / (double)b->o.slos,
           (long long)rss0, (long long)rss1, (long long)hwm0, (long long)hwm1,
           (long long)(heap2 - heap0), (long long)selector_heap_bytes(b));
    fflush(stdout);
    return rc;
}

static int timed_run(bench *b, int run, br_err *err)
{
    br_head_options ho = {0};
    br_head *rec = NULL;
    int rc = br_head_open(&ho, &rec, err);
    if (rc != 0) {
        return rc;
    }
    int64_t heap0 = br_alloc_bytes();
    br_evaluator *e = new_evaluator(b, rec, err);
    if (e == NULL) {
        br_head_close(rec);
        return err->code;
    }
    int64_t w0 = br_mono_ns();
    double c0 = thread_cpu_s();
    rc = br_evaluator_tick(e, b->o.end_ms, err);
    double cpu = thread_cpu_s() - c0;
    double wall = (double)(br_mono_ns() - w0) / 1e9;
    int64_t heap1 = br_alloc_bytes();
    b->first_wall[run - 1] = wall;
    b->first_cpu[run - 1] = cpu;
    if (rc == 0) {
        b->failures += check_snapshot(b, e, b->o.end_ms, run);
    }
    double *iw = br_calloc((size_t)b->o.ticks + 1, sizeof(double));
    double *ic = br_calloc((size_t)b->o.ticks + 1, sizeof(double));
    int64_t t = b->o.end_ms;
    int ticks = run == 1 ? b->o.ticks : 0;
    for (int k = 0; k < ticks && rc == 0; k++) {
        t += b->o.step_ms;
        rc = append_until(b, t, err);
        if (rc != 0) {
            break;
        }
        int64_t s0 = br_mono_ns();
        double sc = thread_cpu_s();
        rc = br_evaluator_tick(e, t, err);
        ic[k] = thread_cpu_s() - sc;
        iw[k] = (double)(br_mono_ns() - s0) / 1e9;
        b->incr_wall[b->n_incr++] = iw[k];
    }
    if (rc == 0 && ticks > 0) {
        b->failures += check_snapshot(b, e, t, run);
    }
    if (rc == 0) {
        print_states(e, run);
    }
    int64_t heap2 = br_alloc_bytes();
    br_head_stats rs;
    br_head_stats_get(rec, &rs);
    double max_w = 0;
    for (int k = 0; k < ticks; k++) {
        max_w = iw[k] > max_w ? iw[k] : max_w;
    }
    double mw = median(iw, (size_t)ticks);
    double mc = median(ic, (size_t)ticks);
    printf("run=%d first_tick_wall_s=%.4f first_tick_cpu_s=%.4f incr_ticks=%d "
           "incr_tick_median_wall_s=%.5f incr_tick_median_cpu_s=%.5f incr_tick_max_wall_s=%.5f "
           "recorded_series=%llu recorded_samples=%llu heap_after_first_tick_delta=%lld "
           "heap_after_ticks_delta=%lld rss_bytes=%lld hwm_bytes=%lld\n",
           run, wall, cpu, ticks, mw, mc, max_w, (unsigned long long)rs.series,
           (unsigned long long)rs.samples, (long long)(heap1 - heap0),
           (long long)(heap2 - heap0), (long long)proc_status_bytes("VmRSS"),
           (long long)proc_status_bytes("VmHWM"));
    fflush(stdout);
    br_free(iw);
    br_free(ic);
    br_evaluator_free(e);
    br_head_close(rec);
    return rc;
}

/* ------------------------------------------------------------ main */

static int parse_args(int argc, char **argv, options *o, br_err *err)
{
    o->slos = 1000;
    o->scrape_ms = MIN_MS;
    o->end_ms = br_now_ms() / MIN_MS * MIN_MS;
    o->runs = 5;
    o->ticks = 20;
    o->step_ms = 30000;
    o->seed = 1;
    o->om_dir = NULL;
    o->om_slab_ms = 54 * HOUR_MS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            return br_err_set(err, BR_EINVAL, "%s needs a value", a);
        }
        i++;
        int rc = 0;
        if (strcmp(a, "--slos") == 0) {
            o->slos = (size_t)strtoull(v, NULL, 10);
        } else if (strcmp(a, "--scrape") == 0) {
            rc = br_parse_duration(v, &o->scrape_ms);
        } else if (strcmp(a, "--end") == 0) {
            o->end_ms = strtoll(v, NULL, 10);
        } else if (strcmp(a, "--runs") == 0) {
            o->runs = atoi(v);
        } else if (strcmp(a, "--ticks") == 0) {
            o->ticks = atoi(v);
        } else if (strcmp(a, "--step") == 0) {
            rc = br_parse_duration(v, &o->step_ms);
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--openmetrics") == 0) {
            o->om_dir = v;
        } else if (strcmp(a, "--om-slab") == 0) {
            rc = br_parse_duration(v, &o->om_slab_ms);
        } else {
            return br_err_set(err, BR_EINVAL, "unknown option %s", a);
        }
        if (rc != 0) {
            return br_err_set(err, BR_EINVAL, "%s: bad duration %s", a, v);
        }
    }
    if (o->slos < 3 || o->slos > 100000) {
        return br_err_set(err, BR_EINVAL, "--slos must be in 3..100000");
    }
    if (o->scrape_ms < 1000 || o->step_ms < 1000 || o->om_slab_ms < HOUR_MS) {
        return br_err_set(err, BR_EINVAL, "--scrape and --step >= 1s, --om-slab >= 1h");
    }
    if (o->runs < 1 || o->runs > 100 || o->ticks < 0 || o->ticks > MAX_TICKS) {
        return br_err_set(err, BR_EINVAL, "--runs in 1..100, --ticks in 0..%d", MAX_TICKS);
    }
    if (o->end_ms < 40 * DAY_MS) {
        return br_err_set(err, BR_EINVAL, "--end must be a Unix time in ms");
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench b;
    memset(&b, 0, sizeof(b));
    br_err err;
    br_err_clear(&err);
    br_log_set_level(BR_LOG_WARN);
    int rc = parse_args(argc, argv, &b.o, &err);
    if (rc != 0) {
        fprintf(stderr, "bench_slo: %s\n", err.msg);
        fprintf(stderr, "usage: bench_slo [--slos N] [--scrape 60s] [--end MS] [--runs 5] "
                        "[--ticks 20] [--step 30s] [--seed 1] [--openmetrics DIR] "
                        "[--om-slab 54h]\n");
        return 2;
    }
    b.range.start = b.o.end_ms - 31 * DAY_MS;
    b.range.end = b.o.end_ms + (int64_t)b.o.ticks * b.o.step_ms + b.o.scrape_ms;
    b.range.interval = b.o.scrape_ms;
    b.range.seed = b.o.seed;
    br_head_options ho = {0};
    rc = br_head_open(&ho, &b.head, &err);
    if (rc == 0) {
        rc = load(&b, &err);
    }
    if (rc == 0) {
        rc = build_slos(&b, &err);
    }
    b.first_wall = br_calloc((size_t)b.o.runs, sizeof(double));
    b.first_cpu = br_calloc((size_t)b.o.runs, sizeof(double));
    b.incr_wall = br_calloc((size_t)b.o.runs * (size_t)b.o.ticks + 1, sizeof(double));
    if (rc == 0) {
        rc = memory_run(&b, &err);
    }
    for (int run = 1; run <= b.o.runs && rc == 0; run++) {
        rc = timed_run(&b, run, &err);
    }
    if (rc == 0) {
        double fw[100];
        double fc[100];
        memcpy(fw, b.first_wall, sizeof(double) * (size_t)b.o.runs);
        memcpy(fc, b.first_cpu, sizeof(double) * (size_t)b.o.runs);
        printf("summary slos=%zu runs=%d first_tick_median_wall_s=%.4f "
               "first_tick_median_cpu_s=%.4f incr_tick_median_wall_s=%.5f checks_failed=%d\n",
               b.o.slos, b.o.runs, median(fw, (size_t)b.o.runs), median(fc, (size_t)b.o.runs),
               median(b.incr_wall, b.n_incr), b.failures);
    } else {
        fprintf(stderr, "bench_slo: %s\n", err.msg);
    }
    size_t n_series = b.o.slos * N_CODES;
    for (size_t k = 0; b.tail != NULL && k < n_series; k++) {
        br_free(b.tail[k]);
    }
    br_free(b.tail);
    br_free(b.n_tail);
    br_free(b.pos_tail);
    br_free(b.first_wall);
    br_free(b.first_cpu);
    br_free(b.incr_wall);
    br_slo_set_unref(b.set);
    br_head_close(b.head);
    if (rc != 0) {
        return 1;
    }
    return b.failures == 0 ? 0 : 1;
}
