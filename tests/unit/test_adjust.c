/*
 * test_adjust.c — budget adjustments (rules/adjust.c): RRULE parsing and
 * its errors, expansion of weekly / daily / monthly / yearly rules with
 * COUNT, UNTIL, ordinals, BYMONTHDAY, BYHOUR x BYMINUTE, local-time rules
 * across Europe/Paris' 2026 DST changes (29 March, 25 October), and the
 * merged, clipped interval lists the evaluator subtracts.
 *
 * Expected instants were worked out by hand from the calendar (2026-01-01
 * is a Thursday, 2026-11-01 a Sunday) and Paris' offsets (+1h, +2h in
 * summer). Zone tests skip when tzdata is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rules/adjust.h"

#include <string.h>

#define MIN (60LL * 1000)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
/* 2026-01-01T00:00:00Z */
#define Y2026 1767225600000LL

/* Day number within 2026 (Jan 1 = 0) to ms. */
static int64_t d2026(int doy)
{
    return Y2026 + (int64_t)doy * DAY;
}

typedef struct collect {
    int64_t t[64];
    size_t n;
} collect;

static int collect_fn(void *ctx, int64_t start)
{
    collect *c = ctx;
    if (c->n < 64) {
        c->t[c->n] = start;
    }
    c->n++;
    return 0;
}

static void rule(br_adjustment *a, const char *text, int64_t start, int64_t dur)
{
    memset(a, 0, sizeof(*a));
    a->name = "t";
    a->start_ms = start;
    a->duration_ms = dur;
    if (text != NULL) {
        br_err err;
        br_err_clear(&err);
        size_t off = 0;
        int rc = br_rrule_parse(text, &a->rrule, &off, &err);
        if (rc != 0) {
            print_message("%s\n", err.msg);
        }
        assert_int_equal(rc, 0);
    }
}

static br_tz *paris(void)
{
    br_tz *tz = NULL;
    br_err err;
    br_err_clear(&err);
    int rc = br_tz_load("Europe/Paris", &tz, &err);
    if (rc == BR_ENOTFOUND) {
        print_message("skipping: no zoneinfo for Europe/Paris\n");
        skip();
    }
    assert_int_equal(rc, 0);
    return tz;
}

static void test_adjust_weekly_count_ends_after_ten_sundays(void **state)
{
    (void)state;
    br_adjustment a;
    /* 2026-11-01T02:00Z, a Sunday (doy 304). */
    rule(&a, "FREQ=WEEKLY;BYDAY=SU;COUNT=10", d2026(304) + 2 * HOUR, 2 * HOUR);
    collect c = {{0}, 0};
    assert_int_equal(br_adjust_each(&a, INT64_MIN, INT64_MAX / 2, collect_fn, &c), 10);
    assert_int_equal(c.n, 10);
    assert_int_equal(c.t[0], d2026(304) + 2 * HOUR);
    assert_int_equal(c.t[1], d2026(311) + 2 * HOUR);
    assert_int_equal(c.t[9], d2026(304 + 63) + 2 * HOUR); /* 2027-01-03 */
}

static void test_adjust_until_is_inclusive(void **state)
{
    (void)state;
    br_adjustment a;
    rule(&a, "FREQ=DAILY;UNTIL=20260105T000000Z", Y2026, HOUR);
    collect c = {{0}, 0};
    br_adjust_each(&a, INT64_MIN, INT64_MAX / 2, collect_fn, &c);
    assert_int_equal(c.n, 5);
    assert_int_equal(c.t[4], d2026(4));
    /* A date-only UNTIL keeps the whole day. */
    rule(&a, "FREQ=DAILY;UNTIL=20260105", Y2026 + 23 * HOUR, HOUR);
    c.n = 0;
    br_adjust_each(&a, INT64_MIN, INT64_MAX / 2, collect_fn, &c);
    assert_int_equal(c.n, 5);
    assert_int_equal(c.t[4], d2026(4) + 23 * HOUR);
}

static void test_adjust_monthly_last_friday_and_first_monday(void **state)
{
    (void)state;
    br_adjustment a;
    rule(&a, "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", Y2026 + 20 * HOUR, HOUR);
    collect c = {{0}, 0};
    br_adjust_each(&a, INT64_MIN, INT64_MAX / 2, collect_fn, &c);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.t[0], d2026(29) + 20 * HOUR);      /* Jan 30 */
    assert_int_equal(c.t[1], d2026(31 + 26) + 20 * HOUR); /* Feb 27 */
    assert_int_equal(c.t[2], d2026(59 + 26) + 20 * HOUR); /* Mar 27 */
    rule(&a, "FREQ=MONTHLY;BYDAY=1MO;COUNT=3", Y2026, HOUR);
    c.n = 0;
    br_adjust_each(&a, INT64_MIN, INT64_MAX / 2, collect_fn, &c);
    assert_int_equal(c.t[0], d2026(4));       /* Jan 5 */
    assert_int_equal(c.t[1], d2026(31 + 1));  /* Feb 2 */
    assert_int_equal(c.t[2], d2026(59 + 1));  /* Mar 2 */
}

static void test_adjust_monthly_31st_skips_short_months(void **state)
{
    (void)state;
    br_adjustment a;
    rule(&a, "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3", Y2026, HOUR);
    collect c = {{0}, 0};
    br_adjust_each(&a, INT64_MIN, INT64_MAX / 2, collect_fn, &c);
    assert_int_equal(c.t[0], d2026(30));       /* Jan 31 */
    assert_int_equal(c.t[1], d2026(59 + 30));  /* Mar 31 */
    assert_int_equal(c.t[2], d2026(120 + 30)); /* May 31 */
    /* -1 is the last day whatever the month's length. */
    rule(&a, "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=2", Y2026, HOUR);
    c.n = 0;
    br_adjust_each(&a, INT64_MIN, INT64_MAX / 2, collect_fn, &c);
    assert_int_equal(c.t[0], d2026(30)); /* Jan 31 */
    assert_int_equal(c.t[1], d2026(58)); /* Feb 28 */
}

static void test_adjust_yearly_fourth_thursday_of_november(void **state)
{
    (void)state;
    br_adjustment a;
    rule(&a, "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;COUNT=1", Y2026, DAY);
    collect c = {{0}, 0};
    br_adjust_each(&a, INT64_MIN, INT64_MAX / 2, collect_fn, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.t[0], d2026(304 + 25)); /* 2026-11-26 */
}

static void test_adjust_byhour_byminute_expand_a_day(void **state)
{
    (void)state;
    br_adjustment a;
    rule(&a, "FREQ=DAILY;BYHOUR=0,12;BYMINUTE=0,30;COUNT=5", Y2026, 10 * MIN);
    collect c = {{0}, 0};
    br_adjust_each(&a, INT64_MIN, INT64_MAX / 2, collect_fn, &c);
    assert_int_equal(c.n, 5);
    assert_int_equal(c.t[0], Y2026);
    assert_int_equal(c.t[1], Y2026 + 30 * MIN);
    assert_int_equal(c.t[2], Y2026 + 12 * HOUR);
    assert_int_equal(c.t[3], Y2026 + 12 * HOUR + 30 * MIN);
    assert_int_equal(c.t[4], d2026(1));
}

static void test_adjust_weekly_interval_and_weekdays(void **state)
{
    (void)state;
    br_adjustment a;
    /* Every other week, Tuesday and Thursday, from Thu 2026-01-01. */
    rule(&a, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=4", Y2026, HOUR);
    collect c = {{0}, 0};
    br_adjust_each(&a, INT64_MIN, INT64_MAX / 2, collect_fn, &c);
    assert_int_equal(c.t[0], d2026(0));  /* Thu Jan 1 (Tue Dec 30 is before start) */
    assert_int_equal(c.t[1], d2026(12)); /* Tue Jan 13 */
    assert_int_equal(c.t[2], d2026(14)); /* Thu Jan 15 */
    assert_int_equal(c.t[3], d2026(26)); /* Tue Jan 27 */
}

static void test_adjust_local_time_keeps_wall_clock_across_dst(void **state)
{
    (void)state;
    br_tz *tz = paris();
    br_adjustment a;
    /* Mondays 09:00 Paris from 2026-03-23 (08:00Z in winter time). */
    rule(&a, "FREQ=WEEKLY;COUNT=2", d2026(81) + 8 * HOUR, HOUR);
    a.tz = tz;
    collect c = {{0}, 0};
    br_adjust_each(&a, INT64_MIN, INT64_MAX / 2, collect_fn, &c);
    assert_int_equal(c.t[0], d2026(81) + 8 * HOUR);
    assert_int_equal(c.t[1], d2026(88) + 7 * HOUR); /* 09:00 CEST */
    br_tz_free(tz);
}

static void test_adjust_local_time_in_dst_gap_and_overlap(void **state)
{
    (void)state;
    br_tz *tz = paris();
    br_adjustment a;
    /* Daily 02:30 Paris from Fri 2026-03-27 (01:30Z). */
    rule(&a, "FREQ=DAILY;COUNT=4", d2026(85) + HOUR + 30 * MIN, HOUR);
    a.tz = tz;
    collect c = {{0}, 0};
    br_adjust_each(&a, INT64_MIN, INT64_MAX / 2, collect_fn, &c);
    assert_int_equal(c.t[1], d2026(86) + HOUR + 30 * MIN);
    /* Sunday 29 March: 02:30 does not exist; the offset before the gap
     * gives 01:30Z (03:30 CEST). */
    assert_int_equal(c.t[2], d2026(87) + HOUR + 30 * MIN);
    assert_int_equal(c.t[3], d2026(88) + 30 * MIN);
    /* Sunday 25 October: 02:30 happens twice; the earlier is CEST. */
    rule(&a, "FREQ=DAILY;COUNT=2", d2026(296) + 30 * MIN, HOUR); /* Oct 24 02:30 CEST */
    a.tz = tz;
    c.n = 0;
    br_adjust_each(&a, INT64_MIN, INT64_MAX / 2, collect_fn, &c);
    assert_int_equal(c.t[1], d2026(297) + 30 * MIN);
    br_tz_free(tz);
}

static void test_adjust_expand_clips_and_merges(void **state)
{
    (void)state;
    br_adjustment a[2];
    rule(&a[0], "FREQ=DAILY", Y2026 + 2 * HOUR, 2 * HOUR);  /* 02:00-04:00 */
    rule(&a[1], NULL, d2026(1) + 3 * HOUR, 3 * HOUR);       /* Jan 2, 03:00-06:00 */
    br_adjust_list l = {0};
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_adjust_expand(a, 2, Y2026 + 3 * HOUR, d2026(2) + 3 * HOUR, &l, &err), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.iv[0].start, Y2026 + 3 * HOUR); /* clipped */
    assert_int_equal(l.iv[0].end, Y2026 + 4 * HOUR);
    assert_int_equal(l.iv[1].start, d2026(1) + 2 * HOUR); /* merged */
    assert_int_equal(l.iv[1].end, d2026(1) + 6 * HOUR);
    assert_int_equal(l.iv[2].start, d2026(2) + 2 * HOUR);
    assert_int_equal(l.iv[2].end, d2026(2) + 3 * HOUR);
    assert_int_equal(br_adjust_covered(&l, Y2026, d2026(3)), 6 * HOUR);
    br_adjust_list_free(&l);
}

static void test_adjust_expand_far_from_start_matches_full_walk(void **state)
{
    (void)state;
    br_adjustment a;
    /* Weekly from 2020: expanding a 2026 range skips ahead, and must
     * find the same occurrence as walking from the start. */
    rule(&a, "FREQ=WEEKLY;INTERVAL=3;BYDAY=WE", Y2026 - 6 * 365 * DAY, HOUR);
    br_adjust_list l = {0};
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_adjust_expand(&a, 1, Y2026, Y2026 + 21 * DAY, &l, &err), 0);
    assert_int_equal(l.n, 1);
    collect c = {{0}, 0};
    int64_t want = 0;
    br_adjust_each(&a, INT64_MIN, Y2026 + 21 * DAY, collect_fn, &c);
    assert_true(c.n > 64);
    /* The last occurrence the full walk saw is in the 64-slot window only
     * if small; recompute it by stepping 21 days from the first. */
    want = c.t[0];
    while (want + 21 * DAY < Y2026 + 21 * DAY) {
        want += 21 * DAY;
    }
    assert_int_equal(l.iv[0].start, want);
    br_adjust_list_free(&l);
}

static void test_adjust_parse_errors_name_the_offset(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t off;
        const char *msg;
    } cases[] = {
        {"FREQ=HOURLY", 5, "FREQ must be"},
        {"FREQ=DAILY;BYSETPOS=1", 11, "unsupported part \"BYSETPOS\""},
        {"FREQ=DAILY;BYDAY=1MO", 17, "need FREQ=MONTHLY or YEARLY"},
        {"FREQ=WEEKLY;COUNT=2;UNTIL=20260101", 0, "COUNT and UNTIL"},
        {"INTERVAL=2", 0, "FREQ is required"},
        {"FREQ=DAILY;FREQ=WEEKLY", 11, "given twice"},
        {"FREQ=MONTHLY;BYMONTHDAY=0", 24, "BYMONTHDAY must be"},
        {"FREQ=DAILY;BYHOUR=24", 18, "BYHOUR must be"},
        {"FREQ=DAILY;UNTIL=2026-01-01", 17, "UNTIL must be"},
        {"FREQ=WEEKLY;BYMONTHDAY=1", 23, "cannot be used with FREQ=WEEKLY"},
        {"FREQ=DAILY;COUNT=0", 17, "COUNT must be"},
        {"FREQ=DAILY;", 11, "trailing"},
        {"FREQ=MONTHLY;BYDAY=6MO", 19, "within a month"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        br_rrule r;
        br_err err;
        br_err_clear(&err);
        size_t off = 999;
        assert_int_equal(br_rrule_parse(cases[i].text, &r, &off, &err), BR_EINVAL);
        if (strstr(err.msg, cases[i].msg) == NULL || off != cases[i].off) {
            print_message("case %s: off %zu msg %s\n", cases[i].text, off, err.msg);
        }
        assert_non_null(strstr(err.msg, cases[i].msg));
        assert_int_equal(off, cases[i].off);
    }
}

static void test_adjust_validate_rejects_until_before_start(void **state)
{
    (void)state;
    br_adjustment a;
    rule(&a, "FREQ=DAILY;UNTIL=20251231T000000Z", Y2026, HOUR);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_adjust_validate(&a, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "before the start"));
}

static void test_adjust_category_names_round_trip(void **state)
{
    (void)state;
    assert_int_equal(br_adjust_category_parse("outside_business_hours"),
                     BR_ADJUST_OUTSIDE_BUSINESS_HOURS);
    assert_string_equal(br_adjust_category_name(BR_ADJUST_DEPLOYMENT), "deployment");
    assert_int_equal(br_adjust_category_parse("holiday"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adjust_weekly_count_ends_after_ten_sundays),
        cmocka_unit_test(test_adjust_until_is_inclusive),
        cmocka_unit_test(test_adjust_monthly_last_friday_and_first_monday),
        cmocka_unit_test(test_adjust_monthly_31st_skips_short_months),
        cmocka_unit_test(test_adjust_yearly_fourth_thursday_of_november),
        cmocka_unit_test(test_adjust_byhour_byminute_expand_a_day),
        cmocka_unit_test(test_adjust_weekly_interval_and_weekdays),
        cmocka_unit_test(test_adjust_local_time_keeps_wall_clock_across_dst),
        cmocka_unit_test(test_adjust_local_time_in_dst_gap_and_overlap),
        cmocka_unit_test(test_adjust_expand_clips_and_merges),
        cmocka_unit_test(test_adjust_expand_far_from_start_matches_full_walk),
        cmocka_unit_test(test_adjust_parse_errors_name_the_offset),
        cmocka_unit_test(test_adjust_validate_rejects_until_before_start),
        cmocka_unit_test(test_adjust_category_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
