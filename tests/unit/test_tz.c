/*
 * test_tz.c — time zones (engine/core/tz.c): offsets and local midnights
 * at known transitions of the system's zoneinfo files (Europe/Paris 2026,
 * America/Sao_Paulo's midnight DST gaps, Asia/Kolkata, Australia/Lord_Howe's
 * 30-minute DST, year 2100 through the footer rule), POSIX footer rules on
 * TZif data built here (so they run without tzdata), fixed offsets, name
 * checks, size cap and corrupt files.
 *
 * Tests needing a zoneinfo file skip with a message when it is absent
 * (Debian: the tzdata package). Expected instants were worked out from the
 * zones' published rules and cross-checked with a second implementation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/core/err.h"
#include "engine/core/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define H  3600
#define MS 1000LL

/* Loads a system zone, or skips the test when its file is absent. */
static br_tz *system_zone(const char *name)
{
    br_tz *tz = NULL;
    br_err err;
    br_err_clear(&err);
    int rc = br_tz_load(name, &tz, &err);
    if (rc == BR_ENOTFOUND) {
        print_message("skipping: no zoneinfo file for %s (%s); install tzdata\n", name, err.msg);
        skip();
    }
    if (rc != 0) {
        print_message("%s\n", err.msg);
    }
    assert_int_equal(rc, 0);
    assert_non_null(tz);
    return tz;
}

/* ------------------------------------------------------------ TZif builder */

typedef struct tzif {
    unsigned char b[4096];
    size_t n;
} tzif;

static void put8(tzif *t, unsigned v)
{
    t->b[t->n++] = (unsigned char)v;
}

static void put32(tzif *t, uint32_t v)
{
    for (int s = 24; s >= 0; s -= 8) {
        put8(t, (v >> s) & 0xff);
    }
}

static void put64(tzif *t, uint64_t v)
{
    put32(t, (uint32_t)(v >> 32));
    put32(t, (uint32_t)v);
}

static void header(tzif *t, char version, uint32_t ntime, uint32_t ntype, uint32_t nleap)
{
    memcpy(t->b + t->n, "TZif", 4);
    t->n += 4;
    put8(t, (unsigned char)version);
    for (int i = 0; i < 15; i++) {
        put8(t, 0);
    }
    put32(t, 0);     /* isutcnt */
    put32(t, 0);     /* isstdcnt */
    put32(t, nleap); /* leapcnt */
    put32(t, ntime);
    put32(t, ntype);
    put32(t, 4); /* charcnt: "ZZZ\0" */
}

static void block(tzif *t, int time_size, size_t ntime, const int64_t *times, const uint8_t *idx,
                  size_t ntype, const int32_t *offs, uint32_t nleap)
{
    for (size_t i = 0; i < ntime; i++) {
        if (time_size == 8) {
            put64(t, (uint64_t)times[i]);
        } else {
            put32(t, (uint32_t)(int32_t)times[i]);
        }
    }
    for (size_t i = 0; i < ntime; i++) {
        put8(t, idx[i]);
    }
    for (size_t i = 0; i < ntype; i++) {
        put32(t, (uint32_t)offs[i]);
        put8(t, 0);
        put8(t, 0);
    }
    memcpy(t->b + t->n, "ZZZ", 4);
    t->n += 4;
    for (uint32_t i = 0; i < nleap; i++) {
        if (time_size == 8) {
            put64(t, 78796800);
        } else {
            put32(t, 78796800);
        }
        put32(t, 1);
    }
}

/* A TZif file of the given version (0 = version 1, no footer) holding the
 * same transitions in both blocks, then "\n" footer "\n". */
static void make_tzif(tzif *t, char version, size_t ntime, const int64_t *times, const uint8_t *idx,
                      size_t ntype, const int32_t *offs, uint32_t nleap, const char *footer)
{
    t->n = 0;
    header(t, version, (uint32_t)ntime, (uint32_t)ntype, nleap);
    block(t, 4, ntime, times, idx, ntype, offs, nleap);
    if (version == 0) {
        return;
    }
    header(t, version, (uint32_t)ntime, (uint32_t)ntype, nleap);
    block(t, 8, ntime, times, idx, ntype, offs, nleap);
    put8(t, '\n');
    size_t fl = strlen(footer);
    memcpy(t->b + t->n, footer, fl);
    t->n += fl;
    put8(t, '\n');
}

/* A zone with no transitions, only a footer rule. */
static br_tz *footer_zone(const char *footer, int32_t type0)
{
    tzif t;
    make_tzif(&t, '2', 0, NULL, NULL, 1, &type0, 0, footer);
    br_tz *tz = NULL;
    br_err err;
    br_err_clear(&err);
    int rc = br_tz_parse("test/Footer", t.b, t.n, &tz, &err);
    if (rc != 0) {
        print_message("%s\n", err.msg);
    }
    assert_int_equal(rc, 0);
    return tz;
}

static int parse_code(const tzif *t, br_err *err)
{
    br_tz *tz = NULL;
    br_err_clear(err);
    int rc = br_tz_parse("test/Bad", t->b, t->n, &tz, err);
    assert_null(tz);
    return rc;
}

/* ------------------------------------------------------------ system zones */

static void test_tz_paris_springs_forward_2026_03_29(void **state)
{
    (void)state;
    br_tz *tz = system_zone("Europe/Paris");
    assert_string_equal(br_tz_name(tz), "Europe/Paris");
    /* 02:00 CET becomes 03:00 CEST at 01:00Z. */
    assert_int_equal(br_tz_offset_at(tz, 1774745999 * MS), H);
    assert_int_equal(br_tz_offset_at(tz, 1774745999 * MS + 999), H);
    assert_int_equal(br_tz_offset_at(tz, 1774746000 * MS), 2 * H);
    /* That day starts at 23:00Z the day before and lasts 23 hours. */
    assert_true(br_tz_local_midnight_to_utc(tz, 2026, 3, 29) == 1774738800 * MS);
    assert_true(br_tz_local_midnight_to_utc(tz, 2026, 3, 30) == 1774821600 * MS);
    /* The month: March 1 at 23:00Z (CET), April 1 at 22:00Z (CEST). */
    assert_true(br_tz_local_midnight_to_utc(tz, 2026, 3, 1) == 1772319600 * MS);
    assert_true(br_tz_local_midnight_to_utc(tz, 2026, 4, 1) == 1774994400 * MS);
    br_tz_free(tz);
}

static void test_tz_paris_falls_back_2026_10_25(void **state)
{
    (void)state;
    br_tz *tz = system_zone("Europe/Paris");
    assert_int_equal(br_tz_offset_at(tz, 1792889999 * MS), 2 * H);
    assert_int_equal(br_tz_offset_at(tz, 1792890000 * MS), H);
    /* October 25 lasts 25 hours: 22:00Z to 23:00Z the next day. */
    assert_true(br_tz_local_midnight_to_utc(tz, 2026, 10, 25) == 1792879200 * MS);
    assert_true(br_tz_local_midnight_to_utc(tz, 2026, 10, 26) == 1792969200 * MS);
    assert_true(br_tz_local_midnight_to_utc(tz, 2026, 11, 1) == 1793487600 * MS);
    br_tz_free(tz);
}

static void test_tz_sao_paulo_midnight_gap_starts_at_the_change(void **state)
{
    (void)state;
    br_tz *tz = system_zone("America/Sao_Paulo");
    /* 2018-11-04 00:00 -03 became 01:00 -02: that date has no midnight
     * and starts at the change, 03:00Z. */
    assert_int_equal(br_tz_offset_at(tz, 1541300399 * MS), -3 * H);
    assert_int_equal(br_tz_offset_at(tz, 1541300400 * MS), -2 * H);
    assert_true(br_tz_local_midnight_to_utc(tz, 2018, 11, 4) == 1541300400 * MS);
    /* Same on 2017-10-15. */
    assert_true(br_tz_local_midnight_to_utc(tz, 2017, 10, 15) == 1508036400 * MS);
    /* 2019-02-17 00:00 -02 went back to 02-16 23:00 -03: the 16th starts
     * at 02:00Z (-02) and the 17th once, at 03:00Z (-03). */
    assert_true(br_tz_local_midnight_to_utc(tz, 2019, 2, 16) == 1550282400 * MS);
    assert_true(br_tz_local_midnight_to_utc(tz, 2019, 2, 17) == 1550372400 * MS);
    br_tz_free(tz);
}

static void test_tz_kolkata_is_plus_05_30(void **state)
{
    (void)state;
    br_tz *tz = system_zone("Asia/Kolkata");
    assert_int_equal(br_tz_offset_at(tz, 1767225600 * MS), 5 * H + 1800);
    assert_int_equal(br_tz_offset_at(tz, 1782864000 * MS), 5 * H + 1800); /* July 2026 */
    assert_true(br_tz_local_midnight_to_utc(tz, 2026, 1, 1) == 1767205800 * MS);
    br_tz_free(tz);
}

static void test_tz_lord_howe_has_30_minute_dst(void **state)
{
    (void)state;
    br_tz *tz = system_zone("Australia/Lord_Howe");
    /* April 5 2026 02:00 +11 back to 01:30 +10:30 (15:00Z the day before). */
    assert_int_equal(br_tz_offset_at(tz, 1775314799 * MS), 11 * H);
    assert_int_equal(br_tz_offset_at(tz, 1775314800 * MS), 10 * H + 1800);
    assert_true(br_tz_local_midnight_to_utc(tz, 2026, 4, 5) == 1775307600 * MS);
    /* October 4 2026 02:00 +10:30 forward to 02:30 +11 (15:30Z). */
    assert_int_equal(br_tz_offset_at(tz, 1791041399 * MS), 10 * H + 1800);
    assert_int_equal(br_tz_offset_at(tz, 1791041400 * MS), 11 * H);
    assert_true(br_tz_local_midnight_to_utc(tz, 2026, 10, 4) == 1791034200 * MS);
    br_tz_free(tz);
}

static void test_tz_past_the_last_transition_uses_the_footer_rule(void **state)
{
    (void)state;
    /* 2100 lies beyond any transition a TZif file stores (at most 2037). */
    br_tz *paris = system_zone("Europe/Paris");
    assert_int_equal(br_tz_offset_at(paris, 4109878799 * MS), H);     /* 2100-03-28 00:59:59Z */
    assert_int_equal(br_tz_offset_at(paris, 4109878800 * MS), 2 * H); /* last Sunday of March */
    assert_int_equal(br_tz_offset_at(paris, 4128627599 * MS), 2 * H);
    assert_int_equal(br_tz_offset_at(paris, 4128627600 * MS), H); /* 2100-10-31 01:00Z */
    assert_true(br_tz_local_midnight_to_utc(paris, 2100, 3, 28) == 4109871600 * MS);
    assert_true(br_tz_local_midnight_to_utc(paris, 2100, 3, 29) == 4109954400 * MS);
    br_tz_free(paris);

    br_tz *lh = system_zone("Australia/Lord_Howe");
    assert_int_equal(br_tz_offset_at(lh, 4102444800 * MS), 11 * H);        /* 2100-01-01 */
    assert_int_equal(br_tz_offset_at(lh, 4115491200 * MS), 10 * H + 1800); /* 2100-06-01 */
    assert_int_equal(br_tz_offset_at(lh, 4126174199 * MS), 10 * H + 1800);
    assert_int_equal(br_tz_offset_at(lh, 4126174200 * MS), 11 * H);
    assert_true(br_tz_local_midnight_to_utc(lh, 2100, 10, 3) == 4126167000 * MS);
    br_tz_free(lh);

    /* Sao Paulo has had no DST since 2019: its footer is "<-03>3". */
    br_tz *sp = system_zone("America/Sao_Paulo");
    assert_int_equal(br_tz_offset_at(sp, 1894665600 * MS), -3 * H); /* 2030-01-15 */
    br_tz_free(sp);
}

/* ------------------------------------------------------------ footer rules */

static void test_tz_footer_rule_alone_gives_european_summer_time(void **state)
{
    (void)state;
    br_tz *tz = footer_zone("CET-1CEST,M3.5.0,M10.5.0/3", 3600);
    assert_int_equal(br_tz_offset_at(tz, 1774745999 * MS), H);
    assert_int_equal(br_tz_offset_at(tz, 1774746000 * MS), 2 * H);
    assert_int_equal(br_tz_offset_at(tz, 1792889999 * MS), 2 * H);
    assert_int_equal(br_tz_offset_at(tz, 1792890000 * MS), H);
    assert_true(br_tz_local_midnight_to_utc(tz, 2026, 10, 26) == 1792969200 * MS);
    br_tz_free(tz);
}

static void test_tz_footer_rule_southern_half_hour(void **state)
{
    (void)state;
    br_tz *tz = footer_zone("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 37800);
    assert_int_equal(br_tz_offset_at(tz, 1767225600 * MS), 11 * H); /* January: DST */
    assert_int_equal(br_tz_offset_at(tz, 1775314799 * MS), 11 * H);
    assert_int_equal(br_tz_offset_at(tz, 1775314800 * MS), 10 * H + 1800);
    assert_int_equal(br_tz_offset_at(tz, 1791041400 * MS), 11 * H);
    assert_true(br_tz_local_midnight_to_utc(tz, 2026, 10, 4) == 1791034200 * MS);
    br_tz_free(tz);
}

static void test_tz_footer_julian_and_zero_based_days(void **state)
{
    (void)state;
    /* J60 is March 1 even in a leap year; day 59 (zero-based) is Feb 29 in
     * 2024 and March 1 in 2025. Changes at 00:00 of a UTC+0 zone. */
    br_tz *j = footer_zone("AAA0BBB,J60/0,J300/0", 0);
    assert_int_equal(br_tz_offset_at(j, 1709251199 * MS), 0); /* 2024-02-29T23:59:59Z */
    assert_int_equal(br_tz_offset_at(j, 1709251200 * MS), H); /* 2024-03-01 */
    br_tz_free(j);
    br_tz *n = footer_zone("AAA0BBB,59/0,J300/0", 0);
    assert_int_equal(br_tz_offset_at(n, 1709164799 * MS), 0); /* 2024-02-28T23:59:59Z */
    assert_int_equal(br_tz_offset_at(n, 1709164800 * MS), H); /* 2024-02-29 */
    assert_int_equal(br_tz_offset_at(n, 1740787199 * MS), 0); /* 2025-02-28T23:59:59Z */
    assert_int_equal(br_tz_offset_at(n, 1740787200 * MS), H); /* 2025-03-01 */
    br_tz_free(n);
}

static void test_tz_footer_dst_all_year(void **state)
{
    (void)state;
    /* RFC 8536's example of permanent DST: UTC-4 all year, across years. */
    br_tz *tz = footer_zone("EST5EDT4,0/0,J365/25", -5 * 3600);
    assert_int_equal(br_tz_offset_at(tz, 1767225600 * MS), -4 * H); /* 2026-01-01T00:00Z */
    assert_int_equal(br_tz_offset_at(tz, 1767243600 * MS), -4 * H); /* 05:00Z: year edge */
    assert_int_equal(br_tz_offset_at(tz, 1782864000 * MS), -4 * H); /* July */
    assert_true(br_tz_local_midnight_to_utc(tz, 2026, 7, 1) == 1782878400 * MS);
    br_tz_free(tz);
}

static void test_tz_transitions_then_footer(void **state)
{
    (void)state;
    /* Type 0 (+00:09:21, a local mean time) until 1911-03-11, then CET
     * and CEST by table until 2000-10-29T01:00Z, then the footer. */
    int32_t offs[3] = {561, 3600, 7200};
    int64_t times[3] = {-1855958961LL, 954032400, 972781200};
    uint8_t idx[3] = {1, 2, 1};
    tzif t;
    make_tzif(&t, '3', 3, times, idx, 3, offs, 0, "CET-1CEST,M3.5.0,M10.5.0/3");
    br_tz *tz = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_tz_parse("test/Table", t.b, t.n, &tz, &err), 0);
    assert_int_equal(br_tz_offset_at(tz, -2000000000LL * MS), 561); /* before the first */
    assert_int_equal(br_tz_offset_at(tz, 954032399 * MS), H);       /* 2000-03-26 */
    assert_int_equal(br_tz_offset_at(tz, 954032400 * MS), 2 * H);
    assert_int_equal(br_tz_offset_at(tz, 972781200 * MS), H);      /* the last one */
    assert_int_equal(br_tz_offset_at(tz, 1774746000 * MS), 2 * H); /* 2026 by the rule */
    br_tz_free(tz);
}

static void test_tz_version1_file_keeps_the_last_type(void **state)
{
    (void)state;
    int32_t offs[2] = {0, 7200};
    int64_t times[1] = {1000000000};
    uint8_t idx[1] = {1};
    tzif t;
    make_tzif(&t, 0, 1, times, idx, 2, offs, 0, NULL);
    br_tz *tz = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_tz_parse("test/V1", t.b, t.n, &tz, &err), 0);
    assert_int_equal(br_tz_offset_at(tz, 999999999 * MS), 0);
    assert_int_equal(br_tz_offset_at(tz, 4000000000LL * MS), 2 * H);
    br_tz_free(tz);
}

/* ------------------------------------------------------------ names, fixed */

static void test_tz_utc_and_fixed_offsets_need_no_file(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int32_t off;
    } cases[] = {{"UTC", 0},      {"Z", 0},        {"+05:30", 19800},
                 {"-03", -10800}, {"+0100", 3600}, {"-14:00", -50400}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        br_tz *tz = NULL;
        br_err err;
        br_err_clear(&err);
        /* A directory that does not exist: fixed zones never read it. */
        assert_int_equal(br_tz_load_dir("/nonexistent-zoneinfo", cases[i].name, &tz, &err), 0);
        assert_int_equal(br_tz_offset_at(tz, 1767225600 * MS), cases[i].off);
        assert_true(br_tz_local_midnight_to_utc(tz, 2026, 1, 1) ==
                    (1767225600LL - cases[i].off) * MS);
        br_tz_free(tz);
    }
}

static void test_tz_rejects_names_that_leave_the_zoneinfo_dir(void **state)
{
    (void)state;
    static const char *const bad[] = {"../etc/passwd",
                                      "/etc/passwd",
                                      "Europe/../../etc/passwd",
                                      "Europe//Paris",
                                      "Europe/",
                                      "./UTC",
                                      "Europe/.hidden",
                                      "",
                                      "Mars/Olympus Mons",
                                      "+15:00",
                                      "+1:00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        br_tz *tz = NULL;
        br_err err;
        br_err_clear(&err);
        assert_int_equal(br_tz_load(bad[i], &tz, &err), BR_EINVAL);
        assert_null(tz);
        assert_non_null(strstr(err.msg, "invalid time zone name"));
    }
}

static void test_tz_unknown_zone_is_not_found_naming_it(void **state)
{
    (void)state;
    br_tz *tz = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_tz_load("Europe/Atlantis", &tz, &err), BR_ENOTFOUND);
    assert_null(tz);
    assert_non_null(strstr(err.msg, "unknown time zone \"Europe/Atlantis\""));
}

/* A scratch zoneinfo directory: a valid zone, a directory, a huge file. */
static void test_tz_load_dir_reads_files_and_caps_their_size(void **state)
{
    (void)state;
    char dir[] = "/tmp/br-tz-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];

    int32_t off = -7200;
    tzif t;
    make_tzif(&t, '2', 0, NULL, NULL, 1, &off, 0, "<-02>2");
    snprintf(path, sizeof(path), "%s/Fixed", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(t.b, 1, t.n, f), t.n);
    fclose(f);

    snprintf(path, sizeof(path), "%s/Area", dir);
    assert_int_equal(mkdir(path, 0700), 0);

    snprintf(path, sizeof(path), "%s/Big", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fseek(f, BR_TZ_MAX_FILE, SEEK_SET), 0);
    fputc('x', f);
    fclose(f);

    br_tz *tz = NULL;
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_tz_load_dir(dir, "Fixed", &tz, &err), 0);
    assert_int_equal(br_tz_offset_at(tz, 0), -7200);
    br_tz_free(tz);

    tz = NULL;
    assert_int_equal(br_tz_load_dir(dir, "Area", &tz, &err), BR_ENOTFOUND);
    assert_non_null(strstr(err.msg, "\"Area\""));
    assert_int_equal(br_tz_load_dir(dir, "Big", &tz, &err), BR_ETOOLARGE);
    assert_non_null(strstr(err.msg, "\"Big\""));
    assert_null(tz);

    snprintf(path, sizeof(path), "%s/Fixed", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/Big", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/Area", dir);
    rmdir(path);
    rmdir(dir);
}

/* ------------------------------------------------------------ corrupt */

static void test_tz_truncated_file_is_corrupt(void **state)
{
    (void)state;
    int32_t offs[2] = {0, 3600};
    int64_t times[2] = {100, 200};
    uint8_t idx[2] = {1, 0};
    tzif t;
    make_tzif(&t, '2', 2, times, idx, 2, offs, 0, "ZZZ0");
    br_err err;
    size_t full = t.n;
    /* Every prefix, including a footer without its closing newline. */
    for (size_t cut = 0; cut < full; cut++) {
        t.n = cut;
        assert_int_equal(parse_code(&t, &err), BR_ECORRUPT);
    }
    t.n = full;
    br_tz *tz = NULL;
    assert_int_equal(br_tz_parse("test/Whole", t.b, t.n, &tz, &err), 0);
    br_tz_free(tz);
}

static void test_tz_bad_fields_are_corrupt(void **state)
{
    (void)state;
    br_err err;
    int32_t offs[2] = {0, 3600};
    int64_t up[2] = {100, 200};
    int64_t down[2] = {200, 100};
    uint8_t ok_idx[2] = {1, 0};
    uint8_t bad_idx[2] = {1, 2};
    tzif t;

    make_tzif(&t, '2', 2, up, ok_idx, 2, offs, 0, "ZZZ0");
    t.b[0] = 'X';
    assert_int_equal(parse_code(&t, &err), BR_ECORRUPT);
    assert_non_null(strstr(err.msg, "test/Bad"));

    make_tzif(&t, '2', 2, down, ok_idx, 2, offs, 0, "ZZZ0");
    assert_int_equal(parse_code(&t, &err), BR_ECORRUPT);
    assert_non_null(strstr(err.msg, "ascending"));

    make_tzif(&t, '2', 2, up, bad_idx, 2, offs, 0, "ZZZ0");
    assert_int_equal(parse_code(&t, &err), BR_ECORRUPT);
    assert_non_null(strstr(err.msg, "time type"));

    int32_t huge[2] = {0, 30 * 3600};
    make_tzif(&t, '2', 2, up, ok_idx, 2, huge, 0, "ZZZ0");
    assert_int_equal(parse_code(&t, &err), BR_ECORRUPT);

    make_tzif(&t, '2', 2, up, ok_idx, 2, offs, 0, "CET-1CEST");
    assert_int_equal(parse_code(&t, &err), BR_ECORRUPT);
    assert_non_null(strstr(err.msg, "footer"));

    make_tzif(&t, '2', 2, up, ok_idx, 2, offs, 0, "CET-1CEST,M13.5.0,M10.5.0");
    assert_int_equal(parse_code(&t, &err), BR_ECORRUPT);
}

static void test_tz_leap_second_zones_are_refused(void **state)
{
    (void)state;
    int32_t off = 0;
    tzif t;
    make_tzif(&t, '2', 0, NULL, NULL, 1, &off, 1, "UTC0");
    br_err err;
    assert_int_equal(parse_code(&t, &err), BR_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "leap"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz_paris_springs_forward_2026_03_29),
        cmocka_unit_test(test_tz_paris_falls_back_2026_10_25),
        cmocka_unit_test(test_tz_sao_paulo_midnight_gap_starts_at_the_change),
        cmocka_unit_test(test_tz_kolkata_is_plus_05_30),
        cmocka_unit_test(test_tz_lord_howe_has_30_minute_dst),
        cmocka_unit_test(test_tz_past_the_last_transition_uses_the_footer_rule),
        cmocka_unit_test(test_tz_footer_rule_alone_gives_european_summer_time),
        cmocka_unit_test(test_tz_footer_rule_southern_half_hour),
        cmocka_unit_test(test_tz_footer_julian_and_zero_based_days),
        cmocka_unit_test(test_tz_footer_dst_all_year),
        cmocka_unit_test(test_tz_transitions_then_footer),
        cmocka_unit_test(test_tz_version1_file_keeps_the_last_type),
        cmocka_unit_test(test_tz_utc_and_fixed_offsets_need_no_file),
        cmocka_unit_test(test_tz_rejects_names_that_leave_the_zoneinfo_dir),
        cmocka_unit_test(test_tz_unknown_zone_is_not_found_naming_it),
        cmocka_unit_test(test_tz_load_dir_reads_files_and_caps_their_size),
        cmocka_unit_test(test_tz_truncated_file_is_corrupt),
        cmocka_unit_test(test_tz_bad_fields_are_corrupt),
        cmocka_unit_test(test_tz_leap_second_zones_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
