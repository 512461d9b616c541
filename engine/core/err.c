/*
 * err.c — the error table and br_err helpers. See err.h.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *br_err_name(int code)
{
    switch (code) {
    case BR_OK:
        return "BR_OK";
#define BR_ERR_NAME_(name, val, text)                                                              \
    case val:                                                                                      \
        return "BR_E" #name;
        BR_ERRNO_MAP(BR_ERR_NAME_)
#undef BR_ERR_NAME_
    default:
        return "BR_UNKNOWN";
    }
}

const char *br_strerror(int code)
{
    switch (code) {
    case BR_OK:
        return "success";
#define BR_ERR_TEXT_(name, val, text)                                                              \
    case val:                                                                                      \
        return text;
        BR_ERRNO_MAP(BR_ERR_TEXT_)
#undef BR_ERR_TEXT_
    default:
        return "unknown error";
    }
}

void br_err_clear(br_err *err)
{
    if (err == NULL) {
        return;
    }
    memset(err, 0, sizeof(*err));
}

static void err_vfill(br_err *err, int code, const char *fmt, va_list ap)
{
    err->code = code;
    if (fmt == NULL) {
        snprintf(err->msg, sizeof(err->msg), "%s", br_strerror(code));
    } else {
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    }
}

int br_err_set(br_err *err, int code, const char *fmt, ...)
{
    if (err == NULL) {
        return code;
    }
    err->line = 0;
    err->col = 0;
    err->file[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    err_vfill(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int br_err_setpos(br_err *err, int code, const char *file, int line, int col, const char *fmt, ...)
{
    if (err == NULL) {
        return code;
    }
    snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
    err->line = line;
    err->col = col;
    va_list ap;
    va_start(ap, fmt);
    err_vfill(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void br_err_prefix(br_err *err, const char *fmt, ...)
{
    if (err == NULL) {
        return;
    }
    char prefix[BR_ERR_MSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    char joined[2 * BR_ERR_MSG_SIZE + 4];
    snprintf(joined, sizeof(joined), "%s: %s", prefix, err->msg);
    size_t n = strlen(joined);
    if (n >= sizeof(err->msg)) {
        n = sizeof(err->msg) - 1;
    }
    memcpy(err->msg, joined, n);
    err->msg[n] = '\0';
}

const char *br_err_format(const br_err *err, char *out, size_t size)
{
    if (err->file[0] != '\0' && err->line > 0 && err->col > 0) {
        snprintf(out, size, "%s:%d:%d: %s", err->file, err->line, err->col, err->msg);
    } else if (err->file[0] != '\0' && err->line > 0) {
        snprintf(out, size, "%s:%d: %s", err->file, err->line, err->msg);
    } else if (err->file[0] != '\0') {
        snprintf(out, size, "%s: %s", err->file, err->msg);
    } else {
        snprintf(out, size, "%s", err->msg);
    }
    return out;
}
