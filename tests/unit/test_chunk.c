/*
 * test_chunk.c — unit tests for storage/chunk: float chunks (bit-exact round
 * trips on random and edge data, seek, summaries against a full scan, cut
 * points, freezing, compression of SLI-shaped counters) and native histogram
 * chunks (round trips, layout changes, stale markers, seek, validation).
 * Random cases use a seeded PRNG so failures repeat.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/core/alloc.h"
#include "engine/core/err.h"
#include "storage/chunk.h"
#include "storage/sample.h"

#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1p-53;
}

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof(v));
    return v;
}

/* Appends all samples to a new chunk, asserting success. */
static br_chunk *build(const br_sample *s, size_t n)
{
    br_chunk *c = br_chunk_new();
    br_err err;
    br_err_clear(&err);
    for (size_t i = 0; i < n; i++) {
        int rc = br_chunk_append(c, s[i].t, s[i].v, &err);
        if (rc != 0) {
            fail_msg("append %zu failed: %s", i, err.msg);
        }
    }
    return c;
}

/* Iterates c and asserts it yields exactly s[0..n), bit for bit. */
static void assert_round_trip(const br_chunk *c, const br_sample *s, size_t n)
{
    br_chunk_iter it;
    br_chunk_iter_init(&it, c);
    for (size_t i = 0; i < n; i++) {
        if (!br_chunk_iter_next(&it)) {
            fail_msg("iterator stopped at %zu of %zu (err %d)", i, n, br_chunk_iter_err(&it));
        }
        if (it.t != s[i].t || bits_of(it.v) != bits_of(s[i].v)) {
            fail_msg("sample %zu: got (%lld, %016llx) want (%lld, %016llx)", i, (long long)it.t,
                     (unsigned long long)bits_of(it.v), (long long)s[i].t,
                     (unsigned long long)bits_of(s[i].v));
        }
    }
    assert_false(br_chunk_iter_next(&it));
    assert_int_equal(br_chunk_iter_err(&it), 0);
}

static void check(const br_sample *s, size_t n)
{
    br_chunk *c = build(s, n);
    assert_round_trip(c, s, n);
    br_chunk_freeze(c);
    assert_round_trip(c, s, n);
    br_chunk_free(c);
}

/* Regular 15 s scrapes with +-jitter ms starting at t0. */
static int64_t scrape_t(uint64_t *rs, int64_t t0, size_t i, int jitter)
{
    int64_t j = jitter > 0 ? (int64_t)(rng_next(rs) % (uint64_t)(2 * jitter + 1)) - jitter : 0;
    return t0 + (int64_t)i * 15000 + j;
}

/* ------------------------------------------------------- float round trips */

static void test_chunk_round_trips_random_doubles_many_seeds(void **state)
{
    (void)state;
    enum { N = 240 };
    br_sample s[N];
    for (uint64_t seed = 1; seed <= 200; seed++) {
        uint64_t rs = seed;
        int64_t t = (int64_t)(rng_next(&rs) >> 20) - (INT64_C(1) << 43);
        for (size_t i = 0; i < N; i++) {
            t += 1 + (int64_t)(rng_next(&rs) % (seed % 3 == 0 ? 1000000 : 30000));
            s[i].t = t;
            switch (rng_next(&rs) % 4) {
            case 0:
                s[i].v = from_bits(rng_next(&rs)); /* any bit pattern, NaNs included */
                break;
            case 1:
                s[i].v = (rng_unit(&rs) - 0.5) * 1e6;
                break;
            case 2:
                s[i].v = (double)(int64_t)(rng_next(&rs) % 100000);
                break;
            default:
                s[i].v = i > 0 ? s[i - 1].v : 1.0;
            }
        }
        check(s, N);
    }
}

static void test_chunk_round_trips_edge_values(void **state)
{
    (void)state;
    static const uint64_t edge_bits[] = {
        0x7ff0000000000002ULL, /* Prometheus stale marker */
        0x7ff8000000000001ULL, /* Prometheus' normal NaN */
        0x7ff8000000000000ULL, 0xfff8000000000000ULL, 0x7fffffffffffffffULL,
        0xffffffffffffffffULL, 0x7ff0000000000001ULL,
        0x7ff0000000000000ULL, /* +Inf */
        0xfff0000000000000ULL, /* -Inf */
        0x8000000000000000ULL, /* -0.0 */
        0x0000000000000000ULL, /* +0.0 */
        0x0000000000000001ULL, /* smallest denormal */
        0x800fffffffffffffULL, /* largest negative denormal */
        0x7fefffffffffffffULL, /* DBL_MAX */
        0xffefffffffffffffULL, /* -DBL_MAX */
        0x4340000000000000ULL, /* 2^53 */
        0x4340000000000001ULL, /* 2^53 + 2 */
        0xc340000000000000ULL, /* -2^53 */
        0x433fffffffffffffULL, /* 2^53 - 1 */
        0x43e0000000000000ULL, /* 2^63 */
        0xc3e0000000000000ULL, /* -2^63 */
        0x3ff0000000000000ULL, /* 1.0 */
        0x3fb999999999999aULL, /* 0.1 */
    };
    const size_t ne = sizeof(edge_bits) / sizeof(edge_bits[0]);
    br_sample s[4 * 23];
    assert_int_equal(ne, 23);
    size_t n = 0;
    /* Each edge value after an integer, after itself, and after a float, so
     * every value-coding path meets every edge value. */
    for (size_t i = 0; i < ne; i++) {
        s[n].v = 42.0;
        s[n + 1].v = from_bits(edge_bits[i]);
        s[n + 2].v = from_bits(edge_bits[i]);
        s[n + 3].v = 0.25;
        n += 4;
    }
    for (size_t i = 0; i < n; i++) {
        s[i].t = 1000 * (int64_t)i;
    }
    check(s, n);
    /* The edge values as the very first sample. */
    for (size_t i = 0; i < ne; i++) {
        br_sample one[2] = {{-5, from_bits(edge_bits[i])}, {10, 3.0}};
        check(one, 2);
    }
}

static void test_chunk_round_trips_extreme_timestamps(void **state)
{
    (void)state;
    br_sample a[] = {{INT64_MIN, 1}, {INT64_MIN + 1, 2}, {-1, 3}, {0, 4}, {1, 5},
                     {INT64_MAX - 1, 6}, {INT64_MAX, 7}};
    check(a, sizeof(a) / sizeof(a[0]));
    br_sample b[] = {{INT64_MIN, 1}, {INT64_MAX, 2}}; /* a gap of 2^64 - 1 */
    check(b, 2);
    br_sample c[] = {{-1000000000000, 1}, {-999999985000, 2}, {-999999970003, 3},
                     {-999999954998, 4}, {5000000000000, 5}, {5000000015000, 6}};
    check(c, sizeof(c) / sizeof(c[0]));
    /* Random huge gaps over the whole range. */
    br_sample d[64];
    uint64_t rs = 99;
    int64_t t = INT64_MIN;
    for (size_t i = 0; i < 64; i++) {
        uint64_t room = (uint64_t)INT64_MAX - (uint64_t)t;
        uint64_t step = 1 + rng_next(&rs) % (room / 128 + 1);
        t = (int64_t)((uint64_t)t + step);
        d[i].t = t;
        d[i].v = (double)i;
    }
    check(d, 64);
}

static void test_chunk_round_trips_identical_values(void **state)
{
    (void)state;
    br_sample s[BR_CHUNK_MAX_SAMPLES];
    const double vals[] = {0.0, 7.0, 0.123456789, NAN};
    for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
        for (size_t i = 0; i < BR_CHUNK_MAX_SAMPLES; i++) {
            s[i].t = 1700000000000 + 15000 * (int64_t)i;
            s[i].v = vals[k];
        }
        check(s, BR_CHUNK_MAX_SAMPLES);
        br_chunk *c = build(s, BR_CHUNK_MAX_SAMPLES);
        /* One bit for the timestamp and one for the value per sample. */
        assert_true(br_chunk_data_len(c) <= (2 * BR_CHUNK_MAX_SAMPLES) / 8 + 4);
        br_chunk_free(c);
    }
}

static void test_chunk_round_trips_counters_with_resets(void **state)
{
    (void)state;
    enum { N = 240 };
    br_sample s[N];
    for (uint64_t seed = 1; seed <= 50; seed++) {
        uint64_t rs = seed;
        double v = (double)(rng_next(&rs) % 1000000);
        for (size_t i = 0; i < N; i++) {
            s[i].t = scrape_t(&rs, 1700000000000, i, 5);
            if (rng_next(&rs) % 60 == 0) {
                v = (double)(rng_next(&rs) % 50); /* process restart */
            } else {
                v += (double)(rng_next(&rs) % 501);
            }
            s[i].v = v;
        }
        check(s, N);
    }
}

static void test_chunk_round_trips_values_switching_int_and_float(void **state)
{
    (void)state;
    enum { N = 200 };
    br_sample s[N];
    uint64_t rs = 5;
    for (size_t i = 0; i < N; i++) {
        s[i].t = 1000 * (int64_t)i;
        uint64_t r = rng_next(&rs) % 5;
        s[i].v = r == 0   ? 0.5 * (double)i
                 : r == 1 ? br_stale_nan()
                 : r == 2 ? -0.0
                          : (double)(i * i);
    }
    check(s, N);
}

/* Perfectly predicted stretches (run bits) broken at random by jitter,
 * rate changes, float values and NaNs. */
static void test_chunk_round_trips_runs_of_perfect_predictions(void **state)
{
    (void)state;
    enum { N = 240 };
    br_sample s[N];
    for (uint64_t seed = 1; seed <= 100; seed++) {
        uint64_t rs = seed;
        double v = 1000;
        double step = (double)(rng_next(&rs) % 4);
        for (size_t i = 0; i < N; i++) {
            uint64_t r = rng_next(&rs) % 40;
            s[i].t = 15000 * (int64_t)i + (r == 0 ? 3 : 0);
            if (r == 1) {
                step = (double)(rng_next(&rs) % 4);
            }
            v += step;
            s[i].v = r == 2 ? v + 0.5 : r == 3 ? NAN : v;
        }
        check(s, N);
    }
}

static void test_chunk_round_trips_one_sample_and_empty(void **state)
{
    (void)state;
    br_chunk *c = br_chunk_new();
    br_chunk_iter it;
    br_chunk_iter_init(&it, c);
    assert_false(br_chunk_iter_next(&it));
    assert_false(br_chunk_iter_seek(&it, 0));
    br_chunk_freeze(c);
    br_chunk_iter_init(&it, c);
    assert_false(br_chunk_iter_next(&it));
    br_chunk_free(c);

    br_sample one[] = {{123, -0.0}};
    check(one, 1);
}

/* --------------------------------------------------------------- seek */

static void test_chunk_seek_finds_first_sample_at_or_after(void **state)
{
    (void)state;
    enum { N = 100 };
    br_sample s[N];
    for (size_t i = 0; i < N; i++) {
        s[i].t = 1000 + 10 * (int64_t)i;
        s[i].v = (double)i;
    }
    br_chunk *c = build(s, N);
    br_chunk_freeze(c);
    br_chunk_iter it;
    br_chunk_iter_init(&it, c);
    assert_true(br_chunk_iter_seek(&it, 1205));
    assert_int_equal(it.t, 1210);
    assert_true(it.v == 21.0);
    /* Next continues after the sought sample. */
    assert_true(br_chunk_iter_next(&it));
    assert_int_equal(it.t, 1220);
    /* Exact hit, forward. */
    assert_true(br_chunk_iter_seek(&it, 1500));
    assert_int_equal(it.t, 1500);
    /* Backwards rewinds to the first sample >= t. */
    assert_true(br_chunk_iter_seek(&it, 1001));
    assert_int_equal(it.t, 1010);
    /* Before the chunk: the first sample. */
    assert_true(br_chunk_iter_seek(&it, INT64_MIN));
    assert_int_equal(it.t, 1000);
    assert_true(br_chunk_iter_seek(&it, -5));
    assert_int_equal(it.t, 1000);
    /* The last sample, then past the end. */
    assert_true(br_chunk_iter_seek(&it, 1990));
    assert_int_equal(it.t, 1990);
    assert_false(br_chunk_iter_next(&it));
    assert_false(br_chunk_iter_seek(&it, 1991));
    /* After running off the end a backward seek still works. */
    assert_true(br_chunk_iter_seek(&it, 1500));
    assert_int_equal(it.t, 1500);
    assert_true(it.v == 50.0);
    br_chunk_free(c);
}

/* ------------------------------------------------------------- summaries */

/* The reference: one sequential scan, written as the header specifies. */
static void scan_summary(const br_sample *s, size_t n, br_chunk_summary *out)
{
    memset(out, 0, sizeof(*out));
    out->min = NAN;
    out->max = NAN;
    for (size_t i = 0; i < n; i++) {
        double v = s[i].v;
        if (i == 0) {
            out->min_t = s[i].t;
            out->first = v;
        } else {
            double a = s[i - 1].v;
            if (v < a) {
                out->resets++;
                out->increase += v;
                out->reset_sum += a;
            } else {
                out->increase += v - a;
            }
        }
        out->max_t = s[i].t;
        out->last = v;
        out->count++;
        if (isnan(v)) {
            out->has_nan = true;
            out->has_stale = out->has_stale || br_is_stale_nan(v);
            continue;
        }
        if (isnan(out->min) || v < out->min) {
            out->min = v;
        }
        if (isnan(out->max) || v > out->max) {
            out->max = v;
        }
    }
}

static void assert_summary_equal(const br_chunk_summary *a, const br_chunk_summary *b)
{
    assert_int_equal(a->min_t, b->min_t);
    assert_int_equal(a->max_t, b->max_t);
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->resets, b->resets);
    assert_int_equal(bits_of(a->first), bits_of(b->first));
    assert_int_equal(bits_of(a->last), bits_of(b->last));
    assert_int_equal(bits_of(a->min), bits_of(b->min));
    assert_int_equal(bits_of(a->max), bits_of(b->max));
    /* A NaN's payload after arithmetic is up to the compiler (it may swap
     * the operands of +), so NaN results only have to be NaN. */
    if (isnan(a->increase) || isnan(b->increase)) {
        assert_true(isnan(a->increase) && isnan(b->increase));
    } else {
        assert_int_equal(bits_of(a->increase), bits_of(b->increase));
    }
    if (isnan(a->reset_sum) || isnan(b->reset_sum)) {
        assert_true(isnan(a->reset_sum) && isnan(b->reset_sum));
    } else {
        assert_int_equal(bits_of(a->reset_sum), bits_of(b->reset_sum));
    }
    assert_int_equal(a->has_nan, b->has_nan);
    assert_int_equal(a->has_stale, b->has_stale);
}

static void test_chunk_summary_equals_full_scan_on_random_data(void **state)
{
    (void)state;
    enum { N = 240 };
    br_sample s[N];
    for (uint64_t seed = 1; seed <= 300; seed++) {
        uint64_t rs = seed * 7919;
        size_t n = 1 + (size_t)(rng_next(&rs) % N);
        double v = rng_unit(&rs) * 1000.0;
        bool with_nan = seed % 5 == 0;
        for (size_t i = 0; i < n; i++) {
            s[i].t = scrape_t(&rs, -3600000, i, 5);
            uint64_t r = rng_next(&rs) % 100;
            if (r < 3) {
                v = rng_unit(&rs) * 10.0; /* reset */
            } else if (with_nan && r < 6) {
                s[i].v = r == 3 ? br_stale_nan() : NAN;
                continue;
            } else {
                v += rng_unit(&rs) * 0.37; /* float counter: rounding matters */
            }
            s[i].v = v;
        }
        br_chunk *c = build(s, n);
        br_chunk_summary want;
        scan_summary(s, n, &want);
        assert_summary_equal(br_chunk_get_summary(c), &want);
        br_chunk_freeze(c);
        assert_summary_equal(br_chunk_get_summary(c), &want);
        br_chunk_free(c);
    }
}

static void test_chunk_summary_counts_resets_and_increase(void **state)
{
    (void)state;
    br_sample s[] = {{1, 10}, {2, 15}, {3, 3}, {4, 8}, {5, 8}, {6, 1}};
    br_chunk *c = build(s, 6);
    const br_chunk_summary *sum = br_chunk_get_summary(c);
    assert_int_equal(sum->resets, 2);
    /* 5 + 3 (reset) + 5 + 0 + 1 (reset) */
    assert_true(sum->increase == 14.0);
    assert_true(sum->reset_sum == 15.0 + 8.0);
    /* Prometheus' form agrees: last - first + sum of pre-reset values. */
    assert_true((sum->last - sum->first) + sum->reset_sum == 14.0);
    assert_true(sum->min == 1.0);
    assert_true(sum->max == 15.0);
    assert_int_equal(sum->min_t, 1);
    assert_int_equal(sum->max_t, 6);
    assert_false(sum->has_nan);
    br_chunk_free(c);
}

static void test_chunk_summary_flags_nan_and_stale_and_ignores_them_for_min_max(void **state)
{
    (void)state;
    br_sample s[] = {{1, NAN}, {2, 4}, {3, -2}, {4, NAN}};
    br_chunk *c = build(s, 4);
    const br_chunk_summary *sum = br_chunk_get_summary(c);
    assert_true(sum->has_nan);
    assert_false(sum->has_stale);
    assert_true(sum->min == -2.0);
    assert_true(sum->max == 4.0);
    br_chunk_free(c);

    br_sample t[] = {{1, 5}, {2, br_stale_nan()}};
    c = build(t, 2);
    assert_true(br_chunk_get_summary(c)->has_stale);
    assert_true(br_chunk_get_summary(c)->has_nan);
    br_chunk_free(c);

    br_sample u[] = {{1, NAN}};
    c = build(u, 1);
    assert_true(isnan(br_chunk_get_summary(c)->min));
    assert_true(isnan(br_chunk_get_summary(c)->max));
    br_chunk_free(c);
}

/* ----------------------------------------------- cut points and freezing */

static void test_chunk_full_at_sample_limit(void **state)
{
    (void)state;
    br_chunk *c = br_chunk_new();
    for (int i = 0; i < BR_CHUNK_MAX_SAMPLES; i++) {
        assert_false(br_chunk_full(c));
        assert_int_equal(br_chunk_append(c, 15000 * (int64_t)i, 1.0, NULL), 0);
    }
    assert_true(br_chunk_full(c));
    assert_int_equal(br_chunk_get_summary(c)->count, BR_CHUNK_MAX_SAMPLES);
    br_chunk_free(c);
}

static void test_chunk_full_at_byte_limit_for_noisy_gauges(void **state)
{
    (void)state;
    br_chunk *c = br_chunk_new();
    uint64_t rs = 3;
    int n = 0;
    while (!br_chunk_full(c)) {
        assert_int_equal(br_chunk_append(c, 15000 * (int64_t)n, rng_unit(&rs), NULL), 0);
        n++;
    }
    assert_true(n < BR_CHUNK_MAX_SAMPLES);
    assert_true(br_chunk_data_len(c) >= BR_CHUNK_MAX_BYTES);
    assert_true(br_chunk_data_len(c) < BR_CHUNK_MAX_BYTES + 16);
    br_chunk_free(c);
}

static void test_chunk_freeze_keeps_content_and_shrinks(void **state)
{
    (void)state;
    enum { N = 150 };
    br_sample s[N];
    uint64_t rs = 11;
    for (size_t i = 0; i < N; i++) {
        s[i].t = scrape_t(&rs, 0, i, 5);
        s[i].v = rng_unit(&rs) * 100.0;
    }
    br_chunk *c = build(s, N);
    br_chunk_summary before = *br_chunk_get_summary(c);
    size_t open_bytes = br_chunk_bytes(c);
    size_t data = br_chunk_data_len(c);
    assert_false(br_chunk_frozen(c));
    br_chunk_freeze(c);
    br_chunk_freeze(c); /* idempotent */
    assert_true(br_chunk_frozen(c));
    assert_true(br_chunk_bytes(c) < open_bytes);
    assert_int_equal(br_chunk_data_len(c), data);
    assert_summary_equal(br_chunk_get_summary(c), &before);
    assert_round_trip(c, s, N);
    /* Two iterators interleaved over one frozen chunk do not disturb it. */
    br_chunk_iter a, b;
    br_chunk_iter_init(&a, c);
    br_chunk_iter_init(&b, c);
    for (size_t i = 0; i < N; i++) {
        assert_true(br_chunk_iter_next(&a));
        assert_true(br_chunk_iter_next(&b));
        assert_int_equal(a.t, b.t);
        assert_int_equal(bits_of(a.v), bits_of(b.v));
    }
    br_chunk_free(c);
}

static void test_chunk_append_rejects_out_of_order_and_frozen(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    br_chunk *c = br_chunk_new();
    assert_int_equal(br_chunk_append(c, 100, 1, &err), 0);
    assert_int_equal(br_chunk_append(c, 100, 2, &err), BR_EOUTOFORDER);
    assert_non_null(strstr(err.msg, "100"));
    assert_int_equal(br_chunk_append(c, 99, 2, &err), BR_EOUTOFORDER);
    assert_int_equal(br_chunk_get_summary(c)->count, 1);
    br_chunk_freeze(c);
    assert_int_equal(br_chunk_append(c, 200, 2, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "frozen"));
    br_sample want[] = {{100, 1}};
    assert_round_trip(c, want, 1);
    br_chunk_free(c);
}

/* ----------------------------------------------------------- compression */

static size_t encoded_bytes(const br_sample *s, size_t n)
{
    br_chunk *c = build(s, n);
    assert_round_trip(c, s, n);
    size_t len = br_chunk_data_len(c) + 16; /* + the first sample */
    br_chunk_free(c);
    return len;
}

static void test_chunk_steady_counter_costs_under_a_quarter_byte(void **state)
{
    (void)state;
    enum { N = 240 };
    br_sample s[N];
    for (size_t i = 0; i < N; i++) {
        s[i].t = 1700000000000 + 15000 * (int64_t)i;
        s[i].v = 1e6 + 300.0 * (double)i;
    }
    /* Two bits per sample once the predictors settle. */
    size_t b = encoded_bytes(s, N);
    print_message("steady counter: %zu bytes for %d samples\n", b, N);
    assert_true(b < N / 4);
}

static void test_chunk_jittered_counter_costs_under_two_bytes(void **state)
{
    (void)state;
    enum { N = 240 };
    br_sample s[N];
    uint64_t rs = 17;
    double v = 5e5;
    for (size_t i = 0; i < N; i++) {
        s[i].t = scrape_t(&rs, 1700000000000, i, 5);
        v += (double)(rng_next(&rs) % 501);
        s[i].v = v;
    }
    /* The information content is about 3.5 + 9 bits per sample. */
    size_t b = encoded_bytes(s, N);
    assert_true(b < 2 * N);
    assert_true(b > N); /* sanity: it cannot beat the entropy */
}

/* ------------------------------------------------------- histogram chunks */

typedef struct hsample {
    int64_t t;
    br_histogram h;
    br_span pos_spans[4], neg_spans[2];
    double pos[32], neg[8], custom[8];
} hsample;

static void hfix(hsample *x)
{
    x->h.pos_spans = x->pos_spans;
    x->h.neg_spans = x->neg_spans;
    x->h.pos_buckets = x->pos;
    x->h.neg_buckets = x->neg;
    x->h.custom_values = x->custom;
}

static void assert_hist_equal(const br_histogram *a, const br_histogram *b, size_t i)
{
    bool same = a->schema == b->schema && a->is_float == b->is_float &&
                a->reset_hint == b->reset_hint &&
                bits_of(a->zero_threshold) == bits_of(b->zero_threshold) &&
                bits_of(a->count) == bits_of(b->count) && bits_of(a->sum) == bits_of(b->sum) &&
                bits_of(a->zero_count) == bits_of(b->zero_count) &&
                a->n_pos_spans == b->n_pos_spans && a->n_neg_spans == b->n_neg_spans &&
                a->n_pos == b->n_pos && a->n_neg == b->n_neg && a->n_custom == b->n_custom;
    for (uint32_t j = 0; same && j < a->n_pos_spans; j++) {
        same = a->pos_spans[j].offset == b->pos_spans[j].offset &&
               a->pos_spans[j].length == b->pos_spans[j].length;
    }
    for (uint32_t j = 0; same && j < a->n_neg_spans; j++) {
        same = a->neg_spans[j].offset == b->neg_spans[j].offset &&
               a->neg_spans[j].length == b->neg_spans[j].length;
    }
    for (uint32_t j = 0; same && j < a->n_pos; j++) {
        same = bits_of(a->pos_buckets[j]) == bits_of(b->pos_buckets[j]);
    }
    for (uint32_t j = 0; same && j < a->n_neg; j++) {
        same = bits_of(a->neg_buckets[j]) == bits_of(b->neg_buckets[j]);
    }
    for (uint32_t j = 0; same && j < a->n_custom; j++) {
        same = bits_of(a->custom_values[j]) == bits_of(b->custom_values[j]);
    }
    if (!same) {
        fail_msg("histogram sample %zu differs", i);
    }
}

static br_hchunk *hbuild(const hsample *s, size_t n)
{
    br_hchunk *c = br_hchunk_new();
    br_err err;
    br_err_clear(&err);
    for (size_t i = 0; i < n; i++) {
        if (br_hchunk_append(c, s[i].t, &s[i].h, &err) != 0) {
            fail_msg("append %zu failed: %s", i, err.msg);
        }
    }
    return c;
}

static void hassert_round_trip(const br_hchunk *c, const hsample *s, size_t n)
{
    br_hchunk_iter it;
    br_hchunk_iter_init(&it, c);
    for (size_t i = 0; i < n; i++) {
        if (!br_hchunk_iter_next(&it)) {
            fail_msg("iterator stopped at %zu (err %d)", i, br_hchunk_iter_err(&it));
        }
        assert_int_equal(it.t, s[i].t);
        assert_hist_equal(&it.h, &s[i].h, i);
    }
    assert_false(br_hchunk_iter_next(&it));
    assert_int_equal(br_hchunk_iter_err(&it), 0);
    br_hchunk_iter_free(&it);
}

static void hcheck(const hsample *s, size_t n)
{
    br_hchunk *c = hbuild(s, n);
    hassert_round_trip(c, s, n);
    br_hchunk_freeze(c);
    hassert_round_trip(c, s, n);
    br_hchunk_free(c);
}

/* A random histogram series: exponential schema, growing integer counts,
 * spans that change now and then when layout_changes is set. */
static void gen_hseries(hsample *s, size_t n, uint64_t seed, bool is_float, bool layout_changes)
{
    uint64_t rs = seed;
    memset(s, 0, n * sizeof(*s));
    double pos[32] = {0}, neg[8] = {0}, zero = 0, sum = 0;
    uint32_t npos = 6;
    for (size_t i = 0; i < n; i++) {
        hsample *x = &s[i];
        x->t = scrape_t(&rs, 1700000000000, i, 5);
        if (layout_changes && rng_next(&rs) % 10 == 0 && npos < 30) {
            npos += 2; /* new buckets appear at the top */
        }
        x->h.schema = 3;
        x->h.is_float = is_float;
        x->h.zero_threshold = 1e-128;
        x->h.n_pos_spans = 2;
        x->pos_spans[0] = (br_span){-2, 4};
        x->pos_spans[1] = (br_span){3, npos - 4};
        x->h.n_neg_spans = 1;
        x->neg_spans[0] = (br_span){1, 3};
        x->h.n_pos = npos;
        x->h.n_neg = 3;
        double count = 0;
        for (uint32_t j = 0; j < npos; j++) {
            double inc = (double)(rng_next(&rs) % 20);
            if (is_float) {
                inc *= 0.5 + rng_unit(&rs);
            }
            pos[j] += inc;
            x->pos[j] = pos[j];
            count += pos[j];
        }
        for (uint32_t j = 0; j < 3; j++) {
            neg[j] += (double)(rng_next(&rs) % 3);
            x->neg[j] = neg[j];
            count += neg[j];
        }
        zero += (double)(rng_next(&rs) % 2);
        count += zero;
        sum += rng_unit(&rs) * 10.0;
        x->h.zero_count = zero;
        x->h.count = count;
        x->h.sum = sum;
        hfix(x);
    }
}

static void test_hchunk_round_trips_integer_histograms_many_seeds(void **state)
{
    (void)state;
    enum { N = 120 };
    static hsample s[N];
    for (uint64_t seed = 1; seed <= 30; seed++) {
        gen_hseries(s, N, seed, false, false);
        hcheck(s, N);
    }
}

static void test_hchunk_round_trips_float_histograms_many_seeds(void **state)
{
    (void)state;
    enum { N = 120 };
    static hsample s[N];
    for (uint64_t seed = 1; seed <= 30; seed++) {
        gen_hseries(s, N, seed, true, seed % 2 == 0);
        hcheck(s, N);
    }
}

static void test_hchunk_round_trips_idle_stretches(void **state)
{
    (void)state;
    enum { N = 120 };
    static hsample s[N];
    for (uint64_t seed = 1; seed <= 20; seed++) {
        gen_hseries(s, N, seed, seed % 2 == 0, seed % 3 == 0);
        uint64_t rs = seed;
        /* Freeze the histogram for stretches: same values, exact interval. */
        for (size_t i = 1; i < N; i++) {
            if (rng_next(&rs) % 4 != 0) {
                int64_t t = s[i - 1].t + 15000;
                s[i] = s[i - 1];
                s[i].t = t;
                hfix(&s[i]);
            }
        }
        hcheck(s, N);
    }
    /* An idle series costs about one bit per sample. */
    gen_hseries(s, 2, 1, false, false);
    for (size_t i = 2; i < N; i++) {
        s[i] = s[1];
        s[i].t = s[1].t + 15000 * (int64_t)(i - 1);
        hfix(&s[i]);
    }
    br_hchunk *c = hbuild(s, N);
    hassert_round_trip(c, s, N);
    br_hchunk *half = hbuild(s, N / 2);
    size_t extra = br_hchunk_data_len(c) - br_hchunk_data_len(half);
    print_message("idle histogram: %zu bytes for %d samples, the last %d cost %zu\n",
                  br_hchunk_data_len(c), N, N / 2, extra);
    assert_true(extra <= (N / 2) / 8 + 1);
    br_hchunk_free(half);
    br_hchunk_free(c);
}

static void test_hchunk_writes_layout_only_when_it_changes(void **state)
{
    (void)state;
    enum { N = 100 };
    static hsample s[N];
    gen_hseries(s, N, 4, false, false);
    br_hchunk *c = hbuild(s, N);
    assert_int_equal(br_hchunk_get_summary(c)->layouts, 1);
    br_hchunk_free(c);

    gen_hseries(s, N, 4, false, true);
    uint32_t changes = 1;
    for (size_t i = 1; i < N; i++) {
        changes += s[i].h.n_pos != s[i - 1].h.n_pos;
    }
    assert_true(changes > 2);
    c = hbuild(s, N);
    assert_int_equal(br_hchunk_get_summary(c)->layouts, changes);
    hassert_round_trip(c, s, N);
    br_hchunk_free(c);
}

/* A short series changing schema, custom bounds, reset hint and span
 * shapes at every sample (every sample carries a layout). */
static void gen_hmixed(hsample *s, size_t n)
{
    memset(s, 0, n * sizeof(*s));
    for (size_t i = 0; i < n; i++) {
        hsample *x = &s[i];
        x->t = 60000 * (int64_t)i - 120000;
        x->h.count = (double)(10 * i);
        x->h.sum = 0.125 * (double)i;
        switch (i % 4) {
        case 0: /* NHCB: custom bounds, positive buckets only */
            x->h.schema = -53;
            x->h.n_custom = 3;
            x->custom[0] = 0.1;
            x->custom[1] = 0.5;
            x->custom[2] = i < 6 ? 1.0 : 2.5;
            x->h.n_pos_spans = 1;
            x->pos_spans[0] = (br_span){0, 4};
            x->h.n_pos = 4;
            break;
        case 1: /* wide span offsets and a gauge hint */
            x->h.schema = -4;
            x->h.reset_hint = BR_HIST_RESET_GAUGE;
            x->h.n_pos_spans = 2;
            x->pos_spans[0] = (br_span){INT32_MIN / 2, 1};
            x->pos_spans[1] = (br_span){INT32_MAX / 2, 2};
            x->h.n_pos = 3;
            break;
        case 2: /* no buckets at all, zero bucket only */
            x->h.schema = 8;
            x->h.reset_hint = BR_HIST_RESET_YES;
            x->h.zero_threshold = 0.001;
            x->h.zero_count = (double)i;
            break;
        default: /* float histogram with a zero-length span */
            x->h.schema = 0;
            x->h.is_float = true;
            x->h.reset_hint = BR_HIST_RESET_NO;
            x->h.n_pos_spans = 2;
            x->pos_spans[0] = (br_span){0, 0};
            x->pos_spans[1] = (br_span){2, 2};
            x->h.n_pos = 2;
            x->h.n_neg_spans = 1;
            x->neg_spans[0] = (br_span){0, 1};
            x->h.n_neg = 1;
            x->neg[0] = 0.3;
            break;
        }
        for (uint32_t j = 0; j < x->h.n_pos; j++) {
            x->pos[j] = (double)(i + j) * (x->h.is_float ? 1.5 : 1.0);
        }
        hfix(x);
    }
}

static void test_hchunk_round_trips_schema_custom_bounds_and_hint_changes(void **state)
{
    (void)state;
    enum { N = 12 };
    static hsample s[N];
    gen_hmixed(s, N);
    hcheck(s, N);
    br_hchunk *c = hbuild(s, N);
    assert_int_equal(br_hchunk_get_summary(c)->layouts, N);
    br_hchunk_free(c);
}

static void test_hchunk_round_trips_stale_markers(void **state)
{
    (void)state;
    enum { N = 40 };
    static hsample s[N];
    gen_hseries(s, N, 9, false, false);
    /* A stale marker as Prometheus writes it: only sum set. */
    for (size_t i = 15; i < 18; i++) {
        memset(&s[i].h, 0, sizeof(s[i].h));
        s[i].h.sum = br_stale_nan();
        hfix(&s[i]);
    }
    /* And one that keeps the layout. */
    s[30].h.sum = br_stale_nan();
    hcheck(s, N);
    br_hchunk *c = hbuild(s, N);
    assert_true(br_hchunk_get_summary(c)->has_stale);
    br_hchunk_iter it;
    br_hchunk_iter_init(&it, c);
    assert_true(br_hchunk_iter_seek(&it, s[16].t));
    assert_true(br_is_stale_nan(it.h.sum));
    assert_int_equal(it.h.n_pos, 0);
    br_hchunk_iter_free(&it);
    br_hchunk_free(c);
}

static void test_hchunk_seek_finds_first_sample_at_or_after(void **state)
{
    (void)state;
    enum { N = 60 };
    static hsample s[N];
    gen_hseries(s, N, 21, false, true);
    br_hchunk *c = hbuild(s, N);
    br_hchunk_freeze(c);
    br_hchunk_iter it;
    br_hchunk_iter_init(&it, c);
    assert_true(br_hchunk_iter_seek(&it, s[40].t - 1));
    assert_int_equal(it.t, s[40].t);
    assert_hist_equal(&it.h, &s[40].h, 40);
    assert_true(br_hchunk_iter_next(&it));
    assert_hist_equal(&it.h, &s[41].h, 41);
    assert_true(br_hchunk_iter_seek(&it, s[5].t));
    assert_int_equal(it.t, s[5].t);
    assert_hist_equal(&it.h, &s[5].h, 5);
    assert_true(br_hchunk_iter_seek(&it, INT64_MIN));
    assert_int_equal(it.t, s[0].t);
    assert_false(br_hchunk_iter_seek(&it, s[N - 1].t + 1));
    br_hchunk_iter_free(&it);
    br_hchunk_free(c);
}

static void test_hchunk_full_and_freeze_keep_content(void **state)
{
    (void)state;
    enum { N = BR_HCHUNK_MAX_SAMPLES + 10 };
    static hsample s[N];
    gen_hseries(s, N, 13, false, false);
    br_hchunk *c = br_hchunk_new();
    size_t n = 0;
    while (!br_hchunk_full(c)) {
        assert_int_equal(br_hchunk_append(c, s[n].t, &s[n].h, NULL), 0);
        n++;
    }
    assert_int_equal(n, BR_HCHUNK_MAX_SAMPLES);
    size_t open_bytes = br_hchunk_bytes(c);
    br_hchunk_freeze(c);
    assert_true(br_hchunk_frozen(c));
    assert_true(br_hchunk_bytes(c) < open_bytes);
    assert_int_equal(br_hchunk_get_summary(c)->count, n);
    hassert_round_trip(c, s, n);
    assert_int_equal(br_hchunk_append(c, s[n].t, &s[n].h, NULL), BR_EINVAL);
    br_hchunk_free(c);
}

static void test_hchunk_append_rejects_inconsistent_or_oversized_layouts(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    hsample x;
    memset(&x, 0, sizeof(x));
    hfix(&x);
    x.h.n_pos_spans = 1;
    x.pos_spans[0] = (br_span){0, 3};
    x.h.n_pos = 2; /* spans say 3 */
    br_hchunk *c = br_hchunk_new();
    assert_int_equal(br_hchunk_append(c, 1, &x.h, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "positive"));
    x.h.n_pos = 3;
    x.h.pos_buckets = NULL;
    assert_int_equal(br_hchunk_append(c, 1, &x.h, &err), BR_EINVAL);
    hfix(&x);
    x.h.n_neg_spans = BR_HCHUNK_MAX_SPANS + 1;
    assert_int_equal(br_hchunk_append(c, 1, &x.h, &err), BR_ELIMIT);
    x.h.n_neg_spans = 0;
    x.h.reset_hint = 7;
    assert_int_equal(br_hchunk_append(c, 1, &x.h, &err), BR_EINVAL);
    x.h.reset_hint = 0;
    assert_int_equal(br_hchunk_append(c, 1, &x.h, &err), 0);
    assert_int_equal(br_hchunk_append(c, 1, &x.h, &err), BR_EOUTOFORDER);
    assert_int_equal(br_hchunk_get_summary(c)->count, 1);
    br_hchunk_free(c);
}

/* ---------------------------------------------------- snapshot records */

enum { SER_KINDS = 6, SER_N = 240, HSER_KINDS = 5, HSER_N = 120 };

/* Float series of one kind: 0 counter with resets on exact 15 s scrapes,
 * 1 the same with +-5 ms jitter, 2 noisy gauge with jitter, 3 values with
 * NaNs and stale markers, 4 values switching between integers, fractions
 * and -0.0, 5 perfectly steady stretches broken now and then. */
static void gen_float(int kind, uint64_t seed, br_sample *s, size_t n)
{
    uint64_t rs = seed * 1000003 + (uint64_t)kind;
    double v = (double)(rng_next(&rs) % 100000);
    double step = (double)(rng_next(&rs) % 4);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng_next(&rs) % 40;
        s[i].t = scrape_t(&rs, 1700000000000, i, kind == 0 || kind == 5 ? 0 : 5);
        switch (kind) {
        case 0:
        case 1:
            v = r == 0 ? (double)(rng_next(&rs) % 50) : v + (double)(rng_next(&rs) % 501);
            s[i].v = v;
            break;
        case 2:
            s[i].v = (rng_unit(&rs) - 0.5) * 1e4;
            break;
        case 3:
            s[i].v = r < 4 ? br_stale_nan() : r < 8 ? NAN : (double)i * 0.25;
            break;
        case 4:
            s[i].v = r < 10 ? 0.5 * (double)i : r < 15 ? -0.0 : (double)(i * i);
            break;
        default:
            if (r == 1) {
                step = (double)(rng_next(&rs) % 4);
            }
            v += step;
            s[i].v = r == 2 ? v + 0.5 : v;
            if (r == 3) {
                s[i].t += 3;
            }
            break;
        }
    }
}

/* Serializes c into a fresh unlimited buffer (free with br_buf_free). */
static br_buf ser_chunk(const br_chunk *c)
{
    br_buf b;
    br_buf_init(&b, 0);
    br_err err;
    br_err_clear(&err);
    if (br_chunk_serialize(c, &b, &err) != 0) {
        fail_msg("serialize failed: %s", err.msg);
    }
    return b;
}

/* Deserializes a whole record, asserting success and full consumption. */
static br_chunk *deser_chunk(const br_buf *b)
{
    br_err err;
    br_err_clear(&err);
    br_chunk *c = NULL;
    size_t used = 0;
    if (br_chunk_deserialize(b->data, b->len, &used, &c, &err) != 0) {
        fail_msg("deserialize failed: %s", err.msg);
    }
    assert_non_null(c);
    assert_int_equal(used, b->len);
    return c;
}

/* Same summary, state and stream: the records of a and b are identical. */
static void assert_same_chunk(const br_chunk *a, const br_chunk *b)
{
    assert_summary_equal(br_chunk_get_summary(a), br_chunk_get_summary(b));
    assert_int_equal(br_chunk_frozen(a), br_chunk_frozen(b));
    assert_int_equal(br_chunk_data_len(a), br_chunk_data_len(b));
    br_buf ra = ser_chunk(a);
    br_buf rb = ser_chunk(b);
    assert_int_equal(ra.len, rb.len);
    assert_memory_equal(ra.data, rb.data, ra.len);
    br_buf_free(&ra);
    br_buf_free(&rb);
}

/* Sample counts exercising the empty, one-sample and i == 1 cases. */
static size_t ser_len(uint64_t seed, size_t max)
{
    static const size_t small[] = {0, 1, 2, 3};
    if (seed <= 4) {
        return small[seed - 1];
    }
    uint64_t rs = seed;
    return 1 + (size_t)(rng_next(&rs) % max);
}

static void test_chunk_serialize_round_trips_frozen_and_open_of_every_kind(void **state)
{
    (void)state;
    br_sample s[SER_N];
    for (int kind = 0; kind < SER_KINDS; kind++) {
        for (uint64_t seed = 1; seed <= 12; seed++) {
            size_t n = ser_len(seed, SER_N);
            gen_float(kind, seed, s, n);
            for (int frozen = 0; frozen <= 1; frozen++) {
                br_chunk *c = build(s, n);
                if (frozen) {
                    br_chunk_freeze(c);
                }
                br_buf b = ser_chunk(c);
                br_chunk *d = deser_chunk(&b);
                assert_int_equal(br_chunk_frozen(d), frozen);
                br_chunk_summary want;
                scan_summary(s, n, &want);
                assert_summary_equal(br_chunk_get_summary(d), &want);
                assert_round_trip(d, s, n);
                assert_same_chunk(c, d);
                br_buf_free(&b);
                br_chunk_free(d);
                br_chunk_free(c);
            }
        }
    }
}

static void test_chunk_deserialized_open_chunk_appends_byte_identical(void **state)
{
    (void)state;
    br_sample s[SER_N];
    for (int kind = 0; kind < SER_KINDS; kind++) {
        for (uint64_t seed = 1; seed <= 20; seed++) {
            gen_float(kind, seed, s, SER_N);
            uint64_t rs = seed + 77;
            size_t k1 = seed <= 4 ? (size_t)seed - 1 : (size_t)(rng_next(&rs) % SER_N);
            size_t k2 = k1 + (size_t)(rng_next(&rs) % (SER_N - k1 + 1));
            br_chunk *whole = build(s, SER_N);
            /* Snapshot and restart twice on the way: at k1 and at k2. */
            br_chunk *part = build(s, k1);
            for (size_t i = k1; i <= SER_N; i++) {
                if (i == k1 || i == k2) {
                    br_buf b = ser_chunk(part);
                    br_chunk_free(part);
                    part = deser_chunk(&b);
                    br_buf_free(&b);
                }
                if (i < SER_N) {
                    assert_int_equal(br_chunk_append(part, s[i].t, s[i].v, NULL), 0);
                }
            }
            assert_same_chunk(whole, part);
            assert_round_trip(part, s, SER_N);
            br_chunk_freeze(whole);
            br_chunk_freeze(part);
            assert_same_chunk(whole, part);
            br_chunk_free(whole);
            br_chunk_free(part);
        }
    }
}

static void test_chunk_deserialize_reads_consecutive_records(void **state)
{
    (void)state;
    br_sample s[SER_N];
    br_buf b;
    br_buf_init(&b, 0);
    br_chunk *orig[3];
    for (int j = 0; j < 3; j++) {
        gen_float(j, 5, s, 50 + 40 * (size_t)j);
        orig[j] = build(s, 50 + 40 * (size_t)j);
        if (j != 1) {
            br_chunk_freeze(orig[j]);
        }
        assert_int_equal(br_chunk_serialize(orig[j], &b, NULL), 0);
    }
    size_t off = 0;
    for (int j = 0; j < 3; j++) {
        br_chunk *c = NULL;
        size_t used = 0;
        assert_int_equal(br_chunk_deserialize(b.data + off, b.len - off, &used, &c, NULL), 0);
        assert_same_chunk(orig[j], c);
        off += used;
        br_chunk_free(c);
        br_chunk_free(orig[j]);
    }
    assert_int_equal(off, b.len);
    br_buf_free(&b);
}

static void test_chunk_serialize_fails_cleanly_at_the_buffer_cap(void **state)
{
    (void)state;
    br_sample s[SER_N];
    gen_float(2, 3, s, 100);
    br_chunk *c = build(s, 100);
    br_buf b;
    br_buf_init(&b, 100); /* far less than 84 + about 600 bytes */
    assert_int_equal(br_buf_append(&b, "xy", 2), 0);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_chunk_serialize(c, &b, &err), BR_ELIMIT);
    assert_non_null(strstr(err.msg, "limit"));
    assert_int_equal(b.len, 2); /* nothing half-written */
    br_buf_free(&b);
    br_chunk_free(c);
}

/* Deserializes data[0..len) and asserts BR_ECORRUPT with nothing returned
 * and, unless needle is NULL, a message containing needle. */
static void expect_corrupt(const void *data, size_t len, const char *needle)
{
    br_err err;
    br_err_clear(&err);
    br_chunk *sentinel = br_chunk_new();
    br_chunk *c = sentinel; /* must be reset to NULL */
    size_t used = 99;
    int rc = br_chunk_deserialize(data, len, &used, &c, &err);
    br_chunk_free(sentinel);
    if (rc != BR_ECORRUPT) {
        fail_msg("want BR_ECORRUPT, got %d (%s)", rc, err.msg);
    }
    assert_null(c);
    assert_int_equal(used, 0);
    if (needle != NULL && strstr(err.msg, needle) == NULL) {
        fail_msg("message \"%s\" does not mention \"%s\"", err.msg, needle);
    }
}

static void test_chunk_deserialize_rejects_every_truncated_prefix(void **state)
{
    (void)state;
    br_sample s[SER_N];
    for (int kind = 0; kind < SER_KINDS; kind++) {
        size_t n = kind == 0 ? 1 : 60;
        gen_float(kind, 11, s, n);
        br_chunk *c = build(s, n);
        if (kind % 2 == 0) {
            br_chunk_freeze(c);
        }
        br_buf b = ser_chunk(c);
        /* Each prefix in a buffer of exactly its size, so ASan sees any
         * read past it. */
        for (size_t len = 0; len < b.len; len++) {
            uint8_t *copy = br_malloc(len + 1);
            memcpy(copy, b.data, len);
            expect_corrupt(copy, len, NULL);
            br_free(copy);
        }
        br_buf_free(&b);
        br_chunk_free(c);
    }
}

static void test_chunk_deserialize_rejects_unknown_kind_version_and_flags(void **state)
{
    (void)state;
    br_sample s[SER_N];
    gen_float(1, 2, s, 30);
    br_chunk *c = build(s, 30);
    br_buf b = ser_chunk(c);
    uint8_t *p = (uint8_t *)b.data;
    p[0] = BR_CHUNK_SER_HIST;
    expect_corrupt(p, b.len, "kind");
    p[0] = BR_CHUNK_SER_FLOAT;
    p[1] = 4;
    expect_corrupt(p, b.len, "version 4");
    p[1] = 0;
    expect_corrupt(p, b.len, "version 0");
    p[1] = 3;
    p[2] |= 0x20;
    expect_corrupt(p, b.len, "flags");
    p[2] &= (uint8_t)~0x20;
    p[3] = 1;
    expect_corrupt(p, b.len, "flags");
    p[3] = 0;
    br_chunk *d = deser_chunk(&b); /* restored: accepted again */
    br_chunk_free(d);
    br_buf_free(&b);
    br_chunk_free(c);
}

/* Little-endian field access in a record, for the tests that tamper. */
static uint64_t rec_get(const br_buf *b, size_t off, unsigned n)
{
    uint64_t v = 0;
    for (unsigned j = 0; j < n; j++) {
        v |= (uint64_t)(uint8_t)b->data[off + j] << (8 * j);
    }
    return v;
}

static void rec_put(br_buf *b, size_t off, uint64_t v, unsigned n)
{
    for (unsigned j = 0; j < n; j++) {
        b->data[off + j] = (char)(uint8_t)(v >> (8 * j));
    }
}

static void test_chunk_deserialize_rejects_counts_and_lengths_that_disagree(void **state)
{
    (void)state;
    br_sample s[SER_N];
    gen_float(0, 4, s, 100);
    br_chunk *c = build(s, 100);
    br_buf b = ser_chunk(c);
    uint64_t count = rec_get(&b, 4, 4);
    uint64_t nbits = rec_get(&b, 12, 8);
    assert_int_equal(count, 100);
    assert_int_equal((nbits + 7) / 8, br_chunk_data_len(c));

    rec_put(&b, 4, count + 1, 4); /* one sample more than the stream holds */
    expect_corrupt(b.data, b.len, "samples");
    rec_put(&b, 4, count - 1, 4); /* the stream goes on after the last */
    expect_corrupt(b.data, b.len, "left after");
    rec_put(&b, 4, 70000, 4);
    expect_corrupt(b.data, b.len, "limit");
    rec_put(&b, 4, count, 4);

    /* A stream longer than it says: one zero byte more, announced. */
    assert_int_equal(br_buf_append(&b, "\0", 1), 0);
    rec_put(&b, 12, (nbits + 7) / 8 * 8 + 8, 8);
    expect_corrupt(b.data, b.len, "left after");
    rec_put(&b, 12, UINT64_MAX, 8);
    expect_corrupt(b.data, b.len, "bytes follow");
    br_buf_free(&b);
    br_chunk_free(c);
}

static void test_chunk_deserialize_rejects_nonzero_pad_bits(void **state)
{
    (void)state;
    br_sample s[SER_N];
    size_t n = 0;
    uint64_t nbits = 0;
    br_chunk *c = NULL;
    /* Find a chunk whose stream does not end on a byte boundary. */
    for (n = 20; n < SER_N; n++) {
        gen_float(2, 6, s, n);
        c = build(s, n);
        br_chunk_freeze(c);
        br_buf probe = ser_chunk(c);
        nbits = rec_get(&probe, 12, 8);
        br_buf_free(&probe);
        if (nbits % 8 != 0) {
            break;
        }
        br_chunk_free(c);
        c = NULL;
    }
    assert_non_null(c);
    br_buf b = ser_chunk(c);
    b.data[b.len - 1] = (char)((uint8_t)b.data[b.len - 1] | 1u);
    expect_corrupt(b.data, b.len, "pad bits");
    br_buf_free(&b);
    br_chunk_free(c);
}

static void test_chunk_deserialize_rejects_summary_that_disagrees_with_samples(void **state)
{
    (void)state;
    br_sample s[SER_N];
    gen_float(0, 8, s, 120);
    br_chunk *c = build(s, 120);
    br_buf b = ser_chunk(c);
    /* max_t, resets, then each stored double (first is where decoding starts,
     * so changing it moves the values; the rest must match a rescan). */
    static const struct {
        size_t off;
        unsigned n;
        const char *field;
    } f[] = {{28, 8, "max_t"}, {8, 4, "resets"},    {44, 8, "last"},      {52, 8, "min"},
             {60, 8, "max"},   {68, 8, "increase"}, {76, 8, "reset_sum"}, {36, 8, NULL}};
    for (size_t j = 0; j < sizeof(f) / sizeof(f[0]); j++) {
        uint64_t old = rec_get(&b, f[j].off, f[j].n);
        rec_put(&b, f[j].off, old + 1, f[j].n);
        expect_corrupt(b.data, b.len, f[j].field);
        rec_put(&b, f[j].off, old, f[j].n);
    }
    /* The flags: has_nan and has_stale on a chunk without NaNs. */
    b.data[2] = (char)((uint8_t)b.data[2] | 0x02u);
    expect_corrupt(b.data, b.len, "has_nan");
    b.data[2] = (char)((uint8_t)b.data[2] & ~0x02u);
    b.data[2] = (char)((uint8_t)b.data[2] | 0x04u);
    expect_corrupt(b.data, b.len, "has_stale");
    br_buf_free(&b);
    br_chunk_free(c);
}

/* An accepted (possibly damaged) record must behave like any chunk: it
 * re-serializes to the same bytes, iterates without error, and an open one
 * accepts another sample that then reads back. */
static void check_accepted_chunk(br_chunk *c, const char *rec, size_t used)
{
    br_buf again = ser_chunk(c);
    assert_int_equal(again.len, used);
    assert_memory_equal(again.data, rec, used);
    br_buf_free(&again);
    const br_chunk_summary *sum = br_chunk_get_summary(c);
    uint32_t count = sum->count;
    br_chunk_iter it;
    br_chunk_iter_init(&it, c);
    uint32_t got = 0;
    while (br_chunk_iter_next(&it)) {
        got++;
    }
    assert_int_equal(br_chunk_iter_err(&it), 0);
    assert_int_equal(got, count);
    if (br_chunk_frozen(c) || (count > 0 && sum->max_t > INT64_MAX - 15000)) {
        return;
    }
    int64_t t = count > 0 ? sum->max_t + 15000 : 0;
    assert_int_equal(br_chunk_append(c, t, 42.0, NULL), 0);
    br_chunk_iter_init(&it, c);
    got = 0;
    while (br_chunk_iter_next(&it)) {
        got++;
    }
    assert_int_equal(br_chunk_iter_err(&it), 0);
    assert_int_equal(got, count + 1);
    assert_int_equal(it.t, t);
    assert_int_equal(bits_of(it.v), bits_of(42.0));
    br_buf b = ser_chunk(c);
    br_chunk *d = deser_chunk(&b);
    br_chunk_free(d);
    br_buf_free(&b);
}

static void test_chunk_deserialize_survives_random_byte_corruption(void **state)
{
    (void)state;
    br_sample s[SER_N];
    br_buf recs[2 * SER_KINDS];
    for (int kind = 0; kind < SER_KINDS; kind++) {
        size_t n = 30 + 20 * (size_t)kind;
        gen_float(kind, 13, s, n);
        for (int frozen = 0; frozen <= 1; frozen++) {
            br_chunk *c = build(s, n);
            if (frozen) {
                br_chunk_freeze(c);
            }
            recs[2 * kind + frozen] = ser_chunk(c);
            br_chunk_free(c);
        }
    }
    uint64_t rs = 2024;
    unsigned accepted = 0;
    for (int round = 0; round < 1000; round++) {
        const br_buf *r = &recs[rng_next(&rs) % (2 * SER_KINDS)];
        char *copy = br_malloc(r->len);
        memcpy(copy, r->data, r->len);
        size_t pos = (size_t)(rng_next(&rs) % r->len);
        copy[pos] = (char)((uint8_t)copy[pos] ^ (uint8_t)(1 + rng_next(&rs) % 255));
        br_chunk *c = NULL;
        size_t used = 0;
        br_err err;
        br_err_clear(&err);
        int rc = br_chunk_deserialize(copy, r->len, &used, &c, &err);
        if (rc == 0) {
            accepted++;
            assert_true(used <= r->len);
            check_accepted_chunk(c, copy, used);
            br_chunk_free(c);
        } else {
            assert_int_equal(rc, BR_ECORRUPT);
            assert_null(c);
            assert_true(err.msg[0] != '\0');
        }
        br_free(copy);
    }
    print_message("float records: %u of 1000 single-byte corruptions decoded to a valid chunk\n",
                  accepted);
    for (size_t j = 0; j < 2 * SER_KINDS; j++) {
        br_buf_free(&recs[j]);
    }
}

/* ------------------------------------------- histogram snapshot records */

/* Histogram series of one kind: 0 integer, fixed layout; 1 float with
 * layout changes; 2 integer with layout changes and stale markers (with and
 * without buckets); 3 idle stretches; 4 schema, custom bounds and hint
 * changes at every sample. Returns the number of samples made (<= n). */
static size_t gen_hist(int kind, uint64_t seed, hsample *s, size_t n)
{
    switch (kind) {
    case 0:
        gen_hseries(s, n, seed, false, false);
        return n;
    case 1:
        gen_hseries(s, n, seed, true, true);
        return n;
    case 2:
        gen_hseries(s, n, seed, false, true);
        for (size_t i = n / 4; i < n / 4 + 3 && i < n; i++) {
            memset(&s[i].h, 0, sizeof(s[i].h));
            s[i].h.sum = br_stale_nan();
            hfix(&s[i]);
        }
        if (n > 2) {
            s[n - 2].h.sum = br_stale_nan();
        }
        return n;
    case 3: {
        gen_hseries(s, n, seed, seed % 2 == 0, false);
        uint64_t rs = seed;
        for (size_t i = 1; i < n; i++) {
            if (rng_next(&rs) % 4 != 0) {
                int64_t t = s[i - 1].t + 15000;
                s[i] = s[i - 1];
                s[i].t = t;
                hfix(&s[i]);
            }
        }
        return n;
    }
    default:
        n = n < 12 ? n : 12;
        gen_hmixed(s, n);
        return n;
    }
}

static br_buf ser_hchunk(const br_hchunk *c)
{
    br_buf b;
    br_buf_init(&b, 0);
    br_err err;
    br_err_clear(&err);
    if (br_hchunk_serialize(c, &b, &err) != 0) {
        fail_msg("histogram serialize failed: %s", err.msg);
    }
    return b;
}

static br_hchunk *deser_hchunk(const br_buf *b)
{
    br_err err;
    br_err_clear(&err);
    br_hchunk *c = NULL;
    size_t used = 0;
    if (br_hchunk_deserialize(b->data, b->len, &used, &c, &err) != 0) {
        fail_msg("histogram deserialize failed: %s", err.msg);
    }
    assert_non_null(c);
    assert_int_equal(used, b->len);
    return c;
}

static void assert_same_hchunk(const br_hchunk *a, const br_hchunk *b)
{
    const br_hchunk_summary *sa = br_hchunk_get_summary(a);
    const br_hchunk_summary *sb = br_hchunk_get_summary(b);
    assert_int_equal(sa->min_t, sb->min_t);
    assert_int_equal(sa->max_t, sb->max_t);
    assert_int_equal(sa->count, sb->count);
    assert_int_equal(sa->layouts, sb->layouts);
    assert_int_equal(sa->has_stale, sb->has_stale);
    assert_int_equal(br_hchunk_frozen(a), br_hchunk_frozen(b));
    br_buf ra = ser_hchunk(a);
    br_buf rb = ser_hchunk(b);
    assert_int_equal(ra.len, rb.len);
    assert_memory_equal(ra.data, rb.data, ra.len);
    br_buf_free(&ra);
    br_buf_free(&rb);
}

static void test_hchunk_serialize_round_trips_frozen_and_open_of_every_kind(void **state)
{
    (void)state;
    static hsample s[HSER_N];
    for (int kind = 0; kind < HSER_KINDS; kind++) {
        for (uint64_t seed = 1; seed <= 6; seed++) {
            size_t n = gen_hist(kind, seed, s, ser_len(seed, HSER_N));
            for (int frozen = 0; frozen <= 1; frozen++) {
                br_hchunk *c = hbuild(s, n);
                if (frozen) {
                    br_hchunk_freeze(c);
                }
                br_buf b = ser_hchunk(c);
                br_hchunk *d = deser_hchunk(&b);
                assert_int_equal(br_hchunk_frozen(d), frozen);
                assert_int_equal(br_hchunk_get_summary(d)->count, n);
                hassert_round_trip(d, s, n);
                assert_same_hchunk(c, d);
                br_buf_free(&b);
                br_hchunk_free(d);
                br_hchunk_free(c);
            }
        }
    }
}

static void test_hchunk_deserialized_open_chunk_appends_byte_identical(void **state)
{
    (void)state;
    static hsample s[HSER_N];
    for (int kind = 0; kind < HSER_KINDS; kind++) {
        for (uint64_t seed = 1; seed <= 8; seed++) {
            size_t n = gen_hist(kind, seed, s, HSER_N);
            uint64_t rs = seed + 99;
            size_t k1 = seed <= 3 ? (size_t)seed - 1 : (size_t)(rng_next(&rs) % n);
            size_t k2 = k1 + (size_t)(rng_next(&rs) % (n - k1 + 1));
            br_hchunk *whole = hbuild(s, n);
            br_hchunk *part = hbuild(s, k1);
            for (size_t i = k1; i <= n; i++) {
                if (i == k1 || i == k2) {
                    br_buf b = ser_hchunk(part);
                    br_hchunk_free(part);
                    part = deser_hchunk(&b);
                    br_buf_free(&b);
                }
                if (i < n) {
                    assert_int_equal(br_hchunk_append(part, s[i].t, &s[i].h, NULL), 0);
                }
            }
            assert_same_hchunk(whole, part);
            hassert_round_trip(part, s, n);
            br_hchunk_freeze(whole);
            br_hchunk_freeze(part);
            assert_same_hchunk(whole, part);
            br_hchunk_free(whole);
            br_hchunk_free(part);
        }
    }
}

static void hexpect_corrupt(const void *data, size_t len, const char *needle)
{
    br_err err;
    br_err_clear(&err);
    br_hchunk *sentinel = br_hchunk_new();
    br_hchunk *c = sentinel; /* must be reset to NULL */
    size_t used = 99;
    int rc = br_hchunk_deserialize(data, len, &used, &c, &err);
    br_hchunk_free(sentinel);
    if (rc != BR_ECORRUPT) {
        fail_msg("want BR_ECORRUPT, got %d (%s)", rc, err.msg);
    }
    assert_null(c);
    assert_int_equal(used, 0);
    if (needle != NULL && strstr(err.msg, needle) == NULL) {
        fail_msg("message \"%s\" does not mention \"%s\"", err.msg, needle);
    }
}

static void test_hchunk_deserialize_rejects_every_truncated_prefix(void **state)
{
    (void)state;
    static hsample s[HSER_N];
    for (int kind = 0; kind < HSER_KINDS; kind++) {
        size_t n = gen_hist(kind, 3, s, 25);
        br_hchunk *c = hbuild(s, n);
        if (kind % 2 == 1) {
            br_hchunk_freeze(c);
        }
        br_buf b = ser_hchunk(c);
        for (size_t len = 0; len < b.len; len++) {
            uint8_t *copy = br_malloc(len + 1);
            memcpy(copy, b.data, len);
            hexpect_corrupt(copy, len, NULL);
            br_free(copy);
        }
        br_buf_free(&b);
        br_hchunk_free(c);
    }
}

static void test_hchunk_deserialize_rejects_summary_that_disagrees_with_samples(void **state)
{
    (void)state;
    static hsample s[HSER_N];
    size_t n = gen_hist(1, 5, s, 60);
    br_hchunk *c = hbuild(s, n);
    assert_true(br_hchunk_get_summary(c)->layouts > 1);
    br_buf b = ser_hchunk(c);
    static const struct {
        size_t off;
        unsigned n;
    } f[] = {{8, 4}, {28, 8}, {4, 4}};
    for (size_t j = 0; j < sizeof(f) / sizeof(f[0]); j++) {
        uint64_t old = rec_get(&b, f[j].off, f[j].n);
        rec_put(&b, f[j].off, old - 1, f[j].n);
        hexpect_corrupt(b.data, b.len, NULL);
        rec_put(&b, f[j].off, old, f[j].n);
    }
    b.data[2] = (char)((uint8_t)b.data[2] | 0x02u); /* has_stale, wrongly */
    hexpect_corrupt(b.data, b.len, "summary");
    b.data[2] = (char)((uint8_t)b.data[2] & ~0x02u);
    b.data[0] = BR_CHUNK_SER_FLOAT;
    hexpect_corrupt(b.data, b.len, "kind");
    b.data[0] = BR_CHUNK_SER_HIST;
    br_hchunk *d = deser_hchunk(&b);
    br_hchunk_free(d);
    br_buf_free(&b);
    br_hchunk_free(c);
}

static void check_accepted_hchunk(br_hchunk *c, const char *rec, size_t used)
{
    br_buf again = ser_hchunk(c);
    assert_int_equal(again.len, used);
    assert_memory_equal(again.data, rec, used);
    br_buf_free(&again);
    const br_hchunk_summary *sum = br_hchunk_get_summary(c);
    uint32_t count = sum->count;
    br_hchunk_iter it;
    br_hchunk_iter_init(&it, c);
    uint32_t got = 0;
    while (br_hchunk_iter_next(&it)) {
        got++;
    }
    assert_int_equal(br_hchunk_iter_err(&it), 0);
    assert_int_equal(got, count);
    br_hchunk_iter_free(&it);
    if (br_hchunk_frozen(c) || (count > 0 && sum->max_t > INT64_MAX - 15000)) {
        return;
    }
    int64_t t = count > 0 ? sum->max_t + 15000 : 0;
    hsample x;
    gen_hseries(&x, 1, 3, false, false);
    assert_int_equal(br_hchunk_append(c, t, &x.h, NULL), 0);
    br_hchunk_iter_init(&it, c);
    got = 0;
    while (br_hchunk_iter_next(&it)) {
        got++;
    }
    assert_int_equal(br_hchunk_iter_err(&it), 0);
    assert_int_equal(got, count + 1);
    assert_int_equal(it.t, t);
    assert_hist_equal(&it.h, &x.h, count);
    br_hchunk_iter_free(&it);
    br_buf b = ser_hchunk(c);
    br_hchunk *d = deser_hchunk(&b);
    br_hchunk_free(d);
    br_buf_free(&b);
}

static void test_hchunk_deserialize_survives_random_byte_corruption(void **state)
{
    (void)state;
    static hsample s[HSER_N];
    br_buf recs[2 * HSER_KINDS];
    for (int kind = 0; kind < HSER_KINDS; kind++) {
        size_t n = gen_hist(kind, 17, s, 40);
        for (int frozen = 0; frozen <= 1; frozen++) {
            br_hchunk *c = hbuild(s, n);
            if (frozen) {
                br_hchunk_freeze(c);
            }
            recs[2 * kind + frozen] = ser_hchunk(c);
            br_hchunk_free(c);
        }
    }
    uint64_t rs = 4048;
    unsigned accepted = 0;
    for (int round = 0; round < 1000; round++) {
        const br_buf *r = &recs[rng_next(&rs) % (2 * HSER_KINDS)];
        char *copy = br_malloc(r->len);
        memcpy(copy, r->data, r->len);
        size_t pos = (size_t)(rng_next(&rs) % r->len);
        copy[pos] = (char)((uint8_t)copy[pos] ^ (uint8_t)(1 + rng_next(&rs) % 255));
        br_hchunk *c = NULL;
        size_t used = 0;
        br_err err;
        br_err_clear(&err);
        int rc = br_hchunk_deserialize(copy, r->len, &used, &c, &err);
        if (rc == 0) {
            accepted++;
            assert_true(used <= r->len);
            check_accepted_hchunk(c, copy, used);
            br_hchunk_free(c);
        } else {
            assert_int_equal(rc, BR_ECORRUPT);
            assert_null(c);
            assert_true(err.msg[0] != '\0');
        }
        br_free(copy);
    }
    print_message("histogram records: %u of 1000 single-byte corruptions decoded to a valid "
                  "chunk\n",
                  accepted);
    for (size_t j = 0; j < 2 * HSER_KINDS; j++) {
        br_buf_free(&recs[j]);
    }
}

/* ------------------------------------------------------------- merging */

/* Cuts s[0..n) into frozen chunks at the given sample offsets (cuts[0..nc)
 * ascending, inside (0, n)), merges them and returns the merged chunk. */
static br_chunk *merge_cut(const br_sample *s, size_t n, const size_t *cuts, size_t nc)
{
    br_chunk *parts[16];
    assert_true(nc + 1 <= 16);
    size_t from = 0;
    for (size_t j = 0; j <= nc; j++) {
        size_t to = j < nc ? cuts[j] : n;
        parts[j] = build(s + from, to - from);
        br_chunk_freeze(parts[j]);
        from = to;
    }
    br_err err;
    br_err_clear(&err);
    br_chunk *m = NULL;
    int rc = br_chunk_merge(parts, nc + 1, &m, &err);
    for (size_t j = 0; j <= nc; j++) {
        br_chunk_free(parts[j]);
    }
    if (rc != 0) {
        fail_msg("merge failed: %s", err.msg);
    }
    assert_true(br_chunk_frozen(m));
    return m;
}

/* The merged chunk yields s bit for bit, its summary is the one a single
 * sequential pass computes, and it survives a snapshot record round trip. */
static void check_merged(const br_sample *s, size_t n, const size_t *cuts, size_t nc)
{
    br_chunk *m = merge_cut(s, n, cuts, nc);
    assert_round_trip(m, s, n);
    br_chunk_summary want;
    scan_summary(s, n, &want);
    assert_summary_equal(br_chunk_get_summary(m), &want);
    br_buf b = ser_chunk(m);
    br_chunk *d = deser_chunk(&b);
    assert_round_trip(d, s, n);
    assert_same_chunk(m, d);
    br_chunk_free(d);
    br_buf_free(&b);
    br_chunk_free(m);
}

static void test_chunk_merge_round_trips_every_kind_regular_and_jittered(void **state)
{
    (void)state;
    enum { N = 3 * SER_N };
    static br_sample s[N];
    const size_t cuts[] = {1, 2, 240, 241, 500};
    for (int kind = 0; kind < SER_KINDS; kind++) {
        for (uint64_t seed = 1; seed <= 20; seed++) {
            gen_float(kind, seed, s, N);
            check_merged(s, N, cuts, 5);
        }
    }
}

static void test_chunk_merge_round_trips_edge_values(void **state)
{
    (void)state;
    static const uint64_t edge_bits[] = {
        0x7ff0000000000002ULL, /* stale marker */
        0x7ff8000000000001ULL, 0x7ff8000000000000ULL, 0xfff8000000000000ULL,
        0x7fffffffffffffffULL, 0x7ff0000000000001ULL, /* NaN payloads */
        0x7ff0000000000000ULL, 0xfff0000000000000ULL, /* +-Inf */
        0x8000000000000000ULL, 0x0000000000000000ULL, /* -0, +0 */
        0x0000000000000001ULL, 0x7fefffffffffffffULL, /* denormal, DBL_MAX */
        0x4340000000000000ULL, 0x4340000000000001ULL, /* 2^53, 2^53 + 2 */
        0x43e0000000000000ULL, 0xc340000000000000ULL, /* 2^63, -2^53 */
        0x3fb999999999999aULL,                        /* 0.1 */
    };
    const size_t ne = sizeof(edge_bits) / sizeof(edge_bits[0]);
    br_sample s[4 * 17];
    size_t n = 0;
    for (size_t i = 0; i < ne; i++) {
        s[n].v = 42.0;
        s[n + 1].v = from_bits(edge_bits[i]);
        s[n + 2].v = from_bits(edge_bits[i]);
        s[n + 3].v = 7.5;
        n += 4;
    }
    /* Regular timestamps (merged without timestamp fields) ... */
    for (size_t i = 0; i < n; i++) {
        s[i].t = -30000 + 15000 * (int64_t)i;
    }
    const size_t cuts[] = {3, 4, 30, 31};
    check_merged(s, n, cuts, 4);
    /* ... and one late sample, which keeps them. */
    s[n - 1].t += 1;
    check_merged(s, n, cuts, 4);
}

static void test_chunk_merge_round_trips_extreme_timestamps(void **state)
{
    (void)state;
    br_sample s[40];
    const size_t cuts[] = {10, 20};
    /* Regular, ending at INT64_MAX. */
    for (size_t i = 0; i < 40; i++) {
        s[i].t = INT64_MAX - (int64_t)(39 - i) * 1000;
        s[i].v = (double)(i * 3);
    }
    check_merged(s, 40, cuts, 2);
    /* Regular, starting at INT64_MIN, with a 2^40 ms gap. */
    for (size_t i = 0; i < 40; i++) {
        s[i].t = INT64_MIN + (int64_t)i * (INT64_C(1) << 40);
    }
    check_merged(s, 40, cuts, 2);
    /* Irregular: huge gaps across zero. */
    for (size_t i = 0; i < 40; i++) {
        s[i].t = (int64_t)i * (INT64_MAX / 40) - INT64_MAX / 2 + (int64_t)(i % 3);
    }
    check_merged(s, 40, cuts, 2);
}

static void test_chunk_merge_of_regular_counter_is_smaller_than_its_parts(void **state)
{
    (void)state;
    enum { N = 1920 };
    static br_sample s[N];
    uint64_t rs = 5;
    double v = 0;
    size_t parts_bytes = 0;
    for (size_t i = 0; i < N; i++) {
        v += (double)(rng_next(&rs) % 200);
        s[i].t = 1700000000000 + 15000 * (int64_t)i;
        s[i].v = v;
    }
    for (size_t j = 0; j < N / 240; j++) {
        br_chunk *c = build(s + 240 * j, 240);
        br_chunk_freeze(c);
        parts_bytes += br_chunk_data_len(c) + 16; /* stream + first sample */
        br_chunk_free(c);
    }
    size_t cuts[7];
    for (size_t j = 0; j < 7; j++) {
        cuts[j] = 240 * (j + 1);
    }
    br_chunk *m = merge_cut(s, N, cuts, 7);
    assert_round_trip(m, s, N);
    /* No timestamp fields: about one bit per sample less, plus 7 headers. */
    assert_true(br_chunk_data_len(m) + 16 + N / 8 - 16 <= parts_bytes);
    br_chunk_free(m);
}

static void test_chunk_merge_rejects_open_empty_and_overlapping_inputs(void **state)
{
    (void)state;
    br_sample s[20];
    for (size_t i = 0; i < 20; i++) {
        s[i].t = 1000 * (int64_t)i;
        s[i].v = (double)i;
    }
    br_chunk *a = build(s, 10);
    br_chunk *b = build(s + 10, 10);
    br_chunk *e = br_chunk_new();
    br_chunk_freeze(e);
    br_chunk *in[2] = {a, b};
    br_chunk *m = (br_chunk *)in; /* must be reset to NULL */
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_chunk_merge(in, 2, &m, &err), BR_EINVAL); /* a is open */
    assert_null(m);
    br_chunk_freeze(a);
    br_chunk_freeze(b);
    in[0] = b;
    in[1] = a;
    assert_int_equal(br_chunk_merge(in, 2, &m, &err), BR_EOUTOFORDER);
    assert_null(m);
    in[0] = a;
    in[1] = e;
    assert_int_equal(br_chunk_merge(in, 2, &m, &err), BR_EINVAL);
    assert_null(m);
    in[1] = b;
    assert_int_equal(br_chunk_merge(in, 2, &m, &err), 0);
    assert_round_trip(m, s, 20);
    br_chunk_free(m);
    br_chunk_free(a);
    br_chunk_free(b);
    br_chunk_free(e);
}

static void test_chunk_deserialize_rejects_regular_flag_on_version_1_or_open(void **state)
{
    (void)state;
    br_sample s[30];
    for (size_t i = 0; i < 30; i++) {
        s[i].t = 15000 * (int64_t)i;
        s[i].v = (double)(i * i);
    }
    const size_t cuts[] = {15};
    br_chunk *m = merge_cut(s, 30, cuts, 1);
    br_buf b = ser_chunk(m);
    uint8_t *p = (uint8_t *)b.data;
    assert_int_equal(p[1], 3);
    assert_true((p[2] & 0x08) != 0);
    p[1] = 1;
    expect_corrupt(p, b.len, "regular");
    p[1] = 2;
    p[2] |= 0x01; /* open */
    expect_corrupt(p, b.len, "regular");
    p[2] &= (uint8_t)~0x01;
    p[2] &= (uint8_t)~0x08; /* the stream then decodes differently */
    expect_corrupt(p, b.len, NULL);
    br_buf_free(&b);
    br_chunk_free(m);
}

/* A histogram's _sum: a positive float growing by a noisy non-integer
 * amount every 15 s, as Prometheus scrapes it. */
static void gen_sum(uint64_t seed, br_sample *s, size_t n)
{
    uint64_t rs = seed;
    double v = 3.0 + rng_unit(&rs);
    for (size_t i = 0; i < n; i++) {
        v += 0.0371 * (double)(40 + rng_next(&rs) % 30) * (1.0 + 0.05 * (rng_unit(&rs) - 0.5));
        s[i].t = 1700000000000 + 15000 * (int64_t)i;
        s[i].v = v;
    }
}

/* Flags byte of c's snapshot record. */
static unsigned record_flags(const br_chunk *c)
{
    br_buf b = ser_chunk(c);
    unsigned f = (uint8_t)b.data[2];
    br_buf_free(&b);
    return f;
}

static void test_chunk_merge_codes_growing_float_as_bit_deltas_and_smaller(void **state)
{
    (void)state;
    enum { N = 1920 };
    static br_sample s[N];
    gen_sum(11, s, N);
    size_t parts_bits = 0;
    size_t cuts[7];
    for (size_t j = 0; j < 8; j++) {
        br_chunk *c = build(s + 240 * j, 240);
        br_chunk_freeze(c);
        parts_bits += 8 * br_chunk_data_len(c);
        br_chunk_free(c);
        if (j < 7) {
            cuts[j] = 240 * (j + 1);
        }
    }
    br_chunk *m = merge_cut(s, N, cuts, 7);
    assert_true((record_flags(m) & 0x10) != 0);
    assert_round_trip(m, s, N);
    /* XOR spends about 50 bits on each of these; bit deltas at least 5 fewer. */
    size_t merged_bits = 8 * br_chunk_data_len(m);
    assert_true(merged_bits + 5 * (N - 8) <= parts_bits);
    br_chunk_free(m);
    check_merged(s, N, cuts, 7);
}

static void test_chunk_merge_keeps_xor_for_random_gauges(void **state)
{
    (void)state;
    enum { N = 3 * SER_N };
    static br_sample s[N];
    const size_t cuts[] = {240, 480};
    gen_float(2, 7, s, N); /* uniform noise: the XOR stream is the shorter */
    br_chunk *m = merge_cut(s, N, cuts, 2);
    assert_int_equal(record_flags(m) & 0x10, 0);
    br_chunk_free(m);
    gen_float(0, 7, s, N); /* integers only: never tried */
    m = merge_cut(s, N, cuts, 2);
    assert_int_equal(record_flags(m) & 0x10, 0);
    br_chunk_free(m);
}

/* Edge values inside a growing float, so that bit deltas still win and
 * every edge goes through the float-delta fields: NaN payloads, stale
 * markers, infinities, -0, sign changes, huge jumps, integers between. */
static void test_chunk_merge_float_deltas_round_trip_edge_values(void **state)
{
    (void)state;
    static const uint64_t edge_bits[] = {
        0x7ff0000000000002ULL, 0x7ff8000000000001ULL, 0xfff8000000000000ULL,
        0x7fffffffffffffffULL, 0x7ff0000000000000ULL, 0xfff0000000000000ULL,
        0x8000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000001ULL,
        0x7fefffffffffffffULL, 0xffefffffffffffffULL, 0x4340000000000001ULL,
        0xc000000000000000ULL, 0x3fb999999999999aULL, 0x4059000000000000ULL,
    };
    const size_t ne = sizeof(edge_bits) / sizeof(edge_bits[0]);
    enum { N = 1800 };
    static br_sample s[N];
    uint64_t rs = 3;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        gen_sum(seed, s, N);
        for (size_t e = 0; e < ne; e++) {
            size_t at = 50 + (size_t)(rng_next(&rs) % (N - 60));
            size_t len = 1 + (size_t)(rng_next(&rs) % 3); /* repeats go through run bits */
            for (size_t k = 0; k < len; k++) {
                s[at + k].v = from_bits(edge_bits[e]);
            }
        }
        if (seed % 2 == 0) {
            s[N / 2].t += 1; /* irregular: timestamp fields too */
        }
        const size_t cuts[] = {1, 240, 241, 900, 1500};
        br_chunk *m = merge_cut(s, N, cuts, 5);
        assert_true((record_flags(m) & 0x10) != 0);
        br_chunk_free(m);
        check_merged(s, N, cuts, 5);
    }
}

static void test_chunk_merge_float_deltas_round_trip_random_bit_patterns(void **state)
{
    (void)state;
    enum { N = 600 };
    static br_sample s[N];
    const size_t cuts[] = {100, 300};
    for (uint64_t seed = 1; seed <= 50; seed++) {
        uint64_t rs = seed;
        gen_sum(seed, s, N);
        /* Stretches of arbitrary bit patterns (any sign, exponent, NaN). */
        for (size_t k = 0; k < 40; k++) {
            size_t at = (size_t)(rng_next(&rs) % N);
            s[at].v = from_bits(rng_next(&rs));
        }
        br_chunk *m = merge_cut(s, N, cuts, 2);
        br_chunk_free(m);
        check_merged(s, N, cuts, 2);
    }
}

static void test_chunk_merge_float_deltas_seek_finds_every_sample(void **state)
{
    (void)state;
    enum { N = 960 };
    static br_sample s[N];
    gen_sum(5, s, N);
    const size_t cuts[] = {240, 480, 720};
    br_chunk *m = merge_cut(s, N, cuts, 3);
    assert_true((record_flags(m) & 0x10) != 0);
    br_chunk_iter it;
    br_chunk_iter_init(&it, m);
    for (size_t i = N; i-- > 0;) { /* backwards: every seek rewinds */
        assert_true(br_chunk_iter_seek(&it, s[i].t - 1));
        assert_int_equal(it.t, s[i].t);
        assert_int_equal(bits_of(it.v), bits_of(s[i].v));
        if (i % 97 == 0 && i + 1 < N) {
            assert_true(br_chunk_iter_next(&it));
            assert_int_equal(bits_of(it.v), bits_of(s[i + 1].v));
        }
    }
    br_chunk_free(m);
}

static void test_chunk_deserialize_rejects_float_delta_flag_on_old_version_or_open(void **state)
{
    (void)state;
    enum { N = 480 };
    static br_sample s[N];
    gen_sum(9, s, N);
    s[N / 2].t += 1; /* irregular, so that only the float-delta flag is checked */
    const size_t cuts[] = {240};
    br_chunk *m = merge_cut(s, N, cuts, 1);
    br_buf b = ser_chunk(m);
    uint8_t *p = (uint8_t *)b.data;
    assert_int_equal(p[1], 3);
    assert_true((p[2] & 0x10) != 0);
    p[1] = 2;
    expect_corrupt(p, b.len, "float-delta");
    p[1] = 3;
    p[2] |= 0x01; /* open */
    expect_corrupt(p, b.len, "float-delta");
    p[2] &= (uint8_t)~0x01;
    p[2] &= (uint8_t)~0x10; /* the stream then decodes as XOR fields */
    expect_corrupt(p, b.len, NULL);
    br_buf_free(&b);
    br_chunk_free(m);
}

static void test_chunk_deserialize_loads_version_2_records(void **state)
{
    (void)state;
    br_sample s[30];
    for (size_t i = 0; i < 30; i++) {
        s[i].t = 15000 * (int64_t)i;
        s[i].v = (double)(i * i) + (i % 3 == 0 ? 0.5 : 0.0);
    }
    const size_t cuts[] = {15};
    br_chunk *m = merge_cut(s, 30, cuts, 1);
    br_buf b = ser_chunk(m);
    uint8_t *p = (uint8_t *)b.data;
    assert_int_equal(p[2] & 0x10, 0); /* XOR won: the record reads as version 2 too */
    p[1] = 2;
    br_chunk *d = deser_chunk(&b);
    assert_round_trip(d, s, 30);
    br_chunk_free(d);
    br_buf_free(&b);
    br_chunk_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_round_trips_random_doubles_many_seeds),
        cmocka_unit_test(test_chunk_round_trips_edge_values),
        cmocka_unit_test(test_chunk_round_trips_extreme_timestamps),
        cmocka_unit_test(test_chunk_round_trips_identical_values),
        cmocka_unit_test(test_chunk_round_trips_counters_with_resets),
        cmocka_unit_test(test_chunk_round_trips_values_switching_int_and_float),
        cmocka_unit_test(test_chunk_round_trips_runs_of_perfect_predictions),
        cmocka_unit_test(test_chunk_round_trips_one_sample_and_empty),
        cmocka_unit_test(test_chunk_seek_finds_first_sample_at_or_after),
        cmocka_unit_test(test_chunk_summary_equals_full_scan_on_random_data),
        cmocka_unit_test(test_chunk_summary_counts_resets_and_increase),
        cmocka_unit_test(test_chunk_summary_flags_nan_and_stale_and_ignores_them_for_min_max),
        cmocka_unit_test(test_chunk_full_at_sample_limit),
        cmocka_unit_test(test_chunk_full_at_byte_limit_for_noisy_gauges),
        cmocka_unit_test(test_chunk_freeze_keeps_content_and_shrinks),
        cmocka_unit_test(test_chunk_append_rejects_out_of_order_and_frozen),
        cmocka_unit_test(test_chunk_steady_counter_costs_under_a_quarter_byte),
        cmocka_unit_test(test_chunk_jittered_counter_costs_under_two_bytes),
        cmocka_unit_test(test_hchunk_round_trips_integer_histograms_many_seeds),
        cmocka_unit_test(test_hchunk_round_trips_float_histograms_many_seeds),
        cmocka_unit_test(test_hchunk_round_trips_idle_stretches),
        cmocka_unit_test(test_hchunk_writes_layout_only_when_it_changes),
        cmocka_unit_test(test_hchunk_round_trips_schema_custom_bounds_and_hint_changes),
        cmocka_unit_test(test_hchunk_round_trips_stale_markers),
        cmocka_unit_test(test_hchunk_seek_finds_first_sample_at_or_after),
        cmocka_unit_test(test_hchunk_full_and_freeze_keep_content),
        cmocka_unit_test(test_hchunk_append_rejects_inconsistent_or_oversized_layouts),
        cmocka_unit_test(test_chunk_serialize_round_trips_frozen_and_open_of_every_kind),
        cmocka_unit_test(test_chunk_deserialized_open_chunk_appends_byte_identical),
        cmocka_unit_test(test_chunk_deserialize_reads_consecutive_records),
        cmocka_unit_test(test_chunk_serialize_fails_cleanly_at_the_buffer_cap),
        cmocka_unit_test(test_chunk_deserialize_rejects_every_truncated_prefix),
        cmocka_unit_test(test_chunk_deserialize_rejects_unknown_kind_version_and_flags),
        cmocka_unit_test(test_chunk_deserialize_rejects_regular_flag_on_version_1_or_open),
        cmocka_unit_test(test_chunk_merge_round_trips_every_kind_regular_and_jittered),
        cmocka_unit_test(test_chunk_merge_round_trips_edge_values),
        cmocka_unit_test(test_chunk_merge_codes_growing_float_as_bit_deltas_and_smaller),
        cmocka_unit_test(test_chunk_merge_keeps_xor_for_random_gauges),
        cmocka_unit_test(test_chunk_merge_float_deltas_round_trip_edge_values),
        cmocka_unit_test(test_chunk_merge_float_deltas_round_trip_random_bit_patterns),
        cmocka_unit_test(test_chunk_merge_float_deltas_seek_finds_every_sample),
        cmocka_unit_test(test_chunk_deserialize_rejects_float_delta_flag_on_old_version_or_open),
        cmocka_unit_test(test_chunk_deserialize_loads_version_2_records),
        cmocka_unit_test(test_chunk_merge_round_trips_extreme_timestamps),
        cmocka_unit_test(test_chunk_merge_of_regular_counter_is_smaller_than_its_parts),
        cmocka_unit_test(test_chunk_merge_rejects_open_empty_and_overlapping_inputs),
        cmocka_unit_test(test_chunk_deserialize_rejects_counts_and_lengths_that_disagree),
        cmocka_unit_test(test_chunk_deserialize_rejects_nonzero_pad_bits),
        cmocka_unit_test(test_chunk_deserialize_rejects_summary_that_disagrees_with_samples),
        cmocka_unit_test(test_chunk_deserialize_survives_random_byte_corruption),
        cmocka_unit_test(test_hchunk_serialize_round_trips_frozen_and_open_of_every_kind),
        cmocka_unit_test(test_hchunk_deserialized_open_chunk_appends_byte_identical),
        cmocka_unit_test(test_hchunk_deserialize_rejects_every_truncated_prefix),
        cmocka_unit_test(test_hchunk_deserialize_rejects_summary_that_disagrees_with_samples),
        cmocka_unit_test(test_hchunk_deserialize_survives_random_byte_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
