/*
 * json.c — JSON writers and API parameter parsing. See json.h.
 */
#include "json.h"

#include "engine/core/civil.h"
#include "engine/core/clock.h"
#include "engine/core/numfmt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void br_json_string(br_buf *out, const char *s)
{
    br_buf_putc(out, '"');
    const char *run = s;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '<':
            esc = "\\u003c";
            break;
        case '>':
            esc = "\\u003e";
            break;
        case '&':
            esc = "\\u0026";
            break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof(u), "\\u%04x", c);
                esc = u;
            }
        }
        if (esc != NULL) {
            br_buf_append(out, run, (size_t)(s - run));
            br_buf_puts(out, esc);
            run = s + 1;
        }
    }
    br_buf_append(out, run, (size_t)(s - run));
    br_buf_putc(out, '"');
}

void br_json_timestamp(br_buf *out, int64_t ms)
{
    const char *sign = "";
    uint64_t a = (uint64_t)ms;
    if (ms < 0) {
        sign = "-";
        a = (uint64_t)0 - (uint64_t)ms;
    }
    uint64_t sec = a / 1000;
    uint64_t frac = a % 1000;
    if (frac == 0) {
        br_buf_printf(out, "%s%llu", sign, (unsigned long long)sec);
    } else {
        br_buf_printf(out, "%s%llu.%03llu", sign, (unsigned long long)sec,
                      (unsigned long long)frac);
    }
}

void br_json_sample_value(br_buf *out, double v)
{
    char tmp[BR_FLOAT_BUF];
    br_buf_putc(out, '"');
    br_buf_puts(out, br_format_float(v, tmp, sizeof(tmp)));
    br_buf_putc(out, '"');
}

void br_api_success(br_http_response *resp, const char *data_json, size_t len)
{
    resp->status = 200;
    resp->content_type = "application/json";
    br_buf_reset(&resp->body);
    br_buf_puts(&resp->body, "{\"status\":\"success\",\"data\":");
    br_buf_append(&resp->body, data_json, len);
    br_buf_putc(&resp->body, '}');
}

void br_api_error(br_http_response *resp, const char *error_type, const char *msg)
{
    static const struct {
        const char *type;
        int status;
    } map[] = {
        {"bad_data", 400}, {"execution", 422}, {"timeout", 503}, {"canceled", 499},
        {"internal", 500}, {"not_found", 404}, {"unavailable", 500}, {"not_acceptable", 406},
    };
    int status = 500;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(map[i].type, error_type) == 0) {
            status = map[i].status;
        }
    }
    resp->status = status;
    resp->content_type = "application/json";
    br_buf_reset(&resp->body);
    br_buf_puts(&resp->body, "{\"status\":\"error\",\"errorType\":");
    br_json_string(&resp->body, error_type);
    br_buf_puts(&resp->body, ",\"error\":");
    br_json_string(&resp->body, msg);
    br_buf_putc(&resp->body, '}');
}

static int parse_rfc3339(const char *s, int64_t *out_ms)
{
    int y, mo, d, h, mi, sec;
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19) {
        return -1;
    }
    const char *p = s + n;
    int64_t ms = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        int64_t frac = 0;
        while (isdigit((unsigned char)*p)) {
            if (digits < 3) {
                frac = frac * 10 + (*p - '0');
            }
            digits++;
            p++;
        }
        if (digits == 0) {
            return -1;
        }
        for (int i = digits; i < 3; i++) {
            frac *= 10;
        }
        ms = frac;
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2) {
            return -1;
        }
        offset_s = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
        return -1;
    }
    int64_t days = br_days_from_civil(y, mo, d);
    *out_ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - offset_s) * 1000 + ms;
    return 0;
}

int br_api_parse_time(const char *param, const char *s, int64_t *out_ms, br_err *err)
{
    if (s == NULL || *s == '\0') {
        return br_err_set(err, BR_EPARSE, "invalid parameter \"%s\": empty time", param);
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s && *end == '\0' && errno == 0 && isfinite(v)) {
        double ms = round(v * 1000.0);
        if (ms < (double)BR_API_MIN_TIME_MS || ms > (double)BR_API_MAX_TIME_MS) {
            ms = ms < 0 ? (double)BR_API_MIN_TIME_MS : (double)BR_API_MAX_TIME_MS;
        }
        *out_ms = (int64_t)ms;
        return 0;
    }
    if (parse_rfc3339(s, out_ms) == 0) {
        return 0;
    }
    return br_err_set(err, BR_EPARSE, "invalid parameter \"%s\": cannot parse \"%s\" to a valid timestamp",
                      param, s);
}

int br_api_parse_duration(const char *param, const char *s, int64_t *out_ms, br_err *err)
{
    if (s == NULL || *s == '\0') {
        return br_err_set(err, BR_EPARSE, "invalid parameter \"%s\": empty duration", param);
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s && *end == '\0' && errno == 0 && isfinite(v)) {
        double ms = round(v * 1000.0);
        if (ms > 9.2e18 || ms < -9.2e18) {
            return br_err_set(err, BR_EPARSE,
                              "invalid parameter \"%s\": cannot parse \"%s\" to a valid duration. It overflows int64",
                              param, s);
        }
        *out_ms = (int64_t)ms;
        return 0;
    }
    if (br_parse_duration(s, out_ms) == 0) {
        return 0;
    }
    return br_err_set(err, BR_EPARSE, "invalid parameter \"%s\": cannot parse \"%s\" to a valid duration",
                      param, s);
}
