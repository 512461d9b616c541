/*
 * adjust.h — budget adjustments: periods excluded from an SLO's SLI
 * (maintenance windows, deployments, nights outside business hours), so
 * errors in them do not burn budget.
 *
 * An adjustment is one event (start + duration) or a recurrence: an RFC
 * 5545 RRULE whose DTSTART is `start`, expanded in local time of an IANA
 * zone (so "02:00 every Sunday in Europe/Paris" stays at 02:00 local across
 * DST changes) or in UTC. The loaders (slo_native.c) parse adjustments
 * into br_adjustment records owned by the SLO set; the evaluator asks
 * br_adjust_expand for the excluded intervals overlapping the range it
 * counts and subtracts the events in them from every window.
 *
 * Interval convention: an occurrence starting at s covers (s, s + dur],
 * the half-open (start, end] of br_interval, so a sample at exactly s
 * still counts and one at s + dur does not (increments are attributed to
 * the later sample's timestamp, as in br_head_series_window_aggs).
 *
 * RRULE subset (anything else is an error naming the offset in the text):
 *   FREQ=DAILY|WEEKLY|MONTHLY|YEARLY (required), INTERVAL=n (1..1000),
 *   COUNT=n (1..100000) or UNTIL=YYYYMMDD[THHMMSS[Z]] (inclusive, UTC when
 *   Z, else local), BYDAY=MO,TU,... (ordinals like 1MO, -1FR only with
 *   MONTHLY / YEARLY), BYMONTHDAY=1..31 / -31..-1 (not with WEEKLY),
 *   BYMONTH=1..12, BYHOUR=0..23, BYMINUTE=0..59, WKST=MO..SU.
 * Semantics follow RFC 5545 section 3.3.10: BYxxx expand the period of a
 * coarser FREQ and limit a finer one; a date that does not exist (Feb 30)
 * is skipped; occurrences before DTSTART are not produced; COUNT counts
 * from DTSTART; a local time skipped by DST uses the offset before the gap
 * (02:30 on the spring-forward day becomes 03:30), a repeated one the
 * earlier instant.
 *
 * Threads: pure functions over immutable records; any thread.
 */
#ifndef BR_RULES_ADJUST_H
#define BR_RULES_ADJUST_H

#include "engine/core/err.h"
#include "engine/core/tz.h"
#include "storage/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits on what a file can ask for. */
#define BR_ADJUST_MAX_COUNT 100000
#define BR_ADJUST_MAX_INTERVAL 1000
/* At most this many occurrences per expansion (BR_ELIMIT beyond). */
#define BR_ADJUST_MAX_OCCURRENCES 200000

typedef enum br_adjust_category {
    BR_ADJUST_MAINTENANCE = 0,
    BR_ADJUST_DEPLOYMENT = 1,
    BR_ADJUST_OUTSIDE_BUSINESS_HOURS = 2,
    BR_ADJUST_OTHER = 3,
} br_adjust_category;

typedef enum br_rrule_freq {
    BR_FREQ_NONE = 0, /* a single event */
    BR_FREQ_DAILY = 1,
    BR_FREQ_WEEKLY = 2,
    BR_FREQ_MONTHLY = 3,
    BR_FREQ_YEARLY = 4,
} br_rrule_freq;

/* One BYDAY entry: weekday 0 = Monday .. 6 = Sunday; ordinal 0 = every
 * such day, n = the n-th (from the end when negative) of the month/year. */
typedef struct br_rrule_day {
    int8_t ordinal;
    int8_t weekday;
} br_rrule_day;

typedef struct br_rrule {
    br_rrule_freq freq;
    int interval;          /* >= 1 */
    int count;             /* 0 = unlimited */
    bool has_until;
    bool until_utc;        /* UNTIL ended in Z */
    int64_t until_ms;      /* UTC instant when until_utc, else local wall time as if UTC */
    br_rrule_day byday[32];
    size_t n_byday;
    int8_t bymonthday[31];
    size_t n_bymonthday;
    uint16_t bymonth;      /* bit m (1..12) */
    uint32_t byhour;       /* bit h (0..23) */
    uint64_t byminute;     /* bit m (0..59) */
    int wkst;              /* 0 = Monday (default) */
} br_rrule;

typedef struct br_adjustment {
    const char *name;         /* borrowed from the owner (the SLO set's arena) */
    br_adjust_category category;
    int64_t start_ms;         /* first occurrence (DTSTART), UTC */
    int64_t duration_ms;      /* > 0 */
    br_rrule rrule;           /* freq NONE = one event */
    const br_tz *tz;          /* borrowed; NULL = UTC */
} br_adjustment;

/* Parses an RRULE value ("FREQ=WEEKLY;BYDAY=SU;COUNT=10"; a leading
 * "RRULE:" is allowed). On error returns BR_EINVAL, sets *err_off to the
 * byte offset in text of the offending part and fills err. */
int br_rrule_parse(const char *text, br_rrule *out, size_t *err_off, br_err *err);

/* Checks what only the whole adjustment can tell (UNTIL before start,
 * ordinals with a FREQ that does not allow them was already refused by
 * the parser). Returns 0 or BR_EINVAL with err. */
int br_adjust_validate(const br_adjustment *a, br_err *err);

/* A growable list of intervals (heap; free with br_adjust_list_free). */
typedef struct br_adjust_list {
    br_interval *iv;
    size_t n;
    size_t cap;
} br_adjust_list;

void br_adjust_list_free(br_adjust_list *l);

/* Appends to out the occurrences of the n adjustments (borrowed) that
 * overlap (from, to], clipped to it, then sorts and merges out so it
 * holds sorted, disjoint, non-adjacent intervals. BR_ELIMIT (with err)
 * when more than BR_ADJUST_MAX_OCCURRENCES would be produced. */
int br_adjust_expand(const br_adjustment *a, size_t n, int64_t from, int64_t to,
                     br_adjust_list *out, br_err *err);

/* Calls fn(ctx, start_ms) for each occurrence start of a (borrowed), in
 * order, until fn returns non-zero, the rule ends, or an occurrence
 * starts at or after stop_ms. Occurrences starting well before from_ms
 * (more than a period of the rule) may be skipped unless the rule has a
 * COUNT; INT64_MIN visits all. Returns the number visited. */
size_t br_adjust_each(const br_adjustment *a, int64_t from_ms, int64_t stop_ms,
                      int (*fn)(void *ctx, int64_t start_ms), void *ctx);

/* Total length of the parts of (from, to] covered by the sorted, disjoint
 * list l. */
int64_t br_adjust_covered(const br_adjust_list *l, int64_t from, int64_t to);

/* Parses an RFC 3339 time ("2026-11-01T02:00:00Z", "...+01:00",
 * fractional seconds allowed). Without an offset the time is local to tz
 * (DST rules as for rules), or UTC when tz is NULL. Returns 0 or
 * BR_EINVAL. */
int br_adjust_parse_time(const char *text, const br_tz *tz, int64_t *out_ms);

/* Names for messages and the API ("maintenance", ...); parse returns -1
 * for an unknown name. */
const char *br_adjust_category_name(br_adjust_category c);
int br_adjust_category_parse(const char *name);

#endif
