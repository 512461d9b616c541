/*
 * log.h — logfmt logging with levels, to stderr (or a sink set at start-up).
 *
 * A line looks like:
 *   ts=2026-11-27T06:00:00.123Z level=info msg="WAL replay done" duration_ms=12
 * br_log() takes the message and an optional printf format for the
 * key=value tail; the caller quotes values that may hold spaces, using
 * br_log_quote() for untrusted text. The level and sink are set once at
 * start-up (the only mutable globals besides self-metrics); logging itself
 * is thread-safe (one write per line).
 */
#ifndef BR_CORE_LOG_H
#define BR_CORE_LOG_H

#include <stddef.h>
#include <stdio.h>

typedef enum br_log_level {
    BR_LOG_DEBUG = 0,
    BR_LOG_INFO = 1,
    BR_LOG_WARN = 2,
    BR_LOG_ERROR = 3,
} br_log_level;

/* Parses "debug", "info", "warn", "error"; returns 0 or BR_EINVAL. */
int br_log_parse_level(const char *s, br_log_level *out);
void br_log_set_level(br_log_level level);
br_log_level br_log_get_level(void);
/* Sets the sink (default stderr). Not owned. */
void br_log_set_sink(FILE *f);

void br_log(br_log_level level, const char *msg, const char *kvfmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes s as a logfmt-quoted value ("..." with \" \\ \n escaped) into out;
 * truncates to fit; returns out. */
const char *br_log_quote(const char *s, char *out, size_t size);

#define br_log_debug(msg, ...) br_log(BR_LOG_DEBUG, msg, __VA_ARGS__)
#define br_log_info(msg, ...)  br_log(BR_LOG_INFO, msg, __VA_ARGS__)
#define br_log_warn(msg, ...)  br_log(BR_LOG_WARN, msg, __VA_ARGS__)
#define br_log_error(msg, ...) br_log(BR_LOG_ERROR, msg, __VA_ARGS__)

#endif
