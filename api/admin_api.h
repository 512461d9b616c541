/*
 * admin_api.h — lifecycle and self-observation endpoints:
 *   GET|HEAD /-/healthy   200 while the process runs
 *   GET|HEAD /-/ready     200 once start-up (WAL replay) is done, else 503
 *   POST|PUT /-/reload    re-reads the configuration; 200, or 500 with the
 *                         error while the old configuration keeps running
 *   GET /metrics          the engine's own metrics (text format 0.0.4)
 *   GET /, /<asset>       the embedded web UI
 * The struct is owned by the process (engine/app.c) and must outlive the
 * server; ready/stopping are flipped by the process.
 */
#ifndef BR_API_ADMIN_API_H
#define BR_API_ADMIN_API_H

#include "api/metrics.h"
#include "api/server.h"
#include "engine/core/err.h"

#include <stdatomic.h>
#include <stdbool.h>

typedef int (*br_reload_fn)(void *ctx, br_err *err);

typedef struct br_admin_api {
    br_metrics *metrics;  /* borrowed */
    atomic_bool ready;
    atomic_bool stopping;
    br_reload_fn reload;  /* may be NULL: reload answers 501 */
    void *reload_ctx;
} br_admin_api;

void br_admin_api_register(br_http_server *s, br_admin_api *a);

#endif
