/*
 * remote_write.h — POST /api/v1/write: the Prometheus remote-write
 * receiver (protocol 1.0 and 2.0).
 *
 * Flow: body (capped by the route's max_body: 413) → br_rw_decode (415 for
 * an unknown content type or encoding, 413 for a decompression bomb or too
 * many series/samples, 400 for undecodable input) → br_head_commit, which
 * returns only once the accepted samples are in the WAL → 204. When some
 * series or samples were rejected (invalid labels, out of order, duplicate
 * timestamp with another value, too old, series limit) the valid rest is
 * stored and the answer is 400 with a message naming the problems, so
 * Prometheus logs it and does not retry. A WAL failure answers 500 (the
 * sender retries; nothing was acknowledged). Version 2 requests get the
 * X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written headers
 * on every answer.
 *
 * Back-pressure: decoding takes memory in proportion to the body, so the
 * bodies being decoded and committed at once are bounded
 * (max_inflight_bytes). A request that would exceed the bound while others
 * are in flight is answered 503 with Retry-After: 1 — Prometheus retries
 * every 5xx and honours Retry-After, while it drops a 429 unless
 * retry_on_http_429 is set, so 503 is the status that loses no data. A
 * request alone is always admitted, however large (the body limit bounds
 * it), so a retry can always succeed. A WAL failure's 500 also carries
 * Retry-After.
 *
 * Settings that a reload may change (limits, tenant header) are read per
 * request through the settings callback. Thread-safe.
 */
#ifndef BR_API_REMOTE_WRITE_H
#define BR_API_REMOTE_WRITE_H

#include "api/metrics.h"
#include "api/server.h"
#include "storage/head.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct br_remote_write_settings {
    size_t max_decompressed_bytes;
    size_t max_series_per_request;
    size_t max_samples_per_request;
    size_t max_labels_per_series;
    size_t max_label_name_length;
    size_t max_label_value_length;
    size_t max_inflight_bytes; /* bodies decoded at once; 0 = no bound */
    char tenant_header[128];  /* "" = tenants off */
    char tenant_label[128];
} br_remote_write_settings;

/* Fills *out with the current settings. */
typedef void (*br_remote_write_settings_fn)(void *ctx, br_remote_write_settings *out);

typedef struct br_remote_write_api br_remote_write_api;

/* Creates the receiver over head (borrowed) and registers its metrics.
 * Free with br_remote_write_api_free after the server stopped. */
br_remote_write_api *br_remote_write_api_new(br_head *head, br_metrics *metrics,
                                             br_remote_write_settings_fn settings, void *ctx);
void br_remote_write_api_free(br_remote_write_api *api);

/* Admission of a write of cost bytes under the back-pressure bound (0 = no
 * bound): true when admitted, and then the caller must release the same
 * cost. Used by the handler; public so tests can hold capacity. */
bool br_remote_write_admit(br_remote_write_api *api, size_t cost, size_t bound);
void br_remote_write_release(br_remote_write_api *api, size_t cost);

/* Registers POST /api/v1/write with the given body limit. */
void br_remote_write_api_register(br_remote_write_api *api, br_http_server *s, int64_t max_body);

#endif
