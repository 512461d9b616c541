/*
 * clock.c — time helpers. See clock.h.
 */
#include "clock.h"

#include "err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t br_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t br_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *br_format_rfc3339_ms(int64_t ms, char *out, size_t size)
{
    int64_t sec = ms / 1000;
    int64_t frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        sec -= 1;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
    return out;
}

int br_parse_duration(const char *s, int64_t *out_ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {
        {"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000}, {"d", 24LL * 3600 * 1000},
        {"h", 3600LL * 1000},            {"m", 60LL * 1000},            {"s", 1000},
        {"ms", 1},
    };
    if (s == NULL || *s == '\0') {
        return BR_EPARSE;
    }
    if (strcmp(s, "0") == 0) {
        *out_ms = 0;
        return 0;
    }
    int64_t total = 0;
    size_t next_unit = 0;
    const char *p = s;
    while (*p != '\0') {
        if (*p < '0' || *p > '9') {
            return BR_EPARSE;
        }
        int64_t n = 0;
        while (*p >= '0' && *p <= '9') {
            if (n > (INT64_MAX - 9) / 10) {
                return BR_EPARSE;
            }
            n = n * 10 + (*p - '0');
            p++;
        }
        /* Longest unit match first so "ms" is not read as "m". */
        size_t i;
        size_t matched_len = 0;
        size_t matched = sizeof(units) / sizeof(units[0]);
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t ul = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, ul) == 0 && ul > matched_len) {
                matched = i;
                matched_len = ul;
            }
        }
        if (matched == sizeof(units) / sizeof(units[0]) || matched < next_unit) {
            return BR_EPARSE;
        }
        if (n != 0 && units[matched].ms > INT64_MAX / n) {
            return BR_EPARSE;
        }
        if (total > INT64_MAX - n * units[matched].ms) {
            return BR_EPARSE;
        }
        total += n * units[matched].ms;
        next_unit = matched + 1;
        p += matched_len;
    }
    *out_ms = total;
    return 0;
}

const char *br_format_duration(int64_t ms, char *out, size_t size)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {
        {"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000}, {"d", 24LL * 3600 * 1000},
        {"h", 3600LL * 1000},            {"m", 60LL * 1000},            {"s", 1000},
        {"ms", 1},
    };
    if (ms == 0) {
        snprintf(out, size, "0s");
        return out;
    }
    size_t off = 0;
    if (ms < 0) {
        off += (size_t)snprintf(out, size, "-");
        ms = -ms;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && off < size; i++) {
        if (ms >= units[i].ms) {
            int64_t n = ms / units[i].ms;
            ms -= n * units[i].ms;
            off += (size_t)snprintf(out + off, size - off, "%lld%s", (long long)n, units[i].unit);
        }
    }
    return out;
}
