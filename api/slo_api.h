/*
 * slo_api.h — SLO definitions managed over HTTP, for teams that push specs
 * from CI, with an audit trail.
 *
 * Routes (br_slo_api_register; register BEFORE br_budget_api_register so
 * these win over its GET /api/v1/slos/ prefix route):
 *   PUT    /api/v1/slos/{id}             body: one SLO in any supported
 *          format (burnrate, Sloth, Pyrra, OpenSLO; YAML or JSON), loaded
 *          and validated exactly as files are; 201 created / 200 replaced;
 *          400 with line:col; 409 when a file defines id
 *   DELETE /api/v1/slos/{id}             only API-managed SLOs
 *   GET    /api/v1/slos/{id}/definition  the stored document, as sent
 *   GET    /api/v1/slos/audit            the audit log (newest last), ?limit=
 *
 * Storage: <dir>/<id>.yaml, one document per SLO, written atomically (temp
 * file, fsync, rename, fsync dir); <dir>/audit.log gets one JSON line per
 * change: {"time","time_ms","action":"create|replace|delete","id","who",
 * "author","remote"}, appended with fdatasync before the answer. Each
 * change is also logged to the process log. After a change the process's
 * apply callback rebuilds the running set (files + this directory) the way
 * a reload does; if that fails the change is rolled back.
 *
 * Threads: handlers run on HTTP threads; one mutex serialises changes (it
 * is held while the apply callback rebuilds the set, never across network
 * I/O).
 */
#ifndef BR_API_SLO_API_H
#define BR_API_SLO_API_H

#include "api/annotations.h"
#include "api/server.h"
#include "engine/core/err.h"
#include "rules/slo.h"

#include <stdbool.h>
#include <stddef.h>

#define BR_SLO_API_MAX_BODY  (256 * 1024)
#define BR_SLO_API_MAX_ID    200
#define BR_SLO_API_MAX_AUDIT (8 * 1024 * 1024) /* bytes of audit log served */

typedef struct br_slo_api_options {
    const char *dir; /* <data_dir>/slos; borrowed, copied */
    /* True (and the file's path in file) when a configured SLO file, not
     * this API, defines id. */
    bool (*file_owner)(void *ctx, const char *id, char *file, size_t size);
    /* Rebuilds and swaps the running SLO set; 0 or an error with message. */
    int (*apply)(void *ctx, br_err *err);
    void *ctx;
    br_api_actor actor; /* may_change: the admin group */
} br_slo_api_options;

typedef struct br_slo_api br_slo_api;

/* Creates dir if needed and opens the audit log. Returns a new API (free
 * with br_slo_api_free) or NULL with err filled. */
br_slo_api *br_slo_api_new(const br_slo_api_options *opts, br_err *err);
void br_slo_api_free(br_slo_api *api);
void br_slo_api_register(br_http_server *srv, br_slo_api *api);

/* Loads every <dir>/<id>.yaml into s (borrowed; not yet shared). A stored SLO
 * whose id s already has (a file now defines it) is skipped with a warning:
 * files win. A stored document that no longer loads is an error naming it.
 * A missing dir is not an error. */
int br_slo_api_load_dir(const char *dir, br_slo_set *s, br_err *err);

#endif
