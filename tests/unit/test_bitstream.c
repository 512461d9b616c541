/*
 * test_bitstream.c — unit tests for storage/bitstream: raw fields of every
 * width, the Rice-with-escape code, bit-level varints, shrinking, and the
 * reader's bounds checks. Random cases use a seeded PRNG so failures repeat.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/core/alloc.h"
#include "storage/bitstream.h"

#include <string.h>

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t low_bits(uint64_t v, unsigned n)
{
    return n == 64 ? v : (v & ((UINT64_C(1) << n) - 1));
}

static void test_bitstream_round_trips_random_field_widths(void **state)
{
    (void)state;
    enum { N = 2000 };
    static uint64_t vals[N];
    static unsigned widths[N];
    for (uint64_t seed = 1; seed <= 20; seed++) {
        uint64_t s = seed;
        br_bitw w;
        br_bitw_init(&w);
        uint64_t total = 0;
        for (int i = 0; i < N; i++) {
            widths[i] = (unsigned)(rng_next(&s) % 65);
            vals[i] = rng_next(&s); /* high bits beyond the width must be ignored */
            br_bitw_write(&w, vals[i], widths[i]);
            total += widths[i];
        }
        assert_int_equal(w.nbits, total);
        br_bitr r;
        br_bitr_init(&r, w.buf, w.nbits);
        for (int i = 0; i < N; i++) {
            assert_int_equal(br_bitr_read(&r, widths[i]), low_bits(vals[i], widths[i]));
        }
        assert_false(r.overrun);
        assert_int_equal(r.pos, total);
        br_bitw_free(&w);
    }
}

static void test_bitstream_bits_are_msb_first(void **state)
{
    (void)state;
    br_bitw w;
    br_bitw_init(&w);
    br_bitw_bit(&w, 1);
    br_bitw_write(&w, 0x5, 3); /* 101 */
    br_bitw_write(&w, 0xf0, 8);
    assert_int_equal(w.nbits, 12);
    assert_int_equal(br_bitw_len(&w), 2);
    assert_int_equal(w.buf[0], 0xdf); /* 1101 1111 */
    assert_int_equal(w.buf[1], 0x00); /* 0000, then zero padding */
    br_bitw_free(&w);
}

static void test_bitstream_rice_round_trips_values_escapes_and_special(void **state)
{
    (void)state;
    uint64_t s = 42;
    br_bitw w;
    br_bitw_init(&w);
    enum { N = 5000 };
    static uint64_t vals[N];
    static unsigned ks[N];
    for (int i = 0; i < N; i++) {
        ks[i] = (unsigned)(rng_next(&s) % (BR_RICE_MAX_K + 1));
        unsigned shift = (unsigned)(rng_next(&s) % 64);
        vals[i] = rng_next(&s) >> shift;
        if (i % 7 == 0) {
            vals[i] = UINT64_MAX; /* the longest escape */
        }
        if (i % 11 == 0) {
            br_bitw_rice_special(&w);
            continue;
        }
        br_bitw_rice(&w, vals[i], ks[i]);
    }
    br_bitr r;
    br_bitr_init(&r, w.buf, w.nbits);
    for (int i = 0; i < N; i++) {
        uint64_t u = 0;
        int rc = br_bitr_rice(&r, ks[i], &u);
        if (i % 11 == 0) {
            assert_int_equal(rc, BR_RICE_SPECIAL);
            continue;
        }
        assert_int_equal(rc, BR_RICE_VALUE);
        assert_int_equal(u, vals[i]);
    }
    assert_int_equal(r.pos, w.nbits);
    br_bitw_free(&w);
}

static void test_bitstream_rice_costs_match_the_definition(void **state)
{
    (void)state;
    br_bitw w;
    br_bitw_init(&w);
    br_bitw_rice(&w, 0, 0); /* "0" */
    assert_int_equal(w.nbits, 1);
    br_bitw_rice(&w, 5, 1); /* q = 2: "110" + "1" */
    assert_int_equal(w.nbits, 5);
    br_bitw_rice(&w, 1000, 0); /* escape: 12 ones + 6 + 9 */
    assert_int_equal(w.nbits, 5 + 12 + 6 + 9);
    br_bitw_rice_special(&w);
    assert_int_equal(w.nbits, 32 + 18);
    br_bitw_free(&w);
}

static void test_bitstream_rice_rejects_escape_the_writer_never_makes(void **state)
{
    (void)state;
    br_bitw w;
    br_bitw_init(&w);
    /* An escape holding u = 8 (L = 3): fine for k = 0 only if 8 >= QMAX,
     * which it is not, so a reader must reject it. */
    br_bitw_write(&w, (UINT64_C(1) << BR_RICE_QMAX) - 1, BR_RICE_QMAX);
    br_bitw_write(&w, 3, 6);
    br_bitw_write(&w, 0, 3);
    br_bitr r;
    br_bitr_init(&r, w.buf, w.nbits);
    uint64_t u;
    assert_int_equal(br_bitr_rice(&r, 0, &u), BR_RICE_BAD);
    br_bitw_free(&w);
}

static void test_bitstream_uvarint_round_trips_extremes(void **state)
{
    (void)state;
    static const uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX,
                                    UINT64_C(1) << 63, UINT64_MAX};
    const size_t n = sizeof(vals) / sizeof(vals[0]);
    br_bitw w;
    br_bitw_init(&w);
    br_bitw_bit(&w, 1); /* misalign on purpose */
    for (size_t i = 0; i < n; i++) {
        br_bitw_uvarint(&w, vals[i]);
    }
    br_bitr r;
    br_bitr_init(&r, w.buf, w.nbits);
    assert_int_equal(br_bitr_bit(&r), 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t u = 0;
        assert_true(br_bitr_uvarint(&r, &u));
        assert_int_equal(u, vals[i]);
    }
    assert_int_equal(r.pos, w.nbits);
    /* 300 takes two groups. */
    br_bitw_free(&w);
    br_bitw_init(&w);
    br_bitw_uvarint(&w, 300);
    assert_int_equal(w.nbits, 16);
    br_bitw_free(&w);
}

static void test_bitstream_uvarint_rejects_overlong_and_truncated(void **state)
{
    (void)state;
    br_bitw w;
    br_bitw_init(&w);
    for (int i = 0; i < 11; i++) {
        br_bitw_write(&w, 0x80, 8);
    }
    br_bitr r;
    br_bitr_init(&r, w.buf, w.nbits);
    uint64_t u;
    assert_false(br_bitr_uvarint(&r, &u));
    /* The same bytes cut after two groups: truncated. */
    br_bitr_init(&r, w.buf, 16);
    assert_false(br_bitr_uvarint(&r, &u));
    assert_true(r.overrun);
    br_bitw_free(&w);
}

static void test_bitstream_reader_flags_overrun_and_never_reads_past(void **state)
{
    (void)state;
    br_bitw w;
    br_bitw_init(&w);
    br_bitw_write(&w, 0x3ff, 10);
    br_bitw_shrink(&w); /* exactly 2 bytes: any read past them would show in ASan */
    br_bitr r;
    br_bitr_init(&r, w.buf, w.nbits);
    assert_int_equal(br_bitr_read(&r, 6), 0x3f);
    assert_false(r.overrun);
    /* 4 bits remain; asking for 8 returns them in the top bits and flags. */
    assert_int_equal(br_bitr_read(&r, 8), 0xf0);
    assert_true(r.overrun);
    assert_int_equal(r.pos, 10);
    assert_int_equal(br_bitr_bit(&r), 0);
    uint64_t u;
    assert_int_equal(br_bitr_rice(&r, 0, &u), BR_RICE_BAD);
    br_bitw_free(&w);
}

static void test_bitstream_unary_prefix_stops_at_end(void **state)
{
    (void)state;
    br_bitw w;
    br_bitw_init(&w);
    br_bitw_write(&w, 0x7, 3); /* "111" and nothing after: no terminating zero */
    br_bitr r;
    br_bitr_init(&r, w.buf, w.nbits);
    uint64_t u;
    assert_int_equal(br_bitr_rice(&r, 0, &u), BR_RICE_BAD);
    assert_true(r.overrun);
    br_bitw_free(&w);
}

static void test_bitstream_shrink_keeps_content_and_allows_more_writes(void **state)
{
    (void)state;
    uint64_t s = 7;
    br_bitw w;
    br_bitw_init(&w);
    for (int i = 0; i < 100; i++) {
        br_bitw_write(&w, rng_next(&s), 37);
    }
    br_bitw_shrink(&w);
    assert_int_equal(w.cap, br_bitw_len(&w));
    assert_int_equal(w.cap, (100 * 37 + 7) / 8);
    br_bitw_write(&w, 0x1234, 16);
    s = 7;
    br_bitr r;
    br_bitr_init(&r, w.buf, w.nbits);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(br_bitr_read(&r, 37), low_bits(rng_next(&s), 37));
    }
    assert_int_equal(br_bitr_read(&r, 16), 0x1234);
    assert_false(r.overrun);
    br_bitw_free(&w);

    br_bitw_init(&w);
    br_bitw_shrink(&w); /* empty writer: nothing allocated */
    assert_null(w.buf);
    br_bitw_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitstream_round_trips_random_field_widths),
        cmocka_unit_test(test_bitstream_bits_are_msb_first),
        cmocka_unit_test(test_bitstream_rice_round_trips_values_escapes_and_special),
        cmocka_unit_test(test_bitstream_rice_costs_match_the_definition),
        cmocka_unit_test(test_bitstream_rice_rejects_escape_the_writer_never_makes),
        cmocka_unit_test(test_bitstream_uvarint_round_trips_extremes),
        cmocka_unit_test(test_bitstream_uvarint_rejects_overlong_and_truncated),
        cmocka_unit_test(test_bitstream_reader_flags_overrun_and_never_reads_past),
        cmocka_unit_test(test_bitstream_unary_prefix_stops_at_end),
        cmocka_unit_test(test_bitstream_shrink_keeps_content_and_allows_more_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
