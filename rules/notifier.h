/*
 * notifier.h — delivering alert notifications: routing by labels, webhook
 * grouping, a persistent bounded queue, retries with backoff; one delivery
 * thread using libcurl.
 *
 * Data flow: the evaluator's alert state machine (rules/alert.h) hands the
 * alerts that need sending this tick to br_notifier_submit. Each alert goes
 * to every receiver whose `match` labels it carries.
 *   alertmanager  one queued notification per submit (batches of at most
 *                 256 alerts), POSTed as a JSON array of postableAlerts to
 *                 <url>/api/v2/alerts; a firing alert's endsAt is the send
 *                 time + firing_valid_ms, as Prometheus does. A newer batch
 *                 holding every alert of an older queued one replaces it.
 *   webhook       alerts join aggregation groups (group_by labels), which
 *                 are flushed like Alertmanager's: first after group_wait,
 *                 then every group_interval; a flush queues Alertmanager's
 *                 webhook payload (version "4") when the group has new
 *                 firing alerts, newly resolved ones, or repeat_interval
 *                 has passed since the last notification.
 * The delivery thread sends each receiver's oldest queued notification
 * (one request in flight per receiver, all receivers at once), retries
 * network errors, timeouts, 429 and 5xx with exponential backoff and full
 * jitter, and gives up on other answers and after max_retry_ms.
 *
 * Durability: queue entries, group state and the caller's blobs live in a
 * br_wal (format in notifier.c). A notification is durable when submit (or
 * the flush) returns, and is forgotten only after its "done" record: a
 * restart neither drops a queued page nor re-sends a delivered one (one
 * killed between the receiver's 2xx and the done record is sent again;
 * webhooks carry X-Burnrate-Notification-Id so receivers can drop it).
 *
 * Threads: br_notifier_submit, br_notifier_checkpoint, the stats and the
 * metrics collector may be called from any thread; open/close by the
 * owner. One mutex guards the state; it is never held across network I/O
 * (only across WAL writes), so a hanging receiver never blocks submit.
 */
#ifndef BR_RULES_NOTIFIER_H
#define BR_RULES_NOTIFIER_H

#include "engine/config.h"
#include "engine/core/buf.h"
#include "engine/core/err.h"
#include "rules/slo.h"
#include "storage/wal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct br_notifier br_notifier;

/* Alerts per Alertmanager request (Prometheus' notification batch size). */
#define BR_NOTIFY_AM_BATCH 256
/* Alerts listed in one webhook payload; more are counted in truncatedAlerts. */
#define BR_NOTIFY_WEBHOOK_MAX_ALERTS 1000

/* One alert as the receivers see it. All pointers are borrowed. */
typedef struct br_notify_alert {
    uint64_t fingerprint; /* br_notify_fingerprint(labels) */
    const br_kv *labels;  /* sorted by name, names unique, alertname included */
    size_t n_labels;
    const br_kv *annotations;
    size_t n_annotations;
    int64_t starts_at_ms;      /* when the alert began firing */
    int64_t resolved_at_ms;    /* 0 = firing */
    const char *generator_url; /* NULL = none */
} br_notify_alert;

/* One HTTP request, as handed to a test transport. Views valid during the call. */
typedef struct br_notify_request {
    uint64_t id; /* the notification's id (stable across retries and restarts) */
    const char *receiver;
    const char *url;
    const char *const *headers; /* "Name: value" */
    size_t n_headers;
    const char *body;
    size_t body_len;
} br_notify_request;

/* Performs req; sets *status to the HTTP status and returns 0, or returns a
 * negative BR_E* for a transport failure (BR_ETIMEOUT, BR_EIO). */
typedef int (*br_notify_transport_fn)(void *ctx, const br_notify_request *req, long *status);
/* Wall clock in ms. */
typedef int64_t (*br_notify_clock_fn)(void *ctx);
/* Receives, at open and in log order, each blob the caller stored with
 * submit or checkpoint (a view valid during the call). A non-zero return
 * is logged and the blob skipped. */
typedef int (*br_notify_blob_fn)(void *ctx, const void *blob, size_t len);

typedef struct br_notifier_options {
    const char *dir;                     /* the log's directory (borrowed); created if missing */
    const br_receiver_config *receivers; /* copied at open */
    size_t n_receivers;
    const char *external_url; /* webhook "externalURL"; copied; NULL = "" */
    int64_t firing_valid_ms;  /* Alertmanager endsAt of a firing alert = send time + this; 0 = 4m */
    int64_t min_backoff_ms;   /* first retry ceiling; 0 = 500ms */
    int64_t max_backoff_ms;   /* 0 = 5m */
    int64_t max_retry_ms;     /* give up this long after queueing; 0 = 24h */
    size_t queue_capacity;    /* queued notifications; 0 = 10000; the oldest is dropped */
    size_t queue_max_bytes;   /* bytes of queued payloads; 0 = 16 MiB; max 48 MiB */
    br_wal_fsync_policy fsync;
    /* Test hooks. */
    bool manual;              /* no thread: the caller steps with br_notifier_run */
    br_notify_clock_fn clock; /* NULL = br_now_ms */
    void *clock_ctx;
    br_notify_transport_fn transport; /* NULL = libcurl */
    void *transport_ctx;
    br_notify_blob_fn replay_blob; /* NULL = blobs are ignored at open */
    void *blob_ctx;
    uint64_t seed; /* jitter; 0 = from the clock and pid */
} br_notifier_options;

/* Counters of one receiver (see br_notifier_collect_metrics for meanings). */
typedef struct br_notifier_stats {
    uint64_t sent;
    uint64_t failed;
    uint64_t retried;
    uint64_t dropped;
    size_t queued;
    size_t groups;
} br_notifier_stats;

/*
 * Opens the log in o->dir (BR_EBUSY if another process has it), reads the
 * receivers' secret files (bearer token, HMAC secret: first line, trimmed),
 * replays queue, groups and blobs, compacts the log, and starts the
 * delivery thread unless o->manual. Returns a new notifier (close with
 * br_notifier_close) or NULL with err filled.
 */
br_notifier *br_notifier_open(const br_notifier_options *o, br_err *err);

/* Stops the thread (requests in flight are abandoned and stay queued),
 * syncs and closes the log, frees n. Returns 0 or BR_EIO (the final sync
 * failed); n is freed either way. NULL is allowed. */
int br_notifier_close(br_notifier *n, br_err *err);

/*
 * Routes alerts (borrowed) to the receivers at now_ms: queues Alertmanager
 * batches and updates webhook groups. blob (borrowed, may be NULL) is
 * stored in the same log record, so the caller's state and the queued
 * notifications become durable together. Returns 0 once durable, or BR_EIO
 * (the log failed: the notifications are queued in memory only).
 */
int br_notifier_submit(br_notifier *n, int64_t now_ms, const br_notify_alert *alerts,
                       size_t n_alerts, const void *blob, size_t blob_len, br_err *err);

/* True when the log has grown enough since the last compaction that the
 * caller should call br_notifier_checkpoint with its full state. */
bool br_notifier_wants_checkpoint(br_notifier *n);

/* Writes the whole queue, the groups and blob (the caller's full state,
 * borrowed; NULL = none) as one record in a new segment and deletes the
 * older segments. Returns 0, BR_ETOOLARGE (state over the record limit:
 * nothing deleted) or BR_EIO. */
int br_notifier_checkpoint(br_notifier *n, const void *blob, size_t blob_len, br_err *err);

/* Manual mode: flushes the groups due at the clock's now and sends every
 * receiver's due notification once, synchronously. Returns the number of
 * requests made, or a negative BR_E* (BR_EINVAL when not manual). */
int br_notifier_run(br_notifier *n, br_err *err);

/* Copies receiver i's counters into *out. Returns 0 or BR_ENOTFOUND. */
int br_notifier_get_stats(br_notifier *n, size_t receiver, br_notifier_stats *out);
/* Notifications queued for all receivers. */
size_t br_notifier_queue_length(br_notifier *n);

/*
 * A br_metrics_collector (api/metrics.h): appends, per receiver,
 *   burnrate_notifications_sent_total      delivered (2xx)
 *   burnrate_notifications_failed_total    attempts that failed
 *   burnrate_notifications_retried_total   attempts scheduled again after a failure
 *   burnrate_notifications_dropped_total   given up: queue full, 4xx, too old
 *   burnrate_notification_queue_length     queued now
 *   burnrate_notification_latency_seconds  request duration (histogram)
 * ctx is the br_notifier.
 */
void br_notifier_collect_metrics(void *ctx, br_buf *out);

/* Rendering (pure; used by the queue and by tests) ----------------------- */

/* Alertmanager's fingerprint: FNV-1a 64 over the labels (sorted by name),
 * each as name 0xFF value 0xFF. */
uint64_t br_notify_fingerprint(const br_kv *labels, size_t n_labels);

/* Appends the POST /api/v2/alerts body: a JSON array of postableAlerts. A
 * firing alert gets endsAt = now_ms + firing_valid_ms, a resolved one its
 * resolve time. Returns 0 or BR_ELIMIT (out's cap). */
int br_notify_render_alertmanager(br_buf *out, const br_notify_alert *alerts, size_t n,
                                  int64_t now_ms, int64_t firing_valid_ms);

/* One webhook payload (borrowed views). */
typedef struct br_webhook_payload {
    const char *receiver; /* written regex-escaped, as Alertmanager does */
    const char *group_key;
    const br_kv *group_labels;
    size_t n_group_labels;
    const br_notify_alert *alerts;
    size_t n_alerts;  /* all listed */
    size_t truncated; /* alerts left out */
    const char *external_url;
} br_webhook_payload;

/* Appends Alertmanager's webhook JSON (version "4"): status, alerts[],
 * groupLabels, commonLabels, commonAnnotations, groupKey, ... Firing
 * alerts carry endsAt "0001-01-01T00:00:00Z". Returns 0 or BR_ELIMIT. */
int br_notify_render_webhook(br_buf *out, const br_webhook_payload *p);

/* Alertmanager's group key: route, then the group labels sorted with
 * Go-quoted values: `{}:{alertname="X", sloth_id="y"}`; with match labels
 * the route is `{}/{severity="page"}`. Returns new (free with br_free). */
char *br_notify_group_key(const br_receiver_config *r, const br_kv *group_labels, size_t n);

/* Record codec (shared with rules/alert.c, whose blobs use it) ----------
 * Unsigned and signed (ZigZag) varints, doubles as 8 little-endian bytes,
 * strings as a varint length then the bytes. Writers return 0 or BR_ELIMIT
 * (the buffer's cap). Readers set r->bad and return 0/NULL on truncated or
 * oversized input and never read past end. */
typedef struct br_notify_reader {
    const unsigned char *p;
    const unsigned char *end;
    bool bad;
} br_notify_reader;

int br_notify_put_uint(br_buf *b, uint64_t v);
int br_notify_put_int(br_buf *b, int64_t v);
int br_notify_put_double(br_buf *b, double v);
int br_notify_put_str(br_buf *b, const char *s); /* NULL is written as "" */
uint64_t br_notify_get_uint(br_notify_reader *r);
int64_t br_notify_get_int(br_notify_reader *r);
double br_notify_get_double(br_notify_reader *r);
/* Returns new (free with br_free), or NULL when longer than max_len. */
char *br_notify_get_str(br_notify_reader *r, size_t max_len);
/* Key/value arrays: a count, then key and value strings. The reader
 * refuses more than max_n pairs or strings longer than max_len (r->bad);
 * returns new (free with br_kv_free) or NULL. */
int br_notify_put_kvs(br_buf *b, const br_kv *kv, size_t n);
br_kv *br_notify_get_kvs(br_notify_reader *r, size_t max_n, size_t max_len, size_t *n_out);

#endif
