/*
 * test_head_range_stats.c — br_head_series_range_stats(_at) against a
 * sample-by-sample reference written the way Prometheus computes
 * increase/min_over_time/max_over_time, bit for bit, on random counters
 * (fractional increments so that the order of additions matters, several
 * resets per chunk, resets at chunk seams, zeros of both signs, stale
 * markers, gaps) cut into many chunks, over thousands of windows; plus
 * hand-checked edges (left-open vs closed bounds, NaN and histogram flags,
 * the open chunk, a missing series).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/core/alloc.h"
#include "storage/head.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static br_head *open_mem(void)
{
    br_head_options o = {0};
    br_head *h = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_open(&o, &h, &err), 0);
    return h;
}

static br_series_ref find_ref(br_head *h, const char *name)
{
    br_err err;
    br_err_clear(&err);
    br_matcher m;
    assert_int_equal(br_matcher_init(&m, BR_MATCH_EQ, "__name__", name, &err), 0);
    br_refs refs;
    br_refs_init(&refs);
    br_head_read_begin(h);
    assert_int_equal(br_head_select(h, &m, 1, &refs, &err), 0);
    br_head_read_end(h);
    assert_int_equal(refs.n, 1);
    br_series_ref ref = refs.v[0];
    br_refs_free(&refs);
    br_matcher_free(&m);
    return ref;
}

static br_series_ref commit_series(br_head *h, const char *name, const br_sample *s, size_t n)
{
    br_label ls[1] = {{"__name__", name}};
    br_series_input in = {.labels = ls, .n_labels = 1, .samples = s, .n_samples = n};
    br_commit_result r;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    assert_int_equal(br_commit_rejected(&r), 0);
    return find_ref(h, name);
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

/* The window's samples as PromQL's range selector hands them to
 * functions (stale markers dropped), then Prometheus' arithmetic. */
static void reference(const br_sample *s, size_t n, int64_t mint, int64_t maxt, bool left_open,
                      br_range_stats *o)
{
    memset(o, 0, sizeof(*o));
    o->min = NAN;
    o->max = NAN;
    br_sample *w = br_malloc(sizeof(*w) * (n + 1));
    size_t nw = 0;
    for (size_t i = 0; i < n; i++) {
        bool after = left_open ? s[i].t > mint : s[i].t >= mint;
        if (after && s[i].t <= maxt && !br_is_stale_nan(s[i].v)) {
            w[nw++] = s[i];
        }
    }
    o->count = nw;
    if (nw > 0) {
        o->first_t = w[0].t;
        o->first = w[0].v;
        o->last_t = w[nw - 1].t;
        o->last = w[nw - 1].v;
        double result = w[nw - 1].v - w[0].v; /* extrapolatedRate */
        for (size_t i = 1; i < nw; i++) {
            if (w[i].v < w[i - 1].v) {
                result += w[i - 1].v;
                o->resets++;
            }
        }
        o->counter_delta = result;
        double mn = w[0].v; /* min_over_time / max_over_time */
        double mx = w[0].v;
        for (size_t i = 0; i < nw; i++) {
            if (isnan(w[i].v)) {
                o->has_nan = true;
            }
            if (w[i].v < mn || isnan(mn)) {
                mn = w[i].v;
            }
            if (w[i].v > mx || isnan(mx)) {
                mx = w[i].v;
            }
        }
        o->min = mn;
        o->max = mx;
    }
    br_free(w);
}

static void assert_stats_equal(const br_range_stats *got, const br_range_stats *want)
{
    assert_int_equal(got->count, want->count);
    assert_false(got->has_nan);
    if (want->count == 0) {
        return;
    }
    assert_int_equal(got->resets, want->resets);
    assert_true(got->first_t == want->first_t);
    assert_true(got->last_t == want->last_t);
    assert_true(same_bits(got->first, want->first));
    assert_true(same_bits(got->last, want->last));
    assert_true(same_bits(got->counter_delta, want->counter_delta));
    assert_true(same_bits(got->min, want->min));
    assert_true(same_bits(got->max, want->max));
}

/* A counter with fractional increments, frequent resets (some several to
 * a chunk, some to -0.0 or 0.0), occasional stale markers and gaps. */
static br_sample *random_counter(size_t n, unsigned seed)
{
    srand(seed);
    br_sample *s = br_malloc(sizeof(*s) * n);
    double v = 1000.25;
    int64_t t = 1700000000000;
    for (size_t i = 0; i < n; i++) {
        t += 15000 + (rand() % 5 == 0 ? rand() % 90000 : 0);
        int r = rand() % 400;
        if (r < 3) {
            v = r == 0 ? -0.0 : r == 1 ? 0.0 : (double)(rand() % 7) / 3; /* reset */
        } else if (r == 3 && i % 7 == 0) {
            v = 1e15 * ((double)rand() / RAND_MAX); /* jump to a large magnitude */
        } else {
            v += (double)rand() / RAND_MAX * 37.1;
        }
        s[i].t = t;
        s[i].v = (r == 4) ? br_stale_nan() : v;
    }
    return s;
}

static void test_range_stats_match_reference_on_random_counters(void **state)
{
    (void)state;
    enum { N = 30000 };
    br_sample *s = random_counter(N, 11);
    br_head *h = open_mem();
    br_series_ref ref = commit_series(h, "rand_total", s, N);
    int64_t t_min = s[0].t - 200000;
    int64_t t_max = s[N - 1].t + 200000;
    int64_t span = t_max - t_min;
    for (int round = 0; round < 3000; round++) {
        int64_t mint;
        int64_t maxt;
        int kind = round % 4;
        if (kind == 0) {
            /* A sample's own timestamp at either edge. */
            size_t i = (size_t)rand() % N;
            size_t j = i + (size_t)rand() % (N - i);
            mint = s[i].t;
            maxt = s[j].t;
        } else {
            int64_t len = kind == 1 ? rand() % 3600000
                                    : (int64_t)(((double)rand() / RAND_MAX) * (double)span);
            mint = t_min + (int64_t)(((double)rand() / RAND_MAX) * (double)span);
            maxt = mint + len;
        }
        bool left_open = (round / 4) % 2 == 0;
        br_range_stats got;
        br_range_stats want;
        br_head_read_begin(h);
        assert_true(br_head_series_range_stats(h, ref, mint, maxt, left_open, &got));
        br_head_read_end(h);
        reference(s, N, mint, maxt, left_open, &want);
        assert_stats_equal(&got, &want);
        assert_false(got.has_histograms);
    }
    br_head_close(h);
    br_free(s);
}

static void test_range_stats_at_equals_single_windows(void **state)
{
    (void)state;
    enum { N = 12000, W = 200 };
    br_sample *s = random_counter(N, 5);
    br_head *h = open_mem();
    br_series_ref ref = commit_series(h, "batch_total", s, N);
    int64_t ends[W];
    int64_t range = 6 * 3600 * 1000;
    for (size_t k = 0; k < W; k++) {
        /* Not sorted, some before the first sample, some after the last. */
        ends[k] = s[0].t - 3600000 + (int64_t)(((double)rand() / RAND_MAX) *
                                               (double)(s[N - 1].t - s[0].t + 7200000));
    }
    br_range_stats *got = br_malloc(sizeof(*got) * W);
    for (int open = 0; open < 2; open++) {
        br_head_read_begin(h);
        assert_true(br_head_series_range_stats_at(h, ref, ends, W, range, open, got));
        for (size_t k = 0; k < W; k++) {
            br_range_stats one;
            assert_true(br_head_series_range_stats(h, ref, ends[k] - range, ends[k], open, &one));
            assert_int_equal(got[k].count, one.count);
            br_range_stats want;
            reference(s, N, ends[k] - range, ends[k], open, &want);
            assert_stats_equal(&got[k], &want);
        }
        br_head_read_end(h);
    }
    br_free(got);
    br_head_close(h);
    br_free(s);
}

static void test_range_stats_left_open_excludes_sample_at_mint(void **state)
{
    (void)state;
    br_head *h = open_mem();
    br_sample s[4] = {{1000, 5}, {2000, 7}, {3000, 2}, {4000, 4}};
    br_series_ref ref = commit_series(h, "edge_total", s, 4);
    br_range_stats st;
    br_head_read_begin(h);
    assert_true(br_head_series_range_stats(h, ref, 1000, 4000, true, &st));
    assert_int_equal(st.count, 3);
    assert_true(st.first == 7 && st.first_t == 2000);
    assert_true(st.counter_delta == 4 - 7 + 7); /* one reset 7 -> 2 */
    assert_int_equal(st.resets, 1);
    assert_true(br_head_series_range_stats(h, ref, 1000, 4000, false, &st));
    assert_int_equal(st.count, 4);
    assert_true(st.first == 5 && st.last == 4);
    assert_true(st.min == 2 && st.max == 7);
    assert_true(br_head_series_range_stats(h, ref, 4000, 9000, true, &st));
    assert_int_equal(st.count, 0);
    br_head_read_end(h);
    br_head_close(h);
}

static void test_range_stats_flags_nan_but_skips_stale_markers(void **state)
{
    (void)state;
    br_head *h = open_mem();
    br_sample s[5] = {{1000, 1}, {2000, 2}, {3000, 0}, {4000, 3}, {5000, 4}};
    s[2].v = br_stale_nan();
    br_series_ref ref = commit_series(h, "stale_total", s, 5);
    s[2].v = NAN;
    br_series_ref ref2 = commit_series(h, "nan_total", s, 5);
    br_range_stats st;
    br_head_read_begin(h);
    assert_true(br_head_series_range_stats(h, ref, 0, 10000, true, &st));
    assert_false(st.has_nan);
    assert_int_equal(st.count, 4);
    assert_true(st.counter_delta == 3);
    assert_true(br_head_series_range_stats(h, ref2, 0, 10000, true, &st));
    assert_true(st.has_nan);
    assert_true(br_head_series_range_stats(h, ref2, 3000, 10000, true, &st));
    assert_false(st.has_nan); /* the NaN lies at the open edge */
    br_head_read_end(h);
    br_head_close(h);
}

static void test_range_stats_flags_histograms_in_window(void **state)
{
    (void)state;
    br_head *h = open_mem();
    br_label ls[1] = {{"__name__", "mixed"}};
    br_sample fs[2] = {{1000, 1}, {2000, 2}};
    br_histogram_sample hs[1];
    memset(hs, 0, sizeof(hs));
    hs[0].t = 5000;
    hs[0].h.count = 3;
    hs[0].h.sum = 1.5;
    br_series_input in = {.labels = ls,
                          .n_labels = 1,
                          .samples = fs,
                          .n_samples = 2,
                          .histograms = hs,
                          .n_histograms = 1};
    br_commit_result r;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    assert_int_equal(br_commit_rejected(&r), 0);
    br_series_ref ref = find_ref(h, "mixed");
    br_range_stats st;
    br_head_read_begin(h);
    assert_true(br_head_series_range_stats(h, ref, 0, 3000, true, &st));
    assert_false(st.has_histograms);
    assert_int_equal(st.count, 2);
    assert_true(br_head_series_range_stats(h, ref, 0, 6000, true, &st));
    assert_true(st.has_histograms);
    br_head_read_end(h);
    br_head_close(h);
}

static void test_range_stats_sees_open_chunk_after_appends(void **state)
{
    (void)state;
    br_head *h = open_mem();
    enum { N = 1000 };
    br_sample *s = random_counter(N, 3);
    br_series_ref ref = commit_series(h, "grow_total", s, N - 10);
    br_range_stats st;
    br_range_stats want;
    br_head_read_begin(h);
    assert_true(br_head_series_range_stats(h, ref, INT64_MIN, INT64_MAX, false, &st));
    br_head_read_end(h);
    reference(s, N - 10, INT64_MIN, INT64_MAX, false, &want);
    assert_stats_equal(&st, &want);
    br_label ls[1] = {{"__name__", "grow_total"}};
    br_series_input in = {.labels = ls, .n_labels = 1, .samples = s + N - 10, .n_samples = 10};
    br_commit_result r;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    br_head_read_begin(h);
    assert_true(br_head_series_range_stats(h, ref, INT64_MIN, INT64_MAX, true, &st));
    br_head_read_end(h);
    reference(s, N, INT64_MIN, INT64_MAX, true, &want);
    assert_stats_equal(&st, &want);
    br_head_close(h);
    br_free(s);
}

static void test_range_stats_missing_series_is_false(void **state)
{
    (void)state;
    br_head *h = open_mem();
    br_range_stats st;
    int64_t end = 1000;
    br_head_read_begin(h);
    assert_false(br_head_series_range_stats(h, 4242, 0, 1000, true, &st));
    assert_false(br_head_series_range_stats_at(h, 4242, &end, 1, 1000, true, &st));
    br_head_read_end(h);
    br_head_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_stats_match_reference_on_random_counters),
        cmocka_unit_test(test_range_stats_at_equals_single_windows),
        cmocka_unit_test(test_range_stats_left_open_excludes_sample_at_mint),
        cmocka_unit_test(test_range_stats_flags_nan_but_skips_stale_markers),
        cmocka_unit_test(test_range_stats_flags_histograms_in_window),
        cmocka_unit_test(test_range_stats_sees_open_chunk_after_appends),
        cmocka_unit_test(test_range_stats_missing_series_is_false),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
