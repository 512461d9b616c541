/*
 * test_core.c — unit tests for engine/core: errors, arena caps, capped
 * buffers, durations, hashing, CRC32C and varints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/core/alloc.h"
#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "engine/core/civil.h"
#include "engine/core/clock.h"
#include "engine/core/crc32c.h"
#include "engine/core/err.h"
#include "engine/core/fileio.h"
#include "engine/core/hash.h"
#include "engine/core/log.h"
#include "engine/core/numfmt.h"
#include "engine/core/utf8.h"
#include "tests/helpers/testutil.h"
#include "engine/core/varint.h"

#include <math.h>
#include <string.h>

static void test_err_names_and_positions(void **state)
{
    (void)state;
    assert_string_equal(br_err_name(BR_EPARSE), "BR_EPARSE");
    assert_string_equal(br_strerror(BR_ELIMIT), "limit exceeded");
    assert_string_equal(br_err_name(12345), "BR_UNKNOWN");
    br_err err;
    br_err_clear(&err);
    int rc = br_err_setpos(&err, BR_EPARSE, "a.yml", 3, 7, "unknown key %s", "foo");
    assert_int_equal(rc, BR_EPARSE);
    char out[512];
    assert_string_equal(br_err_format(&err, out, sizeof(out)), "a.yml:3:7: unknown key foo");
    br_err_prefix(&err, "loading %s", "slos");
    assert_string_equal(err.msg, "loading slos: unknown key foo");
    assert_int_equal(br_err_set(NULL, BR_EIO, "x"), BR_EIO);
}

static void test_arena_cap_returns_null(void **state)
{
    (void)state;
    br_arena a;
    br_arena_init(&a, 1024, 4096);
    int got = 0;
    for (int i = 0; i < 100; i++) {
        if (br_arena_alloc(&a, 100) != NULL) {
            got++;
        }
    }
    assert_true(got > 0 && got < 100);
    assert_null(br_arena_alloc(&a, 1 << 20));
    br_arena_free(&a);

    br_arena_init(&a, 0, 0);
    char *s = br_arena_printf(&a, "%s-%d", "x", 42);
    assert_string_equal(s, "x-42");
    void *big = br_arena_alloc(&a, 1 << 20);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % 16, 0);
    br_arena_reset(&a);
    br_arena_free(&a);
}

static void test_buf_cap_is_enforced(void **state)
{
    (void)state;
    br_buf b;
    br_buf_init(&b, 8);
    assert_int_equal(br_buf_puts(&b, "12345"), 0);
    assert_int_equal(br_buf_puts(&b, "6789"), BR_ELIMIT);
    assert_string_equal(br_buf_str(&b), "12345");
    assert_int_equal(br_buf_printf(&b, "%d", 678), 0);
    assert_string_equal(br_buf_str(&b), "12345678");
    size_t len = 0;
    char *p = br_buf_take(&b, &len);
    assert_int_equal(len, 8);
    br_free(p);
    br_buf_free(&b);
}

static void test_duration_parse_and_format(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_int_equal(br_parse_duration("1h30m", &ms), 0);
    assert_int_equal(ms, 90 * 60 * 1000);
    assert_int_equal(br_parse_duration("30d", &ms), 0);
    assert_int_equal(ms, 30LL * 86400 * 1000);
    assert_int_equal(br_parse_duration("1m500ms", &ms), 0);
    assert_int_equal(ms, 60500);
    assert_int_equal(br_parse_duration("0", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(br_parse_duration("1.5h", &ms), BR_EPARSE);
    assert_int_equal(br_parse_duration("5m1h", &ms), BR_EPARSE);
    assert_int_equal(br_parse_duration("", &ms), BR_EPARSE);
    assert_int_equal(br_parse_duration("10x", &ms), BR_EPARSE);
    char out[64];
    assert_string_equal(br_format_duration(90 * 60 * 1000, out, sizeof(out)), "1h30m");
    assert_string_equal(br_format_duration(7LL * 86400 * 1000, out, sizeof(out)), "1w");
    assert_string_equal(br_format_rfc3339_ms(1435781451781LL, out, sizeof(out)),
                        "2015-07-01T20:10:51.781Z");
}

static void test_crc32c_known_vector(void **state)
{
    (void)state;
    /* The CRC-32C check value of "123456789" is 0xE3069283. */
    assert_int_equal(br_crc32c(0, "123456789", 9), 0xE3069283u);
    uint32_t part = br_crc32c(0, "1234", 4);
    assert_int_equal(br_crc32c(part, "56789", 5), 0xE3069283u);
}

static void test_fnv1a_matches_alertmanager_constants(void **state)
{
    (void)state;
    /* FNV-1a 64 of the empty input is the offset basis; of "a" a known value. */
    assert_true(br_fnv1a64(BR_FNV1A64_INIT, "", 0) == 14695981039346656037ULL);
    assert_true(br_fnv1a64(BR_FNV1A64_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
    assert_true(br_hash64("abc", 3, 0) == br_hash64("abc", 3, 0));
    assert_true(br_hash64("abc", 3, 0) != br_hash64("abd", 3, 0));
}

static void test_varint_round_trip_and_truncation(void **state)
{
    (void)state;
    unsigned char buf[BR_VARINT_MAX];
    const int64_t vals[] = {0, 1, -1, 63, -64, 300, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        size_t n = br_varint_put(buf, vals[i]);
        int64_t back = 0;
        assert_int_equal(br_varint_get(buf, buf + n, &back), n);
        assert_true(back == vals[i]);
        if (n > 1) {
            assert_int_equal(br_varint_get(buf, buf + n - 1, &back), 0);
        }
    }
    unsigned char overlong[11];
    memset(overlong, 0xff, sizeof(overlong));
    uint64_t u;
    assert_int_equal(br_uvarint_get(overlong, overlong + sizeof(overlong), &u), 0);
}

static void test_log_quote_escapes(void **state)
{
    (void)state;
    char out[64];
    assert_string_equal(br_log_quote("a \"b\"\n", out, sizeof(out)), "\"a \\\"b\\\"\\n\"");
    br_log_level l;
    assert_int_equal(br_log_parse_level("warn", &l), 0);
    assert_int_equal(l, BR_LOG_WARN);
    assert_int_equal(br_log_parse_level("loud", &l), BR_EINVAL);
}

static void test_format_float_matches_prometheus(void **state)
{
    (void)state;
    char out[BR_FLOAT_BUF];
    assert_string_equal(br_format_float(2, out, sizeof(out)), "2");
    assert_string_equal(br_format_float(0.005, out, sizeof(out)), "0.005");
    assert_string_equal(br_format_float(1e-7, out, sizeof(out)), "1e-07");
    assert_string_equal(br_format_float(1.5e21, out, sizeof(out)), "1.5e+21");
    assert_string_equal(br_format_float(1e20, out, sizeof(out)), "100000000000000000000");
    assert_string_equal(br_format_float(-1234.5678, out, sizeof(out)), "-1234.5678");
    assert_string_equal(br_format_float(0.1 + 0.2, out, sizeof(out)), "0.30000000000000004");
    assert_string_equal(br_format_float(1795761335.534, out, sizeof(out)), "1795761335.534");
    assert_string_equal(br_format_float(0.000001, out, sizeof(out)), "0.000001");
    assert_string_equal(br_format_float(NAN, out, sizeof(out)), "NaN");
    assert_string_equal(br_format_float(-INFINITY, out, sizeof(out)), "-Inf");
    assert_string_equal(br_format_float(INFINITY, out, sizeof(out)), "+Inf");
}

static void test_utf8_decode_rejects_what_go_rejects(void **state)
{
    (void)state;
    size_t w = 0;
    assert_int_equal(br_utf8_decode("a", 1, &w), 'a');
    assert_int_equal(w, 1);
    assert_int_equal(br_utf8_decode("\xc3\xa9", 2, &w), 0xe9);
    assert_int_equal(w, 2);
    assert_int_equal(br_utf8_decode("\xf0\x9f\x94\xa5", 4, &w), 0x1f525);
    assert_int_equal(w, 4);
    assert_int_equal(br_utf8_decode("\xc0\xaf", 2, &w), -1);     /* overlong */
    assert_int_equal(w, 1);
    assert_int_equal(br_utf8_decode("\xed\xa0\x80", 3, &w), -1); /* surrogate */
    assert_int_equal(br_utf8_decode("\xf4\x90\x80\x80", 4, &w), -1); /* > U+10FFFF */
    assert_int_equal(br_utf8_decode("\xe2\x82", 2, &w), -1);      /* truncated */
    assert_int_equal(br_utf8_decode("", 0, &w), -1);
    assert_int_equal(w, 0);
    unsigned char b[4];
    assert_int_equal(br_utf8_encode(0x1f525, b), 4);
    assert_memory_equal(b, "\xf0\x9f\x94\xa5", 4);
    assert_int_equal(br_utf8_encode(0xd800, b), 0);
    assert_int_equal(br_utf8_encode(0x110000, b), 0);
    for (uint32_t cp = 1; cp < 0x110000; cp += 97) {
        size_t n = br_utf8_encode(cp, b);
        if (n == 0) {
            continue;
        }
        assert_int_equal(br_utf8_decode(b, n, &w), (int32_t)cp);
        assert_int_equal(w, n);
    }
}

static void test_civil_days_known_dates_and_round_trip(void **state)
{
    (void)state;
    assert_int_equal(br_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(br_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(br_days_from_civil(2024, 2, 29), 19782);
    assert_int_equal(br_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(br_days_from_civil(1600, 1, 1), -135140);
    for (int64_t z = -800000; z <= 800000; z += 7) {
        int64_t y;
        int m;
        int d;
        br_civil_from_days(z, &y, &m, &d);
        assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31);
        assert_int_equal(br_days_from_civil(y, m, d), z);
    }
}

static void test_fileio_secret_is_first_line_trimmed(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("fileio");
    char *ok = tu_write_file(dir, "token", "  s3cret-token \t\r\nsecond line\n");
    char *blank = tu_write_file(dir, "blank", "   \n");
    char *secret = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_read_secret_file(ok, "auth.write_token_file", &secret, &err), 0);
    assert_string_equal(secret, "s3cret-token");
    assert_int_equal(br_read_secret_file(blank, "receiver \"x\": hmac_secret_file", &secret, &err),
                     BR_EINVAL);
    assert_non_null(strstr(err.msg, "receiver \"x\": hmac_secret_file"));
    assert_non_null(strstr(err.msg, "holds no secret"));
    assert_string_equal(secret, "s3cret-token"); /* unchanged on error */
    char missing[1200];
    snprintf(missing, sizeof(missing), "%s/missing", dir);
    assert_int_equal(br_read_secret_file(missing, "backend.bearer_token_file", &secret, &err),
                     BR_EIO);
    assert_non_null(strstr(err.msg, "cannot read"));
    br_free(secret);
    free(ok);
    free(blank);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_names_and_positions),
        cmocka_unit_test(test_arena_cap_returns_null),
        cmocka_unit_test(test_buf_cap_is_enforced),
        cmocka_unit_test(test_duration_parse_and_format),
        cmocka_unit_test(test_crc32c_known_vector),
        cmocka_unit_test(test_fnv1a_matches_alertmanager_constants),
        cmocka_unit_test(test_varint_round_trip_and_truncation),
        cmocka_unit_test(test_log_quote_escapes),
        cmocka_unit_test(test_format_float_matches_prometheus),
        cmocka_unit_test(test_utf8_decode_rejects_what_go_rejects),
        cmocka_unit_test(test_civil_days_known_dates_and_round_trip),
        cmocka_unit_test(test_fileio_secret_is_first_line_trimmed),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
