/*
 * fuzz_tz.c — libFuzzer target for the TZif reader (engine/core/tz.h:
 * br_tz_parse), which reads the zone files named by calendar SLO periods
 * from the system's zoneinfo directory (or $TZDIR) at load time.
 *
 * Input: the bytes of one TZif file. The seeds are a handful of real zone
 * files (versions 2 and 3, with POSIX footers for northern and southern
 * DST, half-hour and 45-minute offsets and a 30-minute DST shift).
 *
 * Checked, for a file that parses: the zone keeps its name; the offset at
 * instants across the whole int64 range (the extremes, around the epoch,
 * and instants taken from the input itself) stays within the +-26 hours
 * the format and the footer grammar allow; local midnight of dates from
 * year -100,000,000 to 100,000,000 (the documented clamp) is computed
 * without overflow, and for years 1800-2200 it lies within a few days of
 * the same date's UTC midnight.
 */
#include "engine/core/tz.h"
#include "tests/fuzz/fuzz_util.h"

#include <stdint.h>
#include <string.h>

#define DAY_MS   INT64_C(86400000)
#define BOUND_S  (26 * 3600)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs();
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (m 1-12, d 1-31), for the cross-check below. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void check_offset(const br_tz *tz, int64_t t)
{
    int32_t off = br_tz_offset_at(tz, t);
    FZ_CHECK(off >= -BOUND_S && off <= BOUND_S, "offset %d s at %lld", off, (long long)t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    br_tz *tz = NULL;
    br_err err;
    br_err_clear(&err);
    if (br_tz_parse("Fuzz/Zone", data, size, &tz, &err) != 0) {
        FZ_CHECK(tz == NULL, "failed parse returned a zone");
        FZ_CHECK(err.msg[0] != '\0', "failed parse without a message");
        return 0;
    }
    FZ_CHECK(strcmp(br_tz_name(tz), "Fuzz/Zone") == 0, "name %s", br_tz_name(tz));

    static const int64_t fixed[] = {INT64_MIN,
                                    INT64_MIN + 1,
                                    -INT64_C(2208988800000), /* 1900 */
                                    -1,
                                    0,
                                    INT64_C(1700000000000),
                                    INT64_C(2147483647000),
                                    INT64_C(4102444800000), /* 2100 */
                                    INT64_MAX - 1,
                                    INT64_MAX};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        check_offset(tz, fixed[i]);
    }
    /* Instants from the input's own bytes hit its transition times. */
    for (size_t off = 0; off + 8 <= size && off < 512; off += 8) {
        int64_t t = 0;
        for (int k = 0; k < 8; k++) {
            t = (int64_t)((uint64_t)t << 8 | data[off + (size_t)k]);
        }
        check_offset(tz, t);
        if (t > INT64_MIN / 1000 && t < INT64_MAX / 1000) {
            check_offset(tz, t * 1000);
        }
    }

    static const int64_t years[] = {-100000001, -100000000, -4713, 0,         1800,     1900,
                                    1970,       2024,       2038,  2100,      2200,     100000000,
                                    100000001};
    static const int months[] = {1, 2, 3, 6, 10, 12, 0, 13};
    static const int days[] = {1, 15, 28, 29, 31, 0, 32};
    for (size_t yi = 0; yi < sizeof(years) / sizeof(years[0]); yi++) {
        for (size_t mi = 0; mi < sizeof(months) / sizeof(months[0]); mi++) {
            for (size_t di = 0; di < sizeof(days) / sizeof(days[0]); di++) {
                int64_t y = years[yi];
                int m = months[mi];
                int d = days[di];
                int64_t t = br_tz_local_midnight_to_utc(tz, y, m, d);
                if (y >= 1800 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 && d <= 28) {
                    int64_t utc = days_from_civil(y, m, d) * DAY_MS;
                    FZ_CHECK(t > utc - 3 * DAY_MS && t < utc + 3 * DAY_MS,
                             "midnight of %lld-%d-%d at %lld, UTC midnight %lld", (long long)y,
                             m, d, (long long)t, (long long)utc);
                }
            }
        }
    }
    br_tz_free(tz);
    return 0;
}
