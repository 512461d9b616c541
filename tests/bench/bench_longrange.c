/*
 * bench_longrange.c — long-range PromQL in process, with and without the
 * chunk-summary path: the bodies of a burnrate-loadgen --dump directory
 * are decoded and committed into a memory-only head (as the remote-write
 * handler does), then each query is evaluated through br_queryable_local
 * with range_stats_min_ms 0 (the default: summaries for ranges >= 1 h)
 * and -1 (every sample read), several times each, alternating.
 *
 *   bench_longrange --dir DUMP --time T_MS [--runs N] [--range HOURS]
 *                   [--step-ms MS] [--compat v2|v3] [--only-summaries] QUERY...
 *
 * Each QUERY runs as an instant query at T_MS and as a range query over
 * [T_MS - HOURS h, T_MS] (default 24) with the given step (default 1 h).
 * The two paths' results must be identical, labels and every float bit
 * included, or the program fails. --only-summaries skips the sample path
 * (and the comparison), for quick measurements of the summary path alone. Printed, one key=value line each (read
 * by bench_longrange.sh):
 *   load samples=<n> series=<n> seconds=<s>
 *   query=<i> kind=instant|range mode=summaries|samples runs=<n>
 *       median_ms=<m> min_ms=<m> series=<n> points=<n>
 *   query=<i> kind=instant|range identical=1
 * Single-threaded; the head and every arena are freed before exit.
 */
#include "api/remote_write_decode.h"
#include "engine/core/alloc.h"
#include "engine/core/arena.h"
#include "engine/core/clock.h"
#include "engine/core/err.h"
#include "engine/core/log.h"
#include "engine/promql/backend.h"
#include "engine/promql/eval.h"
#include "storage/head.h"
#include "tests/bench/dump.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RUNS 101

/* Decodes every body of d and commits it to h; returns 0 or a BR_E*. */
static int load_dump(const br_dump *d, br_head *h, uint64_t *stored, br_err *err)
{
    br_rw_options opts;
    br_rw_options_init(&opts);
    br_arena arena;
    br_arena_init(&arena, 256 * 1024, 48 * ((size_t)BR_RW_DEFAULT_MAX_DECOMPRESSED + (1u << 20)));
    br_series_input *in = NULL;
    size_t cap = 0;
    int rc = 0;
    *stored = 0;
    for (size_t i = 0; i < d->n && rc == 0; i++) {
        const br_dump_entry *e = &d->entries[i];
        br_arena_reset(&arena);
        br_rw_request rw;
        const char *ct = e->version == 2
                             ? "application/x-protobuf;proto=io.prometheus.write.v2.Request"
                             : "application/x-protobuf";
        rc = br_rw_decode(e->body, e->body_len, ct, "snappy", &opts, &arena, &rw, err);
        if (rc != 0) {
            br_err_prefix(err, "%s", e->file);
            break;
        }
        if (rw.n_series > cap) {
            cap = rw.n_series;
            br_free(in);
            in = br_malloc(cap * sizeof(*in));
        }
        for (size_t k = 0; k < rw.n_series; k++) {
            in[k] = (br_series_input){.labels = rw.series[k].labels,
                                      .n_labels = rw.series[k].n_labels,
                                      .samples = rw.series[k].samples,
                                      .n_samples = rw.series[k].n_samples,
                                      .histograms = rw.series[k].histograms,
                                      .n_histograms = rw.series[k].n_histograms};
        }
        br_commit_result cr;
        rc = br_head_commit(h, in, rw.n_series, &cr, err);
        *stored += cr.samples_written + cr.histograms_written;
    }
    br_free(in);
    br_arena_free(&arena);
    return rc;
}

static bool results_identical(const br_promql_result *a, const br_promql_result *b)
{
    if (a->type != b->type || a->n_series != b->n_series ||
        memcmp(&a->scalar, &b->scalar, sizeof(double)) != 0) {
        return false;
    }
    for (size_t i = 0; i < a->n_series; i++) {
        const br_result_series *x = &a->series[i];
        const br_result_series *y = &b->series[i];
        if (x->n_labels != y->n_labels || x->n_points != y->n_points) {
            return false;
        }
        for (size_t k = 0; k < x->n_labels; k++) {
            if (strcmp(x->labels[k].name, y->labels[k].name) != 0 ||
                strcmp(x->labels[k].value, y->labels[k].value) != 0) {
                return false;
            }
        }
        for (size_t k = 0; k < x->n_points; k++) {
            if (x->points[k].t != y->points[k].t ||
                memcmp(&x->points[k].v, &y->points[k].v, sizeof(double)) != 0) {
                return false;
            }
        }
    }
    return true;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct query_spec {
    const char *expr;
    int64_t start;
    int64_t end;
    int64_t step; /* 0 = instant */
} query_spec;

static int eval_once(const br_queryable *q, const br_promql_options *o, const query_spec *qs,
                     br_arena *a, br_promql_result *r, br_err *err)
{
    if (qs->step > 0) {
        return br_promql_eval_range(q, o, qs->expr, qs->start, qs->end, qs->step, a, r, err);
    }
    return br_promql_eval_instant(q, o, qs->expr, qs->start, a, r, err);
}

static void print_mode(size_t qi, const char *kind, const char *mode, double *ms, int runs,
                       const br_promql_result *r)
{
    qsort(ms, (size_t)runs, sizeof(*ms), cmp_double);
    size_t points = 0;
    for (size_t i = 0; i < r->n_series; i++) {
        points += r->series[i].n_points;
    }
    printf("query=%zu kind=%s mode=%s runs=%d median_ms=%.3f min_ms=%.3f series=%zu points=%zu\n",
           qi, kind, mode, runs, ms[runs / 2], ms[0], r->n_series, points);
}

/* Times qs both ways, runs times each, alternating; 0 or a BR_E*. */
static int bench_query(const br_queryable *q, br_promql_compat compat, size_t qi,
                       const query_spec *qs, int runs, bool only_on, br_err *err)
{
    br_promql_options on = {.compat = compat};
    br_promql_options off = {.compat = compat, .range_stats_min_ms = -1};
    /* Results of the last run of each mode stay for the comparison. */
    br_arena a_on;
    br_arena a_off;
    br_arena_init(&a_on, 1 << 20, 0);
    br_arena_init(&a_off, 1 << 20, 0);
    br_promql_result r_on;
    br_promql_result r_off;
    double ms_on[MAX_RUNS];
    double ms_off[MAX_RUNS];
    int rc = 0;
    for (int i = 0; i < runs && rc == 0; i++) {
        br_arena_reset(&a_on);
        int64_t t0 = br_mono_ns();
        rc = eval_once(q, &on, qs, &a_on, &r_on, err);
        int64_t t1 = br_mono_ns();
        ms_on[i] = (double)(t1 - t0) / 1e6;
        if (rc != 0 || only_on) {
            continue;
        }
        br_arena_reset(&a_off);
        rc = eval_once(q, &off, qs, &a_off, &r_off, err);
        ms_off[i] = (double)(br_mono_ns() - t1) / 1e6;
    }
    const char *kind = qs->step > 0 ? "range" : "instant";
    if (rc == 0 && only_on) {
        print_mode(qi, kind, "summaries", ms_on, runs, &r_on);
    } else if (rc == 0) {
        print_mode(qi, kind, "summaries", ms_on, runs, &r_on);
        print_mode(qi, kind, "samples", ms_off, runs, &r_off);
        if (!results_identical(&r_on, &r_off)) {
            rc = br_err_set(err, BR_EINVAL, "query %zu (%s): the two paths disagree", qi, kind);
        } else {
            printf("query=%zu kind=%s identical=1\n", qi, kind);
        }
    }
    fflush(stdout);
    br_arena_free(&a_on);
    br_arena_free(&a_off);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_longrange --dir DUMP --time T_MS [--runs N] [--range HOURS] "
                    "[--step-ms MS] [--compat v2|v3] [--only-summaries] QUERY...\n");
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int64_t at = 0;
    int runs = 7;
    int64_t range_h = 24;
    int64_t step = 3600 * 1000;
    br_promql_compat compat = BR_PROMQL_COMPAT_V3;
    bool only_on = false;
    const char *queries[64];
    size_t n_queries = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--only-summaries") == 0) {
            only_on = true;
            continue;
        }
        bool takes = a[0] == '-' && a[1] == '-';
        if (takes && v == NULL) {
            usage();
            return 2;
        }
        if (strcmp(a, "--dir") == 0) {
            dir = v;
        } else if (strcmp(a, "--time") == 0) {
            at = strtoll(v, NULL, 10);
        } else if (strcmp(a, "--runs") == 0) {
            runs = atoi(v);
        } else if (strcmp(a, "--range") == 0) {
            range_h = strtoll(v, NULL, 10);
        } else if (strcmp(a, "--step-ms") == 0) {
            step = strtoll(v, NULL, 10);
        } else if (strcmp(a, "--compat") == 0) {
            compat = strcmp(v, "v2") == 0 ? BR_PROMQL_COMPAT_V2 : BR_PROMQL_COMPAT_V3;
        } else if (!takes && n_queries < sizeof(queries) / sizeof(queries[0])) {
            queries[n_queries++] = a;
            continue;
        } else {
            usage();
            return 2;
        }
        i++;
    }
    if (dir == NULL || at <= 0 || runs < 1 || runs > MAX_RUNS || range_h < 0 || step <= 0 ||
        n_queries == 0) {
        usage();
        return 2;
    }
    br_log_set_level(BR_LOG_WARN);
    br_err err;
    br_err_clear(&err);
    br_dump d;
    if (br_dump_load(dir, true, &d, &err) != 0) {
        fprintf(stderr, "bench_longrange: %s\n", err.msg);
        return 1;
    }
    br_head_options ho = {0};
    br_head *h = NULL;
    int rc = br_head_open(&ho, &h, &err);
    uint64_t stored = 0;
    int64_t t0 = br_mono_ns();
    if (rc == 0) {
        rc = load_dump(&d, h, &stored, &err);
    }
    br_dump_free(&d);
    if (rc == 0) {
        br_head_stats st;
        br_head_stats_get(h, &st);
        printf("load samples=%llu series=%llu seconds=%.3f\n", (unsigned long long)stored,
               (unsigned long long)st.series, (double)(br_mono_ns() - t0) / 1e9);
        fflush(stdout);
    }
    br_queryable q;
    br_queryable_local(h, &q);
    for (size_t i = 0; rc == 0 && i < n_queries; i++) {
        query_spec inst = {.expr = queries[i], .start = at, .end = at, .step = 0};
        rc = bench_query(&q, compat, i, &inst, runs, only_on, &err);
        if (rc == 0) {
            query_spec rq = {.expr = queries[i],
                             .start = at - range_h * 3600 * 1000,
                             .end = at,
                             .step = step};
            rc = bench_query(&q, compat, i, &rq, runs, only_on, &err);
        }
    }
    br_head_close(h);
    if (rc != 0) {
        fprintf(stderr, "bench_longrange: %s\n", err.msg);
        return 1;
    }
    return 0;
}
