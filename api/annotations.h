/*
 * annotations.h — events attached to SLOs (deploys, incidents, notes, gate
 * decisions): a durable store and its HTTP API.
 *
 * Routes (br_annotations_api_register):
 *   POST   /api/v1/annotations        {slo, time, end?, title, text, tags,
 *                                     kind: deploy|incident|note|gate};
 *                                     201 with the stored annotation
 *   GET    /api/v1/annotations        ?slo=&start=&end=&tags=&kind=&limit=
 *                                     (&format=grafana: Grafana's shape)
 *   DELETE /api/v1/annotations/{id}
 * `slo` is an SLO definition id, a label selector over the SLO's labels
 * (`{service="checkout"}`: slo, sloth_id, service, sloth_service, sloth_slo
 * and the SLO's own labels), or empty for "every SLO".
 *
 * Durability: POST and DELETE answer 2xx only after their record is in
 * <dir>/annotations.log and fdatasync'ed (format in annotations.c), so a
 * kill -9 after the answer loses nothing; a torn tail is cut at open.
 *
 * Threads: every function may be called from any thread; one mutex guards
 * the store (held across the file append + fdatasync, never across network
 * I/O). Queries copy what they return into the caller's arena.
 */
#ifndef BR_API_ANNOTATIONS_H
#define BR_API_ANNOTATIONS_H

#include "api/server.h"
#include "engine/core/arena.h"
#include "engine/core/err.h"
#include "rules/slo_status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BR_ANNOTATION_MAX_TAGS       16
#define BR_ANNOTATION_MAX_TEXT       4096  /* bytes of title + text */
#define BR_ANNOTATION_MAX_FIELD      256   /* slo, tag, author, kind */
#define BR_ANNOTATIONS_MAX_COUNT     100000
#define BR_ANNOTATION_MAX_RECORD     (64 * 1024)

typedef struct br_annotation {
    uint64_t id;          /* assigned by br_annotations_add */
    int64_t time_ms;
    int64_t end_ms;       /* 0 = a point in time; else >= time_ms */
    int64_t created_ms;   /* when it was stored */
    const char *slo;      /* id, selector or "" */
    const char *kind;     /* deploy, incident, note or gate */
    const char *title;
    const char *text;
    const char *author;   /* who created it (see br_api_actor) */
    const char **tags;
    size_t n_tags;
} br_annotation;

typedef struct br_annotations br_annotations;

/* Opens (creating dir and the log if needed) and replays the log. A torn
 * or corrupt tail is truncated at the last good record and logged.
 * Returns NULL and fills err on I/O errors. dir is borrowed. */
br_annotations *br_annotations_open(const char *dir, br_err *err);
/* Closes the file and frees everything. NULL is allowed. */
void br_annotations_close(br_annotations *a);

/* Validates and stores a copy of *in (borrowed); fills *id_out. Durable on
 * return 0. Errors: BR_EINVAL (field named), BR_ELIMIT (store full),
 * BR_EIO. */
int br_annotations_add(br_annotations *a, const br_annotation *in, uint64_t *id_out,
                       br_err *err);
/* Deletes by id (durably). BR_ENOTFOUND when absent. */
int br_annotations_delete(br_annotations *a, uint64_t id, br_err *err);
/* Number of annotations held. */
size_t br_annotations_count(br_annotations *a);

/* Decides whether an annotation's `slo` field applies to the SLO a query
 * asked for; NULL callback = exact id match only. */
typedef bool (*br_annotation_slo_match_fn)(void *ctx, const char *annotation_slo);

typedef struct br_annotation_query {
    int64_t start_ms;            /* annotations overlapping [start, end] */
    int64_t end_ms;
    const char *slo;             /* NULL = any; else exact id, or via match */
    br_annotation_slo_match_fn match;
    void *match_ctx;
    const char *const *tags;     /* every tag must be present */
    size_t n_tags;
    const char *kind;            /* NULL = any */
    size_t limit;                /* 0 = no limit; the newest are kept */
} br_annotation_query;

/* Fills *out with copies (in arena, borrowed) of the matching annotations,
 * oldest first; returns how many. */
size_t br_annotations_query(br_annotations *a, const br_annotation_query *q, br_arena *arena,
                            br_annotation **out);

/* Who is acting, and whether they may change state; supplied by the
 * process (engine/app.c) because it owns the authentication settings. */
typedef struct br_api_actor {
    /* Fills out with the acting identity: the auth identity ("token:admin",
     * "user:alice") or, without auth, "addr:<remote address>". Modules add
     * the X-Burnrate-Author header's name themselves (br_api_actor_describe). */
    void (*who)(void *ctx, const br_http_request *req, char *out, size_t size);
    /* True when req may create or delete (the admin/write group). */
    bool (*may_change)(void *ctx, const br_http_request *req);
    void *ctx;
} br_api_actor;

typedef struct br_annotations_api {
    br_annotations *store;        /* borrowed */
    const br_slo_source *src;     /* borrowed; SLO labels for selectors; may be NULL */
    br_api_actor actor;           /* who/may_change may be NULL: anonymous, allowed */
} br_annotations_api;

/* Writes "name (identity)" when req has an X-Burnrate-Author header, else
 * the identity alone, into out. actor is borrowed; its callbacks may be
 * NULL (identity "anonymous"). */
void br_api_actor_describe(const br_api_actor *actor, const br_http_request *req, char *out,
                           size_t size);

/* Registers the routes (before br_http_server_start); api is borrowed and
 * must outlive the server. */
void br_annotations_api_register(br_http_server *srv, br_annotations_api *api);

/* Records a gate decision as a `gate` annotation (used by the gate API). */
int br_annotations_record_gate(br_annotations *a, int64_t now_ms, const char *slo,
                               bool allow, const char *title, const char *text,
                               const char *const *tags, size_t n_tags, const char *author,
                               uint64_t *id_out, br_err *err);

#endif
