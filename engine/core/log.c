/*
 * log.c — logfmt logger. See log.h.
 */
#include "log.h"

#include "clock.h"
#include "err.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static _Atomic int log_level = BR_LOG_INFO;
static FILE *log_sink;

int br_log_parse_level(const char *s, br_log_level *out)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (br_log_level)i;
            return 0;
        }
    }
    return BR_EINVAL;
}

void br_log_set_level(br_log_level level)
{
    atomic_store(&log_level, (int)level);
}

br_log_level br_log_get_level(void)
{
    return (br_log_level)atomic_load(&log_level);
}

void br_log_set_sink(FILE *f)
{
    log_sink = f;
}

const char *br_log_quote(const char *s, char *out, size_t size)
{
    size_t o = 0;
    if (size < 3) {
        if (size > 0) {
            out[0] = '\0';
        }
        return out;
    }
    out[o++] = '"';
    for (; *s != '\0' && o + 3 < size; s++) {
        char c = *s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

void br_log(br_log_level level, const char *msg, const char *kvfmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if ((int)level < atomic_load(&log_level)) {
        return;
    }
    char line[2048];
    char ts[40];
    br_format_rfc3339_ms(br_now_ms(), ts, sizeof(ts));
    char qmsg[512];
    int n = snprintf(line, sizeof(line), "ts=%s level=%s msg=%s", ts, names[level],
                     br_log_quote(msg, qmsg, sizeof(qmsg)));
    if (n < 0) {
        return;
    }
    size_t off = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    if (kvfmt != NULL && kvfmt[0] != '\0' && off + 2 < sizeof(line)) {
        line[off++] = ' ';
        va_list ap;
        va_start(ap, kvfmt);
        int m = vsnprintf(line + off, sizeof(line) - off, kvfmt, ap);
        va_end(ap);
        if (m > 0) {
            off += (size_t)m < sizeof(line) - off ? (size_t)m : sizeof(line) - off - 1;
        }
    }
    if (off + 1 >= sizeof(line)) {
        off = sizeof(line) - 2;
    }
    line[off++] = '\n';
    FILE *f = log_sink ? log_sink : stderr;
    fwrite(line, 1, off, f);
    fflush(f);
}
