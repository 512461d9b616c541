/*
 * test_head_aggs.c — br_head_series_window_aggs against a brute-force
 * reference on random counters (resets, stale markers, gaps) cut into
 * many chunks, for random interval sets; plus the hand-checked cases.
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

static br_series_ref commit_series(br_head *h, const char *name, const br_sample *s, size_t n)
{
    br_label ls[1] = {{"__name__", name}};
    br_series_input in = {.labels = ls, .n_labels = 1, .samples = s, .n_samples = n};
    br_commit_result r;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_head_commit(h, &in, 1, &r, &err), 0);
    assert_int_equal(br_commit_rejected(&r), 0);
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

/* The definition in head.h, evaluated naively. */
static void reference(const br_sample *s, size_t n, const br_interval *iv, size_t n_iv,
                      br_window_agg *out, int64_t *last_t)
{
    memset(out, 0, n_iv * sizeof(*out));
    *last_t = INT64_MIN;
    bool have_prev = false;
    double prev = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(s[i].v)) {
            continue;
        }
        for (size_t j = 0; j < n_iv; j++) {
            if (s[i].t > iv[j].start && s[i].t <= iv[j].end) {
                if (have_prev) {
                    out[j].increase += s[i].v >= prev ? s[i].v - prev : s[i].v;
                }
                out[j].count++;
                out[j].sum += s[i].v;
            }
        }
        if (n_iv > 0 && s[i].t <= iv[n_iv - 1].end) {
            *last_t = s[i].t;
        }
        prev = s[i].v;
        have_prev = true;
    }
}

static void test_window_aggs_hand_checked(void **state)
{
    (void)state;
    br_head *h = open_mem();
    /* 10, 15, (reset) 3, stale, 7 at t = 10, 20, 30, 40, 50. */
    br_sample s[5] = {{10, 10}, {20, 15}, {30, 3}, {40, br_stale_nan()}, {50, 7}};
    br_series_ref ref = commit_series(h, "c", s, 5);
    br_interval iv[3] = {{0, 20}, {20, 40}, {40, 60}};
    br_window_agg out[3];
    int64_t last_t;
    br_head_read_begin(h);
    assert_true(br_head_series_window_aggs(h, ref, iv, 3, true, out, &last_t));
    br_head_read_end(h);
    assert_true(out[0].increase == 5.0); /* the first sample has no increment */
    assert_int_equal(out[0].count, 2);
    assert_true(out[1].increase == 3.0); /* reset: the new value counts */
    assert_int_equal(out[1].count, 1);   /* the stale marker is not a sample */
    assert_true(out[2].increase == 4.0); /* 7 pairs with 3 across the stale marker */
    assert_true(out[2].sum == 7.0);
    assert_int_equal(last_t, 50);
    br_head_close(h);
}

static void test_window_aggs_missing_series_is_false(void **state)
{
    (void)state;
    br_head *h = open_mem();
    br_interval iv[1] = {{0, 10}};
    br_window_agg out[1];
    int64_t last_t;
    br_head_read_begin(h);
    assert_false(br_head_series_window_aggs(h, 12345, iv, 1, false, out, &last_t));
    br_head_read_end(h);
    br_head_close(h);
}

/* Integer counters over many chunks: summaries and scans must agree with
 * the reference exactly, for every interval layout. */
static void test_window_aggs_match_reference_on_random_counters(void **state)
{
    (void)state;
    srand(7);
    br_head *h = open_mem();
    enum { N = 20000 };
    br_sample *s = br_malloc(sizeof(*s) * N);
    double v = 100;
    int64_t t = 1000;
    for (size_t i = 0; i < N; i++) {
        t += 15000 + (rand() % 3 == 0 ? rand() % 60000 : 0); /* occasional gaps */
        int r = rand() % 1000;
        if (r == 0) {
            v = rand() % 5; /* reset */
        } else {
            v += rand() % 50;
        }
        s[i].t = t;
        s[i].v = (r == 1) ? br_stale_nan() : v;
    }
    br_series_ref ref = commit_series(h, "rand", s, N);
    int64_t t_min = s[0].t - 100000;
    int64_t t_max = s[N - 1].t + 100000;
    for (int round = 0; round < 400; round++) {
        br_interval iv[12];
        size_t n_iv = 1 + (size_t)(rand() % 12);
        int64_t cur = t_min + (int64_t)(rand() % (int)((t_max - t_min) / 4));
        for (size_t j = 0; j < n_iv; j++) {
            /* Short gaps, and long ones that skip whole chunks. */
            int64_t gap = rand() % 3 == 0   ? rand() % 400000
                          : rand() % 4 == 0 ? (int64_t)rand() % 20000000
                                            : 0;
            int64_t len = 1 + (rand() % 2 == 0 ? rand() % 200000 : (int64_t)rand() % 40000000);
            iv[j].start = cur + gap;
            iv[j].end = iv[j].start + len;
            cur = iv[j].end;
        }
        br_window_agg got[12];
        br_window_agg want[12];
        int64_t got_last;
        int64_t want_last;
        bool want_sum = round % 2 == 0;
        br_head_read_begin(h);
        assert_true(br_head_series_window_aggs(h, ref, iv, n_iv, want_sum, got, &got_last));
        br_head_read_end(h);
        reference(s, N, iv, n_iv, want, &want_last);
        for (size_t j = 0; j < n_iv; j++) {
            assert_true(got[j].increase == want[j].increase);
            assert_int_equal(got[j].count, want[j].count);
            if (want_sum) {
                assert_true(got[j].sum == want[j].sum);
            }
        }
        assert_true(got_last == want_last);
    }
    br_free(s);
    br_head_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_aggs_hand_checked),
        cmocka_unit_test(test_window_aggs_missing_series_is_false),
        cmocka_unit_test(test_window_aggs_match_reference_on_random_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
