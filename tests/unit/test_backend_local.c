/*
 * test_backend_local.c — the local backend's range_stats and the
 * evaluator's long-range shortcut built on it.
 *
 * The main test fills a memory-only head with random counters (fractional
 * increments so the order of additions matters, resets, gaps, stale
 * markers, series that stop and start, one gauge going up and down) and
 * runs the same queries twice: once with the shortcut forced
 * (range_stats_min_ms = 1) and once with it off (-1, every sample read).
 * Instant and range queries, Prometheus 3 and 2.x windows, offset, @,
 * aggregations on top; the two results must be equal bit for bit, labels,
 * order and annotations included. A counting wrapper around the backend
 * proves which path ran. Other tests: a NaN or a histogram in a window
 * makes the shortcut fall back (same result), short ranges keep the
 * sample path by default, the callback's output is sorted and complete.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/core/alloc.h"
#include "engine/core/arena.h"
#include "engine/promql/backend.h"
#include "engine/promql/eval.h"
#include "storage/head.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define T0   1700000000000LL
#define SPAN (3 * 24 * HOUR) /* data spans [T0, T0 + SPAN] */

/* ---- A backend wrapper that counts calls --------------------------------- */

typedef struct counting {
    br_queryable inner;
    int selects;
    int range_stats;
} counting;

static int c_select(void *ctx, const br_matcher *ms, size_t n, int64_t mint, int64_t maxt,
                    size_t max_samples, br_arena *arena, br_series_set *out, br_err *err)
{
    counting *c = ctx;
    c->selects++;
    return c->inner.select(c->inner.ctx, ms, n, mint, maxt, max_samples, arena, out, err);
}

static int c_range_stats(void *ctx, const br_matcher *ms, size_t n, const int64_t *ends,
                         size_t n_ends, int64_t range_ms, bool left_open, size_t max_windows,
                         br_arena *arena, br_series_range_stats_set *out, br_err *err)
{
    counting *c = ctx;
    c->range_stats++;
    return c->inner.range_stats(c->inner.ctx, ms, n, ends, n_ends, range_ms, left_open,
                                max_windows, arena, out, err);
}

static void counting_init(counting *c, br_head *h, br_queryable *q)
{
    memset(c, 0, sizeof(*c));
    br_queryable_local(h, &c->inner);
    *q = c->inner;
    q->ctx = c;
    q->select = c_select;
    q->range_stats = c_range_stats;
    q->window_aggs = NULL;
    q->take_oldest_append = NULL;
}

/* ---- Data ---------------------------------------------------------------- */

static br_head *open_mem(void)
{
    br_head_options o = {0};
    br_head *h = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_open(&o, &h, &err), 0);
    return h;
}

/* Commits one series; ls sorted by name. */
static void commit(br_head *h, const br_label *ls, size_t nl, const br_sample *s, size_t n,
                   const br_histogram_sample *hs, size_t nh)
{
    br_series_input in = {.labels = ls,
                          .n_labels = nl,
                          .samples = s,
                          .n_samples = n,
                          .histograms = hs,
                          .n_histograms = nh};
    br_commit_result r;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    assert_int_equal(br_commit_rejected(&r), 0);
}

static double frand(void)
{
    return (double)rand() / RAND_MAX;
}

/* A counter over [T0, T0 + SPAN]: 15 s scrapes with jitter and gaps,
 * fractional increments, resets; optionally a stale-marked pause and a
 * gauge's random walk instead. */
static size_t random_series(br_sample *s, size_t cap, bool gauge, bool pause)
{
    size_t n = 0;
    double v = 10 * frand();
    int64_t t = T0 + (int64_t)(frand() * 15000);
    while (t <= T0 + SPAN && n < cap) {
        bool in_pause = pause && t > T0 + SPAN / 3 && t < T0 + SPAN / 3 + 5 * HOUR;
        if (in_pause) {
            s[n].t = t;
            s[n].v = br_stale_nan();
            n++;
            t += 5 * HOUR; /* one marker, then silence */
            continue;
        }
        if (gauge) {
            v += (frand() - 0.5) * 8.3;
        } else if (rand() % 700 == 0) {
            v = frand() * 3; /* reset */
        } else {
            v += frand() * 12.7;
        }
        s[n].t = t;
        s[n].v = v;
        n++;
        t += 15 * SEC + (rand() % 10 == 0 ? rand() % 120000 : rand() % 40);
    }
    return n;
}

static void fill_random(br_head *h)
{
    srand(20240601);
    enum { CAP = 20000 };
    br_sample *s = br_malloc(sizeof(*s) * CAP);
    static const char *const jobs[] = {"api", "web"};
    for (int i = 0; i < 6; i++) {
        char inst[16];
        snprintf(inst, sizeof(inst), "%d", i);
        br_label ls[4] = {{"__name__", "req_total"},
                          {"code", i % 3 == 0 ? "500" : "200"},
                          {"instance", inst},
                          {"job", jobs[i % 2]}};
        size_t n = random_series(s, CAP, false, i == 4);
        commit(h, ls, 4, s, n, NULL, 0);
    }
    br_label g[3] = {{"__name__", "temp"}, {"instance", "0"}, {"job", "api"}};
    size_t n = random_series(s, CAP, true, false);
    commit(h, g, 3, s, n, NULL, 0);
    /* A counter whose name does not look like one (annotation). */
    br_label odd[2] = {{"__name__", "requests"}, {"job", "web"}};
    n = random_series(s, CAP, false, false);
    commit(h, odd, 2, s, n, NULL, 0);
    br_free(s);
}

/* ---- Comparing results ----------------------------------------------------- */

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

static void assert_results_equal(const br_promql_result *a, const br_promql_result *b)
{
    assert_int_equal(a->type, b->type);
    assert_true(same_bits(a->scalar, b->scalar));
    assert_int_equal(a->n_series, b->n_series);
    for (size_t i = 0; i < a->n_series; i++) {
        const br_result_series *x = &a->series[i];
        const br_result_series *y = &b->series[i];
        assert_int_equal(x->n_labels, y->n_labels);
        for (size_t k = 0; k < x->n_labels; k++) {
            assert_string_equal(x->labels[k].name, y->labels[k].name);
            assert_string_equal(x->labels[k].value, y->labels[k].value);
        }
        assert_int_equal(x->n_points, y->n_points);
        for (size_t k = 0; k < x->n_points; k++) {
            assert_true(x->points[k].t == y->points[k].t);
            assert_true(same_bits(x->points[k].v, y->points[k].v));
            const br_histogram *hx = x->points[k].h;
            const br_histogram *hy = y->points[k].h;
            assert_true((hx == NULL) == (hy == NULL));
            if (hx != NULL) {
                assert_true(same_bits(hx->count, hy->count));
                assert_true(same_bits(hx->sum, hy->sum));
            }
        }
    }
    assert_int_equal(a->n_warnings, b->n_warnings);
    for (size_t i = 0; i < a->n_warnings; i++) {
        assert_string_equal(a->warnings[i], b->warnings[i]);
    }
    assert_int_equal(a->n_infos, b->n_infos);
    for (size_t i = 0; i < a->n_infos; i++) {
        assert_string_equal(a->infos[i], b->infos[i]);
    }
}

typedef struct both {
    br_promql_result fast;
    br_promql_result slow;
    int fast_selects;
    int fast_range_stats;
    size_t points;
} both;

/* Runs expr both ways (step 0 = instant) and checks the results match. */
static void run_both(br_head *h, br_arena *a, br_promql_compat compat, const char *expr,
                     int64_t start, int64_t end, int64_t step, both *out)
{
    counting c;
    br_queryable q;
    counting_init(&c, h, &q);
    br_promql_options o = {.compat = compat, .range_stats_min_ms = 1};
    br_err err;
    br_err_clear(&err);
    int rc = step > 0 ? br_promql_eval_range(&q, &o, expr, start, end, step, a, &out->fast, &err)
                      : br_promql_eval_instant(&q, &o, expr, start, a, &out->fast, &err);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", expr, err.msg);
    }
    assert_int_equal(rc, 0);
    out->fast_selects = c.selects;
    out->fast_range_stats = c.range_stats;
    o.range_stats_min_ms = -1;
    counting_init(&c, h, &q);
    rc = step > 0 ? br_promql_eval_range(&q, &o, expr, start, end, step, a, &out->slow, &err)
                  : br_promql_eval_instant(&q, &o, expr, start, a, &out->slow, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(c.range_stats, 0);
    assert_results_equal(&out->fast, &out->slow);
    out->points = 0;
    for (size_t i = 0; i < out->slow.n_series; i++) {
        out->points += out->slow.series[i].n_points;
    }
}

static const char *const queries[] = {
    "rate(req_total[2h])",
    "increase(req_total[1d])",
    "increase(req_total[23h17m] offset 3h)",
    "delta(temp[6h])",
    "rate(temp[90m])",
    "count_over_time(req_total[4h])",
    "min_over_time(temp[1d])",
    "max_over_time(temp[13h])",
    "max_over_time(req_total[5h])",
    "sum by (job) (increase(req_total[1d]))",
    "sum(rate(req_total{code=\"500\"}[6h])) / sum(rate(req_total[6h]))",
    "increase(requests[12h])",
    "rate({job=\"web\"}[3h])",
    "increase(req_total[2d] @ 1700150000)",
    "rate(req_total[1h] offset -30m)",
};

static void test_eval_long_ranges_identical_with_and_without_summaries(void **state)
{
    (void)state;
    br_head *h = open_mem();
    fill_random(h);
    br_arena a;
    br_arena_init(&a, 0, 0);
    size_t compared = 0;
    for (int compat = 0; compat < 2; compat++) {
        br_promql_compat c = compat ? BR_PROMQL_COMPAT_V2 : BR_PROMQL_COMPAT_V3;
        for (size_t qi = 0; qi < sizeof(queries) / sizeof(queries[0]); qi++) {
            both r;
            /* Instant queries at random times, some on sample timestamps'
             * neighbourhood by chance, some outside the data. */
            for (int k = 0; k < 12; k++) {
                int64_t t = T0 - 2 * HOUR + (int64_t)(frand() * (double)(SPAN + 6 * HOUR));
                if (k == 0) {
                    t = T0 + SPAN; /* the newest data */
                }
                run_both(h, &a, c, queries[qi], t / 1000 * 1000, 0, 0, &r);
                assert_true(r.fast_range_stats >= 1);
                assert_int_equal(r.fast_selects, 0);
                compared += r.points;
                br_arena_reset(&a);
            }
            /* Range queries with assorted steps. */
            static const int64_t steps[] = {7 * MIN, HOUR, 13 * MIN + 7 * SEC};
            for (int k = 0; k < 3; k++) {
                int64_t start = T0 + (int64_t)(frand() * (double)SPAN / 2);
                int64_t end = start + (int64_t)(frand() * (double)SPAN / 2);
                run_both(h, &a, c, queries[qi], start, end, steps[k], &r);
                assert_int_equal(r.fast_selects, 0);
                compared += r.points;
                br_arena_reset(&a);
            }
        }
    }
    assert_true(compared > 10000);
    br_arena_free(&a);
    br_head_close(h);
}

static void test_eval_falls_back_on_nan_in_window(void **state)
{
    (void)state;
    br_head *h = open_mem();
    br_sample s[600];
    for (int i = 0; i < 600; i++) {
        s[i].t = T0 + i * 15 * SEC;
        s[i].v = i == 300 ? NAN : 1.5 * i;
    }
    br_label ls[1] = {{"__name__", "nan_total"}};
    commit(h, ls, 1, s, 600, NULL, 0);
    br_arena a;
    br_arena_init(&a, 0, 0);
    both r;
    run_both(h, &a, BR_PROMQL_COMPAT_V3, "increase(nan_total[2h])", T0 + 2 * HOUR, 0, 0, &r);
    assert_int_equal(r.fast_range_stats, 1);
    assert_int_equal(r.fast_selects, 1); /* fell back */
    assert_int_equal(r.fast.n_series, 1);
    /* A window without the NaN (at 75 min) takes the shortcut. */
    run_both(h, &a, BR_PROMQL_COMPAT_V3, "increase(nan_total[1h])", T0 + 149 * MIN, 0, 0, &r);
    assert_int_equal(r.fast_selects, 0);
    assert_int_equal(r.fast.n_series, 1);
    assert_false(isnan(r.fast.series[0].points[0].v));
    br_arena_free(&a);
    br_head_close(h);
}

static void test_eval_falls_back_on_histograms_in_selection(void **state)
{
    (void)state;
    br_head *h = open_mem();
    br_sample s[400];
    for (int i = 0; i < 400; i++) {
        s[i].t = T0 + i * 15 * SEC;
        s[i].v = 2.0 * i;
    }
    br_label f[2] = {{"__name__", "lat_count"}, {"job", "x"}};
    commit(h, f, 2, s, 400, NULL, 0);
    br_histogram_sample hs[3];
    double b[3][1] = {{1}, {2}, {4}};
    br_span span = {.offset = 0, .length = 1};
    for (int i = 0; i < 3; i++) {
        memset(&hs[i], 0, sizeof(hs[i]));
        hs[i].t = T0 + i * MIN;
        hs[i].h.is_float = true;
        hs[i].h.count = b[i][0];
        hs[i].h.sum = b[i][0] / 10;
        hs[i].h.pos_spans = &span;
        hs[i].h.n_pos_spans = 1;
        hs[i].h.pos_buckets = b[i];
        hs[i].h.n_pos = 1;
    }
    br_label hl[2] = {{"__name__", "lat"}, {"job", "y"}};
    commit(h, hl, 2, NULL, 0, hs, 3);
    br_arena a;
    br_arena_init(&a, 0, 0);
    both r;
    run_both(h, &a, BR_PROMQL_COMPAT_V3, "rate({__name__=~\"lat.*\"}[1h])", T0 + HOUR, 0, 0,
             &r);
    assert_int_equal(r.fast_range_stats, 1);
    assert_int_equal(r.fast_selects, 1);
    assert_int_equal(r.fast.n_series, 2); /* the float rate and the histogram rate */
    br_arena_free(&a);
    br_head_close(h);
}

static void test_eval_short_ranges_read_samples_by_default(void **state)
{
    (void)state;
    br_head *h = open_mem();
    fill_random(h);
    counting c;
    br_queryable q;
    counting_init(&c, h, &q);
    br_promql_options o = {0};
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_promql_result r;
    br_err err;
    br_err_clear(&err);
    int64_t t = T0 + SPAN / 2;
    assert_int_equal(br_promql_eval_instant(&q, &o, "rate(req_total[5m])", t, &a, &r, &err), 0);
    assert_int_equal(c.range_stats, 0);
    assert_int_equal(c.selects, 1);
    assert_int_equal(br_promql_eval_instant(&q, &o, "rate(req_total[1h])", t, &a, &r, &err), 0);
    assert_int_equal(c.range_stats, 1);
    assert_int_equal(c.selects, 1);
    /* Functions the shortcut does not cover, and subqueries, select. */
    assert_int_equal(
        br_promql_eval_instant(&q, &o, "avg_over_time(req_total[1d])", t, &a, &r, &err), 0);
    assert_int_equal(
        br_promql_eval_instant(&q, &o, "max_over_time(rate(req_total[5m])[1d:1h])", t, &a, &r,
                               &err),
        0);
    assert_int_equal(c.range_stats, 1);
    assert_int_equal(c.selects, 3);
    br_arena_free(&a);
    br_head_close(h);
}

static void test_range_stats_callback_sorted_with_one_entry_per_window(void **state)
{
    (void)state;
    br_head *h = open_mem();
    fill_random(h);
    br_queryable q;
    br_queryable_local(h, &q);
    assert_non_null(q.range_stats);
    br_matcher m;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_matcher_init(&m, BR_MATCH_EQ, "__name__", "req_total", &err), 0);
    int64_t ends[3] = {T0 + HOUR, T0 - HOUR, T0 + SPAN};
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_series_range_stats_set set;
    assert_int_equal(q.range_stats(q.ctx, &m, 1, ends, 3, HOUR, true, 0, &a, &set, &err), 0);
    assert_int_equal(set.n, 6);
    for (size_t i = 0; i < set.n; i++) {
        assert_int_equal(set.series[i].n_labels, 4);
        if (i > 0) {
            /* code, then instance: 200 before 500, then by instance. */
            const br_label *p = set.series[i - 1].labels;
            const br_label *c = set.series[i].labels;
            int cmp = strcmp(p[1].value, c[1].value);
            assert_true(cmp < 0 || (cmp == 0 && strcmp(p[2].value, c[2].value) < 0));
        }
        assert_true(set.series[i].stats[0].count > 100);
        assert_int_equal(set.series[i].stats[1].count, 0); /* before the data */
    }
    /* The window budget is enforced. */
    assert_int_equal(q.range_stats(q.ctx, &m, 1, ends, 3, HOUR, true, 10, &a, &set, &err),
                     BR_ELIMIT);
    br_matcher_free(&m);
    br_arena_free(&a);
    br_head_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_long_ranges_identical_with_and_without_summaries),
        cmocka_unit_test(test_eval_falls_back_on_nan_in_window),
        cmocka_unit_test(test_eval_falls_back_on_histograms_in_selection),
        cmocka_unit_test(test_eval_short_ranges_read_samples_by_default),
        cmocka_unit_test(test_range_stats_callback_sorted_with_one_entry_per_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
