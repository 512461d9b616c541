/*
 * tz.h — IANA time zones for calendar SLO periods.
 *
 * A calendar period ("month in Europe/Paris") starts at local midnight of
 * its zone, so the rules loaders resolve the zone name once, at load time,
 * into a br_tz, and the evaluator asks it two questions: the offset from
 * UTC at an instant, and the UTC instant of local 00:00 of a date.
 *
 * Zones come from the system's compiled tz database: TZif files (RFC 8536,
 * versions 1 to 4) under $TZDIR or, when that is unset, /usr/share/zoneinfo
 * (Debian's `tzdata` package). The 64-bit data of version 2+ files is used
 * and their footer (a POSIX TZ rule such as "CET-1CEST,M3.5.0,M10.5.0/3")
 * gives the offset after the last stored transition. "UTC", "Z" and fixed
 * offsets ("+05:30", "-03", "+0100") need no file. The byte layout and the
 * checks made on it are described in tz.c.
 *
 * Limits: names are at most BR_TZ_MAX_NAME bytes of [A-Za-z0-9_+-./] with
 * no absolute path and no "." or ".." component (user input never leaves
 * the zoneinfo directory); files are at most BR_TZ_MAX_FILE bytes.
 * Leap-second ("right/") zones are refused.
 *
 * Threads: a loaded br_tz is immutable, so any thread may query it
 * concurrently; whoever loaded it frees it once nobody queries it.
 */
#ifndef BR_CORE_TZ_H
#define BR_CORE_TZ_H

#include "engine/core/err.h"

#include <stddef.h>
#include <stdint.h>

#define BR_TZ_MAX_NAME 255
#define BR_TZ_MAX_FILE (256 * 1024)

typedef struct br_tz br_tz;

/* Loads the zone called name (borrowed): "UTC", a fixed offset, or an IANA
 * name read from the zoneinfo directory. On success *out is a new zone
 * (free with br_tz_free). Errors: BR_EINVAL (malformed name), BR_ENOTFOUND
 * (no such zone), BR_ETOOLARGE, BR_ECORRUPT (not a valid TZif file),
 * BR_EUNSUPPORTED (leap seconds), BR_EIO; err's message names the zone. */
int br_tz_load(const char *name, br_tz **out, br_err *err);

/* Like br_tz_load, reading IANA names under dir (borrowed) instead. */
int br_tz_load_dir(const char *dir, const char *name, br_tz **out, br_err *err);

/* Parses TZif bytes (data borrowed, len bytes) as the zone name (borrowed,
 * copied into the zone). Same results and errors as br_tz_load. */
int br_tz_parse(const char *name, const unsigned char *data, size_t len, br_tz **out, br_err *err);

/* The name the zone was loaded as; view valid until br_tz_free. */
const char *br_tz_name(const br_tz *tz);

/* The zone's offset at the UTC instant utc_ms (ms since the epoch), in
 * seconds east of UTC (Paris in summer: 7200). tz is borrowed. */
int32_t br_tz_offset_at(const br_tz *tz, int64_t utc_ms);

/* The UTC instant (ms) at which the local date y-m-d begins in tz: the
 * first instant whose local time is 00:00 or later on that date. When a
 * DST change skips midnight, that is the first instant after the gap (the
 * change itself); when midnight happens twice, the earlier one. m is 1-12
 * and d 1-31 (a day past the end of the month runs into the next one);
 * out-of-range m and d are clamped, and y to +-100,000,000. */
int64_t br_tz_local_midnight_to_utc(const br_tz *tz, int64_t y, int m, int d);

/* Frees a zone from br_tz_load, br_tz_load_dir or br_tz_parse; NULL is allowed. */
void br_tz_free(br_tz *tz);

#endif
