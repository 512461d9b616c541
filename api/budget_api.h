/*
 * budget_api.h — error-budget state over HTTP, and the release gate.
 *
 * Registered here (GET; HEAD is implied):
 *   /api/v1/slos                  every SLO instance; filters service=,
 *                                 state= (a policy state or "no_data"),
 *                                 label=name=value (repeatable), q=substring
 *   /api/v1/slos/{id}             one instance (URL-encoded instance id, or
 *                                 the definition id of an ungrouped SLO),
 *                                 with its policy, alert tiers and PromQL
 *   /api/v1/slos/{id}/history     budget remaining, error ratio and 1h burn
 *                                 rate over time: start=, end=, step=
 *   /api/v1/services              a roll-up per service
 *   /api/v1/gate                  "may this deploy now?" for service= or slo=;
 *                                 record=true stores the decision as a
 *                                 `gate` annotation (title=, tag=, pipeline=,
 *                                 commit=)
 * The JSON shapes are the contract with the web UI (see the OpenAPI file
 * api/openapi.yaml). Everything but the gate uses Prometheus' envelope; the
 * gate answers a plain object: 200 allow, 409 deny, 503 no evaluation yet,
 * 400 bad parameter (named), 404 unknown service or SLO (with close names).
 *
 * Data flow: the evaluator publishes an immutable br_slo_snapshot per tick;
 * each request takes a reference through br_slo_source.snapshot, reads it
 * without locks and drops it. History is computed by the source.
 *
 * Threads: handlers run on the HTTP server's threads, concurrently; they
 * share nothing but the read-only br_budget_api and the snapshots.
 */
#ifndef BR_API_BUDGET_API_H
#define BR_API_BUDGET_API_H

#include "api/annotations.h"
#include "api/server.h"
#include "rules/slo_status.h"

#include <stddef.h>
#include <stdint.h>

#define BR_BUDGET_DEFAULT_MAX_DATA_AGE_MS (10LL * 60 * 1000)
#define BR_BUDGET_DEFAULT_MAX_POINTS      11000

/* Owned by the process (or the test) and must outlive the server; not
 * changed after registration. */
typedef struct br_budget_api {
    const br_slo_source *src; /* borrowed */
    /* "Now" for data ages and the gate's freshness checks; NULL = the wall
     * clock. Tests inject a fixed time. */
    int64_t (*now_ms)(void *ctx);
    void *now_ctx;
    /* The gate's default max_data_age: a selected SLO whose newest SLI
     * sample is older denies. 0 = BR_BUDGET_DEFAULT_MAX_DATA_AGE_MS. */
    int64_t max_data_age_ms;
    /* Cap on history points per request. 0 = BR_BUDGET_DEFAULT_MAX_POINTS. */
    size_t max_history_points;
    /* Where the gate records decisions when asked (record=true); borrowed,
     * NULL = recording unavailable (the answer says so). */
    br_annotations *annotations;
    /* Sharding (rules/evaluator.h br_slo_shard): each SLO row says which
     * shard owns it and whether this instance evaluates it. shard_count 0
     * or 1 = not sharded (every SLO evaluated here). */
    uint32_t shard_index;
    uint32_t shard_count;
} br_budget_api;

/* Registers the five routes on srv (before br_http_server_start). api is
 * borrowed. Sets cJSON's allocator hooks to br_malloc/br_free. */
void br_budget_api_register(br_http_server *srv, br_budget_api *api);

#endif
