/*
 * query_api.h — the Prometheus HTTP API's read side over the embedded store.
 *
 * Registered here (GET and POST, parameters from the URL or a form body, as
 * Prometheus accepts them):
 *   /api/v1/query              query, time, timeout, lookback_delta
 *   /api/v1/query_range        query, start, end, step (all required), timeout
 *   /api/v1/format_query       query: the expression in canonical form
 *   /api/v1/series             match[] (one or more), start, end, limit
 *   /api/v1/labels             [match[]], start, end, limit
 *   /api/v1/label/<name>/values  [match[]], start, end, limit (GET only)
 *   /api/v1/export             match[], start, end: raw samples, one JSON
 *                              object per series and line (a burnrate
 *                              extension in VictoriaMetrics' export shape,
 *                              for checking exactly what is stored)
 * Answers use Prometheus' envelope and error types (json.h). Limits cap
 * the response size; truncation adds Prometheus' warning.
 */
#ifndef BR_API_QUERY_API_H
#define BR_API_QUERY_API_H

#include "api/server.h"
#include "storage/head.h"

#include "engine/promql/eval.h"

typedef struct br_query_api {
    br_head *head;  /* borrowed */
    /* Fills the engine options from the current configuration (a reload
     * may change them); NULL = defaults. */
    void (*options)(void *ctx, br_promql_options *out);
    void *options_ctx;
} br_query_api;

void br_query_api_register(br_http_server *s, br_query_api *api);

#endif
