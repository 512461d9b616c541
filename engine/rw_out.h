/*
 * rw_out.h — remote write out: pushes the recorded SLO series (slo:*,
 * burnrate_slo_*, ALERTS, ALERTS_FOR_STATE) to a remote-write endpoint
 * (Prometheus with --web.enable-remote-write-receiver, Mimir,
 * VictoriaMetrics) as remote write 1.0 (protobuf + snappy, built by
 * api/remote_write_encode.h). One br_rw_out per configured endpoint.
 *
 * Data flow: evaluator tick → br_evaluator_append_fn (engine/app.c) →
 * br_rw_out_append: the batch becomes one record of an on-disk queue
 * (<data_dir>/remote_write/<name>/, segments of storage/wal.h, so each
 * record has a CRC and a torn tail is cut at restart) and is written
 * before the call returns; then its series are handed to the shards. Each
 * shard (a thread with its own HTTP connection) owns the series whose
 * label hash maps to it, sends them in order, one request in flight, so
 * per-series order holds with several shards. A record is acknowledged
 * when every series of it was sent (2xx) or dropped (4xx other than 429);
 * the sequence number of the last acknowledged record in order is
 * persisted (file `acked`), and segments holding only acknowledged
 * records are deleted. After a restart or kill -9 the records above that
 * number are sent again: delivery is at least once.
 *
 * Retries: 5xx, 429 and connection errors are retried forever with
 * exponential back-off (min_backoff doubling up to max_backoff, with
 * jitter: each wait is drawn from [backoff/2, backoff]); other 4xx are
 * not retried (as Prometheus does) and the samples are counted as failed.
 * A batch leaves when it holds max_samples_per_send samples or its oldest
 * series waited batch_send_deadline.
 *
 * Limits: at most `capacity` samples wait in memory; an append beyond it is
 * dropped whole and counted (dropped_total), the queue stays consistent.
 *
 * Threads: br_rw_out_append is called by one thread at a time (the
 * evaluator); stats and metrics from any thread; open/close by the owner.
 */
#ifndef BR_ENGINE_RW_OUT_H
#define BR_ENGINE_RW_OUT_H

#include "api/metrics.h"
#include "engine/config.h"
#include "engine/core/buf.h"
#include "engine/core/err.h"
#include "storage/head.h"
#include "storage/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct br_rw_out br_rw_out;

typedef struct br_rw_out_options {
    const br_rw_out_config *cfg;    /* borrowed; copied by open */
    const char *data_dir;           /* borrowed; the queue lives in
                                     * <data_dir>/remote_write/<cfg->name> */
    const br_label *external_labels; /* borrowed, copied; added to every series
                                      * that lacks the label (e.g. replica) */
    size_t n_external_labels;
    br_wal_fsync_policy fsync;      /* of the queue segments */
    uint32_t segment_bytes;         /* queue segment size; 0 = 1 MiB */
} br_rw_out_options;

typedef struct br_rw_out_stats {
    uint64_t samples_sent;      /* acknowledged by the endpoint (2xx) */
    uint64_t samples_failed;    /* refused with a non-retryable 4xx */
    uint64_t samples_retried;   /* re-sent after 5xx, 429 or connection errors */
    uint64_t samples_dropped;   /* refused at append: queue over capacity */
    uint64_t samples_pending;   /* in the queue, not yet sent or failed */
    uint64_t requests_failed;   /* requests answered 4xx (not retried) */
    uint64_t replayed_records;  /* unacknowledged records found at open */
    uint64_t acked_seq;         /* sequence number of the last acknowledged record */
    int64_t highest_sent_ms;    /* newest sample timestamp sent; 0 = none yet */
    int last_status;            /* HTTP status of the last response; 0 = none/connection error */
} br_rw_out_stats;

/*
 * Opens (creating) the queue directory, replays unacknowledged records and
 * starts the shard threads. Secret files (bearer token, basic auth
 * password) are read here. Returns a new sender (free with
 * br_rw_out_close) or NULL with err (BR_EINVAL bad options, BR_EIO, BR_EBUSY
 * queue already open, BR_ECORRUPT bad `acked` file).
 */
br_rw_out *br_rw_out_open(const br_rw_out_options *opts, br_err *err);

/*
 * Stops the shard threads (a request in flight finishes or times out; a
 * back-off wait is cut short), closes the queue and frees q. What was not
 * acknowledged is sent after the next open. q may be NULL.
 */
void br_rw_out_close(br_rw_out *q);

/*
 * Queues the series (borrowed; labels sorted by name, float samples only:
 * histograms are ignored) durably: the record is written (and synced under
 * fsync=always) before the call returns. Returns 0, BR_ELIMIT (over
 * capacity: nothing queued, counted as dropped), or BR_EIO.
 */
int br_rw_out_append(br_rw_out *q, const br_series_input *in, size_t n, br_err *err);

/* Waits until nothing is pending or timeout_ms passed. Returns 0 or
 * BR_ETIMEOUT. For tests and orderly shutdown. */
int br_rw_out_flush(br_rw_out *q, int64_t timeout_ms);

/* Copies the counters (caller-owned out). */
void br_rw_out_get_stats(br_rw_out *q, br_rw_out_stats *out);

/* The endpoint's name (view valid until close). */
const char *br_rw_out_name(const br_rw_out *q);

/*
 * Appends the remote-write-out families for every sender in qs (borrowed,
 * n entries) to out, one series per endpoint labelled remote_name and url:
 * burnrate_remote_write_out_samples_{sent,failed,retried,dropped}_total,
 * ..._samples_pending, ..._highest_sent_timestamp_seconds. A
 * br_metrics_collector body.
 */
void br_rw_out_render_metrics(br_rw_out *const *qs, size_t n, br_buf *out);

#endif
