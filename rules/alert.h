/*
 * alert.h — the alert state machine (Prometheus' alerting-rule semantics)
 * and its durable state; hands notifications to rules/notifier.h.
 *
 * The evaluator calls br_alerting_update once per tick with every alert
 * condition it evaluated. Alerts are identified by the fingerprint of their
 * full label set (alertname included); an alert known from earlier ticks
 * but absent from the input counts as condition false.
 *
 *            true                true for `for` (0: at once)
 *   (none) ───────► PENDING ────────────────────────────► FIRING ◄──┐ false, but within
 *                      │ false                              │ │     │ keep_firing_for
 *                      ▼                                    │ └─────┘
 *                  (deleted)    false, keep_firing_for over │
 *                                                           ▼
 *   (deleted) ◄──── 15 min later (retention) ───────── RESOLVED (state INACTIVE)
 *   RESOLVED and true again: a new alert, PENDING with a new active_since.
 *
 *   transition                     function (alert.c)
 *   none or RESOLVED → PENDING     take_input → new_alert
 *   PENDING → FIRING / deleted     advance
 *   FIRING → RESOLVED → deleted    advance
 *   sending                        collect_sends
 *
 * Sending, as Prometheus does: pending alerts never; a firing alert when it
 * fires and whenever last_sent + resend_delay < now; a resolved alert at
 * once and every resend_delay while retained. startsAt is fired_at;
 * Alertmanager gets endsAt = send time + 4 x max(resend_delay, interval).
 *
 * Durability: a tick's state changes (not value or annotation refreshes)
 * and the notifications it queues are one record of the notifier's log in
 * <data_dir>/alerting, so after kill -9 states, pending-since and
 * firing-since come back with the queue. Blob format: alert.c.
 *
 * Threads: br_alerting_update from the evaluator thread; foreach and the
 * metrics collector from any thread; open/close by the owner. One mutex
 * guards the table; update holds it across the log write (disk, never
 * network).
 */
#ifndef BR_RULES_ALERT_H
#define BR_RULES_ALERT_H

#include "engine/core/buf.h"
#include "engine/core/err.h"
#include "rules/notifier.h"
#include "rules/slo.h"
#include "rules/slo_status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct br_alerting br_alerting;

/* One alert condition evaluated this tick. All pointers are borrowed for
 * the call. Labels with empty values are dropped; an "alertname" label is
 * replaced by `alertname`; for a name given twice the last value wins. */
typedef struct br_alert_input {
    const char *alertname;
    const br_kv *labels; /* full label set except alertname */
    size_t n_labels;
    const br_kv *annotations; /* rendered for this tick */
    size_t n_annotations;
    bool condition;             /* the alert expression holds this tick */
    /* The condition could not be evaluated this tick (its SLI read failed,
     * e.g. a remote backend is down): an existing alert keeps its state
     * untouched (a firing one keeps firing and being re-sent, a pending one
     * keeps its start) and no new alert starts, as Prometheus does when a
     * rule's evaluation fails; `condition` is ignored. */
    bool hold;
    double value;               /* the expression's value (ALERTS_FOR_STATE, /api/v1/alerts) */
    int64_t for_ms;             /* pending time before firing; 0 = fire at once */
    int64_t keep_firing_for_ms; /* keep firing this long after the condition clears */
    const char *generator_url;  /* link back to the SLO; NULL = none */
} br_alert_input;

/* The state of one input's alert after the tick. */
typedef struct br_alert_result {
    br_alert_state state; /* INACTIVE also for resolved and deleted alerts */
    uint64_t fingerprint;
    int64_t active_since_ms; /* pending/firing since (Prometheus' activeAt); 0 when inactive */
    int64_t fired_at_ms;     /* when it began firing; 0 if it has not */
    int64_t resolved_at_ms;  /* when it resolved (kept for resolved_retention); 0 otherwise */
    bool notified;           /* a notification was queued for it this tick */
} br_alert_result;

/* A read-only view of one alert (br_alerting_foreach). Valid during the
 * callback only. */
typedef struct br_alert_view {
    uint64_t fingerprint;
    const br_kv *labels; /* sorted by name, alertname included */
    size_t n_labels;
    const br_kv *annotations; /* sorted by name */
    size_t n_annotations;
    br_alert_state state;
    int64_t active_since_ms;
    int64_t fired_at_ms;
    int64_t resolved_at_ms;
    int64_t keep_firing_since_ms; /* condition false but kept firing since; 0 = not */
    int64_t last_sent_ms;
    double value;
    const char *generator_url;
} br_alert_view;

typedef struct br_alerting_options {
    const char *data_dir;          /* state goes to <data_dir>/alerting (borrowed) */
    int64_t eval_interval_ms;      /* 0 = 30s */
    int64_t resend_delay_ms;       /* 0 = 1m */
    int64_t resolved_retention_ms; /* 0 = 15m */
    size_t max_alerts;             /* inputs creating alerts beyond this are refused; 0 = 100000 */
    /* Receivers, external_url, backoff, queue, fsync policy and test hooks;
     * dir, firing_valid_ms and replay_blob are set by br_alerting_open. */
    br_notifier_options notifier;
} br_alerting_options;

/*
 * Opens <data_dir>/alerting: restores alert states and the notification
 * queue (a corrupt tail is dropped with a warning), compacts the log and
 * starts delivery. Returns a new br_alerting (close with
 * br_alerting_close) or NULL with err filled (BR_EBUSY: another process
 * holds the directory; BR_EIO; BR_EINVAL; receiver secret files).
 */
br_alerting *br_alerting_open(const br_alerting_options *o, br_err *err);

/* Stops delivery (queued notifications stay in the log for the next open),
 * syncs and closes. Returns 0 or BR_EIO; a is freed either way. NULL ok. */
int br_alerting_close(br_alerting *a, br_err *err);

/*
 * Applies one tick at now_ms: in[0..n) (borrowed) drive the state machine,
 * notifications due are queued, and the changes are made durable. out
 * (caller-owned, n entries, may be NULL) receives each input's state.
 * Returns 0, or BR_EIO / BR_ETOOLARGE when the state could not be
 * persisted (the tick still applies in memory and notifications are still
 * delivered). Never waits for the network.
 */
int br_alerting_update(br_alerting *a, int64_t now_ms, const br_alert_input *in, size_t n,
                       br_alert_result *out, br_err *err);

/* Calls fn for every alert (pending, firing, resolved-retained) in
 * fingerprint order, under the table lock: fn must not call back into a.
 * A non-zero return from fn stops the walk. */
typedef int (*br_alert_visit_fn)(const br_alert_view *v, void *ctx);
void br_alerting_foreach(br_alerting *a, br_alert_visit_fn fn, void *ctx);

/* The notifier a delivers through (view valid until close): for stats. */
br_notifier *br_alerting_notifier(br_alerting *a);

/* A br_metrics_collector (api/metrics.h), ctx = the br_alerting: the
 * notifier's families plus burnrate_alerts{state="pending|firing"}. */
void br_alerting_collect_metrics(void *ctx, br_buf *out);

#endif
