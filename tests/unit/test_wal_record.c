/*
 * test_wal_record.c — unit tests for storage/wal_record: every record type
 * round-trips bit for bit, and malformed payloads (truncated, flipped,
 * trailing bytes, huge counts) are refused with BR_ECORRUPT, never a crash.
 */

/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "engine/core/err.h"
#include "storage/sample.h"
#include "storage/wal_record.h"

#include <math.h>
#include <string.h>

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

static const br_label labels_a[] = {
    {"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}};
static const br_label labels_b[] = {{"__name__", "up"}, {"instance", ""}};

static void encode_example_series(br_buf *b)
{
    const br_wal_series in[] = {
        {.ref = 7, .n_labels = 3, .labels = labels_a},
        {.ref = UINT64_MAX, .n_labels = 2, .labels = labels_b},
        {.ref = 0, .n_labels = 0, .labels = NULL},
    };
    assert_int_equal(br_wal_encode_series(b, in, 3, NULL), 0);
}

static void test_wal_record_series_round_trip(void **state)
{
    (void)state;
    br_buf b;
    br_buf_init(&b, 0);
    encode_example_series(&b);
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_wal_series *out;
    size_t n;
    assert_int_equal(br_wal_decode_series(b.data, b.len, &a, &out, &n, NULL), 0);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].ref, 7);
    assert_int_equal(out[0].n_labels, 3);
    assert_string_equal(out[0].labels[0].name, "__name__");
    assert_string_equal(out[0].labels[0].value, "http_requests_total");
    assert_string_equal(out[0].labels[2].name, "job");
    assert_string_equal(out[0].labels[2].value, "api");
    assert_true(out[1].ref == UINT64_MAX);
    assert_int_equal(out[1].n_labels, 2);
    assert_string_equal(out[1].labels[1].name, "instance");
    assert_string_equal(out[1].labels[1].value, "");
    assert_int_equal(out[2].ref, 0);
    assert_int_equal(out[2].n_labels, 0);
    br_arena_free(&a);
    br_buf_free(&b);
}

static void test_wal_record_samples_round_trip_keeps_bits(void **state)
{
    (void)state;
    const br_wal_sample in[] = {
        {.ref = 1000, .t = 1700000000000, .v = 1.5},
        {.ref = 999, .t = 1700000015000, .v = br_stale_nan()},
        {.ref = 0, .t = INT64_MIN, .v = -0.0},
        {.ref = UINT64_MAX, .t = INT64_MAX, .v = INFINITY},
        {.ref = 1001, .t = -5, .v = 1e-300},
    };
    br_buf b;
    br_buf_init(&b, 0);
    assert_int_equal(br_wal_encode_samples(&b, in, 5, NULL), 0);
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_wal_sample *out;
    size_t n;
    assert_int_equal(br_wal_decode_samples(b.data, b.len, &a, &out, &n, NULL), 0);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_true(out[i].ref == in[i].ref);
        assert_true(out[i].t == in[i].t);
        assert_true(bits_of(out[i].v) == bits_of(in[i].v));
    }
    assert_true(br_is_stale_nan(out[1].v));
    br_arena_free(&a);
    br_buf_free(&b);
}

static void test_wal_record_samples_are_compact(void **state)
{
    (void)state;
    br_wal_sample in[100];
    for (int i = 0; i < 100; i++) {
        in[i] = (br_wal_sample){.ref = 5000 + (uint64_t)i, .t = 1700000000000, .v = i};
    }
    br_buf b;
    br_buf_init(&b, 0);
    assert_int_equal(br_wal_encode_samples(&b, in, 100, NULL), 0);
    /* count 1 + base ref 2 + base t 6, then per entry 2 + 1 + 8 bytes. */
    assert_true(b.len <= 1 + 2 + 6 + 100 * 11);
    br_buf_free(&b);
}

static void test_wal_record_empty_lists_round_trip(void **state)
{
    (void)state;
    br_buf b;
    br_buf_init(&b, 0);
    br_arena a;
    br_arena_init(&a, 0, 0);
    size_t n = 99;

    assert_int_equal(br_wal_encode_samples(&b, NULL, 0, NULL), 0);
    assert_int_equal(b.len, 1);
    br_wal_sample *s;
    assert_int_equal(br_wal_decode_samples(b.data, b.len, &a, &s, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_null(s);

    br_buf_reset(&b);
    assert_int_equal(br_wal_encode_tombstones(&b, NULL, 0, NULL), 0);
    uint64_t *refs;
    assert_int_equal(br_wal_decode_tombstones(b.data, b.len, &a, &refs, &n, NULL), 0);
    assert_int_equal(n, 0);

    br_buf_reset(&b);
    assert_int_equal(br_wal_encode_histograms(&b, NULL, 0, NULL), 0);
    br_wal_histogram *h;
    assert_int_equal(br_wal_decode_histograms(b.data, b.len, &a, &h, &n, NULL), 0);
    assert_int_equal(n, 0);

    br_buf_reset(&b);
    assert_int_equal(br_wal_encode_series(&b, NULL, 0, NULL), 0);
    br_wal_series *se;
    assert_int_equal(br_wal_decode_series(b.data, b.len, &a, &se, &n, NULL), 0);
    assert_int_equal(n, 0);
    br_arena_free(&a);
    br_buf_free(&b);
}

static void test_wal_record_tombstones_round_trip(void **state)
{
    (void)state;
    const uint64_t in[] = {3, 4, 5, 1000000, 2, UINT64_MAX, 0};
    br_buf b;
    br_buf_init(&b, 0);
    assert_int_equal(br_wal_encode_tombstones(&b, in, 7, NULL), 0);
    br_arena a;
    br_arena_init(&a, 0, 0);
    uint64_t *out;
    size_t n;
    assert_int_equal(br_wal_decode_tombstones(b.data, b.len, &a, &out, &n, NULL), 0);
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++) {
        assert_true(out[i] == in[i]);
    }
    br_arena_free(&a);
    br_buf_free(&b);
}

/* An integer histogram with positive and negative buckets, a float one
 * with fractional counts, a custom-bucket (NHCB) one and a stale marker. */
static const br_span pos_spans[] = {{-2, 2}, {2, 3}};
static const double pos_int[] = {3, 5, 1, 3, 2};
static const br_span neg_spans[] = {{0, 1}};
static const double neg_int[] = {4};
static const double pos_float[] = {0.5, 1.25, 0, 3, 1e9};
static const br_span nhcb_spans[] = {{0, 3}};
static const double nhcb_counts[] = {1, 0, 7};
static const double nhcb_bounds[] = {0.1, 0.5, 2.5};

static void example_histograms(br_wal_histogram out[4])
{
    memset(out, 0, 4 * sizeof(*out));
    out[0] = (br_wal_histogram){.ref = 42,
                                .t = 1700000000000,
                                .h = {.schema = 3,
                                      .is_float = false,
                                      .reset_hint = BR_HIST_RESET_NO,
                                      .zero_threshold = 1e-128,
                                      .count = 18,
                                      .sum = 123.25,
                                      .zero_count = 0,
                                      .n_pos_spans = 2,
                                      .n_neg_spans = 1,
                                      .n_pos = 5,
                                      .n_neg = 1,
                                      .pos_spans = pos_spans,
                                      .neg_spans = neg_spans,
                                      .pos_buckets = pos_int,
                                      .neg_buckets = neg_int}};
    out[1] = (br_wal_histogram){.ref = 41,
                                .t = 1699999999000,
                                .h = {.schema = -4,
                                      .is_float = true,
                                      .reset_hint = BR_HIST_RESET_GAUGE,
                                      .zero_threshold = 0.001,
                                      .count = 5.75,
                                      .sum = -2.5,
                                      .zero_count = 0.5,
                                      .n_pos_spans = 2,
                                      .n_pos = 5,
                                      .pos_spans = pos_spans,
                                      .pos_buckets = pos_float}};
    out[2] = (br_wal_histogram){.ref = 43,
                                .t = 1700000001000,
                                .h = {.schema = -53,
                                      .is_float = false,
                                      .reset_hint = BR_HIST_RESET_YES,
                                      .count = 8,
                                      .sum = 4,
                                      .n_pos_spans = 1,
                                      .n_pos = 3,
                                      .n_custom = 3,
                                      .pos_spans = nhcb_spans,
                                      .pos_buckets = nhcb_counts,
                                      .custom_values = nhcb_bounds}};
    out[3] = (br_wal_histogram){
        .ref = 44, .t = 1700000002000, .h = {.schema = 0, .sum = br_stale_nan(), .count = -0.0}};
}

static void assert_hist_equal(const br_histogram *x, const br_histogram *y)
{
    assert_int_equal(x->schema, y->schema);
    assert_int_equal(x->is_float, y->is_float);
    assert_int_equal(x->reset_hint, y->reset_hint);
    assert_true(bits_of(x->zero_threshold) == bits_of(y->zero_threshold));
    assert_true(bits_of(x->count) == bits_of(y->count));
    assert_true(bits_of(x->sum) == bits_of(y->sum));
    assert_true(bits_of(x->zero_count) == bits_of(y->zero_count));
    assert_int_equal(x->n_pos_spans, y->n_pos_spans);
    assert_int_equal(x->n_neg_spans, y->n_neg_spans);
    assert_int_equal(x->n_pos, y->n_pos);
    assert_int_equal(x->n_neg, y->n_neg);
    assert_int_equal(x->n_custom, y->n_custom);
    for (uint32_t i = 0; i < x->n_pos_spans; i++) {
        assert_int_equal(x->pos_spans[i].offset, y->pos_spans[i].offset);
        assert_int_equal(x->pos_spans[i].length, y->pos_spans[i].length);
    }
    for (uint32_t i = 0; i < x->n_neg_spans; i++) {
        assert_int_equal(x->neg_spans[i].offset, y->neg_spans[i].offset);
        assert_int_equal(x->neg_spans[i].length, y->neg_spans[i].length);
    }
    for (uint32_t i = 0; i < x->n_pos; i++) {
        assert_true(bits_of(x->pos_buckets[i]) == bits_of(y->pos_buckets[i]));
    }
    for (uint32_t i = 0; i < x->n_neg; i++) {
        assert_true(bits_of(x->neg_buckets[i]) == bits_of(y->neg_buckets[i]));
    }
    for (uint32_t i = 0; i < x->n_custom; i++) {
        assert_true(bits_of(x->custom_values[i]) == bits_of(y->custom_values[i]));
    }
}

static void test_wal_record_histograms_round_trip_all_fields(void **state)
{
    (void)state;
    br_wal_histogram in[4];
    example_histograms(in);
    br_buf b;
    br_buf_init(&b, 0);
    assert_int_equal(br_wal_encode_histograms(&b, in, 4, NULL), 0);
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_wal_histogram *out;
    size_t n;
    assert_int_equal(br_wal_decode_histograms(b.data, b.len, &a, &out, &n, NULL), 0);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        assert_true(out[i].ref == in[i].ref);
        assert_true(out[i].t == in[i].t);
        assert_hist_equal(&out[i].h, &in[i].h);
    }
    assert_true(br_is_stale_nan(out[3].h.sum));
    br_arena_free(&a);
    br_buf_free(&b);
}

static void test_wal_record_integer_histograms_are_compact(void **state)
{
    (void)state;
    br_wal_histogram in[4];
    example_histograms(in);
    br_buf b;
    br_buf_init(&b, 0);
    assert_int_equal(br_wal_encode_histograms(&b, in, 1, NULL), 0);
    /* Counts and 6 buckets as varints: about 48 bytes; as doubles it would be 100+. */
    assert_true(b.len <= 50);
    /* A float histogram whose counts happen to be whole keeps is_float. */
    in[0].h.is_float = true;
    br_buf_reset(&b);
    assert_int_equal(br_wal_encode_histograms(&b, in, 1, NULL), 0);
    assert_true(b.len <= 50);
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_wal_histogram *out;
    size_t n;
    assert_int_equal(br_wal_decode_histograms(b.data, b.len, &a, &out, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_hist_equal(&out[0].h, &in[0].h);
    assert_true(out[0].h.is_float);
    br_arena_free(&a);
    br_buf_free(&b);
}

static void test_wal_record_histogram_span_mismatch_is_rejected(void **state)
{
    (void)state;
    br_wal_histogram in[4];
    example_histograms(in);
    in[0].h.n_pos = 4; /* spans cover 5 buckets */
    br_buf b;
    br_buf_init(&b, 0);
    assert_int_equal(br_buf_puts(&b, "keep"), 0);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_wal_encode_histograms(&b, in, 4, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "span lengths add up to 5"));
    assert_int_equal(b.len, 4); /* left as it was */
    assert_string_equal(br_buf_str(&b), "keep");
    br_buf_free(&b);
}

static void test_wal_record_encode_respects_buffer_cap(void **state)
{
    (void)state;
    br_buf b;
    br_buf_init(&b, 16);
    const br_wal_series in[] = {{.ref = 1, .n_labels = 3, .labels = labels_a}};
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_wal_encode_series(&b, in, 1, &err), BR_ELIMIT);
    assert_int_equal(b.len, 0);
    assert_non_null(strstr(err.msg, "cap"));
    br_buf_free(&b);
}

typedef int (*decode_fn)(const void *p, size_t len, br_arena *a, br_err *err);

static int dec_series(const void *p, size_t len, br_arena *a, br_err *err)
{
    br_wal_series *o;
    size_t n;
    return br_wal_decode_series(p, len, a, &o, &n, err);
}

static int dec_samples(const void *p, size_t len, br_arena *a, br_err *err)
{
    br_wal_sample *o;
    size_t n;
    return br_wal_decode_samples(p, len, a, &o, &n, err);
}

static int dec_hists(const void *p, size_t len, br_arena *a, br_err *err)
{
    br_wal_histogram *o;
    size_t n;
    return br_wal_decode_histograms(p, len, a, &o, &n, err);
}

static int dec_tombs(const void *p, size_t len, br_arena *a, br_err *err)
{
    uint64_t *o;
    size_t n;
    return br_wal_decode_tombstones(p, len, a, &o, &n, err);
}

/* Every strict prefix of a valid payload must be refused as corrupt; each
 * prefix is copied to its own heap block so ASan sees any overread. */
static void check_all_prefixes_corrupt(const br_buf *b, decode_fn fn)
{
    br_arena a;
    br_arena_init(&a, 0, 0);
    for (size_t len = 0; len < b->len; len++) {
        unsigned char *copy = test_malloc(len + 1);
        memcpy(copy, b->data, len);
        br_err err;
        br_err_clear(&err);
        int rc = fn(copy, len, &a, &err);
        assert_int_equal(rc, BR_ECORRUPT);
        assert_true(err.msg[0] != '\0');
        test_free(copy);
        br_arena_reset(&a);
    }
    br_arena_free(&a);
}

static void test_wal_record_truncated_payloads_are_corrupt(void **state)
{
    (void)state;
    br_buf b;
    br_buf_init(&b, 0);
    encode_example_series(&b);
    check_all_prefixes_corrupt(&b, dec_series);

    br_buf_reset(&b);
    const br_wal_sample s[] = {{1, 2, 3.0}, {5, 9, 4.0}};
    assert_int_equal(br_wal_encode_samples(&b, s, 2, NULL), 0);
    check_all_prefixes_corrupt(&b, dec_samples);

    br_buf_reset(&b);
    br_wal_histogram h[4];
    example_histograms(h);
    assert_int_equal(br_wal_encode_histograms(&b, h, 4, NULL), 0);
    check_all_prefixes_corrupt(&b, dec_hists);

    br_buf_reset(&b);
    const uint64_t t[] = {1, 300, 70000};
    assert_int_equal(br_wal_encode_tombstones(&b, t, 3, NULL), 0);
    check_all_prefixes_corrupt(&b, dec_tombs);
    br_buf_free(&b);
}

static void test_wal_record_trailing_bytes_are_corrupt(void **state)
{
    (void)state;
    br_buf b;
    br_buf_init(&b, 0);
    const br_wal_sample s[] = {{1, 2, 3.0}};
    assert_int_equal(br_wal_encode_samples(&b, s, 1, NULL), 0);
    assert_int_equal(br_buf_putc(&b, 0), 0);
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(dec_samples(b.data, b.len, &a, &err), BR_ECORRUPT);
    assert_non_null(strstr(err.msg, "trailing bytes"));
    br_arena_free(&a);
    br_buf_free(&b);
}

static void test_wal_record_huge_count_is_corrupt_without_allocating(void **state)
{
    (void)state;
    /* count = 2^62 in a 9-byte payload. */
    const unsigned char p[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40};
    br_arena a;
    br_arena_init(&a, 4096, 4096);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(dec_samples(p, sizeof(p), &a, &err), BR_ECORRUPT);
    assert_non_null(strstr(err.msg, "count"));
    assert_int_equal(dec_series(p, sizeof(p), &a, NULL), BR_ECORRUPT);
    assert_int_equal(dec_hists(p, sizeof(p), &a, NULL), BR_ECORRUPT);
    assert_int_equal(dec_tombs(p, sizeof(p), &a, NULL), BR_ECORRUPT);
    assert_true(a.used_bytes == 0);
    br_arena_free(&a);
}

static void test_wal_record_label_with_nul_is_corrupt(void **state)
{
    (void)state;
    /* one series, ref 1, delta 0, one label "a\0" = "b". */
    const unsigned char p[] = {1, 1, 0, 1, 2, 'a', 0, 1, 'b'};
    br_arena a;
    br_arena_init(&a, 0, 0);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(dec_series(p, sizeof(p), &a, &err), BR_ECORRUPT);
    assert_non_null(strstr(err.msg, "NUL"));
    br_arena_free(&a);
}

static void test_wal_record_flipped_bytes_never_crash(void **state)
{
    (void)state;
    br_wal_histogram h[4];
    example_histograms(h);
    br_buf b;
    br_buf_init(&b, 0);
    assert_int_equal(br_wal_encode_histograms(&b, h, 4, NULL), 0);
    br_buf sb;
    br_buf_init(&sb, 0);
    encode_example_series(&sb);
    br_arena a;
    br_arena_init(&a, 0, 1 << 20);
    int corrupt = 0;
    const unsigned char masks[] = {0x01, 0x80, 0xff};
    for (size_t m = 0; m < sizeof(masks); m++) {
        for (size_t i = 0; i < b.len; i++) {
            b.data[i] ^= (char)masks[m];
            int rc = dec_hists(b.data, b.len, &a, NULL);
            assert_true(rc == 0 || rc == BR_ECORRUPT);
            corrupt += rc == BR_ECORRUPT;
            b.data[i] ^= (char)masks[m];
            br_arena_reset(&a);
        }
        for (size_t i = 0; i < sb.len; i++) {
            sb.data[i] ^= (char)masks[m];
            int rc = dec_series(sb.data, sb.len, &a, NULL);
            assert_true(rc == 0 || rc == BR_ECORRUPT);
            sb.data[i] ^= (char)masks[m];
            br_arena_reset(&a);
        }
    }
    assert_true(corrupt > 0);
    br_arena_free(&a);
    br_buf_free(&b);
    br_buf_free(&sb);
}

static void test_wal_record_arena_cap_is_limit(void **state)
{
    (void)state;
    br_wal_sample in[1000];
    for (int i = 0; i < 1000; i++) {
        in[i] = (br_wal_sample){.ref = (uint64_t)i, .t = i, .v = i};
    }
    br_buf b;
    br_buf_init(&b, 0);
    assert_int_equal(br_wal_encode_samples(&b, in, 1000, NULL), 0);
    br_arena a;
    br_arena_init(&a, 1024, 1024);
    br_wal_sample dummy = {0};
    br_wal_sample *out = &dummy; /* must be cleared on error */
    size_t n = 5;
    assert_int_equal(br_wal_decode_samples(b.data, b.len, &a, &out, &n, NULL), BR_ELIMIT);
    assert_null(out);
    assert_int_equal(n, 0);
    br_arena_free(&a);
    br_buf_free(&b);
}

static void test_wal_record_type_names(void **state)
{
    (void)state;
    assert_string_equal(br_wal_record_type_name(BR_WAL_REC_SERIES), "series");
    assert_string_equal(br_wal_record_type_name(BR_WAL_REC_SAMPLES), "samples");
    assert_string_equal(br_wal_record_type_name(BR_WAL_REC_HISTOGRAMS), "histograms");
    assert_string_equal(br_wal_record_type_name(BR_WAL_REC_TOMBSTONES), "tombstones");
    assert_string_equal(br_wal_record_type_name(70), "extension");
    assert_string_equal(br_wal_record_type_name(0), "unknown");
    assert_string_equal(br_wal_record_type_name(200), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wal_record_series_round_trip),
        cmocka_unit_test(test_wal_record_samples_round_trip_keeps_bits),
        cmocka_unit_test(test_wal_record_samples_are_compact),
        cmocka_unit_test(test_wal_record_empty_lists_round_trip),
        cmocka_unit_test(test_wal_record_tombstones_round_trip),
        cmocka_unit_test(test_wal_record_histograms_round_trip_all_fields),
        cmocka_unit_test(test_wal_record_integer_histograms_are_compact),
        cmocka_unit_test(test_wal_record_histogram_span_mismatch_is_rejected),
        cmocka_unit_test(test_wal_record_encode_respects_buffer_cap),
        cmocka_unit_test(test_wal_record_truncated_payloads_are_corrupt),
        cmocka_unit_test(test_wal_record_trailing_bytes_are_corrupt),
        cmocka_unit_test(test_wal_record_huge_count_is_corrupt_without_allocating),
        cmocka_unit_test(test_wal_record_label_with_nul_is_corrupt),
        cmocka_unit_test(test_wal_record_flipped_bytes_never_crash),
        cmocka_unit_test(test_wal_record_arena_cap_is_limit),
        cmocka_unit_test(test_wal_record_type_names),
    };
    return cmocka_run_group_tests_name("wal_record", tests, NULL, NULL);
}
