/*
 * civil.h — proleptic Gregorian calendar arithmetic on day numbers (days
 * since 1970-01-01), for calendar SLO periods, adjustment recurrences and
 * RFC 3339 parsing. Exact for every int64 day a caller can reach from a
 * millisecond timestamp; no time zones (engine/core/tz.h maps local time).
 * Pure functions, any thread.
 */
#ifndef BR_CORE_CIVIL_H
#define BR_CORE_CIVIL_H

#include <stdint.h>

/* Day number of year y, month m (1..12), day d (1..31). */
int64_t br_days_from_civil(int64_t y, int m, int d);
/* The date of day number z. */
void br_civil_from_days(int64_t z, int64_t *y, int *m, int *d);

#endif
