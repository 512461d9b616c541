/*
 * clock.h — wall and monotonic time, and timestamp/duration formatting.
 *
 * Sample timestamps are int64 milliseconds since the Unix epoch, as in
 * Prometheus. Durations parsed from configs and query parameters use
 * Prometheus' syntax: units y w d h m s ms in that order, integers only
 * (1y = 365d, 1w = 7d), e.g. "1h30m", "30d", "5m".
 */
#ifndef BR_CORE_CLOCK_H
#define BR_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t br_now_ms(void);
/* Monotonic clock in nanoseconds, for measuring durations. */
int64_t br_mono_ns(void);

/* Writes "2026-11-27T06:00:00.123Z"; returns out. */
const char *br_format_rfc3339_ms(int64_t ms, char *out, size_t size);

/* Parses a Prometheus duration ("5m", "1h30m", "30d", "0") into ms.
 * Returns 0 or BR_EPARSE. */
int br_parse_duration(const char *s, int64_t *out_ms);
/* Writes the shortest Prometheus duration string for ms ("1h30m"). */
const char *br_format_duration(int64_t ms, char *out, size_t size);

#endif
