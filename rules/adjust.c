/*
 * adjust.c — RRULE parsing and expansion of budget adjustments into the
 * excluded intervals the evaluator subtracts (contract in adjust.h).
 *
 * Expansion works on local wall time: an instant plus the zone's offset,
 * handled as if it were UTC, split into a day number (days since
 * 1970-01-01) and the time of day. The rule's FREQ defines periods (a day,
 * a week starting on WKST, a month, a year) numbered k = 0, 1, ... from the
 * one holding DTSTART, stepping by INTERVAL. Each period yields a sorted
 * list of days (BYMONTH / BYMONTHDAY / BYDAY expanding or limiting as RFC
 * 5545's table says), each day the sorted times BYHOUR x BYMINUTE (or
 * DTSTART's), each wall time is mapped back to UTC (wall_to_utc), and the
 * occurrences at or after DTSTART are visited in order while COUNT, UNTIL
 * and the caller's stop time allow.
 *
 * Without COUNT the walk starts a little before the first period that can
 * reach the requested range (there is nothing to count before it), so the
 * cost of an expansion is proportional to the range, not to how long ago
 * the rule started. With COUNT it starts at DTSTART; COUNT is capped at
 * BR_ADJUST_MAX_COUNT.
 *
 * Threads: no state; any thread.
 */
#include "adjust.h"

#include "engine/core/alloc.h"
#include "engine/core/civil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS (60LL * 1000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

static const char *const weekdays[7] = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"};

/* ------------------------------------------------------------ calendar */

static int64_t fdiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* 0 = Monday (1970-01-01 was a Thursday). */
static int weekday_of(int64_t day)
{
    return (int)(((day + 3) % 7 + 7) % 7);
}

static int month_len(int64_t y, int m)
{
    return (int)(br_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) -
                 br_days_from_civil(y, m, 1));
}

static int64_t offset_ms(const br_tz *tz, int64_t utc)
{
    return tz != NULL ? (int64_t)br_tz_offset_at(tz, utc) * 1000 : 0;
}

/* The UTC instant of a local wall time: the earlier one when the wall
 * time happens twice, the offset before the gap when it never happens. */
static int64_t wall_to_utc(const br_tz *tz, int64_t wall)
{
    if (tz == NULL) {
        return wall;
    }
    int64_t before = offset_ms(tz, wall - DAY_MS);
    int64_t after = offset_ms(tz, wall + DAY_MS);
    bool ok_b = offset_ms(tz, wall - before) == before;
    bool ok_a = offset_ms(tz, wall - after) == after;
    if (ok_b && ok_a) {
        return before > after ? wall - before : wall - after;
    }
    if (ok_a) {
        return wall - after;
    }
    return wall - before;
}

/* ------------------------------------------------------------ parsing */

static int fail(br_err *err, size_t *err_off, size_t off, const char *fmt, const char *what)
{
    *err_off = off;
    return br_err_set(err, BR_EINVAL, fmt, what);
}

/* Parses a signed integer of text[*i..] up to ',' / ';' / end. */
static bool parse_int(const char *t, size_t *i, int64_t min, int64_t max, int64_t *out)
{
    size_t j = *i;
    bool neg = false;
    if (t[j] == '+' || t[j] == '-') {
        neg = t[j] == '-';
        j++;
    }
    if (t[j] < '0' || t[j] > '9') {
        return false;
    }
    int64_t v = 0;
    while (t[j] >= '0' && t[j] <= '9') {
        v = v * 10 + (t[j] - '0');
        if (v > 1000000000) {
            return false;
        }
        j++;
    }
    if (neg) {
        v = -v;
    }
    if (v < min || v > max) {
        return false;
    }
    *i = j;
    *out = v;
    return true;
}

static int parse_weekday(const char *t, size_t *i)
{
    for (int w = 0; w < 7; w++) {
        if (t[*i] == weekdays[w][0] && t[*i + 1] == weekdays[w][1]) {
            *i += 2;
            return w;
        }
    }
    return -1;
}

static bool at_value_end(const char *t, size_t i)
{
    return t[i] == '\0' || t[i] == ';';
}

/* UNTIL=YYYYMMDD[THHMMSS[Z]]. */
static bool parse_until(const char *t, size_t *i, br_rrule *r)
{
    size_t j = *i;
    int dig[14];
    size_t nd = 0;
    for (; nd < 8; nd++) {
        if (t[j] < '0' || t[j] > '9') {
            return false;
        }
        dig[nd] = t[j++] - '0';
    }
    int64_t y = dig[0] * 1000 + dig[1] * 100 + dig[2] * 10 + dig[3];
    int mo = dig[4] * 10 + dig[5];
    int d = dig[6] * 10 + dig[7];
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_len(y, mo)) {
        return false;
    }
    int64_t day = br_days_from_civil(y, mo, d);
    if (t[j] != 'T') {
        r->until_ms = day * DAY_MS + DAY_MS - 1; /* the whole day */
        r->until_utc = false;
        *i = j;
        return true;
    }
    j++;
    for (; nd < 14; nd++) {
        if (t[j] < '0' || t[j] > '9') {
            return false;
        }
        dig[nd] = t[j++] - '0';
    }
    int h = dig[8] * 10 + dig[9];
    int mi = dig[10] * 10 + dig[11];
    int s = dig[12] * 10 + dig[13];
    if (h > 23 || mi > 59 || s > 60) {
        return false;
    }
    r->until_ms = day * DAY_MS + h * HOUR_MS + mi * MIN_MS + s * 1000LL;
    r->until_utc = false;
    if (t[j] == 'Z') {
        r->until_utc = true;
        j++;
    }
    *i = j;
    return true;
}

int br_rrule_parse(const char *text, br_rrule *out, size_t *err_off, br_err *err)
{
    static const char *const names[] = {"FREQ",       "INTERVAL", "COUNT",  "UNTIL",
                                        "BYDAY",      "BYMONTHDAY", "BYMONTH", "BYHOUR",
                                        "BYMINUTE",   "WKST",     NULL};
    size_t dummy = 0;
    if (err_off == NULL) {
        err_off = &dummy;
    }
    memset(out, 0, sizeof(*out));
    out->interval = 1;
    const char *t = text;
    size_t i = 0;
    if (strncmp(t, "RRULE:", 6) == 0) {
        i = 6;
    }
    unsigned seen = 0;
    size_t byday_off = 0;
    size_t bymonthday_off = 0;
    if (t[i] == '\0') {
        return fail(err, err_off, i, "rrule: %s", "empty rule; expected FREQ=...");
    }
    while (t[i] != '\0') {
        size_t part = i;
        int which = -1;
        for (int k = 0; names[k] != NULL; k++) {
            size_t len = strlen(names[k]);
            if (strncmp(t + i, names[k], len) == 0 && t[i + len] == '=') {
                which = k;
                i += len + 1;
                break;
            }
        }
        if (which < 0) {
            size_t len = strcspn(t + i, "=;");
            char name[32];
            snprintf(name, sizeof(name), "%.*s", (int)(len < 31 ? len : 31), t + i);
            *err_off = i;
            return br_err_set(err, BR_EINVAL,
                              "rrule: unsupported part \"%s\"; supported: FREQ, INTERVAL, COUNT, "
                              "UNTIL, BYDAY, BYMONTHDAY, BYMONTH, BYHOUR, BYMINUTE, WKST",
                              name);
        }
        if (seen & (1u << which)) {
            return fail(err, err_off, part, "rrule: %s given twice", names[which]);
        }
        seen |= 1u << which;
        int64_t v = 0;
        switch (which) {
        case 0: {
            static const char *const freqs[] = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"};
            for (int f = 0; f < 4; f++) {
                size_t len = strlen(freqs[f]);
                if (strncmp(t + i, freqs[f], len) == 0 && at_value_end(t, i + len)) {
                    out->freq = (br_rrule_freq)(f + 1);
                    i += len;
                    break;
                }
            }
            if (out->freq == BR_FREQ_NONE) {
                return fail(err, err_off, i, "rrule: %s",
                            "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY");
            }
            break;
        }
        case 1:
            if (!parse_int(t, &i, 1, BR_ADJUST_MAX_INTERVAL, &v)) {
                return fail(err, err_off, i, "rrule: %s", "INTERVAL must be 1 to 1000");
            }
            out->interval = (int)v;
            break;
        case 2:
            if (!parse_int(t, &i, 1, BR_ADJUST_MAX_COUNT, &v)) {
                return fail(err, err_off, i, "rrule: %s", "COUNT must be 1 to 100000");
            }
            out->count = (int)v;
            break;
        case 3:
            if (!parse_until(t, &i, out)) {
                return fail(err, err_off, i, "rrule: %s",
                            "UNTIL must be YYYYMMDD or YYYYMMDDTHHMMSS[Z] (year >= 1970)");
            }
            out->has_until = true;
            break;
        case 4:
            byday_off = i;
            for (;;) {
                int64_t ord = 0;
                size_t here = i;
                if (t[i] == '+' || t[i] == '-' || (t[i] >= '0' && t[i] <= '9')) {
                    if (!parse_int(t, &i, -53, 53, &ord) || ord == 0) {
                        return fail(err, err_off, here, "rrule: %s",
                                    "BYDAY ordinal must be 1 to 53 or -53 to -1");
                    }
                }
                int w = parse_weekday(t, &i);
                if (w < 0) {
                    return fail(err, err_off, i, "rrule: %s",
                                "BYDAY wants weekdays MO, TU, WE, TH, FR, SA, SU");
                }
                if (out->n_byday >= sizeof(out->byday) / sizeof(out->byday[0])) {
                    return fail(err, err_off, here, "rrule: %s", "too many BYDAY entries");
                }
                out->byday[out->n_byday].ordinal = (int8_t)ord;
                out->byday[out->n_byday].weekday = (int8_t)w;
                out->n_byday++;
                if (t[i] != ',') {
                    break;
                }
                i++;
            }
            break;
        case 5:
            bymonthday_off = i;
            for (;;) {
                size_t here = i;
                if (!parse_int(t, &i, -31, 31, &v) || v == 0) {
                    return fail(err, err_off, here, "rrule: %s",
                                "BYMONTHDAY must be 1 to 31 or -31 to -1");
                }
                if (out->n_bymonthday >= 31) {
                    return fail(err, err_off, here, "rrule: %s", "too many BYMONTHDAY entries");
                }
                out->bymonthday[out->n_bymonthday++] = (int8_t)v;
                if (t[i] != ',') {
                    break;
                }
                i++;
            }
            break;
        case 6:
        case 7:
        case 8: {
            int64_t lo = which == 6 ? 1 : 0;
            int64_t hi = which == 6 ? 12 : which == 7 ? 23 : 59;
            for (;;) {
                size_t here = i;
                if (!parse_int(t, &i, lo, hi, &v)) {
                    return fail(err, err_off, here, "rrule: %s",
                                which == 6   ? "BYMONTH must be 1 to 12"
                                : which == 7 ? "BYHOUR must be 0 to 23"
                                             : "BYMINUTE must be 0 to 59");
                }
                if (which == 6) {
                    out->bymonth |= (uint16_t)(1u << v);
                } else if (which == 7) {
                    out->byhour |= 1u << v;
                } else {
                    out->byminute |= 1ull << v;
                }
                if (t[i] != ',') {
                    break;
                }
                i++;
            }
            break;
        }
        default: {
            int w = parse_weekday(t, &i);
            if (w < 0) {
                return fail(err, err_off, i, "rrule: %s", "WKST must be MO, TU, ... or SU");
            }
            out->wkst = w;
            break;
        }
        }
        if (t[i] == ';') {
            i++;
            if (t[i] == '\0') {
                return fail(err, err_off, i, "rrule: %s", "trailing \";\"");
            }
        } else if (t[i] != '\0') {
            return fail(err, err_off, i, "rrule: %s", "unexpected character; parts are NAME=VALUE "
                                                      "separated by \";\"");
        }
    }
    if (out->freq == BR_FREQ_NONE) {
        return fail(err, err_off, 0, "rrule: %s", "FREQ is required");
    }
    if (out->count > 0 && out->has_until) {
        return fail(err, err_off, 0, "rrule: %s", "COUNT and UNTIL cannot both be given");
    }
    if (out->freq == BR_FREQ_WEEKLY && out->n_bymonthday > 0) {
        return fail(err, err_off, bymonthday_off, "rrule: %s",
                    "BYMONTHDAY cannot be used with FREQ=WEEKLY");
    }
    if (out->freq == BR_FREQ_DAILY || out->freq == BR_FREQ_WEEKLY) {
        for (size_t k = 0; k < out->n_byday; k++) {
            if (out->byday[k].ordinal != 0) {
                return fail(err, err_off, byday_off, "rrule: %s",
                            "BYDAY ordinals (like 1MO, -1FR) need FREQ=MONTHLY or YEARLY");
            }
        }
    }
    if (out->freq == BR_FREQ_MONTHLY || (out->freq == BR_FREQ_YEARLY && out->bymonth != 0)) {
        for (size_t k = 0; k < out->n_byday; k++) {
            if (out->byday[k].ordinal > 5 || out->byday[k].ordinal < -5) {
                return fail(err, err_off, byday_off, "rrule: %s",
                            "BYDAY ordinals within a month must be 1 to 5 or -5 to -1");
            }
        }
    }
    return 0;
}

int br_adjust_validate(const br_adjustment *a, br_err *err)
{
    if (a->duration_ms <= 0) {
        return br_err_set(err, BR_EINVAL, "adjustment %s: the duration must be positive",
                          a->name ? a->name : "");
    }
    if (a->rrule.has_until) {
        int64_t start = a->rrule.until_utc ? a->start_ms
                                           : a->start_ms + offset_ms(a->tz, a->start_ms);
        if (a->rrule.until_ms < start) {
            return br_err_set(err, BR_EINVAL, "adjustment %s: rrule UNTIL is before the start",
                              a->name ? a->name : "");
        }
    }
    return 0;
}

/* ------------------------------------------------------------ expansion */

typedef struct walker {
    const br_adjustment *a;
    const br_rrule *r;
    int64_t dtstart;     /* UTC */
    int64_t d0;          /* DTSTART's local day */
    int64_t y0;
    int m0;
    int dd0;
    int64_t tod0;        /* DTSTART's local time of day, ms */
    int64_t stop;        /* UTC; occurrences starting at or after it end the walk */
    int count;           /* occurrences at or after DTSTART so far */
    size_t visited;
    int (*fn)(void *ctx, int64_t start_ms);
    void *ctx;
    bool done;
} walker;

static bool byday_match(const br_rrule *r, int wd, int fwd, int back)
{
    for (size_t k = 0; k < r->n_byday; k++) {
        if (r->byday[k].weekday == wd &&
            (r->byday[k].ordinal == 0 || r->byday[k].ordinal == fwd ||
             r->byday[k].ordinal == back)) {
            return true;
        }
    }
    return false;
}

static bool monthday_match(const br_rrule *r, int d, int mlen)
{
    for (size_t k = 0; k < r->n_bymonthday; k++) {
        int v = r->bymonthday[k];
        if (v == d || (v < 0 && mlen + 1 + v == d)) {
            return true;
        }
    }
    return false;
}

/* Visits the times of one local day, in order. */
static void emit_day(walker *w, int64_t day)
{
    const br_rrule *r = w->r;
    int h0 = (int)(w->tod0 / HOUR_MS);
    int mi0 = (int)((w->tod0 % HOUR_MS) / MIN_MS);
    int64_t sec0 = w->tod0 % MIN_MS;
    for (int h = 0; h < 24 && !w->done; h++) {
        if (r->byhour != 0 ? !(r->byhour & (1u << h)) : h != h0) {
            continue;
        }
        for (int mi = 0; mi < 60 && !w->done; mi++) {
            if (r->byminute != 0 ? !(r->byminute & (1ull << mi)) : mi != mi0) {
                continue;
            }
            int64_t wall = day * DAY_MS + h * HOUR_MS + mi * MIN_MS + sec0;
            int64_t utc = wall_to_utc(w->a->tz, wall);
            if (utc < w->dtstart) {
                continue;
            }
            if (r->has_until && (r->until_utc ? utc : wall) > r->until_ms) {
                w->done = true;
                return;
            }
            if (utc >= w->stop) {
                w->done = true;
                return;
            }
            w->count++;
            w->visited++;
            if (w->fn(w->ctx, utc) != 0) {
                w->done = true;
                return;
            }
            if (r->count > 0 && w->count >= r->count) {
                w->done = true;
                return;
            }
        }
    }
}

/* Candidate days of month (y, m), limited by BYMONTHDAY / BYDAY with
 * month ordinals, or DTSTART's day of month. */
static void emit_month(walker *w, int64_t y, int m)
{
    const br_rrule *r = w->r;
    int mlen = month_len(y, m);
    int64_t first = br_days_from_civil(y, m, 1);
    if (r->n_bymonthday == 0 && r->n_byday == 0) {
        if (w->dd0 <= mlen) {
            emit_day(w, first + w->dd0 - 1);
        }
        return;
    }
    for (int d = 1; d <= mlen && !w->done; d++) {
        int64_t day = first + d - 1;
        if (r->n_bymonthday > 0 && !monthday_match(r, d, mlen)) {
            continue;
        }
        if (r->n_byday > 0 &&
            !byday_match(r, weekday_of(day), (d - 1) / 7 + 1, -((mlen - d) / 7 + 1))) {
            continue;
        }
        emit_day(w, day);
    }
}

static void emit_period(walker *w, int64_t k)
{
    const br_rrule *r = w->r;
    int64_t step = (int64_t)r->interval * k;
    switch (r->freq) {
    case BR_FREQ_DAILY: {
        int64_t day = w->d0 + step;
        int64_t y;
        int m;
        int d;
        br_civil_from_days(day, &y, &m, &d);
        if (r->bymonth != 0 && !(r->bymonth & (1u << m))) {
            return;
        }
        if (r->n_bymonthday > 0 && !monthday_match(r, d, month_len(y, m))) {
            return;
        }
        if (r->n_byday > 0 && !byday_match(r, weekday_of(day), 0, 0)) {
            return;
        }
        emit_day(w, day);
        return;
    }
    case BR_FREQ_WEEKLY: {
        int64_t ws = w->d0 - ((weekday_of(w->d0) - r->wkst + 7) % 7) + 7 * step;
        for (int i = 0; i < 7 && !w->done; i++) {
            int64_t day = ws + i;
            int wd = weekday_of(day);
            if (r->n_byday > 0 ? !byday_match(r, wd, 0, 0) : wd != weekday_of(w->d0)) {
                continue;
            }
            if (r->bymonth != 0) {
                int64_t y;
                int m;
                int d;
                br_civil_from_days(day, &y, &m, &d);
                if (!(r->bymonth & (1u << m))) {
                    continue;
                }
            }
            emit_day(w, day);
        }
        return;
    }
    case BR_FREQ_MONTHLY: {
        int64_t mi = w->y0 * 12 + (w->m0 - 1) + step;
        int64_t y = fdiv(mi, 12);
        int m = (int)(mi - y * 12) + 1;
        if (r->bymonth != 0 && !(r->bymonth & (1u << m))) {
            return;
        }
        emit_month(w, y, m);
        return;
    }
    case BR_FREQ_YEARLY:
    default: {
        int64_t y = w->y0 + step;
        if (r->bymonth == 0 && r->n_byday > 0) {
            /* Ordinals count weeks of the year. */
            int64_t first = br_days_from_civil(y, 1, 1);
            int ylen = (int)(br_days_from_civil(y + 1, 1, 1) - first);
            for (int doy = 0; doy < ylen && !w->done; doy++) {
                int64_t day = first + doy;
                if (!byday_match(r, weekday_of(day), doy / 7 + 1, -((ylen - 1 - doy) / 7 + 1))) {
                    continue;
                }
                if (r->n_bymonthday > 0) {
                    int64_t yy;
                    int m;
                    int d;
                    br_civil_from_days(day, &yy, &m, &d);
                    if (!monthday_match(r, d, month_len(yy, m))) {
                        continue;
                    }
                }
                emit_day(w, day);
            }
            return;
        }
        for (int m = 1; m <= 12 && !w->done; m++) {
            bool want = r->bymonth != 0 ? (r->bymonth & (1u << m)) != 0
                                        : (r->n_bymonthday > 0 || m == w->m0);
            if (want) {
                emit_month(w, y, m);
            }
        }
        return;
    }
    }
}

/* First period worth walking when nothing needs counting: a little
 * before the one holding from_day. */
static int64_t first_period(const walker *w, int64_t from_day)
{
    const br_rrule *r = w->r;
    if (r->count > 0 || from_day <= w->d0) {
        return 0;
    }
    int64_t k;
    switch (r->freq) {
    case BR_FREQ_DAILY:
        k = fdiv(from_day - w->d0, r->interval) - 1;
        break;
    case BR_FREQ_WEEKLY:
        k = fdiv(from_day - w->d0, 7LL * r->interval) - 1;
        break;
    case BR_FREQ_MONTHLY: {
        int64_t y;
        int m;
        int d;
        br_civil_from_days(from_day, &y, &m, &d);
        k = fdiv(y * 12 + m - 1 - (w->y0 * 12 + w->m0 - 1), r->interval) - 1;
        break;
    }
    default: {
        int64_t y;
        int m;
        int d;
        br_civil_from_days(from_day, &y, &m, &d);
        k = fdiv(y - w->y0, r->interval) - 1;
        break;
    }
    }
    return k > 0 ? k : 0;
}

/* First local day of period k (to know when the walk has passed stop). */
static int64_t period_first_day(const walker *w, int64_t k)
{
    const br_rrule *r = w->r;
    int64_t step = (int64_t)r->interval * k;
    switch (r->freq) {
    case BR_FREQ_DAILY:
        return w->d0 + step;
    case BR_FREQ_WEEKLY:
        return w->d0 - ((weekday_of(w->d0) - r->wkst + 7) % 7) + 7 * step;
    case BR_FREQ_MONTHLY: {
        int64_t mi = w->y0 * 12 + (w->m0 - 1) + step;
        int64_t y = fdiv(mi, 12);
        return br_days_from_civil(y, (int)(mi - y * 12) + 1, 1);
    }
    default:
        return br_days_from_civil(w->y0 + step, 1, 1);
    }
}

static void walk(const br_adjustment *a, int64_t from, int64_t stop,
                 int (*fn)(void *ctx, int64_t start_ms), void *ctx, size_t *visited)
{
    walker w;
    memset(&w, 0, sizeof(w));
    w.a = a;
    w.r = &a->rrule;
    w.dtstart = a->start_ms;
    w.stop = stop;
    w.fn = fn;
    w.ctx = ctx;
    if (a->rrule.freq == BR_FREQ_NONE) {
        if (a->start_ms < stop) {
            w.visited = 1;
            fn(ctx, a->start_ms);
        }
        *visited = w.visited;
        return;
    }
    int64_t wall0 = a->start_ms + offset_ms(a->tz, a->start_ms);
    w.d0 = fdiv(wall0, DAY_MS);
    w.tod0 = wall0 - w.d0 * DAY_MS;
    br_civil_from_days(w.d0, &w.y0, &w.m0, &w.dd0);
    int64_t stop_day = fdiv(stop, DAY_MS) + 2;
    int64_t from_day = fdiv(from, DAY_MS) - 2;
    for (int64_t k = first_period(&w, from_day); !w.done; k++) {
        if (period_first_day(&w, k) > stop_day) {
            break;
        }
        emit_period(&w, k);
    }
    *visited = w.visited;
}

size_t br_adjust_each(const br_adjustment *a, int64_t from_ms, int64_t stop_ms,
                      int (*fn)(void *ctx, int64_t start_ms), void *ctx)
{
    size_t visited = 0;
    walk(a, from_ms > a->start_ms ? from_ms : a->start_ms, stop_ms, fn, ctx, &visited);
    return visited;
}

typedef struct expand_ctx {
    br_adjust_list *out;
    int64_t from;
    int64_t to;
    int64_t dur;
    size_t produced;
    bool over;
} expand_ctx;

static void list_push(br_adjust_list *l, int64_t s, int64_t e)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->iv = br_realloc(l->iv, l->cap * sizeof(*l->iv));
    }
    l->iv[l->n].start = s;
    l->iv[l->n].end = e;
    l->n++;
}

static int expand_fn(void *vctx, int64_t start)
{
    expand_ctx *c = vctx;
    int64_t end = start + c->dur;
    if (end <= c->from) {
        return 0;
    }
    if (++c->produced > BR_ADJUST_MAX_OCCURRENCES) {
        c->over = true;
        return 1;
    }
    list_push(c->out, start > c->from ? start : c->from, end < c->to ? end : c->to);
    return 0;
}

static int cmp_iv(const void *x, const void *y)
{
    const br_interval *a = x;
    const br_interval *b = y;
    if (a->start != b->start) {
        return (a->start > b->start) - (a->start < b->start);
    }
    return (a->end > b->end) - (a->end < b->end);
}

int br_adjust_expand(const br_adjustment *a, size_t n, int64_t from, int64_t to,
                     br_adjust_list *out, br_err *err)
{
    for (size_t i = 0; i < n; i++) {
        expand_ctx c = {out, from, to, a[i].duration_ms, 0, false};
        size_t visited = 0;
        walk(&a[i], from - a[i].duration_ms, to, expand_fn, &c, &visited);
        if (c.over) {
            return br_err_set(err, BR_ELIMIT,
                              "adjustment %s: more than %d occurrences in the range",
                              a[i].name ? a[i].name : "", BR_ADJUST_MAX_OCCURRENCES);
        }
    }
    if (out->n > 1) {
        qsort(out->iv, out->n, sizeof(*out->iv), cmp_iv);
    }
    size_t u = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (out->iv[i].end <= out->iv[i].start) {
            continue;
        }
        if (u > 0 && out->iv[i].start <= out->iv[u - 1].end) {
            if (out->iv[i].end > out->iv[u - 1].end) {
                out->iv[u - 1].end = out->iv[i].end;
            }
            continue;
        }
        out->iv[u++] = out->iv[i];
    }
    out->n = u;
    return 0;
}

int64_t br_adjust_covered(const br_adjust_list *l, int64_t from, int64_t to)
{
    int64_t sum = 0;
    for (size_t i = 0; l != NULL && i < l->n; i++) {
        int64_t s = l->iv[i].start > from ? l->iv[i].start : from;
        int64_t e = l->iv[i].end < to ? l->iv[i].end : to;
        if (e > s) {
            sum += e - s;
        }
    }
    return sum;
}

void br_adjust_list_free(br_adjust_list *l)
{
    br_free(l->iv);
    l->iv = NULL;
    l->n = 0;
    l->cap = 0;
}

static bool digits(const char *t, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9') {
            return false;
        }
        v = v * 10 + (t[i] - '0');
    }
    *out = v;
    return true;
}

int br_adjust_parse_time(const char *t, const br_tz *tz, int64_t *out_ms)
{
    int y;
    int mo;
    int d;
    int h;
    int mi;
    int sec = 0;
    size_t len = strlen(t);
    if (len < 16 || !digits(t, 4, &y) || t[4] != '-' || !digits(t + 5, 2, &mo) || t[7] != '-' ||
        !digits(t + 8, 2, &d) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') ||
        !digits(t + 11, 2, &h) || t[13] != ':' || !digits(t + 14, 2, &mi)) {
        return BR_EINVAL;
    }
    size_t i = 16;
    int64_t frac = 0;
    if (t[i] == ':') {
        if (!digits(t + i + 1, 2, &sec)) {
            return BR_EINVAL;
        }
        i += 3;
        if (t[i] == '.') {
            i++;
            int64_t scale = 100;
            size_t nd = 0;
            while (t[i] >= '0' && t[i] <= '9') {
                frac += (t[i] - '0') * scale;
                scale /= 10;
                i++;
                nd++;
            }
            if (nd == 0) {
                return BR_EINVAL;
            }
        }
    }
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > month_len(y, mo) || h > 23 ||
        mi > 59 || sec > 59) {
        return BR_EINVAL;
    }
    int64_t wall = br_days_from_civil(y, mo, d) * DAY_MS + h * HOUR_MS + mi * MIN_MS +
                   sec * 1000LL + frac;
    if (t[i] == '\0') {
        *out_ms = wall_to_utc(tz, wall);
        return 0;
    }
    if ((t[i] == 'Z' || t[i] == 'z') && t[i + 1] == '\0') {
        *out_ms = wall;
        return 0;
    }
    int oh;
    int om;
    if ((t[i] == '+' || t[i] == '-') && digits(t + i + 1, 2, &oh) && t[i + 3] == ':' &&
        digits(t + i + 4, 2, &om) && t[i + 6] == '\0' && oh <= 23 && om <= 59) {
        int64_t off = oh * HOUR_MS + om * MIN_MS;
        *out_ms = t[i] == '+' ? wall - off : wall + off;
        return 0;
    }
    return BR_EINVAL;
}

static const char *const category_names[] = {"maintenance", "deployment",
                                              "outside_business_hours", "other"};

const char *br_adjust_category_name(br_adjust_category c)
{
    return (unsigned)c < 4 ? category_names[c] : "other";
}

int br_adjust_category_parse(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, category_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}
