/*
 * json.h — writing JSON straight into a br_buf, in the exact shapes the
 * Prometheus HTTP API uses (timestamps as seconds with millisecond
 * precision, sample values as strings in Go's shortest format), plus the
 * response envelope and the API's parameter parsers (times, durations).
 *
 * Writers append; they never fail except when the buffer's cap is reached,
 * which callers detect once at the end through the buffer length.
 */
#ifndef BR_API_JSON_H
#define BR_API_JSON_H

#include "api/server.h"
#include "engine/core/buf.h"
#include "engine/core/err.h"

#include <stdint.h>

/* "..." with JSON escapes (control characters as \u00XX). */
void br_json_string(br_buf *out, const char *s);
/* A timestamp in ms as seconds: 1435781451, 1435781451.781, -0.5 → -0.500. */
void br_json_timestamp(br_buf *out, int64_t ms);
/* A sample value as Prometheus writes it: "1.5", "NaN", "+Inf". */
void br_json_sample_value(br_buf *out, double v);

/* Envelope: {"status":"success","data":<data>} with data already JSON. */
void br_api_success(br_http_response *resp, const char *data_json, size_t len);
/* {"status":"error","errorType":type,"error":msg} with the HTTP status
 * that Prometheus uses for that type (bad_data 400, execution 422,
 * timeout 503, canceled 499, internal 500, not_found 404). */
void br_api_error(br_http_response *resp, const char *error_type, const char *msg);

/* Parses a time parameter: Unix seconds (fraction allowed, rounded to ms)
 * or RFC 3339. Returns 0 or BR_EPARSE naming the parameter. */
int br_api_parse_time(const char *param, const char *s, int64_t *out_ms, br_err *err);
/* Parses a duration parameter: float seconds or a Prometheus duration. */
int br_api_parse_duration(const char *param, const char *s, int64_t *out_ms, br_err *err);

#define BR_API_MIN_TIME_MS (-9223372036854775807LL / 1000)
#define BR_API_MAX_TIME_MS (9223372036854775807LL / 1000)

#endif
