/*
 * test_functions.c — the evaluator's building blocks without a store:
 * quantiles over values, classic buckets and native histograms, the rate
 * extrapolation rules (including where Prometheus 2 and 3 differ), the
 * anchored and smoothed windows of the extended range selectors, Kahan
 * summation, native histogram arithmetic, label helpers, Go-compatible
 * number formatting, vector matching and the aggregation heap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/core/arena.h"
#include "engine/promql/aggregate.h"
#include "engine/promql/binop.h"
#include "engine/promql/functions.h"
#include "engine/promql/value.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define assert_close(a, b)                                                                         \
    assert_true(fabs((double)(a) - (double)(b)) <= 1e-9 * fmax(1.0, fabs((double)(b))))

static br_arena A;

static int setup(void **state)
{
    (void)state;
    br_arena_init(&A, 0, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    br_arena_free(&A);
    return 0;
}

static int n_notes;
static char last_note[512];

static void on_note(void *ctx, int kind, const char *msg)
{
    (void)ctx;
    (void)kind;
    n_notes++;
    snprintf(last_note, sizeof(last_note), "%s", msg);
}

static br_fctx ctx(bool v2)
{
    br_fctx cx = {.arena = &A, .v2 = v2, .note = on_note};
    n_notes = 0;
    last_note[0] = '\0';
    return cx;
}

static br_window window(const br_sample *f, size_t nf, int64_t start, int64_t end)
{
    br_window w;
    memset(&w, 0, sizeof(w));
    w.f = f;
    w.nf = nf;
    w.range_start = start;
    w.range_end = end;
    w.range_ms = end - start;
    w.ts = end;
    return w;
}

/* ---- Quantiles ------------------------------------------------------------ */

static void test_functions_quantile_interpolates_and_handles_edges(void **state)
{
    (void)state;
    double v[] = {4, 1, 3, 2};
    assert_close(br_quantile(0.5, v, 4), 2.5);
    double w[] = {4, 1, 3, 2};
    assert_close(br_quantile(0.75, w, 4), 3.25);
    assert_true(isnan(br_quantile(NAN, w, 4)));
    assert_true(isinf(br_quantile(-0.1, w, 4)) && br_quantile(-0.1, w, 4) < 0);
    assert_true(isinf(br_quantile(1.1, w, 4)) && br_quantile(1.1, w, 4) > 0);
    assert_true(isnan(br_quantile(0.5, w, 0)));
}

static void test_functions_bucket_quantile_coalesces_and_forces_monotonicity(void **state)
{
    (void)state;
    bool forced;
    /* Duplicate bounds are added together: le=1 holds 5+5. */
    br_bucket b[] = {{INFINITY, 20}, {1, 5}, {1, 5}, {0.5, 5}};
    assert_close(br_bucket_quantile(0.5, b, 4, &forced, NULL, NULL, NULL), 1);
    assert_false(forced);
    br_bucket m[] = {{0.1, 10}, {0.5, 8}, {1, 30}, {INFINITY, 40}};
    double minb;
    double maxb;
    double maxd;
    assert_close(br_bucket_quantile(0.5, m, 4, &forced, &minb, &maxb, &maxd), 0.75);
    assert_true(forced);
    assert_close(minb, 0.5);
    assert_close(maxd, 2);
    /* A relative difference below 1e-12 is ignored silently. */
    br_bucket p[] = {{1, 10}, {2, 10 - 1e-13}, {INFINITY, 20}};
    assert_close(br_bucket_quantile(0.5, p, 3, &forced, NULL, NULL, NULL), 1);
    assert_false(forced);
}

static void test_functions_bucket_quantile_special_cases(void **state)
{
    (void)state;
    bool forced;
    br_bucket noinf[] = {{1, 1}, {2, 2}};
    assert_true(isnan(br_bucket_quantile(0.5, noinf, 2, &forced, NULL, NULL, NULL)));
    br_bucket one[] = {{INFINITY, 2}};
    assert_true(isnan(br_bucket_quantile(0.5, one, 1, &forced, NULL, NULL, NULL)));
    br_bucket empty[] = {{1, 0}, {INFINITY, 0}};
    assert_true(isnan(br_bucket_quantile(0.5, empty, 2, &forced, NULL, NULL, NULL)));
    /* The lowest bucket with a bound <= 0 returns that bound. */
    br_bucket neg[] = {{-1, 10}, {1, 15}, {INFINITY, 20}};
    assert_close(br_bucket_quantile(0.25, neg, 3, &forced, NULL, NULL, NULL), -1);
    /* In the lowest positive bucket the lower bound is 0. */
    br_bucket pos[] = {{2, 10}, {INFINITY, 10}};
    assert_close(br_bucket_quantile(0.25, pos, 2, &forced, NULL, NULL, NULL), 0.5);
}

static void test_functions_bucket_fraction(void **state)
{
    (void)state;
    br_bucket b[] = {{1, 10}, {2, 30}, {INFINITY, 40}};
    /* (1.5 in (1,2]): 10 + 20 * 0.5 = 20 of 40. */
    assert_close(br_bucket_fraction(-INFINITY, 1.5, b, 3), 0.5);
    br_bucket c[] = {{1, 10}, {2, 30}, {INFINITY, 40}};
    assert_close(br_bucket_fraction(1, 2, c, 3), 0.5);
    br_bucket d[] = {{1, 10}, {2, 30}, {INFINITY, 40}};
    assert_close(br_bucket_fraction(2, 1, d, 3), 0);
}

static br_fhist *hist(int32_t schema, double zt, double zc, int32_t off, const double *b,
                      uint32_t n, double count, double sum)
{
    br_fhist *h = br_arena_calloc(&A, 1, sizeof(*h));
    h->schema = schema;
    h->zero_threshold = zt;
    h->zero_count = zc;
    h->count = count;
    h->sum = sum;
    h->pos_off = off;
    h->n_pos = n;
    h->pos = br_arena_alloc(&A, sizeof(double) * (n + 1));
    if (n > 0) {
        memcpy(h->pos, b, sizeof(double) * n);
    }
    return h;
}

static void test_functions_native_histogram_quantile(void **state)
{
    (void)state;
    int nn;
    /* Schema 0: (1,2] holds 4. The median sits half way on a log scale. */
    const double b[] = {4};
    br_fhist *h = hist(0, 0, 0, 1, b, 1, 4, 6);
    assert_close(br_histogram_quantile(0.5, h, &nn), sqrt(2));
    assert_close(br_histogram_quantile(0.25, h, &nn), pow(2, 0.25));
    /* Zero bucket: linear from 0 (only positive buckets) to the threshold. */
    br_fhist *z = hist(0, 1, 4, 1, b, 1, 8, 6);
    assert_close(br_histogram_quantile(0.25, z, &nn), 0.5);
    /* Custom buckets: linear; the +Inf bucket answers its lower bound. */
    static const double bounds[] = {1, 2};
    const double cb[] = {2, 2, 4};
    br_fhist *c = hist(BR_SCHEMA_CUSTOM, 0, 0, 0, cb, 3, 8, 20);
    c->custom = bounds;
    c->n_custom = 2;
    assert_close(br_histogram_quantile(0.375, c, &nn), 1.5);
    assert_close(br_histogram_quantile(0.9, c, &nn), 2);
    /* Observations of NaN: count above the buckets' total. */
    br_fhist *n = hist(0, 0, 0, 1, b, 1, 8, NAN);
    assert_true(isnan(br_histogram_quantile(0.9, n, &nn)));
    assert_int_equal(nn, 1);
    bool nan_note;
    assert_close(br_histogram_fraction(0, 2, h, &nan_note), 1);
    assert_close(br_histogram_fraction(1, sqrt(2), h, &nan_note), 0.5);
}

/* ---- Range functions ---------------------------------------------------- */

static void test_functions_rate_extrapolation_order_differs_between_v2_and_v3(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    /* 10, 20, 30 at 30s..50s in (0, 50s]: the start is 30s away (beyond
     * 1.1 intervals), the zero point 10s before the first sample. */
    const br_sample s[] = {{30000, 10}, {40000, 20}, {50000, 30}};
    br_window w = window(s, 3, 0, 50000);
    br_fout out;
    br_fctx v3 = ctx(false);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_INCREASE, &v3, &w, NULL, 0, &out, &err), 0);
    assert_true(out.ok);
    /* v3: cap at half an interval (5s) first, zero point (10s) is larger. */
    assert_close(out.f, 25);
    br_fctx v2 = ctx(true);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_INCREASE, &v2, &w, NULL, 0, &out, &err), 0);
    /* v2: zero point first (10s), then it is within the threshold. */
    assert_close(out.f, 30);
}

static void test_functions_delta_is_not_limited_by_zero(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    const br_sample s[] = {{10000, 5}, {20000, 15}, {30000, 25}};
    br_window w = window(s, 3, 0, 30000);
    br_fout out;
    br_fctx cx = ctx(false);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_DELTA, &cx, &w, NULL, 0, &out, &err), 0);
    assert_close(out.f, 30);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_INCREASE, &cx, &w, NULL, 0, &out, &err), 0);
    assert_close(out.f, 25);
}

static void test_functions_holt_winters_rejects_bad_factors(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    const br_sample s[] = {{0, 1}, {1000, 2}, {2000, 4}};
    br_window w = window(s, 3, -1, 2000);
    br_fout out;
    br_fctx cx = ctx(false);
    const double bad[] = {1.5, 0.5};
    assert_int_equal(br_fn_range(BR_PROMQL_FN_DOUBLE_EXPONENTIAL_SMOOTHING, &cx, &w, bad, 2, &out,
                                 &err),
                     BR_EEXEC);
    assert_string_equal(err.msg, "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.500000");
    const double good[] = {0.5, 0.5};
    assert_int_equal(br_fn_range(BR_PROMQL_FN_HOLT_WINTERS, &cx, &w, good, 2, &out, &err), 0);
    /* s1 = 1, b = 1; i=1: 0.5*2 + 0.5*(1+1) = 2; i=2: b = 0.5*(2-1) + 0.5*1
     * = 1, 0.5*4 + 0.5*(2+1) = 3.5. */
    assert_close(out.f, 3.5);
}

static void test_functions_linear_regression_constant_series(void **state)
{
    (void)state;
    const br_sample s[] = {{0, 3}, {1000, 3}, {2000, 3}};
    double slope;
    double icpt;
    br_linear_regression(s, 3, 0, &slope, &icpt);
    assert_close(slope, 0);
    assert_close(icpt, 3);
    const br_sample inf[] = {{0, INFINITY}, {1000, INFINITY}};
    br_linear_regression(inf, 2, 0, &slope, &icpt);
    assert_true(isnan(slope));
}

static void test_functions_mixed_floats_and_histograms_warn(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    const br_sample s[] = {{0, 1}, {1000, 2}};
    const double b[] = {1};
    br_hpoint hp[] = {{500, NULL}};
    hp[0].h = hist(0, 0, 0, 0, b, 1, 1, 1);
    br_window w = window(s, 2, -1, 1000);
    w.h = hp;
    w.nh = 1;
    br_fout out;
    br_fctx cx = ctx(false);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_RATE, &cx, &w, NULL, 0, &out, &err), 0);
    assert_false(out.ok);
    assert_int_equal(n_notes, 1);
    assert_non_null(strstr(last_note, "encountered a mix of histograms and floats"));
}

/* ---- Anchored and smoothed windows ------------------------------------------- */

/* A window over (start, end] that also holds the samples before start (and,
 * smoothed, after end), as eval.c hands out for extended selectors. */
static br_window ext_window(const br_sample *f, size_t nf, int64_t start, int64_t end,
                            bool anchored)
{
    br_window w = window(f, nf, start, end);
    w.anchored = anchored;
    w.smoothed = !anchored;
    return w;
}

static void
test_functions_anchored_increase_starts_at_the_last_sample_before_the_window(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    /* 1+1x4 9+1x4 every 15s (Prometheus' PROM-52 data set) at 80s over 1m:
     * the window holds what eval.c selects, the samples up to 80s. */
    const br_sample s[] = {{0, 1},     {15000, 2}, {30000, 3}, {45000, 4},
                           {60000, 5}, {75000, 9}, {90000, 10}};
    br_window w = ext_window(s, 6, 20000, 80000, true);
    br_fout out;
    br_fctx cx = ctx(false);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_INCREASE, &cx, &w, NULL, 0, &out, &err), 0);
    assert_true(out.ok);
    /* Window (20s, 80s]: anchor 2 at 15s, end 9 at 75s: 9 - 2 = 7. */
    assert_close(out.f, 7);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_RATE, &cx, &w, NULL, 0, &out, &err), 0);
    assert_close(out.f, 7.0 / 60);
    /* Nothing after the window start: no result. */
    br_window late = ext_window(s, 2, 20000, 80000, true);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_INCREASE, &cx, &late, NULL, 0, &out, &err), 0);
    assert_false(out.ok);
}

static void test_functions_anchored_increase_adds_back_counter_resets(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    /* 10 at 10s anchors (10s, 40s]; 20, 5 (reset), 15 follow: 15 - 10 + 20. */
    const br_sample s[] = {{0, 0}, {10000, 10}, {20000, 20}, {30000, 5}, {40000, 15}};
    br_window w = ext_window(s, 5, 10000, 40000, true);
    br_fout out;
    br_fctx cx = ctx(false);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_INCREASE, &cx, &w, NULL, 0, &out, &err), 0);
    assert_close(out.f, 25);
    /* delta does not treat the drop as a reset. */
    assert_int_equal(br_fn_range(BR_PROMQL_FN_DELTA, &cx, &w, NULL, 0, &out, &err), 0);
    assert_close(out.f, 5);
}

static void test_functions_smoothed_rate_interpolates_both_boundaries(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    /* 0, 10, ... 60 every 10s; (25s, 55s]: 25 at the start, 55 at the end. */
    const br_sample s[] = {{0, 0},      {10000, 10}, {20000, 20}, {30000, 30},
                           {40000, 40}, {50000, 50}, {60000, 60}};
    br_window w = ext_window(s, 7, 25000, 55000, false);
    br_fout out;
    br_fctx cx = ctx(false);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_INCREASE, &cx, &w, NULL, 0, &out, &err), 0);
    assert_close(out.f, 30);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_RATE, &cx, &w, NULL, 0, &out, &err), 0);
    assert_close(out.f, 1);
    /* Across a counter reset (100 at 0s, 10 at 15s) a counter restarts
     * from zero: 10 * 2/15 at 2s, 10 * 12/15 at 12s, so the increase over
     * (2s, 12s] is 10 * 10/15 and the rate 2/3 (Prometheus' own case). */
    const br_sample r[] = {{0, 100}, {15000, 10}};
    br_window wr = ext_window(r, 2, 2000, 12000, false);
    wr.range_ms = 10000;
    assert_int_equal(br_fn_range(BR_PROMQL_FN_RATE, &cx, &wr, NULL, 0, &out, &err), 0);
    assert_close(out.f, 0.666666666666667);
}

static void test_functions_anchored_resets_and_changes_count_from_the_anchor(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    /* 99 98 97 ... every minute; (0, 5m]: the anchor at 0 adds one step. */
    const br_sample s[] = {{0, 99},      {60000, 98},  {120000, 97},
                           {180000, 96}, {240000, 95}, {300000, 94}};
    br_window w = ext_window(s, 6, 0, 300000, true);
    br_window plain = window(s + 1, 5, 0, 300000);
    br_fout out;
    br_fctx cx = ctx(false);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_RESETS, &cx, &w, NULL, 0, &out, &err), 0);
    assert_close(out.f, 5);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_RESETS, &cx, &plain, NULL, 0, &out, &err), 0);
    assert_close(out.f, 4);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_CHANGES, &cx, &w, NULL, 0, &out, &err), 0);
    assert_close(out.f, 5);
    /* Only samples at or before the start: nothing to count. */
    br_window none = ext_window(s, 1, 0, 300000, true);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_CHANGES, &cx, &none, NULL, 0, &out, &err), 0);
    assert_false(out.ok);
}

static void test_functions_extended_histogram_rate(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    /* Counts 5, 10, 3 (a reset) at 0, 30s, 60s; anchored over (0, 70s]:
     * 3 - 5 + 10 = 8. */
    const double b5[] = {5};
    const double b10[] = {10};
    const double b3[] = {3};
    br_hpoint hp[] = {{0, NULL}, {30000, NULL}, {60000, NULL}};
    hp[0].h = hist(0, 0, 0, 0, b5, 1, 5, 5);
    hp[1].h = hist(0, 0, 0, 0, b10, 1, 10, 10);
    br_fhist *r = hist(0, 0, 0, 0, b3, 1, 3, 3);
    r->hint = BR_HIST_RESET_YES;
    hp[2].h = r;
    br_window w = window(NULL, 0, 0, 70000);
    w.h = hp;
    w.nh = 3;
    w.anchored = true;
    br_fout out;
    br_fctx cx = ctx(false);
    assert_int_equal(br_fn_range(BR_PROMQL_FN_INCREASE, &cx, &w, NULL, 0, &out, &err), 0);
    assert_true(out.ok);
    assert_non_null(out.h);
    assert_close(out.h->count, 8);
    assert_close(out.h->sum, 8);
    assert_int_equal(out.h->hint, BR_HIST_RESET_GAUGE);
    /* delta on a counter histogram warns that it is not a gauge. */
    assert_int_equal(br_fn_range(BR_PROMQL_FN_DELTA, &cx, &w, NULL, 0, &out, &err), 0);
    assert_non_null(strstr(last_note, "is not a gauge"));
    /* Exponential and custom buckets do not mix. */
    static const double bounds[] = {5, 10};
    br_fhist *c = hist(BR_SCHEMA_CUSTOM, 0, 0, 0, b3, 1, 3, 3);
    c->custom = bounds;
    c->n_custom = 2;
    hp[1].h = c;
    assert_int_equal(br_fn_range(BR_PROMQL_FN_RATE, &cx, &w, NULL, 0, &out, &err), 0);
    assert_false(out.ok);
    assert_non_null(strstr(last_note, "mix of histograms with exponential and custom"));
}

static void test_functions_smoothed_selector_interpolates_at_the_step(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    const br_sample s[] = {{0, 0}, {10000, 5}, {20000, 100}, {30000, 2}};
    br_window w = window(s, 4, 0, 0);
    br_fout out;
    br_fctx cx = ctx(false);
    assert_int_equal(br_fn_smoothed(&cx, &w, 30000, &out, &err), 0);
    assert_close(out.f, 2); /* exact sample */
    assert_int_equal(br_fn_smoothed(&cx, &w, 25000, &out, &err), 0);
    assert_close(out.f, 51); /* gauge interpolation, no reset handling */
    assert_int_equal(br_fn_smoothed(&cx, &w, 45000, &out, &err), 0);
    assert_close(out.f, 2); /* nothing later: the last value carries */
    br_window after = window(s + 1, 3, 0, 0);
    assert_int_equal(br_fn_smoothed(&cx, &after, 5000, &out, &err), 0);
    assert_false(out.ok); /* nothing earlier */
    /* A histogram counter that reset restarts from zero. */
    const double b10[] = {10};
    const double b2[] = {2};
    br_hpoint hp[] = {{15000, NULL}, {30000, NULL}};
    hp[0].h = hist(0, 0, 0, 0, b10, 1, 10, 10);
    br_fhist *reset = hist(0, 0, 0, 0, b2, 1, 2, 2);
    reset->hint = BR_HIST_RESET_YES;
    hp[1].h = reset;
    br_window hw = window(NULL, 0, 0, 0);
    hw.h = hp;
    hw.nh = 2;
    assert_int_equal(br_fn_smoothed(&cx, &hw, 20000, &out, &err), 0);
    assert_non_null(out.h);
    assert_close(out.h->count, 2.0 / 3);
}

static void test_functions_extend_floats_adds_boundary_points(void **state)
{
    (void)state;
    const br_sample s[] = {{0, 0},      {10000, 10}, {20000, 20}, {30000, 30},
                           {40000, 40}, {50000, 50}, {60000, 60}};
    br_sample out[9];
    br_window a = ext_window(s, 6, 25000, 55000, true);
    size_t n = br_fn_extend_floats(&a, out);
    assert_int_equal(n, 5);
    assert_int_equal(out[0].t, 25000);
    assert_close(out[0].v, 20);
    assert_int_equal(out[4].t, 55000);
    assert_close(out[4].v, 50);
    br_window sm = ext_window(s, 7, 25000, 55000, false);
    n = br_fn_extend_floats(&sm, out);
    assert_int_equal(n, 5);
    assert_close(out[0].v, 25);
    assert_int_equal(out[1].t, 30000);
    assert_close(out[4].v, 55);
}

/* ---- Instant-vector functions ---------------------------------------------- */

static br_vvec vec_of(const double *v, size_t n, const char *const *names)
{
    br_vvec in;
    memset(&in, 0, sizeof(in));
    for (size_t i = 0; i < n; i++) {
        br_label *l = br_arena_alloc(&A, sizeof(*l) * 2);
        l[0].name = "__name__";
        l[0].value = "m";
        l[1].name = "x";
        l[1].value = names[i];
        br_vsample s = {.ls = {l, 2}, .f = v[i]};
        br_vvec_push(&A, &in, &s);
    }
    return in;
}

static void test_functions_clamp_follows_go_max_min_with_nan(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    const double v[] = {-3, 5};
    const char *const names[] = {"a", "b"};
    br_vvec in = vec_of(v, 2, names);
    br_vvec out;
    memset(&out, 0, sizeof(out));
    br_fctx cx = ctx(false);
    const double p[] = {0, NAN};
    assert_int_equal(br_fn_vector(BR_PROMQL_FN_CLAMP, &cx, &in, true, p, 2, NULL, 0, 0, &out, &err),
                     0);
    assert_int_equal(out.n, 2);
    assert_true(isnan(out.v[0].f) && isnan(out.v[1].f));
    /* The name goes (immediately, without delayed removal). */
    assert_null(br_lset_get(out.v[0].ls, "__name__"));
}

static void test_functions_sort_by_label_uses_natural_order(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    const double v[] = {1, 2, 3};
    const char *const names[] = {"a10", "a9", "b1"};
    br_vvec in = vec_of(v, 3, names);
    br_vvec out;
    memset(&out, 0, sizeof(out));
    br_fctx cx = ctx(false);
    const char *const lbl[] = {"x"};
    assert_int_equal(
        br_fn_vector(BR_PROMQL_FN_SORT_BY_LABEL, &cx, &in, true, NULL, 0, lbl, 1, 0, &out, &err),
        0);
    assert_string_equal(br_lset_get(out.v[0].ls, "x"), "a9");
    assert_string_equal(br_lset_get(out.v[1].ls, "x"), "a10");
    assert_string_equal(br_lset_get(out.v[2].ls, "x"), "b1");
}

static void test_functions_histogram_stdvar_uses_geometric_bucket_means(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    /* Schema 0 buckets (1,2] and (2,4], one observation each: the bucket
     * values are sqrt(2) and sqrt(8); with sum 3*sqrt(2) the mean is
     * 1.5*sqrt(2), each deviation 0.5*sqrt(2): variance 0.5. */
    const double b[] = {1, 1};
    br_fhist *h = hist(0, 0, 0, 1, b, 2, 2, 3 * sqrt(2));
    br_vvec in;
    memset(&in, 0, sizeof(in));
    br_vsample s = {.h = h};
    br_vvec_push(&A, &in, &s);
    br_vvec out;
    memset(&out, 0, sizeof(out));
    br_fctx cx = ctx(false);
    assert_int_equal(br_fn_vector(BR_PROMQL_FN_HISTOGRAM_STDVAR, &cx, &in, true, NULL, 0, NULL, 0,
                                  0, &out, &err),
                     0);
    assert_int_equal(out.n, 1);
    assert_close(out.v[0].f, 0.5);
}

/* ---- Values ------------------------------------------------------------------ */

static void test_functions_kahan_keeps_small_terms(void **state)
{
    (void)state;
    double sum = 0;
    double c = 0;
    br_kahan_inc(1e100, &sum, &c);
    br_kahan_inc(1, &sum, &c);
    br_kahan_inc(-1e100, &sum, &c);
    assert_true(sum + c == 1.0);
}

static void test_functions_float_formatting_matches_go(void **state)
{
    (void)state;
    char b[400];
    assert_string_equal(br_format_float_f(1e-7, b, sizeof(b)), "0.0000001");
    assert_string_equal(br_format_float_f(1e21, b, sizeof(b)), "1000000000000000000000");
    assert_string_equal(br_format_float_f(0.1, b, sizeof(b)), "0.1");
    assert_string_equal(br_format_float_f(-2.5, b, sizeof(b)), "-2.5");
    assert_string_equal(br_format_float_f(NAN, b, sizeof(b)), "NaN");
    assert_string_equal(br_format_float_g(1e-7, b, sizeof(b)), "1e-07");
    assert_string_equal(br_format_float_g(1e6, b, sizeof(b)), "1e+06");
    assert_string_equal(br_format_float_g(123456, b, sizeof(b)), "123456");
    assert_string_equal(br_format_float_g(1.1, b, sizeof(b)), "1.1");
    assert_string_equal(br_format_float_g(-INFINITY, b, sizeof(b)), "-Inf");
}

static void test_functions_label_set_helpers(void **state)
{
    (void)state;
    const br_label l[] = {{"__name__", "m"}, {"a", "1"}, {"b", "2"}};
    br_lset ls = {l, 3};
    br_lset out;
    assert_int_equal(br_lset_set(&A, ls, "ab", "x", &out), 0);
    assert_int_equal(out.n, 4);
    assert_string_equal(out.v[2].name, "ab");
    assert_int_equal(br_lset_set(&A, ls, "a", "", &out), 0);
    assert_int_equal(out.n, 2);
    assert_int_equal(br_lset_drop_name(&A, ls, true, &out), 0);
    assert_int_equal(out.n, 2);
    const char *const keep[] = {"b"};
    assert_int_equal(br_lset_keep(&A, ls, keep, 1, &out), 0);
    assert_int_equal(out.n, 1);
    assert_true(br_lset_hash_sel(ls, keep, 1, true) != br_lset_hash_sel(ls, keep, 1, false));
    br_buf b;
    br_buf_init(&b, 1024);
    const br_label q[] = {{"__name__", "m"}, {"a", "x\"y"}};
    br_lset qs = {q, 2};
    br_lset_format(qs, &b);
    assert_string_equal(br_buf_str(&b), "{__name__=\"m\", a=\"x\\\"y\"}");
    br_buf_free(&b);
}

static void test_functions_prometheus_label_hash_is_xxhash64(void **state)
{
    (void)state;
    br_lset empty = {NULL, 0};
    assert_true(br_lset_prom_hash(empty) == 0xEF46DB3751D8E999ULL);
    const br_label a[] = {{"a", "1"}};
    const br_label b[] = {{"a", "2"}};
    br_lset la = {a, 1};
    br_lset lb = {b, 1};
    assert_true(br_lset_prom_hash(la) != br_lset_prom_hash(lb));
}

static void test_functions_histogram_add_reduces_schema_and_widens_zero_bucket(void **state)
{
    (void)state;
    /* Schema 1 buckets 1..2 (bounds 2^0.5, 2^1) and schema 0 bucket 1
     * ((1,2]): at schema 0 both schema-1 buckets fall into bucket 1. */
    const double b1[] = {1, 2};
    const double b0[] = {4};
    br_fhist *h = hist(1, 0, 0, 1, b1, 2, 3, 3);
    br_fhist *o = hist(0, 0, 0, 1, b0, 1, 4, 6);
    unsigned flags;
    assert_int_equal(br_fhist_add(&A, h, o, false, NULL, &flags), 0);
    assert_int_equal(h->schema, 0);
    assert_close(h->count, 7);
    br_fhist_trim(h);
    assert_int_equal(h->n_pos, 1);
    assert_int_equal(h->pos_off, 1);
    assert_close(h->pos[0], 7);
    /* A zero threshold of 1.5 inside a populated (1,2] bucket widens to 2. */
    const double bz[] = {1, 1};
    br_fhist *x = hist(0, 0, 0, 1, bz, 2, 2, 5);
    br_fhist *y = hist(0, 1.5, 1, 0, NULL, 0, 1, 0);
    assert_int_equal(br_fhist_add(&A, x, y, false, NULL, &flags), 0);
    assert_close(x->zero_threshold, 2);
    assert_close(x->zero_count, 2);
    br_fhist *c = hist(BR_SCHEMA_CUSTOM, 0, 0, 0, b0, 1, 4, 6);
    assert_int_equal(br_fhist_add(&A, x, c, false, NULL, &flags), BR_FH_EINCOMPAT);
}

static void test_functions_histogram_reset_detection_and_equality(void **state)
{
    (void)state;
    const double a[] = {1, 2};
    const double b[] = {1, 3};
    const double c[] = {0, 3};
    br_fhist *ha = hist(0, 0, 0, 1, a, 2, 3, 3);
    br_fhist *hb = hist(0, 0, 0, 1, b, 2, 4, 4);
    br_fhist *hc = hist(0, 0, 0, 1, c, 2, 4, 4);
    assert_false(br_fhist_detect_reset(hb, ha));
    assert_true(br_fhist_detect_reset(hc, ha)); /* a bucket went down */
    hc->hint = BR_HIST_RESET_NO;
    assert_false(br_fhist_detect_reset(hc, ha)); /* the hint wins */
    const double d[] = {0, 1, 2, 0};
    br_fhist *hd = hist(0, 0, 0, 0, d, 4, 3, 3);
    assert_true(br_fhist_equals(ha, hd)); /* empty buckets do not count */
    br_histogram *w = br_fhist_to_wire(&A, hd);
    assert_int_equal(w->n_pos_spans, 1);
    assert_int_equal(w->pos_spans[0].offset, 1);
    assert_int_equal(w->n_pos, 2);
}

/* ---- Operators and aggregation ------------------------------------------------ */

static void test_functions_binop_scalar_semantics(void **state)
{
    (void)state;
    assert_close(br_binop_scalar(BR_BINOP_MOD, 5.5, 2), 1.5);
    assert_close(br_binop_scalar(BR_BINOP_POW, 2, -1), 0.5);
    assert_close(br_binop_scalar(BR_BINOP_GTE, 2, 2), 1);
    assert_close(br_binop_scalar(BR_BINOP_NEQ, NAN, NAN), 1);
    assert_string_equal(br_binop_str(BR_BINOP_ATAN2), "atan2");
}

static void test_functions_topk_keeps_first_of_equal_values(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    const br_label l1[] = {{"i", "1"}}, l2[] = {{"i", "2"}}, l3[] = {{"i", "3"}};
    br_lset ls[] = {{l1, 1}, {l2, 1}, {l3, 1}};
    br_agg agg;
    assert_int_equal(br_agg_init(&A, &agg, BR_AGG_TOPK, false, NULL, 0, ls, 3, &err), 0);
    br_vsample s[] = {{.ls = ls[0], .f = 5}, {.ls = ls[1], .f = 5}, {.ls = ls[2], .f = 1}};
    const br_vsample *in[] = {&s[0], &s[1], &s[2]};
    br_vvec out;
    memset(&out, 0, sizeof(out));
    br_fctx cx = ctx(false);
    assert_int_equal(br_agg_step(&cx, &agg, in, 1, &out, &err), 0);
    assert_int_equal(out.n, 1);
    assert_string_equal(br_lset_get(out.v[0].ls, "i"), "1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_functions_quantile_interpolates_and_handles_edges),
        T(test_functions_bucket_quantile_coalesces_and_forces_monotonicity),
        T(test_functions_bucket_quantile_special_cases),
        T(test_functions_bucket_fraction),
        T(test_functions_native_histogram_quantile),
        T(test_functions_rate_extrapolation_order_differs_between_v2_and_v3),
        T(test_functions_delta_is_not_limited_by_zero),
        T(test_functions_holt_winters_rejects_bad_factors),
        T(test_functions_linear_regression_constant_series),
        T(test_functions_mixed_floats_and_histograms_warn),
        T(test_functions_anchored_increase_starts_at_the_last_sample_before_the_window),
        T(test_functions_anchored_increase_adds_back_counter_resets),
        T(test_functions_smoothed_rate_interpolates_both_boundaries),
        T(test_functions_anchored_resets_and_changes_count_from_the_anchor),
        T(test_functions_extended_histogram_rate),
        T(test_functions_smoothed_selector_interpolates_at_the_step),
        T(test_functions_extend_floats_adds_boundary_points),
        T(test_functions_clamp_follows_go_max_min_with_nan),
        T(test_functions_sort_by_label_uses_natural_order),
        T(test_functions_histogram_stdvar_uses_geometric_bucket_means),
        T(test_functions_kahan_keeps_small_terms),
        T(test_functions_float_formatting_matches_go),
        T(test_functions_label_set_helpers),
        T(test_functions_prometheus_label_hash_is_xxhash64),
        T(test_functions_histogram_add_reduces_schema_and_widens_zero_bucket),
        T(test_functions_histogram_reset_detection_and_equality),
        T(test_functions_binop_scalar_semantics),
        T(test_functions_topk_keeps_first_of_equal_values),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
