/*
 * backend_remote.h — br_queryable over a remote Prometheus-compatible HTTP
 * API (Prometheus, Mimir, Thanos Query, Cortex, VictoriaMetrics), so the
 * SLO evaluator runs the very same code on a scale-out store as on the
 * embedded one.
 *
 * The backend keeps a private cache: one memory-only br_head per selector
 * it was asked about. Each call first brings that head up to date with
 * raw samples fetched over HTTP (an instant query of a range selector),
 * then answers by delegating to the embedded backend (backend_local.c)
 * over the cache head. The numbers are therefore those the embedded store
 * gives for the same samples, by construction. Fetching is incremental:
 * only (last fetched - overlap, needed end] per call, with a full refetch
 * on first use, when an older start is asked for, every `refresh`, and
 * when the remote data changed under the cache (see backend_remote.c).
 *
 * Threads: every function may be called from any thread; one mutex per
 * backend serialises cache updates, and it is held while fetching (so a
 * budget-history request waits for the evaluator's fetch).
 */
#ifndef BR_PROMQL_BACKEND_REMOTE_H
#define BR_PROMQL_BACKEND_REMOTE_H

#include "engine/core/err.h"
#include "engine/promql/backend.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum br_remote_flavor {
    BR_REMOTE_PROMETHEUS = 0,      /* also Mimir, Thanos, Cortex */
    BR_REMOTE_VICTORIAMETRICS = 1, /* same query API; see backend_remote.c */
} br_remote_flavor;

typedef struct br_remote_header {
    const char *name;
    const char *value;
} br_remote_header;

typedef struct br_remote_options {
    const char *url; /* base URL, without /api/v1 (required) */
    br_remote_flavor flavor;
    const br_remote_header *headers; /* extra request headers; n_headers of them */
    size_t n_headers;
    const char *bearer_token; /* NULL = none (never logged) */
    const char *basic_user;   /* NULL = no basic auth */
    const char *basic_password;
    const char *ca_file; /* TLS; NULL = system defaults */
    const char *cert_file;
    const char *key_file;
    bool insecure_skip_verify;
    int64_t timeout_ms;         /* per request; 0 = 30s */
    int retries;                /* extra attempts on 5xx/429/connection errors; <0 = none, 0 = 3 */
    int64_t retry_backoff_ms;   /* first back-off, doubled per attempt; 0 = 200ms */
    int64_t overlap_ms;         /* re-read this much before the last fetch; 0 = 5m */
    int64_t refresh_ms;         /* full refetch period; 0 = 1h */
    int64_t fetch_step_ms;      /* longest range fetched by one request; 0 = 24h */
    int64_t max_response_bytes; /* one response body; 0 = 256 MiB */
    int64_t max_samples;        /* samples one fetch may return; 0 = 50 million */
    /* Wall clock for `refresh` (tests); NULL = br_now_ms. */
    int64_t (*now_ms)(void *clock_ctx);
    void *clock_ctx;
} br_remote_options;

typedef struct br_remote br_remote;

/* What the backend did since it was created (for tests and self metrics). */
typedef struct br_remote_stats {
    uint64_t requests;     /* HTTP requests sent, retries included */
    uint64_t failures;     /* fetches that failed after all retries */
    uint64_t full_fetches; /* cache (re)builds */
    uint64_t incremental_fetches;
    uint64_t samples_fetched;
    uint64_t histograms_skipped; /* native histogram samples ignored */
    uint64_t cache_series;       /* series held by all cache heads now */
    size_t selectors;            /* cache entries */
} br_remote_stats;

/* A new backend (free with br_remote_free); NULL with err filled when an
 * option is invalid. opts and every string in it are borrowed: they are
 * copied. */
br_remote *br_remote_new(const br_remote_options *opts, br_err *err);
/* Frees the backend and its cache. r may be NULL. */
void br_remote_free(br_remote *r);
/* Fills q so that it reads through r (borrowed; must outlive q). */
void br_queryable_remote(br_remote *r, br_queryable *q);
void br_remote_stats_get(br_remote *r, br_remote_stats *out);

/* Parses a /api/v1/query matrix answer (body, len bytes; borrowed) and
 * calls fn once per series with its labels (sorted by name, __name__
 * included) and its float samples in timestamp order; views valid during
 * the call. Exposed for tests. Returns 0, BR_EIO (an error answer, with
 * the server's message) or BR_EPARSE (not a matrix); fn's non-zero return
 * stops the walk and is returned. */
typedef int (*br_remote_series_fn)(void *ctx, const br_label *labels, size_t n_labels,
                                   const br_sample *samples, size_t n_samples, size_t n_histograms);
int br_remote_parse_matrix(const char *body, size_t len, br_remote_series_fn fn, void *ctx,
                           br_err *err);

#endif
