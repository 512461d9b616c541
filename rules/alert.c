/*
 * alert.c — the alert state machine and its durable state. Semantics,
 * diagram and threads: alert.h.
 *
 * The table is an array of alerts sorted by fingerprint. A tick takes the
 * inputs (take_input), moves every alert along the state machine
 * (advance), picks what to send (collect_sends), and writes the changed
 * alerts as one blob that br_notifier_submit stores in the same log
 * record as the notifications it queues: a crash leaves either both or
 * neither. Deleted alerts are freed after the write.
 *
 * Blob format (inside the notifier's log; codec in notifier.h: varints,
 * ZigZag for signed, doubles as 8 bytes little-endian, strings with a
 * varint length):
 *   uint version (1), then ops to the end:
 *   op 1 RESET    forget every alert (starts a checkpoint's full state)
 *   op 2 UPSERT   uint fingerprint, uint n, n (str name, str value) labels,
 *                 uint n, n (str, str) annotations, str generator_url,
 *                 uint state (0 inactive, 1 pending, 2 firing),
 *                 int active_since_ms, int fired_at_ms, int resolved_at_ms,
 *                 int keep_firing_since_ms, int for_ms,
 *                 int keep_firing_for_ms, double value
 *   op 3 DELETE   uint fingerprint
 * An UPSERT is written when an alert is created or changes state or one of
 * its timestamps; value and annotation updates alone are not written (the
 * next tick refreshes them). last_sent is not kept: after a restart every
 * firing or resolved alert is sent again at the first tick, as Prometheus
 * does; receivers see no duplicate (Alertmanager merges by fingerprint,
 * webhook groups remember what they notified).
 */
#include "alert.h"

#include "engine/core/alloc.h"
#include "engine/core/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOB_VERSION 1
#define OP_RESET     1
#define OP_UPSERT    2
#define OP_DELETE    3
#define MAX_LABELS   1000         /* per input */
#define MAX_TEXT     (64u * 1024) /* one label or annotation value */
#define MAX_BLOB_STR (1u << 20)

typedef struct alert {
    uint64_t fp;
    br_kv *labels; /* owned, sorted, alertname included */
    size_t n_labels;
    br_kv *annotations; /* owned, sorted */
    size_t n_annotations;
    char *generator_url;
    br_alert_state state;
    int64_t active_since_ms;
    int64_t fired_at_ms;
    int64_t resolved_at_ms;
    int64_t keep_firing_since_ms;
    int64_t last_sent_ms;
    int64_t for_ms;
    int64_t keep_firing_for_ms;
    double value;
    /* This tick only. */
    bool true_now; /* an input held its condition */
    bool held;     /* an input could not be evaluated: no transition this tick */
    bool dirty;    /* to be written */
    bool deleted;
    bool notified;
} alert;

struct br_alerting {
    /* Immutable after open. */
    int64_t eval_interval_ms;
    int64_t resend_delay_ms;
    int64_t retention_ms;
    size_t max_alerts;
    br_notifier *notifier;

    pthread_mutex_t mu; /* guards the table */
    alert **alerts;     /* sorted by fp */
    size_t n_alerts;
    size_t cap_alerts;
};

/* ------------------------------------------------------------------------
 * Alerts and the table
 * ---------------------------------------------------------------------- */

static void alert_free(alert *a)
{
    if (a == NULL) {
        return;
    }
    br_kv_free(a->labels, a->n_labels);
    br_kv_free(a->annotations, a->n_annotations);
    br_free(a->generator_url);
    br_free(a);
}

static size_t table_pos(const br_alerting *t, uint64_t fp, bool *found)
{
    size_t lo = 0;
    size_t hi = t->n_alerts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->alerts[mid]->fp < fp) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = lo < t->n_alerts && t->alerts[lo]->fp == fp;
    return lo;
}

static alert *table_find(br_alerting *t, uint64_t fp)
{
    bool found = false;
    size_t pos = table_pos(t, fp, &found);
    return found ? t->alerts[pos] : NULL;
}

static void table_insert(br_alerting *t, alert *a)
{
    bool found = false;
    size_t pos = table_pos(t, a->fp, &found);
    if (found) {
        alert_free(t->alerts[pos]);
        t->alerts[pos] = a;
        return;
    }
    if (t->n_alerts == t->cap_alerts) {
        t->cap_alerts = t->cap_alerts ? 2 * t->cap_alerts : 64;
        t->alerts = br_realloc(t->alerts, t->cap_alerts * sizeof(alert *));
    }
    memmove(&t->alerts[pos + 1], &t->alerts[pos], (t->n_alerts - pos) * sizeof(alert *));
    t->alerts[pos] = a;
    t->n_alerts++;
}

static void table_clear(br_alerting *t)
{
    for (size_t i = 0; i < t->n_alerts; i++) {
        alert_free(t->alerts[i]);
    }
    t->n_alerts = 0;
}

/* Frees the alerts marked deleted. */
static void table_compact(br_alerting *t)
{
    size_t kept = 0;
    for (size_t i = 0; i < t->n_alerts; i++) {
        if (t->alerts[i]->deleted) {
            alert_free(t->alerts[i]);
        } else {
            t->alerts[kept++] = t->alerts[i];
        }
    }
    t->n_alerts = kept;
}

/* ------------------------------------------------------------------------
 * Label sets
 * ---------------------------------------------------------------------- */

static int kv_cmp_key(const void *pa, const void *pb)
{
    const br_kv *a = pa;
    const br_kv *b = pb;
    return strcmp(a->key, b->key);
}

/* Sorts kv by key (stably: insertion order breaks ties) and keeps the last
 * of each key; returns the new count. */
static size_t sort_dedupe(br_kv *kv, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        br_kv cur = kv[i];
        size_t j = i;
        while (j > 0 && kv_cmp_key(&kv[j - 1], &cur) > 0) {
            kv[j] = kv[j - 1];
            j--;
        }
        kv[j] = cur;
    }
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out > 0 && strcmp(kv[out - 1].key, kv[i].key) == 0) {
            kv[out - 1] = kv[i]; /* the later one wins */
        } else {
            kv[out++] = kv[i];
        }
    }
    return out;
}

static char *dup_text(const char *s);

/* Borrowed views of in's label set (alertname included), sorted; NULL
 * when the input is unusable (reason in *why). */
static br_kv *input_labels(const br_alert_input *in, size_t *n_out, const char **why)
{
    if (in->alertname == NULL || in->alertname[0] == '\0') {
        *why = "empty alertname";
        return NULL;
    }
    if (in->n_labels > MAX_LABELS || in->n_annotations > MAX_LABELS) {
        *why = "too many labels or annotations";
        return NULL;
    }
    br_kv *kv = br_calloc(in->n_labels + 1, sizeof(br_kv));
    size_t n = 0;
    for (size_t i = 0; i < in->n_labels; i++) {
        const br_kv *l = &in->labels[i];
        if (l->key == NULL || l->key[0] == '\0' || l->value == NULL || l->value[0] == '\0' ||
            strcmp(l->key, "alertname") == 0) {
            continue;
        }
        if (strlen(l->value) > MAX_TEXT || strlen(l->key) > MAX_TEXT) {
            br_free(kv);
            *why = "label longer than 64 KiB";
            return NULL;
        }
        kv[n++] = *l;
    }
    kv[n].key = "alertname";
    kv[n].value = in->alertname;
    n++;
    *n_out = sort_dedupe(kv, n);
    return kv;
}

/* A sorted owned copy of in's annotations (empty keys dropped, values
 * longer than MAX_TEXT cut). */
static br_kv *input_annotations(const br_alert_input *in, size_t *n_out)
{
    br_kv *view = br_calloc(in->n_annotations ? in->n_annotations : 1, sizeof(br_kv));
    size_t n = 0;
    for (size_t i = 0; i < in->n_annotations; i++) {
        const br_kv *x = &in->annotations[i];
        if (x->key != NULL && x->key[0] != '\0' && x->value != NULL) {
            view[n++] = *x;
        }
    }
    n = sort_dedupe(view, n);
    br_kv *out = br_calloc(n ? n : 1, sizeof(br_kv));
    for (size_t i = 0; i < n; i++) {
        out[i].key = dup_text(view[i].key);
        out[i].value = dup_text(view[i].value);
    }
    br_free(view);
    *n_out = n;
    return out;
}

/* A copy of s cut at MAX_TEXT bytes. */
static char *dup_text(const char *s)
{
    return br_strndup(s, strnlen(s, MAX_TEXT));
}

static bool same_text(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

/* ------------------------------------------------------------------------
 * Blob codec
 * ---------------------------------------------------------------------- */

static int put_upsert(br_buf *b, const alert *a)
{
    int rc = br_notify_put_uint(b, OP_UPSERT);
    rc = rc ? rc : br_notify_put_uint(b, a->fp);
    rc = rc ? rc : br_notify_put_kvs(b, a->labels, a->n_labels);
    rc = rc ? rc : br_notify_put_kvs(b, a->annotations, a->n_annotations);
    rc = rc ? rc : br_notify_put_str(b, a->generator_url);
    rc = rc ? rc : br_notify_put_uint(b, (uint64_t)a->state);
    rc = rc ? rc : br_notify_put_int(b, a->active_since_ms);
    rc = rc ? rc : br_notify_put_int(b, a->fired_at_ms);
    rc = rc ? rc : br_notify_put_int(b, a->resolved_at_ms);
    rc = rc ? rc : br_notify_put_int(b, a->keep_firing_since_ms);
    rc = rc ? rc : br_notify_put_int(b, a->for_ms);
    rc = rc ? rc : br_notify_put_int(b, a->keep_firing_for_ms);
    rc = rc ? rc : br_notify_put_double(b, a->value);
    return rc;
}

static alert *get_upsert(br_notify_reader *r)
{
    alert *a = br_calloc(1, sizeof(*a));
    a->fp = br_notify_get_uint(r);
    a->labels = br_notify_get_kvs(r, MAX_LABELS, MAX_BLOB_STR, &a->n_labels);
    if (!r->bad) {
        a->annotations = br_notify_get_kvs(r, MAX_LABELS, MAX_BLOB_STR, &a->n_annotations);
    }
    if (!r->bad) {
        a->generator_url = br_notify_get_str(r, MAX_BLOB_STR);
    }
    uint64_t state = br_notify_get_uint(r);
    a->active_since_ms = br_notify_get_int(r);
    a->fired_at_ms = br_notify_get_int(r);
    a->resolved_at_ms = br_notify_get_int(r);
    a->keep_firing_since_ms = br_notify_get_int(r);
    a->for_ms = br_notify_get_int(r);
    a->keep_firing_for_ms = br_notify_get_int(r);
    a->value = br_notify_get_double(r);
    if (r->bad || state > BR_ALERT_FIRING || a->n_labels == 0 ||
        br_notify_fingerprint(a->labels, a->n_labels) != a->fp) {
        r->bad = true;
        alert_free(a);
        return NULL;
    }
    a->state = (br_alert_state)state;
    if (a->generator_url != NULL && a->generator_url[0] == '\0') {
        br_free(a->generator_url);
        a->generator_url = NULL;
    }
    return a;
}

/* br_notify_blob_fn: applies one blob read back from the log. */
static int replay_blob(void *ctx, const void *blob, size_t len)
{
    br_alerting *t = ctx;
    br_notify_reader r = {.p = blob, .end = (const unsigned char *)blob + len};
    if (br_notify_get_uint(&r) != BLOB_VERSION || r.bad) {
        return BR_EUNSUPPORTED;
    }
    while (r.p < r.end && !r.bad) {
        uint64_t op = br_notify_get_uint(&r);
        if (op == OP_RESET) {
            table_clear(t);
        } else if (op == OP_UPSERT) {
            alert *a = get_upsert(&r);
            if (a != NULL) {
                table_insert(t, a);
            }
        } else if (op == OP_DELETE) {
            uint64_t fp = br_notify_get_uint(&r);
            bool found = false;
            size_t pos = table_pos(t, fp, &found);
            if (!r.bad && found) {
                alert_free(t->alerts[pos]);
                memmove(&t->alerts[pos], &t->alerts[pos + 1],
                        (t->n_alerts - pos - 1) * sizeof(alert *));
                t->n_alerts--;
            }
        } else {
            r.bad = true;
        }
    }
    return r.bad ? BR_ECORRUPT : 0;
}

/* The whole table as a checkpoint blob (RESET, then every alert). */
static int full_blob(br_alerting *t, br_buf *b)
{
    int rc = br_notify_put_uint(b, BLOB_VERSION);
    rc = rc ? rc : br_notify_put_uint(b, OP_RESET);
    for (size_t i = 0; rc == 0 && i < t->n_alerts; i++) {
        if (!t->alerts[i]->deleted) {
            rc = put_upsert(b, t->alerts[i]);
        }
    }
    return rc;
}

static int checkpoint_locked(br_alerting *t, br_err *err)
{
    br_buf b;
    br_buf_init(&b, BR_WAL_MAX_RECORD);
    int rc = full_blob(t, &b);
    if (rc != 0) {
        rc = br_err_set(err, BR_ETOOLARGE, "alert state exceeds the log's record limit");
    } else {
        rc = br_notifier_checkpoint(t->notifier, b.data, b.len, err);
    }
    br_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------------
 * The state machine
 * ---------------------------------------------------------------------- */

/* (Re)starts a as a new pending alert from in (its labels already set). */
static void new_alert(alert *a, const br_alert_input *in, int64_t now)
{
    br_kv_free(a->annotations, a->n_annotations);
    a->annotations = input_annotations(in, &a->n_annotations);
    br_free(a->generator_url);
    a->generator_url = in->generator_url ? dup_text(in->generator_url) : NULL;
    a->state = BR_ALERT_PENDING;
    a->active_since_ms = now;
    a->fired_at_ms = 0;
    a->resolved_at_ms = 0;
    a->keep_firing_since_ms = 0;
    a->last_sent_ms = 0;
    a->for_ms = in->for_ms > 0 ? in->for_ms : 0;
    a->keep_firing_for_ms = in->keep_firing_for_ms > 0 ? in->keep_firing_for_ms : 0;
    a->value = in->value;
    a->dirty = true;
}

/* Applies input i; sets *fp_out. */
static void take_input(br_alerting *t, const br_alert_input *in, int64_t now, uint64_t *fp_out)
{
    size_t n_labels = 0;
    const char *why = NULL;
    br_kv *labels = input_labels(in, &n_labels, &why);
    if (labels == NULL) {
        br_log_warn("alert input ignored", "alertname=%s reason=\"%s\"",
                    in->alertname ? in->alertname : "", why);
        *fp_out = 0;
        return;
    }
    uint64_t fp = br_notify_fingerprint(labels, n_labels);
    *fp_out = fp;
    alert *a = table_find(t, fp);
    if (in->hold) {
        if (a != NULL) {
            a->held = true;
        }
        br_free(labels);
        return;
    }
    if (!in->condition) {
        if (a != NULL && !a->true_now) {
            a->for_ms = in->for_ms > 0 ? in->for_ms : 0;
            a->keep_firing_for_ms = in->keep_firing_for_ms > 0 ? in->keep_firing_for_ms : 0;
        }
        br_free(labels);
        return;
    }
    if (a != NULL && a->true_now) {
        br_log_warn("alert input ignored",
                    "alertname=%s reason=\"same label set twice in one tick\"", in->alertname);
        br_free(labels);
        return;
    }
    if (a != NULL && a->state != BR_ALERT_INACTIVE) {
        /* Still active: refresh what the expression and templates say. */
        a->value = in->value;
        size_t n_ann = 0;
        br_kv *ann = input_annotations(in, &n_ann);
        if (br_kv_equal(ann, n_ann, a->annotations, a->n_annotations)) {
            br_kv_free(ann, n_ann);
        } else {
            br_kv_free(a->annotations, a->n_annotations);
            a->annotations = ann;
            a->n_annotations = n_ann;
        }
        if (!same_text(a->generator_url, in->generator_url)) {
            br_free(a->generator_url);
            a->generator_url = in->generator_url ? dup_text(in->generator_url) : NULL;
        }
        a->for_ms = in->for_ms > 0 ? in->for_ms : 0;
        a->keep_firing_for_ms = in->keep_firing_for_ms > 0 ? in->keep_firing_for_ms : 0;
        a->true_now = true;
        br_free(labels);
        return;
    }
    if (a == NULL) {
        if (t->n_alerts >= t->max_alerts) {
            br_log_warn("alert input ignored", "alertname=%s reason=\"more than %zu alerts\"",
                        in->alertname, t->max_alerts);
            br_free(labels);
            return;
        }
        a = br_calloc(1, sizeof(*a));
        a->fp = fp;
        a->labels = br_kv_dup(labels, n_labels);
        a->n_labels = n_labels;
        table_insert(t, a);
    }
    /* New, or resolved and now true again: a new alert instance. */
    new_alert(a, in, now);
    a->true_now = true;
    br_free(labels);
}

/* Moves every alert along the state machine (Prometheus' Eval). */
static void advance(br_alerting *t, int64_t now)
{
    for (size_t i = 0; i < t->n_alerts; i++) {
        alert *a = t->alerts[i];
        if (a->held) {
            continue; /* unknown this tick: as it was */
        }
        if (!a->true_now) {
            bool keep = false;
            if (a->state == BR_ALERT_FIRING && a->keep_firing_for_ms > 0) {
                if (a->keep_firing_since_ms == 0) {
                    a->keep_firing_since_ms = now;
                    a->dirty = true;
                }
                keep = now - a->keep_firing_since_ms < a->keep_firing_for_ms;
            }
            if (a->state == BR_ALERT_PENDING ||
                (a->resolved_at_ms != 0 && now - a->resolved_at_ms > t->retention_ms)) {
                a->deleted = true;
                continue;
            }
            if (a->state != BR_ALERT_INACTIVE && !keep) {
                a->state = BR_ALERT_INACTIVE;
                a->resolved_at_ms = now;
                a->keep_firing_since_ms = 0;
                a->dirty = true;
            }
            if (!keep) {
                continue;
            }
        } else if (a->keep_firing_since_ms != 0) {
            a->keep_firing_since_ms = 0;
            a->dirty = true;
        }
        if (a->state == BR_ALERT_PENDING && now - a->active_since_ms >= a->for_ms) {
            a->state = BR_ALERT_FIRING;
            a->fired_at_ms = now;
            a->dirty = true;
        }
    }
}

/* Picks the alerts to send now (Prometheus' needsSending) as views into
 * the table; returns how many. */
static size_t collect_sends(br_alerting *t, int64_t now, br_notify_alert *out)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n_alerts; i++) {
        alert *a = t->alerts[i];
        if (a->deleted || a->state == BR_ALERT_PENDING) {
            continue;
        }
        bool due =
            a->resolved_at_ms > a->last_sent_ms || a->last_sent_ms + t->resend_delay_ms < now;
        if (!due) {
            continue;
        }
        a->last_sent_ms = now;
        a->notified = true;
        out[n++] = (br_notify_alert){
            .fingerprint = a->fp,
            .labels = a->labels,
            .n_labels = a->n_labels,
            .annotations = a->annotations,
            .n_annotations = a->n_annotations,
            .starts_at_ms = a->fired_at_ms,
            .resolved_at_ms = a->state == BR_ALERT_INACTIVE ? a->resolved_at_ms : 0,
            .generator_url = a->generator_url,
        };
    }
    return n;
}

int br_alerting_update(br_alerting *a, int64_t now_ms, const br_alert_input *in, size_t n,
                       br_alert_result *out, br_err *err)
{
    uint64_t *fps = br_calloc(n ? n : 1, sizeof(uint64_t));
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->n_alerts; i++) {
        alert *x = a->alerts[i];
        x->true_now = false;
        x->held = false;
        x->dirty = false;
        x->deleted = false;
        x->notified = false;
    }
    for (size_t i = 0; i < n; i++) {
        take_input(a, &in[i], now_ms, &fps[i]);
    }
    advance(a, now_ms);
    br_notify_alert *sends = br_calloc(a->n_alerts ? a->n_alerts : 1, sizeof(*sends));
    size_t n_sends = collect_sends(a, now_ms, sends);

    br_buf blob;
    br_buf_init(&blob, BR_WAL_MAX_RECORD);
    int rc = br_notify_put_uint(&blob, BLOB_VERSION);
    size_t ops = 0;
    for (size_t i = 0; rc == 0 && i < a->n_alerts; i++) {
        alert *x = a->alerts[i];
        if (x->deleted) {
            rc = br_notify_put_uint(&blob, OP_DELETE);
            rc = rc ? rc : br_notify_put_uint(&blob, x->fp);
            ops++;
        } else if (x->dirty) {
            rc = put_upsert(&blob, x);
            ops++;
        }
    }
    if (rc != 0) {
        rc = br_err_set(err, BR_ETOOLARGE,
                        "alert state changes of one tick exceed the log's "
                        "record limit; not persisted");
        ops = 0;
    }
    if (n_sends > 0 || ops > 0) {
        int src =
            br_notifier_submit(a->notifier, now_ms, sends, n_sends, ops > 0 ? blob.data : NULL,
                               ops > 0 ? blob.len : 0, rc == 0 ? err : NULL);
        rc = rc ? rc : src;
    }
    br_buf_free(&blob);
    br_free(sends);

    for (size_t i = 0; out != NULL && i < n; i++) {
        alert *x = fps[i] != 0 ? table_find(a, fps[i]) : NULL;
        memset(&out[i], 0, sizeof(out[i]));
        out[i].fingerprint = fps[i];
        if (x == NULL || x->deleted) {
            out[i].state = BR_ALERT_INACTIVE;
            continue;
        }
        out[i].state = x->state;
        out[i].active_since_ms = x->state != BR_ALERT_INACTIVE ? x->active_since_ms : 0;
        out[i].fired_at_ms = x->fired_at_ms;
        out[i].resolved_at_ms = x->state == BR_ALERT_INACTIVE ? x->resolved_at_ms : 0;
        out[i].notified = x->notified;
    }
    table_compact(a);
    if (rc == 0 && br_notifier_wants_checkpoint(a->notifier)) {
        rc = checkpoint_locked(a, err);
    }
    pthread_mutex_unlock(&a->mu);
    br_free(fps);
    return rc;
}

/* ------------------------------------------------------------------------
 * Readers
 * ---------------------------------------------------------------------- */

void br_alerting_foreach(br_alerting *a, br_alert_visit_fn fn, void *ctx)
{
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->n_alerts; i++) {
        const alert *x = a->alerts[i];
        br_alert_view v = {
            .fingerprint = x->fp,
            .labels = x->labels,
            .n_labels = x->n_labels,
            .annotations = x->annotations,
            .n_annotations = x->n_annotations,
            .state = x->state,
            .active_since_ms = x->active_since_ms,
            .fired_at_ms = x->fired_at_ms,
            .resolved_at_ms = x->resolved_at_ms,
            .keep_firing_since_ms = x->keep_firing_since_ms,
            .last_sent_ms = x->last_sent_ms,
            .value = x->value,
            .generator_url = x->generator_url,
        };
        if (fn(&v, ctx) != 0) {
            break;
        }
    }
    pthread_mutex_unlock(&a->mu);
}

br_notifier *br_alerting_notifier(br_alerting *a)
{
    return a->notifier;
}

void br_alerting_collect_metrics(void *ctx, br_buf *out)
{
    br_alerting *a = ctx;
    size_t pending = 0;
    size_t firing = 0;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->n_alerts; i++) {
        pending += a->alerts[i]->state == BR_ALERT_PENDING ? 1 : 0;
        firing += a->alerts[i]->state == BR_ALERT_FIRING ? 1 : 0;
    }
    pthread_mutex_unlock(&a->mu);
    br_buf_printf(out,
                  "# HELP burnrate_alerts Alerts by state.\n"
                  "# TYPE burnrate_alerts gauge\n"
                  "burnrate_alerts{state=\"pending\"} %zu\n"
                  "burnrate_alerts{state=\"firing\"} %zu\n",
                  pending, firing);
    br_notifier_collect_metrics(a->notifier, out);
}

/* ------------------------------------------------------------------------
 * Open and close
 * ---------------------------------------------------------------------- */

br_alerting *br_alerting_open(const br_alerting_options *o, br_err *err)
{
    if (o == NULL || o->data_dir == NULL || o->data_dir[0] == '\0') {
        br_err_set(err, BR_EINVAL, "alerting: a data directory is required");
        return NULL;
    }
    br_alerting *a = br_calloc(1, sizeof(*a));
    a->eval_interval_ms = o->eval_interval_ms > 0 ? o->eval_interval_ms : 30 * 1000;
    a->resend_delay_ms = o->resend_delay_ms > 0 ? o->resend_delay_ms : 60 * 1000;
    a->retention_ms = o->resolved_retention_ms > 0 ? o->resolved_retention_ms : 15 * 60 * 1000;
    a->max_alerts = o->max_alerts > 0 ? o->max_alerts : 100000;
    pthread_mutex_init(&a->mu, NULL);

    br_buf dir;
    br_buf_init(&dir, 4096);
    br_buf_printf(&dir, "%s/alerting", o->data_dir);
    br_notifier_options no = o->notifier;
    no.dir = br_buf_str(&dir);
    int64_t delta =
        a->resend_delay_ms > a->eval_interval_ms ? a->resend_delay_ms : a->eval_interval_ms;
    no.firing_valid_ms = 4 * delta;
    no.replay_blob = replay_blob;
    no.blob_ctx = a;
    /* Replay calls replay_blob on this thread before open returns. */
    a->notifier = br_notifier_open(&no, err);
    br_buf_free(&dir);
    if (a->notifier == NULL) {
        table_clear(a);
        br_free(a->alerts);
        pthread_mutex_destroy(&a->mu);
        br_free(a);
        return NULL;
    }
    pthread_mutex_lock(&a->mu);
    int rc = checkpoint_locked(a, err);
    size_t restored = a->n_alerts;
    pthread_mutex_unlock(&a->mu);
    if (rc != 0) {
        br_log_warn("alerting: compacting the state log failed; continuing", "error=\"%s\"",
                    err ? err->msg : br_strerror(rc));
        if (err != NULL) {
            br_err_clear(err);
        }
    }
    if (restored > 0) {
        br_log_info("alert state restored", "alerts=%zu", restored);
    }
    return a;
}

int br_alerting_close(br_alerting *a, br_err *err)
{
    if (a == NULL) {
        return 0;
    }
    int rc = br_notifier_close(a->notifier, err);
    table_clear(a);
    br_free(a->alerts);
    pthread_mutex_destroy(&a->mu);
    br_free(a);
    return rc;
}
