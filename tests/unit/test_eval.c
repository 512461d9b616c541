/*
 * test_eval.c — the PromQL evaluator end to end: a memory-only head is
 * filled with hand-made series, wrapped with br_queryable_local, and every
 * query's result is compared with values worked out by hand from
 * Prometheus' rules (lookback and staleness, extrapolated rate, vector
 * matching, aggregation, histogram_quantile, subquery alignment, @ and
 * offset, name removal, limits and error texts), and the experimental
 * syntax: duration expressions, anchored/smoothed selectors, fill().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/core/arena.h"
#include "engine/promql/eval.h"
#include "engine/promql/selector.h"
#include "storage/head.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GAP 1e300 /* no sample at this position */
#define S   1000  /* one second in ms */
#define M   (60 * S)

typedef struct fixture {
    br_head *h;
    br_queryable q;
    br_arena a;
    br_promql_options o;
    br_promql_result r;
    br_err err;
} fixture;

static fixture F;

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    br_head_options ho = {0};
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_open(&ho, &F.h, &err), 0);
    br_queryable_local(F.h, &F.q);
    br_arena_init(&F.a, 0, 0);
    F.o.compat = BR_PROMQL_COMPAT_V3;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    br_arena_free(&F.a);
    br_head_close(F.h);
    return 0;
}

/* Adds a series given as `name{l="v",...}` with vals at t0, t0+step, ...
 * (GAP skips a position; br_stale_nan() writes a stale marker). */
static void put(const char *spec, int64_t t0, int64_t step, const double *vals, size_t n)
{
    br_selector sel;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_selector_parse(spec, &sel, &err), 0);
    br_label ls[16];
    size_t nl = 0;
    for (size_t i = 0; i < sel.n; i++) {
        ls[nl].name = sel.matchers[i].name;
        ls[nl].value = sel.matchers[i].value;
        nl++;
    }
    for (size_t i = 0; i < nl; i++) {
        for (size_t j = i + 1; j < nl; j++) {
            if (strcmp(ls[j].name, ls[i].name) < 0) {
                br_label t = ls[i];
                ls[i] = ls[j];
                ls[j] = t;
            }
        }
    }
    br_sample *s = calloc(n + 1, sizeof(*s));
    size_t ns = 0;
    for (size_t i = 0; i < n; i++) {
        if (vals[i] == GAP) {
            continue;
        }
        s[ns].t = t0 + (int64_t)i * step;
        s[ns].v = vals[i];
        ns++;
    }
    br_series_input in = {.labels = ls, .n_labels = nl, .samples = s, .n_samples = ns};
    br_commit_result res;
    assert_int_equal(br_head_commit(F.h, &in, 1, &res, &err), 0);
    assert_int_equal(br_commit_rejected(&res), 0);
    free(s);
    br_selector_free(&sel);
}

/* Adds a native histogram series: one positive span at offset 0. */
static void put_hist(const char *spec, int64_t t0, int64_t step, const double (*buckets)[3],
                     const double *counts, const double *sums, size_t n)
{
    br_selector sel;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_selector_parse(spec, &sel, &err), 0);
    br_label ls[4];
    size_t nl = 0;
    for (size_t i = 0; i < sel.n; i++) {
        ls[nl].name = sel.matchers[i].name;
        ls[nl].value = sel.matchers[i].value;
        nl++;
    }
    br_histogram_sample hs[16];
    br_span span = {.offset = 0, .length = 3};
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        memset(&hs[i], 0, sizeof(hs[i]));
        hs[i].t = t0 + (int64_t)i * step;
        hs[i].h.schema = 0;
        hs[i].h.is_float = true;
        hs[i].h.count = counts[i];
        hs[i].h.sum = sums[i];
        hs[i].h.pos_spans = &span;
        hs[i].h.n_pos_spans = 1;
        hs[i].h.pos_buckets = buckets[i];
        hs[i].h.n_pos = 3;
    }
    br_series_input in = {.labels = ls, .n_labels = nl, .histograms = hs, .n_histograms = n};
    br_commit_result res;
    assert_int_equal(br_head_commit(F.h, &in, 1, &res, &err), 0);
    assert_int_equal(br_commit_rejected(&res), 0);
    br_selector_free(&sel);
}

static const br_promql_result *instant(const char *expr, int64_t t)
{
    br_err_clear(&F.err);
    int rc = br_promql_eval_instant(&F.q, &F.o, expr, t, &F.a, &F.r, &F.err);
    if (rc != 0) {
        fprintf(stderr, "query %s failed: %s\n", expr, F.err.msg);
    }
    assert_int_equal(rc, 0);
    return &F.r;
}

static const br_promql_result *range(const char *expr, int64_t start, int64_t end, int64_t step)
{
    br_err_clear(&F.err);
    int rc = br_promql_eval_range(&F.q, &F.o, expr, start, end, step, &F.a, &F.r, &F.err);
    if (rc != 0) {
        fprintf(stderr, "query %s failed: %s\n", expr, F.err.msg);
    }
    assert_int_equal(rc, 0);
    return &F.r;
}

static int fails(const char *expr, int64_t t)
{
    br_err_clear(&F.err);
    int rc = br_promql_eval_instant(&F.q, &F.o, expr, t, &F.a, &F.r, &F.err);
    assert_int_not_equal(rc, 0);
    return rc;
}

static const char *label(const br_result_series *s, const char *name)
{
    for (size_t i = 0; i < s->n_labels; i++) {
        if (strcmp(s->labels[i].name, name) == 0) {
            return s->labels[i].value;
        }
    }
    return NULL;
}

/* The vector element whose label name has value (name NULL: the only one). */
static const br_result_series *find(const br_promql_result *r, const char *name,
                                    const char *value)
{
    for (size_t i = 0; i < r->n_series; i++) {
        if (name == NULL) {
            assert_int_equal(r->n_series, 1);
            return &r->series[0];
        }
        const char *v = label(&r->series[i], name);
        if (v != NULL && strcmp(v, value) == 0) {
            return &r->series[i];
        }
    }
    fail_msg("no series with %s=%s", name ? name : "-", value ? value : "-");
    return NULL;
}

static double val(const br_promql_result *r, const char *name, const char *value)
{
    const br_result_series *s = find(r, name, value);
    assert_true(s->n_points >= 1);
    return s->points[0].v;
}

/* Prometheus' label-set order. */
static int series_cmp(const br_result_series *a, const br_result_series *b)
{
    size_t n = a->n_labels < b->n_labels ? a->n_labels : b->n_labels;
    for (size_t i = 0; i < n; i++) {
        int c = strcmp(a->labels[i].name, b->labels[i].name);
        if (c == 0) {
            c = strcmp(a->labels[i].value, b->labels[i].value);
        }
        if (c != 0) {
            return c;
        }
    }
    return (a->n_labels > b->n_labels) - (a->n_labels < b->n_labels);
}

#define assert_close(a, b) assert_true(fabs((double)(a) - (double)(b)) <= 1e-9 * fmax(1.0, fabs((double)(b))))

static const double counter10[] = {0, 10, 20, 30, 40, 50, 60};

/* ---- Selection, lookback, staleness ------------------------------------- */

static void test_eval_instant_selector_returns_newest_sample_in_lookback(void **state)
{
    (void)state;
    const double v[] = {1, 2, 3};
    put("m{job=\"a\"}", 0, 1 * M, v, 3);
    const br_promql_result *r = instant("m", 150 * S);
    assert_int_equal(r->type, BR_VALUE_VECTOR);
    assert_int_equal(r->n_series, 1);
    assert_close(r->series[0].points[0].v, 3);
    assert_int_equal(r->series[0].points[0].t, 150 * S);
    assert_string_equal(label(&r->series[0], "__name__"), "m");
}

static void test_eval_lookback_is_left_open_in_v3_and_closed_in_v2(void **state)
{
    (void)state;
    const double v[] = {7};
    put("m", 0, M, v, 1);
    /* The sample is exactly 5m old at t=5m: excluded in v3, included in v2. */
    assert_int_equal(instant("m", 5 * M)->n_series, 0);
    F.o.compat = BR_PROMQL_COMPAT_V2;
    assert_int_equal(instant("m", 5 * M)->n_series, 1);
    assert_int_equal(instant("m", 5 * M + 1)->n_series, 0);
}

static void test_eval_stale_marker_ends_lookback(void **state)
{
    (void)state;
    double v[] = {1, 2, 0};
    v[2] = br_stale_nan();
    put("m", 0, M, v, 3);
    assert_int_equal(instant("m", M + 30 * S)->n_series, 1);
    assert_int_equal(instant("m", 2 * M)->n_series, 0);
    assert_int_equal(instant("m", 3 * M)->n_series, 0);
}

static void test_eval_stale_markers_are_dropped_from_ranges(void **state)
{
    (void)state;
    double v[] = {1, 2, 0, 4};
    v[2] = br_stale_nan();
    put("m", 0, M, v, 4);
    assert_close(val(instant("count_over_time(m[10m])", 3 * M), NULL, NULL), 3);
}

static void test_eval_offset_and_at_modifiers_move_the_evaluation_time(void **state)
{
    (void)state;
    put("c_total", 0, 10 * S, counter10, 7);
    assert_close(val(instant("c_total offset 20s", 60 * S), NULL, NULL), 40);
    assert_close(val(instant("c_total @ 30", 60 * S), NULL, NULL), 30);
    assert_close(val(instant("c_total @ 50 offset 10s", 0), NULL, NULL), 40);
    /* @ start() and @ end() refer to the query's range. */
    const br_promql_result *r = range("c_total @ end()", 0, 60 * S, 20 * S);
    assert_int_equal(r->n_series, 1);
    assert_int_equal(r->series[0].n_points, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_close(r->series[0].points[i].v, 60);
    }
}

static void test_eval_matrix_selector_returns_raw_samples(void **state)
{
    (void)state;
    put("c_total", 0, 10 * S, counter10, 7);
    const br_promql_result *r = instant("c_total[30s]", 60 * S);
    assert_int_equal(r->type, BR_VALUE_MATRIX);
    assert_int_equal(r->n_series, 1);
    /* (30s, 60s]: three samples. */
    assert_int_equal(r->series[0].n_points, 3);
    assert_int_equal(r->series[0].points[0].t, 40 * S);
    assert_close(r->series[0].points[2].v, 60);
}

/* ---- rate and friends ---------------------------------------------------- */

static void test_eval_rate_extrapolates_to_window_start_v3(void **state)
{
    (void)state;
    put("c_total", 0, 10 * S, counter10, 7);
    /* (0, 60]: 10..60 over 50s, extrapolated 10s to the start: 60/60s. */
    assert_close(val(instant("rate(c_total[1m])", 60 * S), NULL, NULL), 1.0);
    assert_close(val(instant("increase(c_total[1m])", 60 * S), NULL, NULL), 60.0);
}

static void test_eval_rate_v2_uses_closed_window(void **state)
{
    (void)state;
    put("c_total", 0, 10 * S, counter10, 7);
    F.o.compat = BR_PROMQL_COMPAT_V2;
    assert_close(val(instant("increase(c_total[1m])", 60 * S), NULL, NULL), 60.0);
    assert_close(val(instant("rate(c_total[1m])", 60 * S), NULL, NULL), 1.0);
}

static void test_eval_rate_handles_counter_reset(void **state)
{
    (void)state;
    const double v[] = {0, 10, 20, 5, 15};
    put("c_total", 0, 10 * S, v, 5);
    /* (0, 40]: 10 20 5 15 -> 5 + 20 (reset) = 25 over 30s, extrapolated
     * 10s to the start: 25 * 40/30. */
    assert_close(val(instant("increase(c_total[40s])", 40 * S), NULL, NULL), 25.0 * 4 / 3);
    assert_close(val(instant("rate(c_total[40s])", 40 * S), NULL, NULL), 25.0 * 4 / 3 / 40);
    assert_close(val(instant("resets(c_total[1m])", 40 * S), NULL, NULL), 1);
}

static void test_eval_rate_extrapolates_half_an_interval_when_series_starts_late(void **state)
{
    (void)state;
    const double v[] = {100, 110, 120};
    put("c_total", 40 * S, 10 * S, v, 3);
    /* 20 over 20s; the start is 40s away (> 1.1 intervals): extend 5s. */
    assert_close(val(instant("increase(c_total[1m])", 60 * S), NULL, NULL), 25.0);
}

static void test_eval_rate_does_not_extrapolate_below_zero(void **state)
{
    (void)state;
    const double v[] = {5, 15, 25};
    put("c_total", 10 * S, 10 * S, v, 3);
    /* 20 over 20s, 10s to the start (< 1.1 * 10s) but the counter would
     * hit zero 5s before the first sample: extend only 5s. */
    assert_close(val(instant("increase(c_total[30s])", 30 * S), NULL, NULL), 25.0);
}

static void test_eval_rate_needs_two_samples(void **state)
{
    (void)state;
    const double v[] = {5};
    put("c_total", 0, 10 * S, v, 1);
    assert_int_equal(instant("rate(c_total[1m])", 30 * S)->n_series, 0);
}

static void test_eval_delta_irate_idelta_deriv_predict_linear(void **state)
{
    (void)state;
    const double g[] = {10, 8, 14, 20};
    put("g", 0, 10 * S, g, 4);
    /* delta over (0, 30]: 20 - 8 = 12 over 20s, start 10s away (< 11s):
     * 12 * 30/20 = 18 (a gauge does not stop at zero). */
    assert_close(val(instant("delta(g[30s])", 30 * S), NULL, NULL), 18);
    assert_close(val(instant("idelta(g[30s])", 30 * S), NULL, NULL), 6);
    assert_close(val(instant("irate(g[30s])", 30 * S), NULL, NULL), 0.6);
    /* deriv over 8, 14, 20 at 10s steps: 0.6 per second. */
    assert_close(val(instant("deriv(g[30s])", 30 * S), NULL, NULL), 0.6);
    /* predict 10s ahead: 20 + 6. */
    assert_close(val(instant("predict_linear(g[30s], 10)", 30 * S), NULL, NULL), 26);
    const double c[] = {10, 20, 5};
    put("c2_total", 0, 10 * S, c, 3);
    /* irate after a reset: the last value over the interval. */
    assert_close(val(instant("irate(c2_total[1m])", 20 * S), NULL, NULL), 0.5);
}

static void test_eval_over_time_functions(void **state)
{
    (void)state;
    const double v[] = {1, 4, 2, 8, 5};
    put("g", 0, 10 * S, v, 5);
    const char *q[] = {"sum_over_time(g[1m])",    "avg_over_time(g[1m])",
                       "min_over_time(g[1m])",    "max_over_time(g[1m])",
                       "count_over_time(g[1m])",  "last_over_time(g[1m])",
                       "present_over_time(g[1m])", "quantile_over_time(0.5, g[1m])",
                       "stdvar_over_time(g[1m])", "changes(g[1m])"};
    /* Window (-20s, 40s] holds all five: mean 4, variance 30/5 = 6. */
    const double want[] = {20, 4, 1, 8, 5, 5, 1, 4, 6, 4};
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        assert_close(val(instant(q[i], 40 * S), NULL, NULL), want[i]);
    }
    assert_close(val(instant("stddev_over_time(g[1m])", 40 * S), NULL, NULL), sqrt(6));
    /* last_over_time keeps the metric name, the others drop it. */
    assert_string_equal(label(&instant("last_over_time(g[1m])", 40 * S)->series[0], "__name__"),
                        "g");
    assert_null(label(&instant("max_over_time(g[1m])", 40 * S)->series[0], "__name__"));
}

static void test_eval_absent_and_absent_over_time(void **state)
{
    (void)state;
    const double v[] = {1};
    put("up{job=\"a\"}", 0, M, v, 1);
    assert_int_equal(instant("absent(up)", 0)->n_series, 0);
    const br_promql_result *r = instant("absent(nope{job=\"x\",env=~\"p.*\"})", 0);
    assert_int_equal(r->n_series, 1);
    assert_close(r->series[0].points[0].v, 1);
    assert_string_equal(label(&r->series[0], "job"), "x");
    assert_null(label(&r->series[0], "env"));
    assert_int_equal(instant("absent_over_time(up[5m])", 2 * M)->n_series, 0);
    r = instant("absent_over_time(up{job=\"b\"}[5m])", 2 * M);
    assert_int_equal(r->n_series, 1);
    assert_string_equal(label(&r->series[0], "job"), "b");
}

/* ---- Operators -------------------------------------------------------------- */

static void put_requests(void)
{
    const double a[] = {10}, b[] = {20}, c[] = {30}, d[] = {40};
    put("req{job=\"api\",instance=\"1\",code=\"200\"}", 0, M, a, 1);
    put("req{job=\"api\",instance=\"1\",code=\"500\"}", 0, M, b, 1);
    put("req{job=\"api\",instance=\"2\",code=\"200\"}", 0, M, c, 1);
    put("req{job=\"web\",instance=\"3\",code=\"200\"}", 0, M, d, 1);
    const double l1[] = {2}, l2[] = {4};
    put("limit{job=\"api\",instance=\"1\"}", 0, M, l1, 1);
    put("limit{job=\"api\",instance=\"2\"}", 0, M, l2, 1);
}

static void test_eval_arithmetic_drops_name_and_follows_go_semantics(void **state)
{
    (void)state;
    put_requests();
    const br_promql_result *r = instant("req{code=\"500\"} * 2 + 1", 0);
    assert_int_equal(r->n_series, 1);
    assert_null(label(&r->series[0], "__name__"));
    assert_close(r->series[0].points[0].v, 41);
    assert_close(instant("7 % -3", 0)->scalar, 1);   /* math.Mod keeps the dividend's sign */
    assert_close(instant("-7 % 3", 0)->scalar, -1);
    assert_true(isinf(instant("1 / 0", 0)->scalar));
    assert_true(instant("-1 / 0", 0)->scalar < 0);
    assert_true(isnan(instant("0 / 0", 0)->scalar));
    assert_close(instant("2 ^ 3 ^ 2", 0)->scalar, 512);
    assert_close(instant("-2 ^ 2", 0)->scalar, -4);
    assert_close(instant("1 atan2 1", 0)->scalar, M_PI / 4);
}

static void test_eval_comparisons_filter_or_return_bool(void **state)
{
    (void)state;
    put_requests();
    const br_promql_result *r = instant("req > 25", 0);
    assert_int_equal(r->n_series, 2);
    assert_string_equal(label(find(r, "instance", "2"), "__name__"), "req");
    r = instant("req > bool 25", 0);
    assert_int_equal(r->n_series, 4);
    assert_close(val(r, "instance", "3"), 1);
    assert_null(label(find(r, "instance", "3"), "__name__"));
    assert_close(instant("3 > bool 2", 0)->scalar, 1);
    /* A scalar on the left keeps the vector's value. */
    assert_close(val(instant("35 < req", 0), NULL, NULL), 40);
}

static void test_eval_one_to_one_matching_with_on_and_ignoring(void **state)
{
    (void)state;
    put_requests();
    const br_promql_result *r = instant("req{code=\"200\"} / on(job, instance) limit", 0);
    assert_int_equal(r->n_series, 2);
    const br_result_series *s = find(r, "instance", "2");
    assert_close(s->points[0].v, 7.5);
    assert_int_equal(s->n_labels, 2); /* on(): only the matching labels */
    r = instant("req{code=\"200\"} / ignoring(code) limit", 0);
    assert_close(val(r, "instance", "1"), 5);
    assert_null(label(find(r, "instance", "1"), "code"));
}

static void test_eval_group_left_copies_labels_from_the_one_side(void **state)
{
    (void)state;
    put_requests();
    const double i1[] = {1}, i2[] = {1};
    put("info{instance=\"1\",version=\"v1\"}", 0, M, i1, 1);
    put("info{instance=\"2\",version=\"v2\"}", 0, M, i2, 1);
    const br_promql_result *r =
        instant("req * on(instance) group_left(version) info", 0);
    assert_int_equal(r->n_series, 3);
    const br_result_series *s = find(r, "code", "500");
    assert_string_equal(label(s, "version"), "v1");
    assert_close(s->points[0].v, 20);
    r = instant("info * on(instance) group_right(version) req", 0);
    assert_int_equal(r->n_series, 3);
    assert_string_equal(label(find(r, "code", "500"), "version"), "v1");
}

static void test_eval_many_to_many_matching_is_an_error(void **state)
{
    (void)state;
    put_requests();
    const double one[] = {1};
    put("d{j=\"a\",i=\"1\"}", 0, M, one, 1);
    put("d{j=\"a\",i=\"2\"}", 0, M, one, 1);
    assert_int_equal(fails("vector(1) + on(j) d", 0), BR_EEXEC);
    assert_string_equal(F.err.msg,
                        "found duplicate series for the match group {j=\"a\"} on the right "
                        "hand-side of the operation: [{__name__=\"d\", i=\"1\", j=\"a\"}, "
                        "{__name__=\"d\", i=\"2\", j=\"a\"}];many-to-many matching not "
                        "allowed: matching labels must be unique on one side");
    fails("req / on(job) group_left limit", 0);
    assert_non_null(strstr(F.err.msg, "many-to-many matching not allowed"));
    fails("req{code=\"200\"} + on(job) limit{instance=\"1\"}", 0);
    assert_string_equal(F.err.msg, "multiple matches for labels: many-to-one matching must be "
                                   "explicit (group_left/group_right)");
}

static void test_eval_set_operators(void **state)
{
    (void)state;
    put_requests();
    assert_int_equal(instant("req and on(instance) limit", 0)->n_series, 3);
    assert_int_equal(instant("req unless on(instance) limit", 0)->n_series, 1);
    const br_promql_result *r = instant("limit or req", 0);
    /* limit's two series plus every req series (none match ignoring name
     * since req has a code label). */
    assert_int_equal(r->n_series, 6);
    assert_int_equal(instant("limit or on(instance) req", 0)->n_series, 3);
}

static void test_eval_vector_with_duplicate_labelsets_is_an_error(void **state)
{
    (void)state;
    const double a[] = {1}, b[] = {2};
    put("x{l=\"1\"}", 0, M, a, 1);
    put("y{l=\"1\"}", 0, M, b, 1);
    assert_int_equal(fails("{l=\"1\"} * 2", 0), BR_EEXEC);
    assert_string_equal(F.err.msg, "vector cannot contain metrics with the same labelset");
    /* With delayed name removal the names are dropped at the end: still a
     * clash... */
    F.o.delayed_name_removal = true;
    fails("{l=\"1\"} * 2", 0);
    /* ...unless label_replace saves the name into another label first. */
    const br_promql_result *r = instant("label_replace({l=\"1\"} * 2, \"n\", \"$1\", "
                                        "\"__name__\", \"(.*)\")",
                                        0);
    assert_int_equal(r->n_series, 2);
    assert_null(label(&r->series[0], "__name__"));
    assert_close(val(r, "n", "y"), 4);
}

/* ---- Aggregation -------------------------------------------------------------- */

static void test_eval_sum_avg_count_min_max_group(void **state)
{
    (void)state;
    put_requests();
    const br_promql_result *r = instant("sum by (job) (req)", 0);
    assert_int_equal(r->n_series, 2);
    assert_close(val(r, "job", "api"), 60);
    assert_int_equal(find(r, "job", "api")->n_labels, 1);
    assert_close(val(instant("avg(req)", 0), NULL, NULL), 25);
    assert_close(val(instant("count without (code) (req)", 0), "instance", "1"), 2);
    assert_null(label(find(instant("count without (code) (req)", 0), "instance", "1"), "__name__"));
    assert_close(val(instant("min(req)", 0), NULL, NULL), 10);
    assert_close(val(instant("max by (code) (req)", 0), "code", "200"), 40);
    assert_close(val(instant("group by (job) (req)", 0), "job", "web"), 1);
}

static void test_eval_stddev_stdvar_quantile(void **state)
{
    (void)state;
    put_requests();
    /* 10 20 30 40: mean 25, variance (225+25+25+225)/4 = 125. */
    assert_close(val(instant("stdvar(req)", 0), NULL, NULL), 125);
    assert_close(val(instant("stddev(req)", 0), NULL, NULL), sqrt(125));
    /* rank 0.5*3 = 1.5: between 20 and 30. */
    assert_close(val(instant("quantile(0.5, req)", 0), NULL, NULL), 25);
    assert_close(val(instant("quantile(0.9, req)", 0), NULL, NULL), 37);
}

static void test_eval_topk_bottomk_keep_series_and_order(void **state)
{
    (void)state;
    put_requests();
    const br_promql_result *r = instant("topk(2, req)", 0);
    assert_int_equal(r->n_series, 2);
    assert_close(r->series[0].points[0].v, 40);
    assert_close(r->series[1].points[0].v, 30);
    assert_string_equal(label(&r->series[0], "__name__"), "req");
    r = instant("bottomk by (job) (1, req)", 0);
    assert_int_equal(r->n_series, 2);
    assert_close(val(r, "job", "api"), 10);
    assert_int_equal(instant("topk(0, req)", 0)->n_series, 0);
    fails("topk(NaN, req)", 0);
    assert_string_equal(F.err.msg, "Parameter value is NaN");
}

static void test_eval_count_values_limitk_limit_ratio(void **state)
{
    (void)state;
    const double a[] = {1}, b[] = {1}, c[] = {0.5};
    put("v{i=\"a\"}", 0, M, a, 1);
    put("v{i=\"b\"}", 0, M, b, 1);
    put("v{i=\"c\"}", 0, M, c, 1);
    const br_promql_result *r = instant("count_values(\"val\", v)", 0);
    assert_int_equal(r->n_series, 2);
    assert_close(val(r, "val", "1"), 2);
    assert_close(val(r, "val", "0.5"), 1);
    assert_int_equal(instant("limitk(2, v)", 0)->n_series, 2);
    assert_int_equal(instant("limit_ratio(1, v)", 0)->n_series, 3);
    /* r and r-1 pick complementary sets. */
    size_t n1 = instant("limit_ratio(0.4, v)", 0)->n_series;
    size_t n2 = instant("limit_ratio(-0.6, v)", 0)->n_series;
    assert_int_equal(n1 + n2, 3);
    fails("count_values(\"a\\xc5z\", v)", 0);
    assert_string_equal(F.err.msg, "invalid label name \"a\\xc5z\"");
}

static void test_eval_sum_is_kahan_compensated(void **state)
{
    (void)state;
    const double a[] = {1e100}, b[] = {1}, c[] = {-1e100};
    put("k{i=\"a\"}", 0, M, a, 1);
    put("k{i=\"b\"}", 0, M, b, 1);
    put("k{i=\"c\"}", 0, M, c, 1);
    /* Plain addition loses the 1 next to 1e100; compensation keeps it. */
    assert_true(val(instant("sum(k)", 0), NULL, NULL) == 1.0);
    assert_true(val(instant("avg(k) * 3", 0), NULL, NULL) == 1.0);
    F.o.compat = BR_PROMQL_COMPAT_V2;
    assert_true(val(instant("sum(k)", 0), NULL, NULL) == 0.0);
}

/* ---- Histograms ------------------------------------------------------------------ */

static void put_classic(void)
{
    const double b1[] = {10}, b2[] = {20}, b3[] = {30}, b4[] = {40};
    put("lat_bucket{le=\"0.1\"}", 0, M, b1, 1);
    put("lat_bucket{le=\"0.5\"}", 0, M, b2, 1);
    put("lat_bucket{le=\"1\"}", 0, M, b3, 1);
    put("lat_bucket{le=\"+Inf\"}", 0, M, b4, 1);
}

static void test_eval_histogram_quantile_interpolates_classic_buckets(void **state)
{
    (void)state;
    put_classic();
    assert_close(val(instant("histogram_quantile(0.5, lat_bucket)", 0), NULL, NULL), 0.5);
    assert_close(val(instant("histogram_quantile(0.25, lat_bucket)", 0), NULL, NULL), 0.1);
    assert_close(val(instant("histogram_quantile(0.6, lat_bucket)", 0), NULL, NULL), 0.7);
    /* In the +Inf bucket: the highest finite bound. */
    assert_close(val(instant("histogram_quantile(0.9, lat_bucket)", 0), NULL, NULL), 1);
    assert_true(isinf(val(instant("histogram_quantile(2, lat_bucket)", 0), NULL, NULL)));
    const br_promql_result *r = instant("histogram_quantile(0.5, lat_bucket)", 0);
    assert_null(label(&r->series[0], "le"));
    assert_null(label(&r->series[0], "__name__"));
    assert_close(val(instant("histogram_fraction(0, 0.5, lat_bucket)", 0), NULL, NULL), 0.5);
}

static void test_eval_histogram_quantile_fixes_monotonicity_and_needs_inf(void **state)
{
    (void)state;
    const double b1[] = {10}, b2[] = {8}, b3[] = {30}, b4[] = {40};
    put("nm_bucket{le=\"0.1\"}", 0, M, b1, 1);
    put("nm_bucket{le=\"0.5\"}", 0, M, b2, 1);
    put("nm_bucket{le=\"1\"}", 0, M, b3, 1);
    put("nm_bucket{le=\"+Inf\"}", 0, M, b4, 1);
    /* 10 8 30 40 is read as 10 10 30 40. */
    const br_promql_result *r = instant("histogram_quantile(0.5, nm_bucket)", 0);
    assert_close(r->series[0].points[0].v, 0.75);
    assert_int_equal(r->n_infos, 1);
    assert_non_null(strstr(r->infos[0], "needed to be fixed for monotonicity"));
    put("noinf_bucket{le=\"1\"}", 0, M, b1, 1);
    put("noinf_bucket{le=\"2\"}", 0, M, b3, 1);
    assert_true(isnan(val(instant("histogram_quantile(0.5, noinf_bucket)", 0), NULL, NULL)));
}

static void test_eval_native_histogram_functions_and_rate(void **state)
{
    (void)state;
    /* Schema 0 buckets (0.5,1], (1,2], (2,4]: index 0, 1, 2. */
    const double b[3][3] = {{0, 0, 0}, {1, 4, 1}, {2, 8, 2}};
    const double counts[] = {0, 6, 12};
    const double sums[] = {0, 12, 24};
    put_hist("h", 0, 30 * S, b, counts, sums, 3);
    assert_close(val(instant("histogram_count(h)", 60 * S), NULL, NULL), 12);
    assert_close(val(instant("histogram_sum(h)", 60 * S), NULL, NULL), 24);
    assert_close(val(instant("histogram_avg(h)", 60 * S), NULL, NULL), 2);
    /* Median: 6 of 12 observations; reverse walk from (2,4] (2), then
     * (1,2] (8): 4 into it from the top: 2^(0 + 1 * 0.5). */
    assert_close(val(instant("histogram_quantile(0.5, h)", 60 * S), NULL, NULL), sqrt(2));
    const br_promql_result *r = instant("rate(h[1m])", 60 * S);
    assert_int_equal(r->n_series, 1);
    const br_histogram *rh = r->series[0].points[0].h;
    assert_non_null(rh);
    /* (0, 60]: 6 -> 12 over 30s, extrapolated to 60s, per second: 0.2/s. */
    assert_close(rh->count, 0.2);
    assert_close(rh->sum, 0.4);
    assert_int_equal(rh->reset_hint, BR_HIST_RESET_GAUGE);
    assert_close(val(instant("histogram_count(sum(h))", 60 * S), NULL, NULL), 12);
    assert_close(val(instant("histogram_fraction(0, 2, h)", 60 * S), NULL, NULL), 10.0 / 12);
}


static void test_eval_trim_operators_cut_native_histograms(void **state)
{
    (void)state;
    const double b[1][3] = {{2, 8, 2}};
    const double counts[] = {12};
    const double sums[] = {24};
    put_hist("h", 0, M, b, counts, sums, 1);
    /* </ 2 keeps (0.5,1] and (1,2] whole and drops (2,4]. */
    assert_close(val(instant("histogram_count(h </ 2)", 0), NULL, NULL), 10);
    /* >/ 1.5 keeps the part of (1,2] above 1.5 on a log scale, and (2,4]. */
    assert_close(val(instant("histogram_count(h >/ 1.5)", 0), NULL, NULL),
                 2 + 8 * (1 - log2(1.5)));
    /* The name stays: trimming does not change what the metric is. */
    assert_string_equal(label(&instant("h </ 2", 0)->series[0], "__name__"), "h");
}

static void test_eval_info_joins_target_info_labels(void **state)
{
    (void)state;
    const double v[] = {1, 2};
    const double one[] = {1, 1};
    put("metric{instance=\"a\",job=\"1\"}", 0, M, v, 2);
    put("other{instance=\"b\",job=\"1\"}", 0, M, v, 2);
    put("target_info{instance=\"a\",job=\"1\",data=\"x\",more=\"y\"}", 0, M, one, 2);
    const br_promql_result *r = instant("info(metric)", M);
    assert_int_equal(r->n_series, 1);
    assert_string_equal(label(&r->series[0], "data"), "x");
    assert_string_equal(label(&r->series[0], "more"), "y");
    assert_close(r->series[0].points[0].v, 2);
    /* Only the labels named in the second argument are added. */
    r = instant("info(metric, {data=~\".+\"})", M);
    assert_string_equal(label(&r->series[0], "data"), "x");
    assert_null(label(&r->series[0], "more"));
    /* No info series for instance b: kept as is, unless a data matcher
     * needs a value. */
    assert_int_equal(instant("info(other)", M)->n_series, 1);
    assert_int_equal(instant("info(other, {data=~\".+\"})", M)->n_series, 0);
}

static void test_eval_deeply_nested_expressions_evaluate(void **state)
{
    (void)state;
    const double v[] = {3};
    put("x", 0, M, v, 1);
    char q[4096];
    size_t o = 0;
    for (int i = 0; i < 300; i++) {
        q[o++] = '(';
    }
    memcpy(q + o, "x", 1);
    o += 1;
    for (int i = 0; i < 300; i++) {
        q[o++] = ')';
    }
    q[o] = '\0';
    assert_close(val(instant(q, 0), NULL, NULL), 3);
    o = 0;
    for (int i = 0; i < 100; i++) {
        memcpy(q + o, "sum(", 4);
        o += 4;
    }
    q[o++] = 'x';
    for (int i = 0; i < 100; i++) {
        q[o++] = ')';
    }
    q[o] = '\0';
    assert_close(val(instant(q, 0), NULL, NULL), 3);
}

/* ---- Functions on instant vectors and labels ------------------------------------ */

static void test_eval_math_clamp_round_and_scalar_functions(void **state)
{
    (void)state;
    const double v[] = {-2.5};
    put("x", 0, M, v, 1);
    assert_close(val(instant("abs(x)", 0), NULL, NULL), 2.5);
    assert_close(val(instant("ceil(x)", 0), NULL, NULL), -2);
    assert_close(val(instant("round(x)", 0), NULL, NULL), -2); /* ties round up */
    assert_close(val(instant("round(x, 2)", 0), NULL, NULL), -2);
    assert_close(val(instant("clamp(x, -1, 1)", 0), NULL, NULL), -1);
    assert_int_equal(instant("clamp(x, 1, -1)", 0)->n_series, 0);
    assert_close(instant("scalar(x)", 0)->scalar, -2.5);
    assert_true(isnan(instant("scalar(nothing)", 0)->scalar));
    assert_close(val(instant("vector(3)", 0), NULL, NULL), 3);
    assert_close(instant("time()", 90 * S)->scalar, 90);
    assert_close(val(instant("timestamp(x)", 2 * M), NULL, NULL), 0);
}

static void test_eval_date_functions(void **state)
{
    (void)state;
    /* 2026-11-27T07:13:02Z = 1795763582 s. */
    const double v[] = {1795763582};
    put("t", 0, M, v, 1);
    assert_close(val(instant("year(t)", 0), NULL, NULL), 2026);
    assert_close(val(instant("month(t)", 0), NULL, NULL), 11);
    assert_close(val(instant("day_of_month(t)", 0), NULL, NULL), 27);
    assert_close(val(instant("day_of_week(t)", 0), NULL, NULL), 5);
    assert_close(val(instant("hour(t)", 0), NULL, NULL), 7);
    assert_close(val(instant("minute(t)", 0), NULL, NULL), 13);
    assert_close(val(instant("days_in_month(t)", 0), NULL, NULL), 30);
    assert_close(val(instant("day_of_year(t)", 0), NULL, NULL), 331);
    /* Without argument: the evaluation time (1970-01-01). */
    assert_close(val(instant("year()", 0), NULL, NULL), 1970);
}

static void test_eval_label_replace_and_label_join(void **state)
{
    (void)state;
    const double v[] = {1};
    put("svc{name=\"api-eu\",zone=\"b\"}", 0, M, v, 1);
    const br_promql_result *r =
        instant("label_replace(svc, \"region\", \"$2\", \"name\", \"(\\\\w+)-(\\\\w+)\")", 0);
    assert_string_equal(label(&r->series[0], "region"), "eu");
    assert_string_equal(label(&r->series[0], "__name__"), "svc");
    /* No match: unchanged. */
    r = instant("label_replace(svc, \"region\", \"$1\", \"name\", \"x(.*)\")", 0);
    assert_null(label(&r->series[0], "region"));
    /* Go's $1x means ${1x}: empty. */
    r = instant("label_replace(svc, \"r\", \"$1x\", \"name\", \"(.*)\")", 0);
    assert_null(label(&r->series[0], "r"));
    r = instant("label_join(svc, \"id\", \"/\", \"name\", \"zone\")", 0);
    assert_string_equal(label(&r->series[0], "id"), "api-eu/b");
    fails("label_replace(svc, \"\", \"x\", \"name\", \".*\")", 0);
    assert_non_null(strstr(F.err.msg, "invalid destination label name"));
}

static void test_eval_sort_functions_order_instant_vectors(void **state)
{
    (void)state;
    put_requests();
    const br_promql_result *r = instant("sort_desc(req)", 0);
    assert_close(r->series[0].points[0].v, 40);
    assert_close(r->series[3].points[0].v, 10);
    r = instant("sort(req)", 0);
    assert_close(r->series[0].points[0].v, 10);
    r = instant("sort_by_label(req, \"instance\", \"code\")", 0);
    assert_string_equal(label(&r->series[0], "instance"), "1");
    assert_string_equal(label(&r->series[1], "code"), "500");
}

/* ---- Range queries and subqueries ------------------------------------------------ */

static void test_eval_range_query_returns_sorted_matrix(void **state)
{
    (void)state;
    put_requests();
    put("c_total", 0, 10 * S, counter10, 7);
    const br_promql_result *r = range("req", 0, 2 * M, M);
    assert_int_equal(r->type, BR_VALUE_MATRIX);
    assert_int_equal(r->n_series, 4);
    for (size_t i = 0; i + 1 < r->n_series; i++) {
        assert_true(series_cmp(&r->series[i], &r->series[i + 1]) < 0);
    }
    assert_int_equal(r->series[0].n_points, 3);
    assert_int_equal(r->series[0].points[2].t, 2 * M);
    r = range("rate(c_total[30s])", 30 * S, 60 * S, 10 * S);
    assert_int_equal(r->n_series, 1);
    assert_int_equal(r->series[0].n_points, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_close(r->series[0].points[i].v, 1.0);
    }
    /* A scalar expression gives one unlabelled series. */
    r = range("time()", 0, 20 * S, 10 * S);
    assert_int_equal(r->n_series, 1);
    assert_int_equal(r->series[0].n_labels, 0);
    assert_close(r->series[0].points[2].v, 20);
}

static void test_eval_range_query_rejects_too_many_points_and_matrix_type(void **state)
{
    (void)state;
    br_err_clear(&F.err);
    assert_int_equal(br_promql_eval_range(&F.q, &F.o, "1", 0, 20000, 1, &F.a, &F.r, &F.err),
                     BR_ELIMIT);
    assert_non_null(strstr(F.err.msg, "11,000 points"));
    assert_int_not_equal(
        br_promql_eval_range(&F.q, &F.o, "x[5m]", 0, 10, 1, &F.a, &F.r, &F.err), 0);
    assert_non_null(strstr(F.err.msg, "invalid expression type \"range vector\""));
}

static void test_eval_subquery_steps_align_to_absolute_multiples(void **state)
{
    (void)state;
    put("c_total", 0, 10 * S, counter10, 7);
    /* [50s:20s] at 65s: steps at 20s, 40s, 60s (multiples of 20s inside
     * (15s, 65s]) reading 20, 40, 60. */
    const br_promql_result *r = instant("c_total[50s:20s]", 65 * S);
    assert_int_equal(r->type, BR_VALUE_MATRIX);
    assert_int_equal(r->series[0].n_points, 3);
    assert_int_equal(r->series[0].points[0].t, 20 * S);
    assert_close(r->series[0].points[2].v, 60);
    assert_close(val(instant("max_over_time(c_total[50s:20s])", 65 * S), NULL, NULL), 60);
    assert_close(val(instant("sum_over_time(rate(c_total[20s])[30s:10s])", 60 * S), NULL, NULL),
                 3.0);
}

/* ---- Limits and errors ---------------------------------------------------------- */

static void test_eval_max_samples_limits_loaded_samples(void **state)
{
    (void)state;
    put("c_total", 0, 10 * S, counter10, 7);
    F.o.max_samples = 5;
    assert_int_equal(fails("sum_over_time(c_total[1h])", 60 * S), BR_ELIMIT);
    assert_string_equal(F.err.msg,
                        "query processing would load too many samples into memory in query "
                        "execution");
    F.o.max_samples = 100;
    assert_close(val(instant("sum_over_time(c_total[1h])", 60 * S), NULL, NULL), 210);
}

static void test_eval_parse_errors_are_reported(void **state)
{
    (void)state;
    assert_int_equal(fails("sum(", 0), BR_EPARSE);
    assert_int_equal(fails("rate(x)", 0), BR_EPARSE);
}

static void test_eval_string_and_scalar_results(void **state)
{
    (void)state;
    const br_promql_result *r = instant("\"hello\"", 0);
    assert_int_equal(r->type, BR_VALUE_STRING);
    assert_string_equal(r->string, "hello");
    r = instant("1 + 2 * 3", 5 * S);
    assert_int_equal(r->type, BR_VALUE_SCALAR);
    assert_close(r->scalar, 7);
    assert_int_equal(r->t, 5 * S);
}

static void test_eval_rate_of_non_counter_name_gives_info_annotation(void **state)
{
    (void)state;
    put("g", 0, 10 * S, counter10, 7);
    const br_promql_result *r = instant("rate(g[1m])", 60 * S);
    assert_int_equal(r->n_infos, 1);
    assert_string_equal(r->infos[0],
                        "PromQL info: metric might not be a counter, name does not end in "
                        "_total/_sum/_count/_bucket: \"g\" (1:6)");
    F.o.compat = BR_PROMQL_COMPAT_V2;
    assert_int_equal(instant("rate(g[1m])", 60 * S)->n_infos, 0);
}

/* ---- Experimental syntax (Prometheus' feature flags) ------------------------- */

static void test_eval_experimental_syntax_is_off_by_default(void **state)
{
    (void)state;
    put("c_total", 0, 10 * S, counter10, 7);
    assert_int_equal(fails("count_over_time(c_total[20s+10s])", 60 * S), BR_EPARSE);
    assert_non_null(strstr(F.err.msg, "experimental duration expression is not enabled"));
    assert_int_equal(fails("rate(c_total[30s] anchored)", 60 * S), BR_EPARSE);
    assert_int_equal(fails("c_total + fill(0) c_total", 60 * S), BR_EPARSE);
    F.o.experimental_syntax = true;
    assert_close(val(instant("count_over_time(c_total[20s+10s])", 60 * S), NULL, NULL), 3);
}

static void test_eval_duration_expressions_use_the_query_step_and_range(void **state)
{
    (void)state;
    put("c_total", 0, 10 * S, counter10, 7);
    F.o.experimental_syntax = true;
    /* step() is the range query's step: one sample per (t - 10s, t]. */
    const br_promql_result *r = range("count_over_time(c_total[step()*2])", 30 * S, 60 * S, 10 * S);
    assert_int_equal(r->n_series, 1);
    assert_int_equal(r->series[0].n_points, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_close(r->series[0].points[i].v, 2);
    }
    r = range("c_total offset step()", 20 * S, 60 * S, 10 * S);
    assert_int_equal(r->series[0].n_points, 5);
    assert_close(r->series[0].points[0].v, 10);
    assert_close(r->series[0].points[4].v, 50);
    /* range() is end - start: 40s here, four samples in (20s, 60s]. */
    r = range("count_over_time(c_total[range()])", 20 * S, 60 * S, 20 * S);
    assert_close(r->series[0].points[2].v, 4);
    /* A subquery step from step(). */
    r = range("count_over_time(c_total[30s:step()/2])", 60 * S, 60 * S, 10 * S);
    assert_close(r->series[0].points[0].v, 6);
    /* An instant query has step 0 and range 0. */
    assert_close(val(instant("c_total offset range()", 60 * S), NULL, NULL), 60);
    assert_int_equal(fails("count_over_time(c_total[step()])", 60 * S), BR_EPARSE);
    assert_string_equal(F.err.msg, "24:30: duration must be greater than 0");
    /* Offsets may come out negative. */
    assert_close(val(instant("c_total offset (10s-30s)", 20 * S), NULL, NULL), 40);
}

static void test_eval_anchored_range_starts_at_the_last_sample_before_it(void **state)
{
    (void)state;
    put("c_total", 0, 10 * S, counter10, 7);
    const double v[] = {0, 10, 20, 5, 15};
    put("r_total", 0, 10 * S, v, 5);
    F.o.experimental_syntax = true;
    /* (25s, 55s]: from 20 at 20s to 50 at 50s, no extrapolation. */
    assert_close(val(instant("increase(c_total[30s] anchored)", 55 * S), NULL, NULL), 30);
    assert_close(val(instant("rate(c_total[30s] anchored)", 60 * S), NULL, NULL), 1);
    /* From 10 at 10s: 20, 5 (a reset), 15: 15 - 10 + 20. */
    assert_close(val(instant("increase(r_total[30s] anchored)", 40 * S), NULL, NULL), 25);
    assert_close(val(instant("resets(r_total[30s] anchored)", 40 * S), NULL, NULL), 1);
    assert_close(val(instant("changes(r_total[30s] anchored)", 40 * S), NULL, NULL), 3);
    /* On its own the range shows its boundary values. */
    const br_promql_result *r = instant("c_total[30s] anchored", 55 * S);
    assert_int_equal(r->type, BR_VALUE_MATRIX);
    assert_int_equal(r->series[0].n_points, 5);
    assert_int_equal(r->series[0].points[0].t, 25 * S);
    assert_close(r->series[0].points[0].v, 20);
    assert_int_equal(r->series[0].points[4].t, 55 * S);
    assert_close(r->series[0].points[4].v, 50);
    /* Other functions would see samples from outside the range. */
    assert_int_equal(fails("max_over_time(c_total[30s] anchored)", 60 * S), BR_EEXEC);
    assert_string_equal(F.err.msg, "anchored modifier can only be used with: changes, delta, "
                                   "increase, rate, resets - not with max_over_time");
}

static void test_eval_smoothed_selectors_interpolate(void **state)
{
    (void)state;
    put("c_total", 0, 10 * S, counter10, 7);
    F.o.experimental_syntax = true;
    /* (25s, 55s]: 25 and 55 interpolated at the ends. */
    assert_close(val(instant("increase(c_total[30s] smoothed)", 55 * S), NULL, NULL), 30);
    assert_close(val(instant("rate(c_total[30s] smoothed)", 55 * S), NULL, NULL), 1);
    /* An instant selector takes the value at the step time. */
    assert_close(val(instant("c_total smoothed", 15 * S), NULL, NULL), 15);
    assert_close(val(instant("c_total smoothed", 90 * S), NULL, NULL), 60);
    const br_promql_result *r = range("c_total offset -5s smoothed", 0, 20 * S, 10 * S);
    assert_int_equal(r->series[0].n_points, 3);
    assert_close(r->series[0].points[0].v, 5);
    assert_close(r->series[0].points[2].v, 25);
    assert_string_equal(label(&r->series[0], "__name__"), "c_total");
    assert_int_equal(fails("changes(c_total[30s] smoothed)", 60 * S), BR_EEXEC);
    assert_string_equal(F.err.msg, "smoothed modifier can only be used with: delta, increase, "
                                   "rate - not with changes");
}

static void test_eval_fill_modifiers_stand_in_for_missing_operands(void **state)
{
    (void)state;
    const double v10[] = {10};
    const double v20[] = {20};
    const double v100[] = {100};
    const double v400[] = {400};
    put("left{l=\"a\"}", 0, M, v10, 1);
    put("left{l=\"b\"}", 0, M, v20, 1);
    put("right{l=\"a\"}", 0, M, v100, 1);
    put("right{l=\"c\"}", 0, M, v400, 1);
    F.o.experimental_syntax = true;
    const br_promql_result *r = instant("left + fill(0) right", 0);
    assert_int_equal(r->n_series, 3);
    assert_close(val(r, "l", "a"), 110);
    assert_close(val(r, "l", "b"), 20);
    assert_close(val(r, "l", "c"), 400);
    r = instant("left + fill_left(1) right", 0);
    assert_int_equal(r->n_series, 2);
    assert_close(val(r, "l", "c"), 401);
    r = instant("left - fill_right(2) right", 0);
    assert_int_equal(r->n_series, 2);
    assert_close(val(r, "l", "b"), 18);
    /* A comparison keeps the left side's name; a filled left side has none. */
    r = instant("left != fill(10) right", 0);
    assert_int_equal(r->n_series, 3);
    assert_string_equal(label(find(r, "l", "b"), "__name__"), "left");
    assert_null(label(find(r, "l", "c"), "__name__"));
    assert_close(val(r, "l", "c"), 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_eval_instant_selector_returns_newest_sample_in_lookback),
        T(test_eval_lookback_is_left_open_in_v3_and_closed_in_v2),
        T(test_eval_stale_marker_ends_lookback),
        T(test_eval_stale_markers_are_dropped_from_ranges),
        T(test_eval_offset_and_at_modifiers_move_the_evaluation_time),
        T(test_eval_matrix_selector_returns_raw_samples),
        T(test_eval_rate_extrapolates_to_window_start_v3),
        T(test_eval_rate_v2_uses_closed_window),
        T(test_eval_rate_handles_counter_reset),
        T(test_eval_rate_extrapolates_half_an_interval_when_series_starts_late),
        T(test_eval_rate_does_not_extrapolate_below_zero),
        T(test_eval_rate_needs_two_samples),
        T(test_eval_delta_irate_idelta_deriv_predict_linear),
        T(test_eval_over_time_functions),
        T(test_eval_absent_and_absent_over_time),
        T(test_eval_arithmetic_drops_name_and_follows_go_semantics),
        T(test_eval_comparisons_filter_or_return_bool),
        T(test_eval_one_to_one_matching_with_on_and_ignoring),
        T(test_eval_group_left_copies_labels_from_the_one_side),
        T(test_eval_many_to_many_matching_is_an_error),
        T(test_eval_set_operators),
        T(test_eval_vector_with_duplicate_labelsets_is_an_error),
        T(test_eval_sum_avg_count_min_max_group),
        T(test_eval_stddev_stdvar_quantile),
        T(test_eval_topk_bottomk_keep_series_and_order),
        T(test_eval_count_values_limitk_limit_ratio),
        T(test_eval_sum_is_kahan_compensated),
        T(test_eval_histogram_quantile_interpolates_classic_buckets),
        T(test_eval_histogram_quantile_fixes_monotonicity_and_needs_inf),
        T(test_eval_native_histogram_functions_and_rate),
        T(test_eval_trim_operators_cut_native_histograms),
        T(test_eval_info_joins_target_info_labels),
        T(test_eval_deeply_nested_expressions_evaluate),
        T(test_eval_math_clamp_round_and_scalar_functions),
        T(test_eval_date_functions),
        T(test_eval_label_replace_and_label_join),
        T(test_eval_sort_functions_order_instant_vectors),
        T(test_eval_range_query_returns_sorted_matrix),
        T(test_eval_range_query_rejects_too_many_points_and_matrix_type),
        T(test_eval_subquery_steps_align_to_absolute_multiples),
        T(test_eval_max_samples_limits_loaded_samples),
        T(test_eval_parse_errors_are_reported),
        T(test_eval_string_and_scalar_results),
        T(test_eval_rate_of_non_counter_name_gives_info_annotation),
        T(test_eval_experimental_syntax_is_off_by_default),
        T(test_eval_duration_expressions_use_the_query_step_and_range),
        T(test_eval_anchored_range_starts_at_the_last_sample_before_it),
        T(test_eval_smoothed_selectors_interpolate),
        T(test_eval_fill_modifiers_stand_in_for_missing_operands),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
